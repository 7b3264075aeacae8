"""OPEN capabilities (RFC 5492): what we offer, what the peer offered, and
what the session ends up with (:class:`Negotiated`).

Each capability is a small frozen value with ``code``, ``encode()`` and a
``decode(data)`` classmethod; unknown ones stay raw (:class:`UnknownCap`)
so they can still be shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar

from bgplab.bgp.constants import (
    IPV4_UNICAST,
    MAX_EXT_MESSAGE_SIZE,
    MAX_MESSAGE_SIZE,
    CapCode,
    OpenSubcode,
)
from bgplab.bgp.errors import BgpError

Family = tuple[int, int]

ADD_PATH_RX = 1  # RFC 7911 "receive"
ADD_PATH_TX = 2  # RFC 7911 "send"


def _cap_error(name: str, data: bytes) -> BgpError:
    # A capability we understand but cannot parse: the OPEN is malformed.
    return BgpError(2, 0, reason=f"malformed {name} capability ({data.hex() or 'empty'})")


@dataclass(frozen=True, slots=True)
class MultiProtocol:
    afi: int
    safi: int
    code: ClassVar[int] = CapCode.MULTIPROTOCOL

    def encode(self) -> bytes:
        return self.afi.to_bytes(2) + b"\x00" + bytes((self.safi,))

    @classmethod
    def decode(cls, data: bytes) -> MultiProtocol:
        if len(data) != 4:
            raise _cap_error("multiprotocol", data)
        return cls(int.from_bytes(data[0:2]), data[3])


@dataclass(frozen=True, slots=True)
class RouteRefreshCap:
    code: int = CapCode.ROUTE_REFRESH  # or the old 128

    def encode(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, data: bytes, code: int = CapCode.ROUTE_REFRESH) -> RouteRefreshCap:
        return cls(code)


@dataclass(frozen=True, slots=True)
class EnhancedRouteRefreshCap:
    code: ClassVar[int] = CapCode.ENHANCED_ROUTE_REFRESH

    def encode(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, data: bytes) -> EnhancedRouteRefreshCap:
        return cls()


@dataclass(frozen=True, slots=True)
class ExtendedMessageCap:
    code: ClassVar[int] = CapCode.EXTENDED_MESSAGE

    def encode(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, data: bytes) -> ExtendedMessageCap:
        return cls()


@dataclass(frozen=True, slots=True)
class As4Cap:
    asn: int
    code: ClassVar[int] = CapCode.AS4

    def encode(self) -> bytes:
        return self.asn.to_bytes(4)

    @classmethod
    def decode(cls, data: bytes) -> As4Cap:
        if len(data) != 4:
            raise _cap_error("4-octet AS", data)
        return cls(int.from_bytes(data))


@dataclass(frozen=True, slots=True)
class AddPathCap:
    """RFC 7911: ``entries`` are ``(afi, safi, mode)``, mode 1 rx, 2 tx, 3 both."""

    entries: tuple[tuple[int, int, int], ...]
    code: ClassVar[int] = CapCode.ADD_PATH

    def encode(self) -> bytes:
        return b"".join(a.to_bytes(2) + bytes((s, m)) for a, s, m in self.entries)

    @classmethod
    def decode(cls, data: bytes) -> AddPathCap:
        if len(data) % 4:
            raise _cap_error("ADD-PATH", data)
        entries = tuple(
            (int.from_bytes(data[i : i + 2]), data[i + 2], data[i + 3])
            for i in range(0, len(data), 4)
        )
        return cls(entries)


@dataclass(frozen=True, slots=True)
class GracefulRestartCap:
    """RFC 4724: restart time, R(estarting) and N(otification, RFC 8538)
    bits, and per family the F(orwarding state preserved) bit."""

    restart_time: int
    restarting: bool = False
    notification: bool = False
    families: tuple[tuple[int, int, bool], ...] = ()
    code: ClassVar[int] = CapCode.GRACEFUL_RESTART

    def encode(self) -> bytes:
        head = (self.restart_time & 0x0FFF) | (0x8000 if self.restarting else 0)
        head |= 0x4000 if self.notification else 0
        body = b"".join(a.to_bytes(2) + bytes((s, 0x80 if f else 0)) for a, s, f in self.families)
        return head.to_bytes(2) + body

    @classmethod
    def decode(cls, data: bytes) -> GracefulRestartCap:
        if len(data) < 2 or (len(data) - 2) % 4:
            raise _cap_error("graceful restart", data)
        head = int.from_bytes(data[0:2])
        fams = tuple(
            (int.from_bytes(data[i : i + 2]), data[i + 2], bool(data[i + 3] & 0x80))
            for i in range(2, len(data), 4)
        )
        return cls(head & 0x0FFF, bool(head & 0x8000), bool(head & 0x4000), fams)


@dataclass(frozen=True, slots=True)
class LlgrCap:
    """Long-lived graceful restart (RFC 9494): ``(afi, safi, flags, stale_time)``.
    An empty capability only says "LLGR-aware", as BIRD sends by default."""

    families: tuple[tuple[int, int, int, int], ...] = ()
    code: ClassVar[int] = CapCode.LLGR

    def encode(self) -> bytes:
        return b"".join(
            a.to_bytes(2) + bytes((s, fl)) + t.to_bytes(3) for a, s, fl, t in self.families
        )

    @classmethod
    def decode(cls, data: bytes) -> LlgrCap:
        if len(data) % 7:
            raise _cap_error("long-lived graceful restart", data)
        fams = tuple(
            (
                int.from_bytes(data[i : i + 2]),
                data[i + 2],
                data[i + 3],
                int.from_bytes(data[i + 4 : i + 7]),
            )
            for i in range(0, len(data), 7)
        )
        return cls(fams)


@dataclass(frozen=True, slots=True)
class UnknownCap:
    code: int
    data: bytes = b""

    def encode(self) -> bytes:
        return self.data


Capability = (
    MultiProtocol
    | RouteRefreshCap
    | EnhancedRouteRefreshCap
    | ExtendedMessageCap
    | As4Cap
    | AddPathCap
    | GracefulRestartCap
    | LlgrCap
    | UnknownCap
)

_DECODERS: dict[int, Callable[[bytes], Capability]] = {
    CapCode.MULTIPROTOCOL: MultiProtocol.decode,
    CapCode.ROUTE_REFRESH: lambda d: RouteRefreshCap(CapCode.ROUTE_REFRESH),
    CapCode.ROUTE_REFRESH_OLD: lambda d: RouteRefreshCap(CapCode.ROUTE_REFRESH_OLD),
    CapCode.ENHANCED_ROUTE_REFRESH: EnhancedRouteRefreshCap.decode,
    CapCode.EXTENDED_MESSAGE: ExtendedMessageCap.decode,
    CapCode.AS4: As4Cap.decode,
    CapCode.ADD_PATH: AddPathCap.decode,
    CapCode.GRACEFUL_RESTART: GracefulRestartCap.decode,
    CapCode.LLGR: LlgrCap.decode,
}


def decode_capability(code: int, data: bytes) -> Capability:
    dec = _DECODERS.get(code)
    if dec is None:
        return UnknownCap(code, bytes(data))
    return dec(data)


def decode_capabilities(data: bytes) -> list[Capability]:
    """The value of one Capabilities optional parameter (type 2)."""
    out: list[Capability] = []
    i, n = 0, len(data)
    while i < n:
        if i + 2 > n:
            raise BgpError(2, 0, reason="truncated capability header")
        code, clen = data[i], data[i + 1]
        if i + 2 + clen > n:
            raise BgpError(2, 0, reason=f"capability {code} overruns its parameter")
        out.append(decode_capability(code, data[i + 2 : i + 2 + clen]))
        i += 2 + clen
    return out


def encode_capability(cap: Capability) -> bytes:
    value = cap.encode()
    if len(value) > 255:
        raise ValueError(f"capability {cap.code} too long")
    return bytes((cap.code, len(value))) + value


@dataclass(frozen=True)
class LocalConfig:
    """What this speaker offers in its OPEN (BIRD's per-protocol options)."""

    asn: int
    router_id: IPv4Address
    hold_time: int = 240
    keepalive_time: int | None = None  # None: hold/3 (BIRD's default)
    families: tuple[Family, ...] = (IPV4_UNICAST,)
    mp_ipv4: bool = True  # BIRD's "advertise ipv4"
    route_refresh: bool = True
    enhanced_route_refresh: bool = True
    as4: bool = True
    add_path: dict[Family, int] = field(default_factory=dict)
    graceful_restart: bool = False
    gr_time: int = 120
    gr_restarting: bool = False
    gr_forwarding: bool = False
    gr_able: bool = True  # False: "restart-aware" only (no family entries)
    llgr: bool = False
    # BIRD's long-lived GR mode (default aware when GR is on or aware): a
    # peer whose LLGR capability lists the family is then helped too
    llgr_aware: bool = True
    extended_message: bool = False
    capabilities: bool = True  # False: send no capabilities at all

    def __hash__(self) -> int:  # add_path is a dict; hash the rest
        return hash((self.asn, self.router_id, self.hold_time, self.families))

    def open_capabilities(self) -> tuple[Capability, ...]:
        """The capabilities to put in our OPEN, in BIRD's order."""
        if not self.capabilities:
            return ()
        caps: list[Capability] = []
        for afi, safi in self.families:
            if (afi, safi) == IPV4_UNICAST and not self.mp_ipv4:
                continue
            caps.append(MultiProtocol(afi, safi))
        if self.route_refresh:
            caps.append(RouteRefreshCap())
        if self.extended_message:
            caps.append(ExtendedMessageCap())
        if self.graceful_restart:
            caps.append(
                GracefulRestartCap(
                    self.gr_time,
                    self.gr_restarting,
                    False,
                    tuple((a, s, self.gr_forwarding) for a, s in self.families)
                    if self.gr_able
                    else (),
                )
            )
        if self.as4:
            caps.append(As4Cap(self.asn))
        ap = tuple(
            (a, s, m) for (a, s), m in self.add_path.items() if m and (a, s) in self.families
        )
        if ap:
            caps.append(AddPathCap(ap))
        if self.enhanced_route_refresh:
            caps.append(EnhancedRouteRefreshCap())
        if self.llgr:
            caps.append(LlgrCap())
        return tuple(caps)


@dataclass(frozen=True, slots=True)
class GracefulRestartInfo:
    """What the peer told us about its graceful restart (RFC 4724)."""

    restart_time: int
    restarting: bool
    notification: bool
    forwarding: dict[Family, bool]

    def __hash__(self) -> int:
        return hash((self.restart_time, self.restarting, tuple(sorted(self.forwarding.items()))))


@dataclass(frozen=True)
class Negotiated:
    """The session's parameters once both OPENs are known."""

    local_asn: int
    peer_asn: int
    peer_router_id: IPv4Address
    as4: bool
    families: frozenset[Family]
    add_path_rx: frozenset[Family]  # we receive path ids
    add_path_tx: frozenset[Family]  # we send path ids
    hold_time: int
    keepalive_time: int
    route_refresh: bool
    enhanced_route_refresh: bool
    extended_message: bool
    max_message_size: int
    peer_gr: GracefulRestartInfo | None
    peer_caps: tuple[str, ...]
    ibgp: bool
    peer_llgr: bool = False
    peer_llgr_families: frozenset[Family] = frozenset()
    local_gr: bool = True  # we offered graceful restart (BIRD's gr_mode on/aware)
    local_llgr: bool = True  # and are long-lived-GR aware (BIRD's default then)

    @property
    def peer_gr_able(self) -> bool:
        """The peer's GR capability lists this session's families (RFC 4724
        4.2). A peer that lists none is only restart-aware."""
        gr = self.peer_gr
        return gr is not None and any(f in gr.forwarding for f in self.families)

    @property
    def peer_gr_ready(self) -> bool:
        """We help the peer restart: its session loss keeps its routes
        (stale, for its GR restart time) and a second connection from it is
        a restart, not a collision. As BIRD 1.6.8 and 2 (``gr_ready``): we
        offered GR, and the peer's GR capability lists the family, or its
        long-lived GR capability (RFC 9494) does. FRR 8's default sends GR
        without families plus LLGR for IPv4 with stale time 0, and BIRD
        keeps its routes for the GR restart time; the letter of RFC 9494
        (stale time 0) would drop them at once, we follow BIRD."""
        if not self.local_gr or self.peer_gr is None:
            return False
        if self.peer_gr_able:
            return True
        return self.local_llgr and any(f in self.peer_llgr_families for f in self.families)

    @property
    def peer_kept_forwarding(self) -> bool:
        """Re-established after a restart, the peer says it kept forwarding
        (F bit) for this session's families: its stale routes wait for its
        End-of-RIB. Otherwise they go at once (RFC 4724 4.2, as BIRD)."""
        gr = self.peer_gr
        return gr is not None and any(gr.forwarding.get(f, False) for f in self.families)

    @classmethod
    def default(cls, as4: bool = True, add_path: Iterable[Family] = ()) -> Negotiated:
        """A plain session (tests, tools): IPv4+IPv6 unicast, no options."""
        ap = frozenset(add_path)
        return cls(
            local_asn=65000,
            peer_asn=65000,
            peer_router_id=IPv4Address(0),
            as4=as4,
            families=frozenset({IPV4_UNICAST, (2, 1)}),
            add_path_rx=ap,
            add_path_tx=ap,
            hold_time=240,
            keepalive_time=80,
            route_refresh=True,
            enhanced_route_refresh=False,
            extended_message=False,
            max_message_size=MAX_MESSAGE_SIZE,
            peer_gr=None,
            peer_caps=(),
            ibgp=True,
        )


def peer_asn_of(asn_field: int, caps: Iterable[Capability]) -> int:
    """The peer's real ASN: from the AS4 capability when present."""
    for c in caps:
        if isinstance(c, As4Cap):
            return c.asn
    return asn_field


def negotiate(
    local: LocalConfig,
    peer_asn_field: int,
    peer_hold_time: int,
    peer_router_id: IPv4Address,
    peer_caps: Iterable[Capability],
    sent_caps: Iterable[Capability] | None = None,
) -> Negotiated:
    """Combine our offer with the peer's OPEN (already validated).

    ``sent_caps`` are the capabilities we really sent (none after a
    capability-related NOTIFICATION made us retry without them).
    """
    caps = list(peer_caps)
    sent = list(local.open_capabilities() if sent_caps is None else sent_caps)
    peer_mp = {(c.afi, c.safi) for c in caps if isinstance(c, MultiProtocol)}
    # RFC 4760: a speaker without multiprotocol capabilities does IPv4 unicast.
    if not peer_mp:
        peer_mp = {IPV4_UNICAST}
    families = frozenset(f for f in local.families if f in peer_mp)

    sent_as4 = any(isinstance(c, As4Cap) for c in sent)
    peer_as4 = any(isinstance(c, As4Cap) for c in caps)
    as4 = sent_as4 and peer_as4
    peer_asn = peer_asn_of(peer_asn_field, caps) if peer_as4 else peer_asn_field

    def has(kind: type) -> tuple[bool, bool]:
        return any(isinstance(c, kind) for c in sent), any(isinstance(c, kind) for c in caps)

    ours_ap: dict[Family, int] = {}
    for c in sent:
        if isinstance(c, AddPathCap):
            for a, s, m in c.entries:
                ours_ap[(a, s)] = m
    theirs_ap: dict[Family, int] = {}
    for c in caps:
        if isinstance(c, AddPathCap):
            for a, s, m in c.entries:
                theirs_ap[(a, s)] = m
    rx = frozenset(
        f for f in families if ours_ap.get(f, 0) & ADD_PATH_RX and theirs_ap.get(f, 0) & ADD_PATH_TX
    )
    tx = frozenset(
        f for f in families if ours_ap.get(f, 0) & ADD_PATH_TX and theirs_ap.get(f, 0) & ADD_PATH_RX
    )

    hold = min(local.hold_time, peer_hold_time)
    if hold == 0:
        keepalive = 0
    elif local.keepalive_time:
        keepalive = min(local.keepalive_time, hold)
    else:
        keepalive = hold // 3

    rr_s, rr_p = (
        any(isinstance(c, RouteRefreshCap) for c in sent),
        any(isinstance(c, RouteRefreshCap) for c in caps),
    )
    err_s, err_p = has(EnhancedRouteRefreshCap)
    ext_s, ext_p = has(ExtendedMessageCap)
    extended = ext_s and ext_p

    gr: GracefulRestartInfo | None = None
    for c in caps:
        if isinstance(c, GracefulRestartCap):
            gr = GracefulRestartInfo(
                c.restart_time,
                c.restarting,
                c.notification,
                {(a, s): f for a, s, f in c.families},
            )
    llgr_caps = [c for c in caps if isinstance(c, LlgrCap)]

    return Negotiated(
        local_asn=local.asn,
        peer_asn=peer_asn,
        peer_router_id=peer_router_id,
        as4=as4,
        families=families,
        add_path_rx=rx,
        add_path_tx=tx,
        hold_time=hold,
        keepalive_time=keepalive,
        route_refresh=rr_s and rr_p,
        enhanced_route_refresh=err_s and err_p,
        extended_message=extended,
        max_message_size=MAX_EXT_MESSAGE_SIZE if extended else MAX_MESSAGE_SIZE,
        peer_gr=gr,
        peer_caps=peer_cap_names(caps),
        ibgp=local.asn == peer_asn,
        peer_llgr=bool(llgr_caps),
        peer_llgr_families=frozenset((a, s) for c in llgr_caps for a, s, _f, _t in c.families),
        local_gr=any(isinstance(c, GracefulRestartCap) for c in sent),
        local_llgr=local.llgr_aware,
    )


def peer_cap_names(caps: Iterable[Capability]) -> tuple[str, ...]:
    """BIRD's ``Neighbor caps:`` words, in BIRD's order."""
    caps = list(caps)
    names: list[str] = []
    if any(isinstance(c, RouteRefreshCap) for c in caps):
        names.append("refresh")
    if any(isinstance(c, EnhancedRouteRefreshCap) for c in caps):
        names.append("enhanced-refresh")
    gr = [c for c in caps if isinstance(c, GracefulRestartCap)]
    if gr:
        names.append("restart-able" if gr[0].families else "restart-aware")
    llgr = [c for c in caps if isinstance(c, LlgrCap)]
    if llgr:
        names.append("llgr-able" if llgr[0].families else "llgr-aware")
    if any(isinstance(c, As4Cap) for c in caps):
        names.append("AS4")
    modes = 0
    for c in caps:
        if isinstance(c, AddPathCap):
            for _a, _s, m in c.entries:
                modes |= m
    if modes & ADD_PATH_RX:
        names.append("add-path-rx")
    if modes & ADD_PATH_TX:
        names.append("add-path-tx")
    if any(isinstance(c, ExtendedMessageCap) for c in caps):
        names.append("ext-messages")
    return tuple(names)


def check_peer_open(
    local: LocalConfig,
    expected_asn: int | None,
    version: int,
    asn_field: int,
    hold_time: int,
    router_id: IPv4Address,
    caps: Iterable[Capability],
    reject_same_id: bool = True,
) -> None:
    """RFC 4271 6.2 / RFC 6286 / RFC 6793 checks; raises the OPEN error.

    Like BIRD 1.6, a router id equal to ours is refused (2/3) unless
    ``reject_same_id`` is off; 0.0.0.0 and 255.255.255.255 always are.
    """
    if version != 4:
        raise BgpError(2, OpenSubcode.UNSUPPORTED_VERSION, (4).to_bytes(2), f"version {version}")
    caps = list(caps)
    asn = peer_asn_of(asn_field, caps)
    if asn == 0 or (expected_asn is not None and asn != expected_asn):
        data = asn.to_bytes(4) if asn != asn_field else asn_field.to_bytes(2)
        raise BgpError(2, OpenSubcode.BAD_PEER_AS, data, f"peer AS {asn}, expected {expected_asn}")
    if hold_time in (1, 2):
        raise BgpError(
            2, OpenSubcode.UNACCEPTABLE_HOLD_TIME, hold_time.to_bytes(2), f"hold time {hold_time}"
        )
    rid = int(router_id)
    if rid in (0, 0xFFFFFFFF) or (reject_same_id and router_id == local.router_id):
        raise BgpError(2, OpenSubcode.BAD_BGP_ID, router_id.packed, f"router id {router_id}")
