"""What the peers of one update group share: the :class:`GroupKey` that
makes two peers' outgoing UPDATE streams differ, and the attribute rewrite
it implies for a route leaving through the group (:func:`rewrite`).

The group (:mod:`bgplab.rib.adjrib_out`) caches the result per attribute
set; this module only decides it.
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address
from typing import Any, NamedTuple

from bgplab.bgp.attrs import AS_SEQUENCE, ORIGIN_IGP, PathAttrs, intern, shared
from bgplab.rib.route import Dest, Route, Source


class GroupKey(NamedTuple):
    """Everything that makes two peers' outgoing UPDATE streams differ."""

    export_filter: Any  # the Filter object (identity)
    ibgp: bool
    rr_client: bool
    local_as: int
    cluster_id: IPv4Address
    next_hop_self: bool
    next_hop_keep: bool
    self_address: str | None  # next hop when we set ourselves
    add_path_tx: bool
    as4: bool
    extended_message: bool
    default_local_pref: int
    table: str
    export_limit: Any = None  # config Limit(count, action) or None
    # IPv6 to a directly connected neighbor: next hops carry a link-local
    # address too (ours: self_ll), as BIRD 1.6's bird6 sends them
    direct6: bool = False
    neighbor_iface: str | None = None  # a direct neighbor's interface (BIRD's p->neigh)
    self_ll: str | None = None
    missing_lladdr: str = "self"  # self | drop | ignore


def rewrite(k: GroupKey, route: Route, nh_by_filter: bool = False) -> PathAttrs | None:
    """The attributes a group with key ``k`` sends for ``route`` (after its
    export filter), or None when the route cannot go (missing lladdr drop):
    next hop, LOCAL_PREF and the reflector's ORIGINATOR_ID/CLUSTER_LIST to
    iBGP, AS path and attribute clean-up to eBGP, as BIRD 1.6 does them."""
    src = route.origin
    a = route.attrs
    src_bgp = src.source_type == Source.BGP
    if a is None:
        a = PathAttrs(origin=ORIGIN_IGP)
    elif a.origin is None:
        a = a.replace(origin=ORIGIN_IGP)
    changes: dict[str, Any] = {}
    # next hop
    # BIRD 1.6: to eBGP, a next hop is kept only towards a direct
    # neighbor on the route's own interface (a third-party next hop)
    nh: Any = a.next_hop
    third_party = k.neighbor_iface is not None and route.iface == k.neighbor_iface
    if nh_by_filter:
        pass  # the export filter's own `bgp_next_hop = X` wins, as in BIRD
    elif (k.next_hop_self or not src_bgp and not _usable_gw(route)
            or not k.ibgp and not k.next_hop_keep and not third_party):
        nh = None
    elif not src_bgp:
        nh = ip_address(route.gw) if route.gw else None
    if nh is None:
        nh = ip_address(k.self_address) if k.self_address else None
    ll = None
    if k.direct6 and nh is not None and nh.version == 6:
        nh, ll = _link_local(k, nh, a, src_bgp)
        if nh is None:
            return None  # missing lladdr drop
    if nh != a.next_hop:
        changes["next_hop"] = nh
    if ll != a.next_hop_ll:
        changes["next_hop_ll"] = ll
    if k.ibgp:
        if a.local_pref is None:
            changes["local_pref"] = k.default_local_pref
        if src_bgp and src.is_ibgp:
            # RFC 4456: reflecting
            # (shared: one object for all the sets a group reflects)
            if a.originator_id is None:
                changes["originator_id"] = shared(IPv4Address(src.peer_router_id or 0))
            changes["cluster_list"] = shared((k.cluster_id,) + a.cluster_list)
    else:
        changes["local_pref"] = None
        changes["originator_id"] = None
        changes["cluster_list"] = ()
        if src_bgp:
            changes["med"] = None
        path = a.as_path
        if path and path[0][0] == AS_SEQUENCE and len(path[0][1]) < 255:
            changes["as_path"] = ((AS_SEQUENCE, (k.local_as,) + path[0][1]),) + path[1:]
        else:
            changes["as_path"] = ((AS_SEQUENCE, (k.local_as,)),) + path
    if changes:
        a = a.replace(**changes)
    return intern(a)

def _link_local(k: GroupKey, nh: Any, a: PathAttrs, src_bgp: bool) -> tuple[Any, Any]:
    """The link-local half of an IPv6 next hop to a direct neighbor:
    ours with our own address; the received one with a third-party next
    hop; without one, ``missing lladdr`` decides (self: our addresses,
    ignore: the global one alone, drop: not sent)."""
    own_ll = ip_address(k.self_ll) if k.self_ll else None
    if k.self_address and nh == ip_address(k.self_address):
        return nh, own_ll
    if src_bgp and nh == a.next_hop and a.next_hop_ll is not None:
        return nh, a.next_hop_ll
    if k.missing_lladdr == "ignore":
        return nh, None
    if k.missing_lladdr == "drop":
        return None, None
    return (ip_address(k.self_address) if k.self_address else nh), own_ll


def _usable_gw(route: Route) -> bool:
    """BIRD 1.6 keeps a local route's gateway as next hop only for
    ``via`` routes with a global gateway address."""
    if route.dest != Dest.ROUTER or not route.gw:
        return False
    try:
        ip = ip_address(route.gw)
    except ValueError:
        return False
    return not ip.is_link_local
