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
    from typing import Generic, TypeVar, overload

    from bgplab.bgp.attrs import PathAttrs

    _T = TypeVar("_T")

    class _TailField(Generic[_T]):
        """A field made by :func:`_tail_field`, as type checkers see it: a
        property of type ``_T`` that can be set (Route's slots do not name it)."""

        @overload
        def __get__(self, obj: None, owner: type[Any]) -> _TailField[_T]: ...
        @overload
        def __get__(self, obj: object, owner: type[Any]) -> _T: ...
        def __get__(self, obj: object, owner: type[Any]) -> Any: ...
        def __set__(self, obj: object, value: _T) -> None: ...


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


# The fields a route shares with the other routes of its UPDATE: one tuple for
# all of them (a full table's routes are 72 bytes each instead of 144).
_TAIL = ("dest", "gw", "iface", "nexthops", "pref", "igp_metric", "stale", "since",
         "from_addr", "ext")
_SINCE = _TAIL.index("since")  # the age: the one field a resent route may change
_STALE = _TAIL.index("stale")  # BIRD's route flags; next to the age
assert _STALE + 1 == _SINCE


class Route:
    """A route in a table.

    ``gw``/``iface`` are the resolved forwarding data (for BGP with
    ``gateway recursive``: the result of the recursive lookup), ``nexthops``
    is set for multipath routes. ``ext`` holds protocol-specific extras
    (``krt_metric``, ``krt_prefsrc``, ``krt_tunnel``, …) or is ``None``.
    ``path_id`` is the ADD-PATH path identifier the route was received with
    (0 without ADD-PATH); ``from_addr`` is the address of the neighbour that
    sent it (BIRD's ``from``).

    Everything but the net, attributes, origin and path id lives in a tuple
    (``_t``) that the routes of one UPDATE share (:meth:`shared`); setting
    one of those fields gives the route its own tuple.
    """

    __slots__ = ("net", "attrs", "origin", "path_id", "_t")

    # (declared for type checkers; the properties below serve them)
    dest: _TailField[Dest]
    gw: _TailField[str | None]
    iface: _TailField[str | None]
    nexthops: _TailField[tuple[NextHop, ...]]
    pref: _TailField[int]
    igp_metric: _TailField[int]
    stale: _TailField[bool]
    since: _TailField[float]
    from_addr: _TailField[str | None]
    ext: _TailField[dict[str, Any] | None]

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
        self._t = (dest, gw, iface, nexthops, origin.preference if pref is None else pref,
                   igp_metric, stale, since, from_addr, ext)

    @staticmethod
    def tail(origin: RouteOrigin, *, dest: Dest = Dest.ROUTER, gw: str | None = None,
             iface: str | None = None, nexthops: tuple[NextHop, ...] = (),
             igp_metric: int = 0, since: float = 0.0,
             from_addr: str | None = None) -> tuple[Any, ...]:
        """The shared part of routes made with :meth:`shared`."""
        return (dest, gw, iface, nexthops, origin.preference, igp_metric, False, since,
                from_addr, None)

    @classmethod
    def shared(cls, net: int, attrs: PathAttrs | None, origin: RouteOrigin, path_id: int,
               tail: tuple[Any, ...]) -> Route:
        """A route whose other fields are ``tail`` (from :meth:`tail`)."""
        r = cls.__new__(cls)
        r.net, r.attrs, r.origin, r.path_id, r._t = net, attrs, origin, path_id, tail
        return r

    def at(self, net: int) -> Route:
        """This route at ``net``: itself if that is its net, else a new route
        that differs from it only in the net. The table keeps one route for a
        run of nets whose routes differ in nothing else and hands out these."""
        if self.net == net:
            return self
        r = Route.__new__(Route)
        r.net, r.attrs, r.origin, r.path_id, r._t = (
            net, self.attrs, self.origin, self.path_id, self._t)
        return r

    def same_run(self, other: Route) -> bool:
        """``other`` differs from this route in nothing but its net (the
        same attribute set, origin, path id and shared tail object)."""
        return (self._t is other._t and self.attrs is other.attrs
                and self.origin is other.origin and self.path_id == other.path_id)

    def same_as(self, other: Route, *, flags: bool = True) -> bool:
        """BIRD's ``rte_same``: the same source, attributes, forwarding,
        preference and flags (stale); only the age may differ. A route sent
        again unchanged is "ignored" at import. ``flags=False`` ignores the
        stale flag too: what an export sees of a route is the same."""
        if self.origin is not other.origin or self.path_id != other.path_id:
            return False
        a, b = self.attrs, other.attrs
        if a is not b and a != b:
            return False
        t, u = self._t, other._t
        if t is u:
            return True
        if flags:
            return t[:_SINCE] == u[:_SINCE] and t[_SINCE + 1:] == u[_SINCE + 1:]
        return t[:_STALE] == u[:_STALE] and t[_SINCE + 1:] == u[_SINCE + 1:]

    def copy(self, **changes: Any) -> Route:
        """A shallow copy with some fields changed (filters modify copies)."""
        r = Route.__new__(Route)
        r.net, r.attrs, r.origin, r.path_id, r._t = (
            self.net, self.attrs, self.origin, self.path_id, self._t)
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


def _tail_field(i: int) -> property:
    def get(self: Route) -> Any:
        return self._t[i]

    def put(self: Route, value: Any) -> None:
        t = self._t
        self._t = t[:i] + (value,) + t[i + 1:]

    return property(get, put)


for _i, _name in enumerate(_TAIL):
    setattr(Route, _name, _tail_field(_i))
# every field of a route, by name (its slots hold the tail as one tuple)
Route.FIELDS = ("net", "attrs", "origin", "path_id", *_TAIL)  # type: ignore[attr-defined]
