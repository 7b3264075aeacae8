"""Reading, setting and unsetting route attributes from filters (``net``,
``gw``, ``bgp_path``, ``krt_metric``...): one closure per attribute, built
once at compile time. Setting copies the route on the first write
(:meth:`~bgplab.filters.runtime.Ctx.rw`)."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from bgplab.bgp.attrs import PathAttrs
from bgplab.filters.attributes import BGP_ATTRS, KRT_ATTRS, ROUTE_ATTRS
from bgplab.filters.runtime import Ctx, Expr, route_of
from bgplab.filters.values import (
    EC,
    BgpPath,
    Cast,
    CList,
    ECList,
    FilterRuntimeError,
    LCList,
    Prefix,
    Scope,
    _CListBase,
    type_name,
)
from bgplab.rib.route import Dest


def _ip(s: str | None) -> IPv4Address | IPv6Address:
    if s is None:
        return IPv4Address(0)
    try:
        return ip_address(s.split("%")[0])
    except ValueError:
        return IPv4Address(0)


_ATTR_FIELD = {
    "bgp_path": "as_path",
    "bgp_local_pref": "local_pref",
    "bgp_med": "med",
    "bgp_origin": "origin",
    "bgp_next_hop": "next_hop",
    "bgp_atomic_aggr": "atomic_aggregate",
    "bgp_community": "communities",
    "bgp_ext_community": "ext_communities",
    "bgp_large_community": "large_communities",
    "bgp_originator_id": "originator_id",
    "bgp_cluster_list": "cluster_list",
}


def attr_getter(name: str) -> Expr:
    if name == "net":
        return lambda c: Prefix(route_of(c).net)
    if name == "preference":
        return lambda c: route_of(c).pref
    if name == "from":
        return lambda c: _ip(route_of(c).from_addr)
    if name == "gw":
        return lambda c: _ip(route_of(c).gw)
    if name == "proto":
        return lambda c: route_of(c).origin.name
    if name == "source":
        return lambda c: route_of(c).origin.source_type
    if name == "cast":
        return lambda c: Cast.UNICAST
    if name == "dest":
        return lambda c: route_of(c).dest
    if name == "ifname":
        return lambda c: route_of(c).iface or ""
    if name == "ifindex":
        return lambda c: 0
    if name == "igp_metric":
        return lambda c: route_of(c).igp_metric
    if name == "scope":
        return lambda c: (route_of(c).ext or {}).get("scope", Scope.UNIVERSE)
    if name in KRT_ATTRS:
        return lambda c: (route_of(c).ext or {}).get(name)
    field = _ATTR_FIELD[name]
    if name == "bgp_path":

        def g_path(c: Ctx) -> Any:
            a = route_of(c).attrs
            return BgpPath(a.as_path if a is not None else ())

        return g_path
    if name in ("bgp_community", "bgp_cluster_list"):
        return lambda c: CList(getattr(route_of(c).attrs, field, ()))
    if name == "bgp_large_community":
        return lambda c: LCList(getattr(route_of(c).attrs, field, ()))
    if name == "bgp_ext_community":
        return lambda c: ECList(EC(x) for x in getattr(route_of(c).attrs, field, ()))
    if name == "bgp_origin":
        # BIRD 1.6.8 reads bgp_origin as a plain int, so ``bgp_origin =
        # ORIGIN_IGP`` is never true there; we keep that behaviour (drop-in).
        return lambda c: getattr(route_of(c).attrs, "origin", None)
    if name == "bgp_atomic_aggr":
        return lambda c: True if getattr(route_of(c).attrs, field, False) else None
    return lambda c: getattr(route_of(c).attrs, field, None)


def _check(v: Any, want: str, name: str) -> None:
    got = type_name(v)
    if got != want and not ({got, want} <= {"ip", "quad"}):
        raise FilterRuntimeError(f"Attempt to set {name} ({want}) to a value of type {got}")


def bgp_value(name: str, v: Any) -> Any:
    """Check and convert a value assigned to a BGP attribute into the
    PathAttrs field's representation."""
    if name == "bgp_atomic_aggr":
        return bool(v)
    if name != "bgp_origin" or type(v) is not int:
        _check(v, BGP_ATTRS[name][0], name)
    if name == "bgp_path":
        return v.segs
    if name in ("bgp_local_pref", "bgp_med") and not 0 <= v <= 0xFFFFFFFF:
        raise FilterRuntimeError(f"Value {v} out of range for {name}")
    if name == "bgp_origin":
        if v not in (0, 1, 2):
            raise FilterRuntimeError(f"Invalid bgp_origin {v}")
        return int(v)
    if name == "bgp_ext_community":
        return tuple(int(x) for x in v)
    if isinstance(v, _CListBase):
        return tuple(v)
    return v


def attr_setter(name: str) -> Callable[[Ctx, Any], None]:
    typ = (ROUTE_ATTRS.get(name) or BGP_ATTRS.get(name) or KRT_ATTRS[name])[0]
    if name in _ATTR_FIELD:
        field = _ATTR_FIELD[name]

        def s_bgp(c: Ctx, v: Any) -> None:
            val = bgp_value(name, v)
            r = c.rw()
            a = r.attrs if r.attrs is not None else PathAttrs()
            r.attrs = a.replace(**{field: val})

        return s_bgp
    if name in KRT_ATTRS or name == "scope":

        def s_ext(c: Ctx, v: Any) -> None:
            _check(v, typ, name)
            c.ext_rw()[name] = v

        return s_ext

    def s_route(c: Ctx, v: Any) -> None:
        _check(v, typ, name)
        r = c.rw()
        if name == "preference":
            if not 0 <= v <= 0xFFFF:
                raise FilterRuntimeError(f"Value {v} out of range for preference")
            r.pref = v
        elif name == "from":
            r.from_addr = str(v)
        elif name == "gw":
            r.gw = str(v)
            r.dest = Dest.ROUTER
            r.nexthops = ()
        elif name == "dest":
            if v not in (Dest.BLACKHOLE, Dest.UNREACHABLE, Dest.PROHIBIT):
                raise FilterRuntimeError("Setting dest to a value other than a sink type")
            r.dest = v
            r.gw = None
            r.iface = None
            r.nexthops = ()
        elif name == "ifname":
            r.iface = v
            r.gw = None
            r.dest = Dest.DEVICE
            r.nexthops = ()
        elif name == "igp_metric":
            r.igp_metric = v

    return s_route


def attr_unsetter(name: str, empty: bool) -> Callable[[Ctx], None]:
    if name in _ATTR_FIELD:
        field = _ATTR_FIELD[name]
        blank = PathAttrs()
        val = getattr(blank, field)

        def u(c: Ctx) -> None:
            r = c.rw()
            if r.attrs is not None:
                r.attrs = r.attrs.replace(**{field: val})

        return u
    if name in KRT_ATTRS or name == "scope":
        return lambda c: c.ext_rw().pop(name, None) and None
    raise FilterRuntimeError(f"{name} cannot be unset")
