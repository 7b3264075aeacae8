"""The kernel FIB and interface port: rtnetlink on asyncio.

Everything bgplab knows about Linux routes, links and addresses passes
through :class:`NetlinkPort`. Protocols see plain values (:class:`FibRoute`,
:class:`LinkInfo`, :class:`AddrInfo`) and never a netlink message.

Route messages are packed and parsed here by hand rather than through
pyroute2's message objects: pyroute2 spends about 0.4 ms per request, so a
100k-route table would take most of a minute to install. Packed by hand and
pipelined (many requests per ``send``, a bounded window of outstanding
ACKs) the kernel, not Python, is the limit. pyroute2 still does the part
that is fiddly and rare: opening a socket inside a named network namespace.

One request socket and one monitor socket per port; :func:`open_port`
shares a port per namespace among the protocols of a daemon.
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

from bgplab import net as netmod

log = logging.getLogger("bgplab.netlink")

# ---- rtnetlink constants (linux/netlink.h, linux/rtnetlink.h) ---------
NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x100, 0x200, 0x400, 0x300
SOL_NETLINK = 270
SO_SNDBUFFORCE, SO_RCVBUFFORCE = 32, 33
NETLINK_CAP_ACK = 10
NETLINK_GET_STRICT_CHK = 12

RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC = 1, 4, 5, 6, 7
RTA_MULTIPATH, RTA_TABLE = 9, 15
RTNH_F_ONLINK = 4
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255

IFLA_IFNAME, IFLA_MTU = 3, 4
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_FLAGS = 1, 2, 3, 8
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_POINTOPOINT = 0x1, 0x2, 0x8, 0x10
IFF_RUNNING, IFF_MULTICAST, IFF_LOWER_UP = 0x40, 0x1000, 0x10000
IFA_F_SECONDARY = 0x01

NETLINK_ADD_MEMBERSHIP = 1
RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE = 1, 5, 7
RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE = 9, 11
_GROUPS = {
    "link": (RTNLGRP_LINK,),
    "addr": (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR),
    "route": (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE),
}

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6

RTPROT_KERNEL = 2
RTPROT_BOOT = 3
RTPROT_STATIC = 4
RTPROT_BIRD = 12

RTN_UNICAST, RTN_LOCAL = 1, 2
RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT = 6, 7, 8
KIND_TO_RTN = {
    "unicast": RTN_UNICAST,
    "blackhole": RTN_BLACKHOLE,
    "unreachable": RTN_UNREACHABLE,
    "prohibit": RTN_PROHIBIT,
}
RTN_TO_KIND = {v: k for k, v in KIND_TO_RTN.items()}

_NLH = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_RTM = struct.Struct(
    "=BBBBBBBBI"
)  # family, dst_len, src_len, tos, table, proto, scope, type, flags
_RTA = struct.Struct("=HH")
_RTNH = struct.Struct("=HBBi")  # len, flags, hops, ifindex
_IFI = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFA = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_U32 = struct.Struct("=I")

WINDOW = 2048  # requests in flight before we wait for ACKs (bounded by rcvbuf)
CHUNK = 48 * 1024  # bytes per send()
RCVBUF = 16 << 20


class NetlinkError(OSError):
    """A netlink request failed as a whole (socket gone, namespace missing)."""


# ---- values ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FibNextHop:
    """One gateway of a kernel route. ``weight`` is BIRD's (1..256)."""

    gw: str | None = None
    ifname: str | None = None
    weight: int = 1
    onlink: bool = False


@dataclass(frozen=True, slots=True)
class FibRoute:
    """A kernel route as we write or read it.

    ``dst`` is a :mod:`bgplab.net` key. ``kind`` is unicast, blackhole,
    unreachable or prohibit. A unicast route has one nexthop (plain) or
    several (multipath). ``proto`` is the rtnetlink protocol (12 = bird).
    """

    dst: int
    nexthops: tuple[FibNextHop, ...] = ()
    kind: str = "unicast"
    table: int = 254
    metric: int = 0
    proto: int = RTPROT_BIRD
    prefsrc: str | None = None

    @property
    def v6(self) -> bool:
        return self.dst >= netmod.V6_FLAG

    def key(self) -> tuple[int, int, int]:
        """What makes two kernel routes the same slot: (dst, table, metric)."""
        return (self.dst, self.table, self.metric)

    def __str__(self) -> str:  # like `ip route`, for logs
        s = netmod.to_str(self.dst)
        if self.kind != "unicast":
            s = f"{self.kind} {s}"
        if len(self.nexthops) == 1:
            nh = self.nexthops[0]
            s += f" via {nh.gw}" if nh.gw else ""
            s += f" dev {nh.ifname}" if nh.ifname else ""
        for nh in self.nexthops if len(self.nexthops) > 1 else ():
            s += f" nexthop via {nh.gw} dev {nh.ifname} weight {nh.weight}"
        return s + f" proto {self.proto} metric {self.metric} table {self.table}"


