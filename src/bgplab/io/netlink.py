"""The kernel FIB and interface port: rtnetlink on asyncio.

Everything bgplab knows about Linux routes, links and addresses passes
through :class:`NetlinkPort`. Protocols see plain values (:class:`FibRoute`,
:class:`LinkInfo`, :class:`AddrInfo`, in :mod:`bgplab.io.netlink_types`)
and never a netlink message (packed and parsed in
:mod:`bgplab.io.netlink_codec`).

Route requests are batched: many requests per ``send``, and only the last
of each send asks for an ACK (the kernel answers a failed request with its
error anyway, and handles a send's requests in order), so the kernel, not
Python, is the limit.

pyroute2 is not needed here: a socket of a named namespace is made by a
thread that enters the namespace for the ``socket()`` call.

One request socket and one monitor socket per port; :func:`open_port`
shares a port per namespace among the protocols of a daemon. The names of
the two other modules are re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno as errnomod
import logging
import os
import socket
import struct
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bgplab import net as netmod
from bgplab.io.netlink_codec import (  # noqa: F401 - re-exported
    _dump_request,
    decode_addr,
    decode_link,
    decode_route,
    encode_op,
    encode_route,
    iter_messages,
    packer_for,
    with_ack,
)
from bgplab.io.netlink_types import (  # noqa: F401 - re-exported
    _GROUPS,
    AF_INET,
    AF_INET6,
    CHUNK,
    IFA_ADDRESS,
    IFA_F_SECONDARY,
    IFA_FLAGS,
    IFA_LABEL,
    IFA_LOCAL,
    IFF_BROADCAST,
    IFF_LOOPBACK,
    IFF_LOWER_UP,
    IFF_MULTICAST,
    IFF_POINTOPOINT,
    IFF_RUNNING,
    IFF_UP,
    IFLA_IFNAME,
    IFLA_MTU,
    KIND_TO_RTN,
    NETLINK_ADD_MEMBERSHIP,
    NETLINK_CAP_ACK,
    NETLINK_GET_STRICT_CHK,
    NETLINK_ROUTE,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_MULTI,
    NLM_F_REPLACE,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_OVERRUN,
    RCVBUF,
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_SCOPE_UNIVERSE,
    RTA_DST,
    RTA_GATEWAY,
    RTA_MULTIPATH,
    RTA_OIF,
    RTA_PREFSRC,
    RTA_PRIORITY,
    RTA_TABLE,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELROUTE,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    RTN_BLACKHOLE,
    RTN_LOCAL,
    RTN_PROHIBIT,
    RTN_TO_KIND,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    RTNH_F_ONLINK,
    RTNLGRP_IPV4_IFADDR,
    RTNLGRP_IPV4_ROUTE,
    RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV6_ROUTE,
    RTNLGRP_LINK,
    RTPROT_BIRD,
    RTPROT_BOOT,
    RTPROT_KERNEL,
    RTPROT_STATIC,
    SO_RCVBUFFORCE,
    SO_SNDBUFFORCE,
    SOL_NETLINK,
    WINDOW,
    AddrInfo,
    FibAttrs,
    FibEvent,
    FibNextHop,
    FibOp,
    FibRoute,
    LinkInfo,
    NetlinkError,
)

log = logging.getLogger("bgplab.netlink")
V6 = netmod.V6_FLAG
_I32 = struct.Struct("=i")


# ---- sockets -----------------------------------------------------------
CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    import ctypes

    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetlinkError(err, f"setns: {os.strerror(err)}")


def netns_socket(netns: str) -> socket.socket:
    """A netlink socket of the named namespace: this thread enters it for
    the socket() call only (a socket stays in the namespace it was made in)."""
    path = f"/var/run/netns/{netns}"
    if not os.path.exists(path):
        raise NetlinkError(errnomod.ENOENT, f"network namespace {netns!r} not found")
    with open("/proc/thread-self/ns/net", "rb") as home, open(path, "rb") as there:
        _setns(there.fileno())
        try:
            return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        finally:
            _setns(home.fileno())


def _open_socket(netns: str | None, groups: int = 0) -> socket.socket:
    if netns is None:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    else:
        sock = netns_socket(netns)
    try:
        for force, plain in (
            (SO_RCVBUFFORCE, socket.SO_RCVBUF),
            (SO_SNDBUFFORCE, socket.SO_SNDBUF),
        ):
            try:
                sock.setsockopt(socket.SOL_SOCKET, force, RCVBUF)
            except OSError:  # unprivileged: as much as rmem_max allows
                sock.setsockopt(socket.SOL_SOCKET, plain, RCVBUF)
        with contextlib.suppress(OSError):
            sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        sock.bind((0, groups))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def local_addresses(family: int = AF_INET) -> list[AddrInfo]:
    """The host's addresses, read synchronously (before the event loop runs)."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.send(_dump_request(RTM_GETADDR, family, 1))
        out: list[AddrInfo] = []
        while True:
            for mtype, _flags, _seq, payload in iter_messages(sock.recv(1 << 20)):
                if mtype == NLMSG_DONE:
                    return out
                if mtype == NLMSG_ERROR:
                    err = -_I32.unpack_from(payload)[0]
                    if err:
                        raise NetlinkError(err, f"netlink dump failed: {os.strerror(err)}")
                    return out
                a = decode_addr(payload)
                if a is not None:
                    out.append(a)


