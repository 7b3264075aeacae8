"""rtnetlink constants and the plain values protocols see (no sockets).

:class:`FibRoute` and friends are what :mod:`bgplab.io.netlink` hands to
protocols; the numbers are those of linux/netlink.h and linux/rtnetlink.h.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from bgplab import net as netmod

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
_U16 = struct.Struct("=H")

WINDOW = 2048  # requests per send() at most (one ACK each send; errors fit the rcvbuf)
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
class FibAttrs:
    """A kernel route without its destination: what many routes share.

    The kernel protocol keeps one per distinct (next hops, kind, table,
    metric, proto, prefsrc), so 100,000 routes through one gateway hold one
    object, and the netlink encoder caches the packed form per object.
    """

    nexthops: tuple[FibNextHop, ...] = ()
    kind: str = "unicast"
    table: int = 254
    metric: int = 0
    proto: int = RTPROT_BIRD
    prefsrc: str | None = None

    def route(self, dst: int) -> FibRoute:
        return FibRoute(
            dst, self.nexthops, self.kind, self.table, self.metric, self.proto, self.prefsrc
        )


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

    @property
    def attrs(self) -> FibAttrs:
        return FibAttrs(self.nexthops, self.kind, self.table, self.metric, self.proto, self.prefsrc)

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