@dataclass(frozen=True, slots=True)
class LinkInfo:
    index: int
    name: str
    flags: int
    mtu: int = 1500

    @property
    def admin_up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def link_up(self) -> bool:
        return bool(self.flags & (IFF_LOWER_UP | IFF_RUNNING))

    def flag_names(self) -> set[str]:
        names = {
            "loopback": IFF_LOOPBACK,
            "multicast": IFF_MULTICAST,
            "broadcast": IFF_BROADCAST,
            "ptp": IFF_POINTOPOINT,
        }
        return {n for n, bit in names.items() if self.flags & bit}


@dataclass(frozen=True, slots=True)
class AddrInfo:
    """An interface address. ``peer`` is set for point-to-point addresses."""

    index: int
    address: str
    prefixlen: int
    v6: bool = False
    peer: str | None = None
    scope: int = 0
    secondary: bool = False
    label: str | None = None

    @property
    def prefix(self) -> int:
        """The connected prefix (the peer /32 for point-to-point)."""
        if self.peer is not None:
            a, v6 = netmod.ip_to_int(self.peer)
            return netmod.make(a, 128 if v6 else 32, v6)
        a, v6 = netmod.ip_to_int(self.address)
        return netmod.make(a, self.prefixlen, v6)


@dataclass(frozen=True, slots=True)
class FibEvent:
    """One monitor event. ``what`` is link, addr, route or resync.

    ``resync`` means events were lost (socket overrun): rescan everything.
    """

    what: str
    deleted: bool = False
    link: LinkInfo | None = None
    addr: AddrInfo | None = None
    route: FibRoute | None = None


@dataclass(slots=True)
class FibOp:
    """One write: ``add``, ``replace`` or ``delete``. ``error`` is filled by apply."""

    op: str
    route: FibRoute
    error: int = 0  # errno, 0 = done

    @property
    def ok(self) -> bool:
        return self.error == 0