def _drain(sock: socket.socket, first: bytes) -> list[bytes]:
    """The datagram we awaited plus any already queued (no extra awaits)."""
    out = [first]
    while True:
        try:
            out.append(sock.recv(1 << 20))
        except (BlockingIOError, InterruptedError):
            return out


class NetlinkPort:
    """Routes, links and addresses of one network namespace (None = ours)."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self._sock: socket.socket | None = None
        self._lock = asyncio.Lock()
        self._seq = 0
        self._ifindex: dict[str, int] = {}
        self._ifname: dict[int, str] = {}
        self._mon_sock: socket.socket | None = None
        self._mon_task: asyncio.Task[None] | None = None
        self._subscribers: list[tuple[frozenset[str], asyncio.Queue[FibEvent | None]]] = []
        self._joined: set[str] = set()
        self.users = 0  # protocols sharing this port (see open_port)

    # -- life cycle --------------------------------------------------
    async def open(self) -> NetlinkPort:
        if self._sock is None:
            self._sock = await asyncio.get_running_loop().run_in_executor(
                None, _open_socket, self.netns, 0
            )
            await self.dump_links()  # fills the name <-> index maps
        return self

    def close(self) -> None:
        if self._mon_task is not None:
            self._mon_task.cancel()
            self._mon_task = None
        for sock in (self._sock, self._mon_sock):
            if sock is not None:
                sock.close()
        self._sock = self._mon_sock = None
        self._joined.clear()
        for _kinds, q in self._subscribers:
            q.put_nowait(None)
        self._subscribers.clear()

    async def __aenter__(self) -> NetlinkPort:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0x7FFFFFFF or 1
        return self._seq

    @property
    def sock(self) -> socket.socket:
        if self._sock is None:
            raise NetlinkError(errnomod.EBADF, "netlink port is not open")
        return self._sock

    # -- names -------------------------------------------------------
    def ifname(self, index: int) -> str | None:
        return self._ifname.get(index)

    def ifindex(self, name: str) -> int | None:
        return self._ifindex.get(name)

    def _learn_link(self, link: LinkInfo, deleted: bool = False) -> None:
        old = self._ifname.pop(link.index, None)
        if old is not None and self._ifindex.get(old) == link.index:
            del self._ifindex[old]
        if not deleted:
            self._ifname[link.index] = link.name
            self._ifindex[link.name] = link.index

    # -- writes ------------------------------------------------------
    async def write(self, ops: Sequence[tuple[str, int, FibAttrs]]) -> dict[int, int]:
        """Run many (op, dst, attrs) writes, op being add, replace or delete;
        returns {index in ``ops``: errno} of those that failed. A failed
        write never stops the others.

        Requests go CHUNK bytes per send; only the last of a send asks for
        an ACK. The kernel handles a send's requests in order and answers
        each failure with an error for its sequence number, so when the
        last one's answer arrives, every request without an error is done.
        """
        failed: dict[int, int] = {}
        if not ops:
            return failed
        loop = asyncio.get_running_loop()
        async with self._lock:
            sock = self.sock
            ifindex = self._ifindex
            packers: dict[tuple[str, int, int], Any] = {}
            last: tuple[str, FibAttrs | None, int] = ("", None, -1)  # (op, attrs, length)
            relearned = False  # the interfaces, once per write, at an unknown name
            i = 0
            n = len(ops)
            while i < n:
                base = self._seq + 1
                if base + WINDOW > 0x7FFFFFFF:
                    base = 1
                parts: list[bytes] = []
                sent: list[int] = []  # index in ops of request base + k
                size = 0
                first = i
                while i < n and size < CHUNK and len(sent) < WINDOW:
                    op, dst, attrs = ops[i]
                    # encode_op, with the packer of the previous request
                    # reused while (op, attrs, family, length) stay the same
                    pk = (dst & 0xFF) | (0x100 if dst >= V6 else 0)
                    if attrs is not last[1] or pk != last[2] or op != last[0]:
                        try:
                            st, head, mid, post, alen, _a = packer_for(
                                op, dst, attrs, ifindex, packers
                            )
                        except KeyError:
                            if not relearned:  # this send again, with fresh indexes
                                relearned = True
                                await self._dump_links_locked()
                                ifindex = self._ifindex
                                packers.clear()
                                last = ("", None, -1)
                                parts.clear()
                                sent.clear()
                                size = 0
                                i = first
                                continue
                            failed[i] = errnomod.ENODEV
                            i += 1
                            continue
                        except (ValueError, netmod.PrefixError):
                            failed[i] = errnomod.EINVAL
                            i += 1
                            continue
                        pack = st.pack
                        last = (op, attrs, pk)
                    seq = base + len(sent)
                    if alen:
                        msg = pack(head, seq, mid, ((dst & ~V6) >> 8).to_bytes(alen, "big"), post)
                    else:
                        msg = pack(head, seq, mid, post)
                    parts.append(msg)
                    sent.append(i)
                    size += len(msg)
                    i += 1
                if not sent:
                    continue
                self._seq = base + len(sent) - 1
                parts[-1] = with_ack(parts[-1])
                await loop.sock_sendall(sock, b"".join(parts))
                await self._answers(sock, base, sent, failed)
        return failed

    async def _answers(
        self, sock: socket.socket, base: int, sent: list[int], failed: dict[int, int]
    ) -> None:
        """Collect the errors of requests base.. until the last one's ACK."""
        loop = asyncio.get_running_loop()
        last = base + len(sent) - 1
        while True:
            try:
                first = await loop.sock_recv(sock, 1 << 20)
            except OSError as exc:
                if exc.errno != errnomod.ENOBUFS:
                    raise
                # answers were lost; we cannot tell which requests landed
                for k in sent:
                    failed.setdefault(k, errnomod.ENOBUFS)
                return
            for data in _drain(sock, first):
                for mtype, _flags, seq, payload in iter_messages(data):
                    if mtype != NLMSG_ERROR or not base <= seq <= last:
                        continue  # e.g. the answer to an abandoned request
                    err = -_I32.unpack_from(payload)[0]
                    if err:
                        failed[sent[seq - base]] = err
                    if seq == last:
                        return

    async def apply(self, ops: Sequence[FibOp]) -> Sequence[FibOp]:
        """:meth:`write` for :class:`FibOp` values: each op gets its errno."""
        interned: dict[FibAttrs, FibAttrs] = {}
        batch = []
        for o in ops:
            a = o.route.attrs
            batch.append((o.op, o.route.dst, interned.setdefault(a, a)))
        failed = await self.write(batch)
        for k, o in enumerate(ops):
            o.error = failed.get(k, 0)
        return ops

    async def route_replace(self, route: FibRoute) -> int:
        """Install or replace one route; returns errno (0 = ok)."""
        return (await self.apply([FibOp("replace", route)]))[0].error

    async def route_delete(self, route: FibRoute) -> int:
        """Delete our route for this (dst, table, metric); returns errno."""
        return (await self.apply([FibOp("delete", route)]))[0].error

    # -- dumps -------------------------------------------------------
    async def _dump(
        self, request_type: int, family: int, table: int | None = None
    ) -> list[memoryview]:
        loop = asyncio.get_running_loop()
        sock = self.sock
        seq = self._next_seq()
        await loop.sock_sendall(sock, _dump_request(request_type, family, seq, table))
        out: list[memoryview] = []
        while True:
            try:
                first = await loop.sock_recv(sock, 1 << 20)
            except OSError as exc:
                raise NetlinkError(exc.errno, f"netlink dump failed: {exc.strerror}") from exc
            for data in _drain(sock, first):
                for mtype, _flags, mseq, payload in iter_messages(data):
                    if mseq != seq:
                        continue
                    if mtype == NLMSG_DONE:
                        return out
                    if mtype == NLMSG_ERROR:
                        err = -struct.unpack_from("=i", payload)[0]
                        if err:
                            raise NetlinkError(err, f"netlink dump failed: {os.strerror(err)}")
                        return out
                    out.append(payload)

    async def dump_routes(self, table: int | None = 254, family: int = AF_INET) -> list[FibRoute]:
        """Every unicast-ish route of ``table`` (None = all tables)."""
        async with self._lock:
            payloads = await self._dump(RTM_GETROUTE, family, table)
        names = self._ifname
        cache: dict[bytes, tuple[FibNextHop, ...]] = {}
        routes = []
        for p in payloads:
            r = decode_route(p, names, cache)
            if r is not None and (table is None or r.table == table):
                routes.append(r)
        return routes

    async def _dump_links_locked(self) -> list[LinkInfo]:
        links = [decode_link(p) for p in await self._dump(RTM_GETLINK, socket.AF_UNSPEC)]
        self._ifname = {lk.index: lk.name for lk in links}
        self._ifindex = {lk.name: lk.index for lk in links}
        return links

    async def dump_links(self) -> list[LinkInfo]:
        async with self._lock:
            return await self._dump_links_locked()

    async def dump_addrs(self, family: int = socket.AF_UNSPEC) -> list[AddrInfo]:
        async with self._lock:
            payloads = await self._dump(RTM_GETADDR, family)
        return [a for a in (decode_addr(p) for p in payloads) if a is not None]

    # -- monitor -----------------------------------------------------
    async def monitor(self, kinds: Iterable[str] = ("link", "addr", "route")) -> EventStream:
        """Subscribe to events of ``kinds`` (link, addr, route); ``resync``
        events always come. The socket joins only the multicast groups
        someone asked for: route events run to 100k per table load."""
        kinds = frozenset(kinds)
        loop = asyncio.get_running_loop()
        if self._mon_sock is None:
            self._mon_sock = await loop.run_in_executor(None, _open_socket, self.netns, 0)
            self._mon_task = loop.create_task(self._monitor_loop())
        for kind in kinds - self._joined:
            for group in _GROUPS.get(kind, ()):
                self._mon_sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
            self._joined.add(kind)
        q: asyncio.Queue[FibEvent | None] = asyncio.Queue()
        entry = (kinds | {"resync"}, q)
        self._subscribers.append(entry)
        return EventStream(self, entry)

    def _unsubscribe(self, entry: tuple[frozenset[str], asyncio.Queue[FibEvent | None]]) -> None:
        if entry in self._subscribers:
            self._subscribers.remove(entry)

    def _publish(self, ev: FibEvent) -> None:
        for kinds, q in self._subscribers:
            if ev.what in kinds:
                q.put_nowait(ev)

    async def _monitor_loop(self) -> None:
        loop = asyncio.get_running_loop()
        sock = self._mon_sock
        assert sock is not None
        while True:
            try:
                first = await loop.sock_recv(sock, 1 << 20)
            except OSError as exc:
                if exc.errno == errnomod.ENOBUFS:
                    log.warning("netlink monitor overrun; rescanning")
                    self._publish(FibEvent("resync"))
                    continue
                log.error("netlink monitor failed: %s", exc)
                self._publish(FibEvent("resync"))
                return
            for data in _drain(sock, first):
                for mtype, _flags, _seq, payload in iter_messages(data):
                    self._dispatch(mtype, payload)

    def _dispatch(self, mtype: int, payload: memoryview) -> None:
        if mtype in (RTM_NEWROUTE, RTM_DELROUTE):
            # our own routes echo back by the thousand: skip them cheaply, as
            # BIRD does; the periodic scan is what checks them
            if payload[5] == RTPROT_BIRD:
                return
            r = decode_route(payload, self._ifname)
            if r is not None:
                self._publish(FibEvent("route", mtype == RTM_DELROUTE, route=r))
        elif mtype in (RTM_NEWLINK, RTM_DELLINK):
            link = decode_link(payload)
            self._learn_link(link, mtype == RTM_DELLINK)
            self._publish(FibEvent("link", mtype == RTM_DELLINK, link=link))
        elif mtype in (RTM_NEWADDR, RTM_DELADDR):
            a = decode_addr(payload)
            if a is not None:
                self._publish(FibEvent("addr", mtype == RTM_DELADDR, addr=a))


