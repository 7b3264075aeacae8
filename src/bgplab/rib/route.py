"""Routes: one per (net, source), pointing at a shared attribute set.

This is BIRD's ``rte``: a network, where it came from, how to reach it and
the protocol attributes. The BGP attributes live in an interned
:class:`~bgplab.bgp.attrs.PathAttrs`, so a route itself is small.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bgplab.bgp.attrs import PathAttrs


class Dest(enum.IntEnum):
    """Route destination types, as BIRD names them (``dest`` in filters)."""

    ROUTER = 0  # via a gateway (RTD_ROUTER)
    DEVICE = 1  # directly on an interface (RTD_DEVICE)
    BLACKHOLE = 2  # RTD_BLACKHOLE
    UNREACHABLE = 3  # RTD_UNREACHABLE
    PROHIBIT = 4  # RTD_PROHIBIT
    MULTIPATH = 5  # RTD_MULTIPATH: several gateways in ``nexthops``
    NONE = 6  # not resolvable (e.g. recursive gateway not found)


class Source(enum.IntEnum):
    """Route source types, BIRD's ``source`` filter value (RTS_*)."""

    DUMMY = 0
    STATIC = 1
    INHERIT = 2
    DEVICE = 3
    STATIC_DEVICE = 4
    REDIRECT = 5
    RIP = 6
    OSPF = 7
    OSPF_IA = 8
    OSPF_EXT1 = 9
    OSPF_EXT2 = 10
    BGP = 11
    PIPE = 12


@dataclass(frozen=True, slots=True)
class NextHop:
    """One gateway of a route (several for ECMP)."""

    gw: str | None
    iface: str | None
    weight: int = 1  # BIRD weight (1..256); the kernel gets weight-1 as "hops"


class RouteOrigin(Protocol):
    """What a route knows about the protocol instance that imported it.

    Implemented by protocol instances. BGP sources also expose the
    neighbour data the decision process needs.
    """

    name: str
    source_type: Source  # RTS_* value
    preference: int  # default route preference of the protocol

    # BGP only (None/False elsewhere)
    peer_address: str | None
    peer_router_id: int | None  # as int, for comparison
    peer_as: int | None
    local_as: int | None
    is_ibgp: bool
    is_rr_client: bool


class Route:
    """A route in a table.

    ``gw``/``iface`` are the resolved forwarding data (for BGP with
    ``gateway recursive``: the result of the recursive lookup), ``nexthops``
    is set for multipath routes. ``ext`` holds protocol-specific extras
    (``krt_metric``, ``krt_prefsrc``, ``krt_tunnel``, …) or is ``None``.
    ``path_id`` is the ADD-PATH path identifier the route was received with
    (0 without ADD-PATH); ``from_addr`` is the address of the neighbour that
    sent it (BIRD's ``from``).
    """

    __slots__ = (
        "net",
        "attrs",
        "origin",
        "path_id",
        "dest",
        "gw",
        "iface",
        "nexthops",
        "pref",
        "igp_metric",
        "stale",
        "since",
        "from_addr",
        "ext",
    )

    def __init__(
        self,
        net: int,
        attrs: PathAttrs | None,
        origin: RouteOrigin,
        *,
        path_id: int = 0,
        dest: Dest = Dest.ROUTER,
        gw: str | None = None,
        iface: str | None = None,
        nexthops: tuple[NextHop, ...] = (),
        pref: int | None = None,
        igp_metric: int = 0,
        stale: bool = False,
        since: float = 0.0,
        from_addr: str | None = None,
        ext: dict[str, Any] | None = None,
    ) -> None:
        self.net = net
        self.attrs = attrs
        self.origin = origin
        self.path_id = path_id
        self.dest = dest
        self.gw = gw
        self.iface = iface
        self.nexthops = nexthops
        self.pref = origin.preference if pref is None else pref
        self.igp_metric = igp_metric
        self.stale = stale
        self.since = since
        self.from_addr = from_addr
        self.ext = ext

    def copy(self, **changes: Any) -> Route:
        """A shallow copy with some slots changed (filters modify copies)."""
        r = Route.__new__(Route)
        r.net, r.attrs, r.origin, r.path_id = self.net, self.attrs, self.origin, self.path_id
        r.dest, r.gw, r.iface, r.nexthops = self.dest, self.gw, self.iface, self.nexthops
        r.pref, r.igp_metric, r.stale, r.since = self.pref, self.igp_metric, self.stale, self.since
        r.from_addr, r.ext = self.from_addr, self.ext
        for name, value in changes.items():
            setattr(r, name, value)
        return r

    def __repr__(self) -> str:
        from bgplab import net as netmod

        return (
            f"Route({netmod.to_str(self.net)} from {self.origin.name}"
            f" dest={self.dest.name} gw={self.gw} iface={self.iface}"
            f" path_id={self.path_id} attrs={self.attrs!r})"
        )
