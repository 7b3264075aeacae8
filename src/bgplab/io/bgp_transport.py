"""TCP for BGP: the listener, outgoing connections, socket options.

This is the thin asyncio shell around the sans-I/O session: bytes in go to
the owner's ``on_data``, bytes out come as lists of chunks and leave in one
``writelines`` per loop turn. Socket options that BGP needs live here too:
TTL for multihop, GTSM (RFC 5082) and TCP-MD5 (RFC 2385).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import struct
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, cast

log = logging.getLogger("bgplab.transport")

TCP_MD5SIG = 14  # linux/tcp.h
TCP_MD5SIG_MAXKEYLEN = 80
IP_MINTTL = 21  # linux/in.h
IPV6_MINHOPCOUNT = 73

# Seconds a closing connection waits for the peer to close its side.
CLOSE_GRACE = 2.0

# Bytes queued to a peer that does not read before we reset the session.
MAX_QUEUED = 64 * 1024 * 1024

# Handshakes the kernel holds before accept() (capped by net.core.somaxconn),
# as FRR and GoBGP listen: thousands of Calico nodes dial a restarted
# reflector at once, and each SYN the full queue drops waits 1-3 s for TCP's
# retry (asyncio's create_server would otherwise re-listen with 100).
LISTEN_BACKLOG = 4096
# Connections accepted per readiness of the listener. asyncio accepts as
# many as the backlog it was given in one go, and each costs a set-up in
# the same loop turn: 4,096 of them made one turn last long enough to
# keep the control socket waiting. The kernel still queues LISTEN_BACKLOG.
ACCEPT_BATCH = 32


class Owner(Protocol):
    def on_connection_made(self, conn: BgpConnection) -> None: ...
    def on_data(self, conn: BgpConnection, data: bytes) -> None: ...
    def on_connection_lost(self, conn: BgpConnection, exc: Exception | None) -> None: ...


def _md5sig(peer: str, key: str | None) -> bytes:
    """struct tcp_md5sig for setsockopt(TCP_MD5SIG); an empty key deletes."""
    ip = ipaddress.ip_address(peer)
    raw = (key or "").encode()
    if len(raw) > TCP_MD5SIG_MAXKEYLEN:
        raise ValueError("TCP-MD5 password longer than 80 bytes")
    if ip.version == 4:
        ss = struct.pack("=HH4s", socket.AF_INET, 0, ip.packed) + b"\x00" * 120
    else:
        ss = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0, ip.packed, 0) + b"\x00" * 100
    ss = ss[:128]
    return ss + struct.pack("=BBHI", 0, 0, len(raw), 0) + raw.ljust(TCP_MD5SIG_MAXKEYLEN, b"\x00")


def set_md5(sock: socket.socket, peer: str, key: str | None) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, _md5sig(peer, key))


def set_ttl(sock: socket.socket, v6: bool, ttl: int, min_ttl: int | None) -> None:
    if v6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        if min_ttl:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MINHOPCOUNT, min_ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        if min_ttl:
            sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, min_ttl)


def _host_port(name: tuple[Any, ...]) -> tuple[str, int]:
    """(address, port) of a socket name, without a link-local scope (%eth0)."""
    return str(name[0]).split("%", 1)[0], int(name[1])


class BgpConnection(asyncio.Protocol):
    """One TCP connection of a BGP peer."""

    _next_id = 1

    def __init__(self, owner: Owner | None, incoming: bool) -> None:
        self.owner = owner
        self.incoming = incoming
        self.conn_id: object = BgpConnection._next_id
        BgpConnection._next_id += 1
        self.transport: asyncio.Transport | None = None
        self.local: tuple[str, int] | None = None
        self.remote: tuple[str, int] | None = None
        self.paused = False
        self.closed = False
        self._out: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None
        # True only while nothing waits in user space (our _out, the
        # transport's buffer) and the connection is open: then a write may
        # go straight to the socket and still keep every byte in order
        self._direct = False
        self._fd = -1
        # our slot in an update group's FanOut array, kept equal to "fd if
        # _direct else -1" (see _set_direct)
        self._fan_slot: tuple[array.array[int], int] | None = None

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Nagle's algorithm on, as BIRD leaves it (asyncio turns it off on
            # every TCP transport): under churn a write behind a segment the
            # peer has not yet acknowledged only queues its bytes, instead of
            # sending a segment of its own through the peer's whole input path
            # in our time. With the lighter flush pacing it brought the median
            # delay at 1,000 events/s to 300 peers from 2.7 to about 1 ms
            # (docs/bench.md, issue 15's sixth pass).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        self.local = _host_port(transport.get_extra_info("sockname"))
        self.remote = _host_port(transport.get_extra_info("peername"))
        if sock is not None:
            self._fd = sock.fileno()
            self._set_direct(True)
        if self.owner is not None:
            self.owner.on_connection_made(self)

    def data_received(self, data: bytes) -> None:
        if self.owner is not None and not self.closed:
            self.owner.on_data(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        was_closed = self.closed
        self.closed = True
        self._set_direct(False)
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        if self.owner is not None and not was_closed:
            self.owner.on_connection_lost(self, exc)

    def pause_writing(self) -> None:
        self.paused = True
        self._set_direct(False)

    def resume_writing(self) -> None:
        self.paused = False

    # writes, coalesced per loop turn
    def write(self, chunks: list[bytes]) -> None:
        if self.closed or self.transport is None:
            return
        self._out.extend(chunks)
        self._set_direct(False)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def write_now(self, data: bytes) -> None:
        """Bypass coalescing (keepalives and notifications must not wait)."""
        self.send(data)

    def send(self, data: bytes | memoryview) -> int:
        """Write ``data`` now, after anything queued; returns the bytes
        still queued in user space (0 when the socket took everything).

        The fan-out writes one small UPDATE to hundreds of members per
        event: while nothing is queued, ``os.write`` on the non-blocking
        socket saves the ~1.5 us of Python that the transport's own write
        path costs per call. What the socket does not take (or an error)
        goes to the transport, which buffers it, applies flow control and
        reports errors as usual; writes go direct again once its buffer
        is empty."""
        if self._direct:
            try:
                n = os.write(self._fd, data)
            except OSError:  # EAGAIN, or an error the transport will meet too
                n = 0
            if n == len(data):
                return 0
            if n:
                data = memoryview(data)[n:]
        elif self.closed or self.transport is None:
            return 0
        elif self._out:
            self._flush()
        t = self.transport
        assert t is not None
        t.write(data)
        queued = t.get_write_buffer_size() + sum(map(len, self._out))
        self._set_direct(
            not queued and not self.closed and not t.is_closing() and self._fd >= 0)
        return queued

    def _set_direct(self, on: bool) -> None:
        self._direct = on
        slot = self._fan_slot
        if slot is not None:
            slot[0][slot[1]] = self._fd if on else -1

    def _flush(self) -> None:
        self._flush_handle = None
        if self.closed or self.transport is None or not self._out:
            self._out.clear()
            return
        out, self._out = self._out, []
        self.transport.writelines(out)

    def queued(self) -> int:
        t = self.transport
        return (t.get_write_buffer_size() if t is not None else 0) + sum(map(len, self._out))

    def close(self) -> None:
        """Flush what is queued (e.g. a NOTIFICATION) and close.

        Only the write side is shut at once: closing a socket with unread
        input makes the kernel send a reset, which can overtake the
        NOTIFICATION. The rest is dropped when the peer closes, or after a
        grace period.
        """
        if self.closed:
            return
        if self._out:
            self._flush()
        self.closed = True
        self._set_direct(False)
        t = self.transport
        if t is None:
            return
        if t.can_write_eof():
            try:
                t.write_eof()
            except OSError:  # the peer is gone already (ENOTCONN): nothing to flush
                t.abort()
                return
            asyncio.get_running_loop().call_later(CLOSE_GRACE, t.abort)
        else:
            t.close()

    def abort(self) -> None:
        self.closed = True
        self._set_direct(False)
        if self.transport is not None:
            self.transport.abort()


class Listener:
    """The BGP listening socket; hands connections to the matching peer.

    Like BIRD, an incoming connection is matched on the remote address only;
    an unknown address is logged and closed before anything is read.
    """

    def __init__(self, address: str | None, port: int,
                 lookup: Callable[[str], Owner | None]) -> None:
        self.address = address
        self.port = port
        self.lookup = lookup
        self.servers: list[asyncio.base_events.Server] = []
        self.sockets: list[socket.socket] = []

    async def start(self, md5_keys: dict[str, str] | None = None,
                    families: tuple[int, ...] = (4,), dual: bool = False) -> None:
        """Listen on the wildcard of each IP version in ``families`` (or
        on ``listen bgp address``). An IPv6 socket is IPV6_V6ONLY unless
        ``dual`` (``listen bgp dual``), so that an IPv4 daemon (``bird``,
        ``bgplabd``) and an IPv6 one (``bird6``, ``bgplabd6``) share port
        179 in one namespace, whichever starts first."""
        loop = asyncio.get_running_loop()
        addrs: list[tuple[int, str]] = []
        if self.address:
            v6 = ipaddress.ip_address(self.address).version == 6
            addrs.append((socket.AF_INET6 if v6 else socket.AF_INET, self.address))
        else:
            if 4 in families:
                addrs.append((socket.AF_INET, "0.0.0.0"))
            if 6 in families:
                addrs.append((socket.AF_INET6, "::"))
        try:
            for family, addr in addrs:
                sock = socket.socket(family, socket.SOCK_STREAM)
                try:
                    self._prepare(sock, family, addr, md5_keys or {}, dual)
                except BaseException:
                    sock.close()
                    raise
                server = await loop.create_server(self._factory, sock=sock,
                                                  backlog=ACCEPT_BATCH)
                sock.listen(LISTEN_BACKLOG)  # create_server listened with its batch
                self.servers.append(server)
                self.sockets.append(sock)
        except BaseException:
            await self.close()  # no half-open listener (IPv4 up, IPv6 failed)
            raise

    def _prepare(self, sock: socket.socket, family: int, addr: str,
                 md5_keys: dict[str, str], dual: bool = False) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual else 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND: address may come later
        sock.bind((addr, self.port))
        for peer, key in md5_keys.items():
            if (ipaddress.ip_address(peer).version == 6) == (family == socket.AF_INET6):
                set_md5(sock, peer, key)
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)

    def set_md5(self, peer: str, key: str | None) -> None:
        v6 = ipaddress.ip_address(peer).version == 6
        for sock in self.sockets:
            if (sock.family == socket.AF_INET6) == v6:
                with contextlib.suppress(OSError):
                    set_md5(sock, peer, key)

    def _factory(self) -> asyncio.Protocol:
        return _Incoming(self)

    async def close(self) -> None:
        for s in self.servers:
            s.close()
        for s in self.servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self.servers.clear()
        self.sockets.clear()


class _Incoming(BgpConnection):
    def __init__(self, listener: Listener) -> None:
        super().__init__(None, incoming=True)
        self._listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        addr = peer[0] if peer else "?"
        if addr.startswith("::ffff:"):
            addr = addr[7:]
        addr = addr.split("%", 1)[0]  # a link-local peer's scope (fe80::2%eth0)
        owner = self._listener.lookup(addr)
        if owner is None:
            log.warning("BGP: Unexpected connect from unknown address %s (port %s)",
                        addr, peer[1] if peer else "?")
            cast(asyncio.Transport, transport).abort()  # (a TCP server's transport)
            self.closed = True
            return
        self.owner = owner
        super().connection_made(transport)


async def connect(owner: Owner, remote: str, port: int, *, local: str | None,
                  ttl: int, min_ttl: int | None, password: str | None, conn_id: object = None,
                  timeout: float = 30.0, iface: str | None = None) -> BgpConnection:
    """Open an outgoing connection with BGP's socket options set first
    (a link-local neighbor is reached on ``iface``)."""
    loop = asyncio.get_running_loop()
    ip = ipaddress.ip_address(remote)
    v6 = ip.version == 6
    scope = socket.if_nametoindex(iface) if v6 and iface and ip.is_link_local else 0
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        set_ttl(sock, v6, ttl, min_ttl)
        if password:
            set_md5(sock, remote, password)
        if local:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND
            sock.bind((local, 0, 0, scope) if scope else (local, 0))
        target = (remote, port, 0, scope) if scope else (remote, port)
        await asyncio.wait_for(loop.sock_connect(sock, target), timeout)
        conn = BgpConnection(owner, incoming=False)
        if conn_id is not None:
            conn.conn_id = conn_id  # the session machine names its connections
        await loop.create_connection(lambda: conn, sock=sock)
        return conn
    except BaseException:
        sock.close()
        raise


class FanOut:
    """An update group's fan-out (``group.fan_out``): ``data`` to every
    member but those whose ``id()`` is in ``skip``, as ``m.send_wire([data])``
    each, straight to the socket where nothing is queued.

    The members' sockets are kept as one array of fds, -1 where a write
    must go through ``send_wire`` (no connection, or bytes queued in user
    space: a connection updates its slot when that changes), extended when
    members join and rebuilt when one leaves. So the hot loop touches no member or connection
    object: after each write's trip through the kernel's TCP path those
    are cache misses, which cost about a third of the daemon's user time
    in the churn benchmark when the loop read ``m.active_conn._fd``. A
    member's connection does not change while it is a member (it leaves
    its group when its session goes down); if one did, its old
    connection's slot would say -1 once it closed and ``send_wire`` would
    reach the new one."""

    def __init__(self) -> None:
        self._members: list[Any] = []
        self._fds: array.array[int] = array.array("i")
        self._index: dict[int, int] = {}  # id(member) -> its slot

    def _sync(self, members: Sequence[Any]) -> None:
        """Follow the members: those that joined (at the end, as sessions
        come up one by one) get new slots; anything else is a new array."""
        old = self._members
        k = len(old)
        if len(members) > k and len(self._fds) == k and members[:k] == old:
            fds = self._fds
            fds.extend(array.array("i", [-1]) * (len(members) - k))
        else:
            k = 0
            self._fds = fds = array.array("i", [-1]) * len(members)
            self._index = {}
        self._members = list(members)
        index = self._index
        for i in range(k, len(members)):
            m = members[i]
            index[id(m)] = i
            c = m.active_conn
            if c is not None:
                c._fan_slot = (fds, i)
                fds[i] = c._fd if c._direct else -1

    def __call__(self, members: Sequence[Any], data: bytes, skip: Collection[int] = ()) -> None:
        if members != self._members:  # compares identities: no member is read
            self._sync(members)
        fds = self._fds
        index = self._index
        held = [(i, fds[i]) for i in (index.get(s) for s in skip) if i is not None]
        for i, _ in held:
            fds[i] = -2
        write = os.write
        n = len(data)
        rest: list[tuple[int, int]] = []
        for i, fd in enumerate(fds):
            if fd >= 0:
                try:
                    done = write(fd, data)
                except OSError:  # EAGAIN, or an error the transport will meet too
                    done = 0
                if done != n:
                    rest.append((i, done))
            elif fd == -1:
                rest.append((i, 0))
        for i, fd in held:
            fds[i] = fd
        # after the loop: a send that ends a session changes the members
        ms = self._members
        for i, done in rest:
            ms[i].send_wire([data[done:] if done else data])


def describe_socket_error(exc: BaseException | None) -> str:
    """BIRD-style text for the `show protocols` info column."""
    if exc is None:
        return "Connection closed"
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "Connection timed out"
    if isinstance(exc, ConnectionResetError):
        return "Connection reset by peer"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__