@dataclass(slots=True)
class EventStream:
    """An async iterator of :class:`FibEvent`; ``close()`` unsubscribes."""

    port: NetlinkPort
    entry: tuple[frozenset[str], asyncio.Queue[FibEvent | None]]
    closed: bool = field(default=False)

    def __aiter__(self) -> AsyncIterator[FibEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[FibEvent]:
        q = self.entry[1]
        while not self.closed:
            ev = await q.get()
            if ev is None:
                return
            yield ev

    def get_nowait(self) -> FibEvent | None:
        try:
            return self.entry[1].get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self.closed = True
        self.port._unsubscribe(self.entry)
        self.entry[1].put_nowait(None)


# ---- sharing -----------------------------------------------------------
_ports: dict[tuple[asyncio.AbstractEventLoop, str | None], NetlinkPort] = {}


async def open_port(netns: str | None = None) -> NetlinkPort:
    """The shared port of ``netns`` for this event loop; pair with :func:`release_port`."""
    key = (asyncio.get_running_loop(), netns)
    port = _ports.get(key)
    if port is None:
        port = NetlinkPort(netns)
        await port.open()
        _ports[key] = port
    port.users += 1
    return port


def release_port(port: NetlinkPort) -> None:
    port.users -= 1
    if port.users > 0:
        return
    for key, p in list(_ports.items()):
        if p is port:
            del _ports[key]
    port.close()