# ---- encoding ----------------------------------------------------------
def _attr(kind: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return _RTA.pack(n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def _ip_bytes(addr: str) -> tuple[bytes, bool]:
    a, v6 = netmod.ip_to_int(addr)
    return a.to_bytes(16 if v6 else 4, "big"), v6


def encode_route(op: str, route: FibRoute, seq: int, ifindex: dict[str, int]) -> bytes:
    """Pack an RTM_NEWROUTE (``add``: fails with EEXIST if the slot is
    taken; ``replace``: overwrites it) or RTM_DELROUTE (``delete``) request.

    ``ifindex`` maps interface names to indexes; a missing name raises
    KeyError (the caller reports ENODEV for that route only).
    """
    v6 = route.v6
    family = AF_INET6 if v6 else AF_INET
    plen = netmod.length(route.dst)
    dst = netmod.address(route.dst).to_bytes(16 if v6 else 4, "big")
    table = route.table
    attrs = [_attr(RTA_TABLE, _U32.pack(table))]
    if plen:
        attrs.append(_attr(RTA_DST, dst))
    if route.metric:
        attrs.append(_attr(RTA_PRIORITY, _U32.pack(route.metric)))
    rtm_flags = 0
    if op == "delete":
        # match only our own route (proto) for this slot; any nexthops
        msg_type = RTM_DELROUTE
        flags = NLM_F_REQUEST | NLM_F_ACK
        scope, rtype = RT_SCOPE_NOWHERE, 0
    elif op in ("replace", "add"):
        msg_type = RTM_NEWROUTE
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
        flags |= NLM_F_REPLACE if op == "replace" else NLM_F_EXCL
        rtype = KIND_TO_RTN[route.kind]
        scope = RT_SCOPE_UNIVERSE
        if route.prefsrc:
            attrs.append(_attr(RTA_PREFSRC, _ip_bytes(route.prefsrc)[0]))
        hops = route.nexthops if rtype == RTN_UNICAST else ()
        if rtype == RTN_UNICAST and not hops:
            raise ValueError("unicast route without nexthop")
        if len(hops) == 1:
            nh = hops[0]
            if nh.gw:
                attrs.append(_attr(RTA_GATEWAY, _ip_bytes(nh.gw)[0]))
            else:
                scope = RT_SCOPE_LINK  # a device route
            if nh.ifname:
                attrs.append(_attr(RTA_OIF, _U32.pack(ifindex[nh.ifname])))
            if nh.onlink:
                rtm_flags = RTNH_F_ONLINK
        elif hops:
            parts = []
            for nh in hops:
                inner = _attr(RTA_GATEWAY, _ip_bytes(nh.gw)[0]) if nh.gw else b""
                idx = ifindex[nh.ifname] if nh.ifname else 0
                hflags = RTNH_F_ONLINK if nh.onlink else 0
                weight = min(max(nh.weight, 1), 256)
                parts.append(_RTNH.pack(8 + len(inner), hflags, weight - 1, idx) + inner)
            attrs.append(_attr(RTA_MULTIPATH, b"".join(parts)))
    else:
        raise ValueError(f"unknown route op {op!r}")
    body = _RTM.pack(
        family, plen, 0, 0, table if table < 256 else 0, route.proto, scope, rtype, rtm_flags
    ) + b"".join(attrs)
    return _NLH.pack(16 + len(body), msg_type, flags, seq, 0) + body


def _dump_request(msg_type: int, family: int, seq: int, table: int | None = None) -> bytes:
    if msg_type == RTM_GETROUTE:
        body = _RTM.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        if table is not None:
            body += _attr(RTA_TABLE, _U32.pack(table))
    elif msg_type == RTM_GETLINK:
        body = _IFI.pack(family, 0, 0, 0, 0)
    else:
        body = _IFA.pack(family, 0, 0, 0, 0)
    return _NLH.pack(16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


# ---- decoding ----------------------------------------------------------
def iter_messages(data: bytes) -> Iterable[tuple[int, int, int, memoryview]]:
    """Split a datagram into (type, flags, seq, payload) messages."""
    view = memoryview(data)
    off = 0
    end = len(data)
    while off + 16 <= end:
        length, mtype, flags, seq, _pid = _NLH.unpack_from(data, off)
        if length < 16 or off + length > end:
            break
        yield mtype, flags, seq, view[off + 16 : off + length]
        off += (length + 3) & ~3


def _attrs(payload: memoryview, start: int) -> dict[int, memoryview]:
    out: dict[int, memoryview] = {}
    off = start
    end = len(payload)
    while off + 4 <= end:
        alen, kind = _RTA.unpack_from(payload, off)
        if alen < 4:
            break
        out[kind & 0x3FFF] = payload[off + 4 : off + alen]
        off += (alen + 3) & ~3
    return out


def _ip_str(raw: memoryview | bytes) -> str:
    b = bytes(raw)
    if len(b) == 4:
        return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"
    return netmod.addr_str(int.from_bytes(b, "big"), True)


def decode_route(
    payload: memoryview | bytes,
    ifname: dict[int, str],
    cache: dict[bytes, tuple[FibNextHop, ...]] | None = None,
) -> FibRoute | None:
    """Parse an RTM_NEWROUTE/DELROUTE payload; None for families we skip.

    ``cache`` (one dict per dump) shares nexthop tuples between routes with
    the same gateway bytes: a big table has few distinct nexthops.
    """
    b = bytes(payload)
    family, plen, _src, _tos, table, proto, _scope, rtype, rflags = _RTM.unpack_from(b)
    if family != AF_INET and family != AF_INET6:
        return None
    addr = 0
    metric = 0
    nh_raw = b""
    oif = 0
    prefsrc = None
    off = 12
    n = len(b)
    unpack = _RTA.unpack_from
    while off + 4 <= n:
        alen, kind = unpack(b, off)
        if alen < 4:
            break
        kind &= 0x3FFF
        if kind == RTA_DST:
            addr = int.from_bytes(b[off + 4 : off + alen], "big")
        elif kind == RTA_TABLE:
            table = _U32.unpack_from(b, off + 4)[0]
        elif kind == RTA_PRIORITY:
            metric = _U32.unpack_from(b, off + 4)[0]
        elif kind in (RTA_GATEWAY, RTA_MULTIPATH):
            nh_raw = b[off : off + alen]
        elif kind == RTA_OIF:
            oif = _U32.unpack_from(b, off + 4)[0]
        elif kind == RTA_PREFSRC:
            prefsrc = _ip_str(b[off + 4 : off + alen])
        off += (alen + 3) & ~3
    kind_s = RTN_TO_KIND.get(rtype)
    if kind_s is None:
        kind_s = "local" if rtype == RTN_LOCAL else f"type{rtype}"
    hops: tuple[FibNextHop, ...] = ()
    if nh_raw or oif:
        ckey = nh_raw + oif.to_bytes(4, "little") + bytes((rflags & 0xFF,))
        got = cache.get(ckey) if cache is not None else None
        if got is None:
            got = _decode_hops(nh_raw, oif, rflags, ifname)
            if cache is not None:
                cache[ckey] = got
        hops = got
    return FibRoute(
        netmod.make(addr, plen, family == AF_INET6), hops, kind_s, table, metric, proto, prefsrc
    )


def _decode_hops(
    raw: bytes, oif: int, rflags: int, ifname: dict[int, str]
) -> tuple[FibNextHop, ...]:
    kind = _RTA.unpack_from(raw)[1] & 0x3FFF if raw else 0
    if kind != RTA_MULTIPATH:
        gw = _ip_str(raw[4:]) if raw else None
        name = ifname.get(oif, f"if{oif}") if oif else None
        return (FibNextHop(gw, name, 1, bool(rflags & RTNH_F_ONLINK)),)
    hops = []
    mp = memoryview(raw)[4:]
    off = 0
    while off + 8 <= len(mp):
        hlen, hflags, nhops, idx = _RTNH.unpack_from(mp, off)
        if hlen < 8:
            break
        inner = _attrs(mp[off : off + hlen], 8)
        gw = _ip_str(inner[RTA_GATEWAY]) if RTA_GATEWAY in inner else None
        name = ifname.get(idx, f"if{idx}") if idx else None
        hops.append(FibNextHop(gw, name, nhops + 1, bool(hflags & RTNH_F_ONLINK)))
        off += (hlen + 3) & ~3
    return tuple(hops)


def decode_link(payload: memoryview) -> LinkInfo:
    _fam, _type, index, flags, _change = _IFI.unpack_from(payload)
    a = _attrs(payload, _IFI.size)
    name = bytes(a.get(IFLA_IFNAME, b"")).rstrip(b"\0").decode(errors="replace")
    mtu = _U32.unpack(a[IFLA_MTU])[0] if IFLA_MTU in a else 0
    return LinkInfo(index, name or f"if{index}", flags, mtu)


def decode_addr(payload: memoryview) -> AddrInfo | None:
    family, plen, flags, scope, index = _IFA.unpack_from(payload)
    if family not in (AF_INET, AF_INET6):
        return None
    a = _attrs(payload, _IFA.size)
    if IFA_FLAGS in a:
        flags = _U32.unpack(a[IFA_FLAGS])[0]
    local = a.get(IFA_LOCAL)
    address = a.get(IFA_ADDRESS)
    if local is None and address is None:
        return None
    peer = None
    if local is not None:
        mine = _ip_str(local)
        if address is not None and bytes(address) != bytes(local):
            peer = _ip_str(address)
    else:
        mine = _ip_str(address)  # type: ignore[arg-type]
    label = bytes(a[IFA_LABEL]).rstrip(b"\0").decode() if IFA_LABEL in a else None
    return AddrInfo(
        index, mine, plen, family == AF_INET6, peer, scope, bool(flags & IFA_F_SECONDARY), label
    )


# ---- sockets -----------------------------------------------------------
def _open_socket(netns: str | None, groups: int = 0) -> socket.socket:
    if netns is None:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    else:
        # entering the namespace (setns in a helper process) is done by pyroute2
        from pyroute2.netns import create_socket  # type: ignore[import-untyped]

        if not os.path.exists(f"/var/run/netns/{netns}"):
            raise NetlinkError(errnomod.ENOENT, f"network namespace {netns!r} not found")
        sock = create_socket(netns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE, flags=0)
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
    async def apply(self, ops: Sequence[FibOp]) -> Sequence[FibOp]:
        """Run many add/replace/delete ops, pipelined; each op gets its errno.

        A failed op never stops the others. Returns ``ops``.
        """
        if not ops:
            return ops
        loop = asyncio.get_running_loop()
        async with self._lock:
            sock = self.sock
            if any(
                nh.ifname is not None and nh.ifname not in self._ifindex
                for o in ops
                for nh in o.route.nexthops
            ):
                await self._dump_links_locked()
            pending: dict[int, FibOp] = {}
            i = 0
            n = len(ops)
            while i < n or pending:
                buf = bytearray()
                while i < n and len(pending) < WINDOW and len(buf) < CHUNK:
                    op = ops[i]
                    i += 1
                    seq = self._next_seq()
                    try:
                        buf += encode_route(op.op, op.route, seq, self._ifindex)
                    except KeyError:
                        op.error = errnomod.ENODEV
                        continue
                    except (ValueError, netmod.PrefixError):
                        op.error = errnomod.EINVAL
                        continue
                    op.error = -1  # in flight
                    pending[seq] = op
                if buf:
                    await loop.sock_sendall(sock, bytes(buf))
                if not pending:
                    continue
                try:
                    first = await loop.sock_recv(sock, 1 << 20)
                except OSError as exc:
                    if exc.errno != errnomod.ENOBUFS:
                        raise
                    # ACKs were lost; we cannot tell which ops landed
                    for op in pending.values():
                        op.error = errnomod.ENOBUFS
                    pending.clear()
                    continue
                for data in _drain(sock, first):
                    for mtype, _flags, seq, payload in iter_messages(data):
                        op2 = pending.pop(seq, None)
                        if op2 is not None and mtype == NLMSG_ERROR:
                            op2.error = -struct.unpack_from("=i", payload)[0]
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
