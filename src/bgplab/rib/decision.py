"""Route selection: which of two routes for a net is better, and why.

The table compares preference first, then (for two BGP routes) the BGP
decision process in BIRD 1.6's order. Each step is its own small function
so that ``show route … explain`` can say which rule decided.
"""

from __future__ import annotations

import enum
from ipaddress import IPv4Address

from bgplab.rib.route import Route, Source


class Reason(enum.Enum):
    ONLY = "only route"
    PREFERENCE = "preference"
    PROTOCOL = "protocol type"
    LOCAL_PREF = "local preference"
    AS_PATH = "AS path length"
    ORIGIN = "origin"
    MED = "MED"
    EBGP = "eBGP over iBGP"
    IGP_METRIC = "IGP metric"
    ROUTER_ID = "router id"
    CLUSTER_LIST = "cluster list length"
    NEIGHBOR = "neighbor address"
    STALE = "not stale"
    TIE = "equal (first received)"


def _lp(r: Route) -> int:
    a = r.attrs
    if a is None or a.local_pref is None:
        return 100
    return a.local_pref


def _rid(r: Route) -> int:
    a = r.attrs
    if a is not None and a.originator_id is not None:
        return int(a.originator_id)
    return r.origin.peer_router_id or 0


def _addr_key(r: Route) -> tuple[int, str]:
    a = r.origin.peer_address or ""
    try:
        return (0, f"{int(IPv4Address(a)):010d}")
    except ValueError:
        return (1, a)


def bgp_compare(a: Route, b: Route) -> tuple[int, Reason]:
    """Compare two BGP routes: (<0 if a is better, >0 if b is, 0 tie; reason)."""
    if a.stale != b.stale:
        return (1 if a.stale else -1), Reason.STALE
    x, y = _lp(a), _lp(b)
    if x != y:
        return (y - x), Reason.LOCAL_PREF
    aa, ba = a.attrs, b.attrs
    if aa is not None and ba is not None:
        x, y = aa.as_path_len(), ba.as_path_len()
        if x != y:
            return (x - y), Reason.AS_PATH
        x = aa.origin if aa.origin is not None else 2
        y = ba.origin if ba.origin is not None else 2
        if x != y:
            return (x - y), Reason.ORIGIN
        # MED only between routes from the same neighbouring AS (RFC 4271)
        fa = _first_as(a)
        if fa == _first_as(b):
            x = aa.med or 0
            y = ba.med or 0
            if x != y:
                return (x - y), Reason.MED
    if a.origin.is_ibgp != b.origin.is_ibgp:
        return (1 if a.origin.is_ibgp else -1), Reason.EBGP
    if a.igp_metric != b.igp_metric:
        return (a.igp_metric - b.igp_metric), Reason.IGP_METRIC
    x, y = _rid(a), _rid(b)
    if x != y:
        return (x - y), Reason.ROUTER_ID
    x = len(aa.cluster_list) if aa is not None else 0
    y = len(ba.cluster_list) if ba is not None else 0
    if x != y:
        return (x - y), Reason.CLUSTER_LIST
    ka, kb = _addr_key(a), _addr_key(b)
    if ka != kb:
        return (-1 if ka < kb else 1), Reason.NEIGHBOR
    return 0, Reason.TIE


def _first_as(r: Route) -> int | None:
    a = r.attrs
    if a is None or not a.as_path:
        return r.origin.local_as if r.origin.is_ibgp else r.origin.peer_as
    seg_type, asns = a.as_path[0]
    return asns[0] if asns else None


def compare(a: Route, b: Route) -> tuple[int, Reason]:
    """Table-level comparison, BIRD's ``rte_better``."""
    if a.pref != b.pref:
        return (b.pref - a.pref), Reason.PREFERENCE
    sa, sb = a.origin.source_type, b.origin.source_type
    if sa != sb:
        # BIRD orders different protocol classes arbitrarily but stably
        return (int(sb) - int(sa)), Reason.PROTOCOL
    if sa == Source.BGP:
        return bgp_compare(a, b)
    return 0, Reason.TIE


def better(a: Route, b: Route) -> bool:
    """Is ``a`` strictly better than ``b``?"""
    return compare(a, b)[0] < 0


def mergeable(best: Route, other: Route) -> bool:
    """May ``other`` join ``best`` in an ECMP set (``merge paths``)?"""
    if best.pref != other.pref or best.origin.source_type != other.origin.source_type:
        return False
    if best.origin.source_type != Source.BGP:
        return False
    if best.stale != other.stale:
        return False
    a, b = best.attrs, other.attrs
    if a is None or b is None:
        return False
    if _lp(best) != _lp(other):
        return False
    if a.as_path_len() != b.as_path_len():
        return False
    if (a.origin or 0) != (b.origin or 0):
        return False
    if _first_as(best) == _first_as(other) and (a.med or 0) != (b.med or 0):
        return False
    if best.origin.is_ibgp != other.origin.is_ibgp:
        return False
    return best.igp_metric == other.igp_metric
