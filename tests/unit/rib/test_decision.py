from __future__ import annotations

from ipaddress import IPv4Address

from bgplab import net
from bgplab.bgp.attrs import AS_SEQUENCE, PathAttrs
from bgplab.rib.decision import Reason, compare, mergeable
from bgplab.rib.route import Route, Source

from .helpers import Origin, bgp_origin

N = net.parse("10.41.57.192/26")


def r(origin: Origin, **attrs: object) -> Route:
    a = PathAttrs(origin=0, next_hop=IPv4Address(origin.peer_address or "192.0.2.1"), **attrs)
    return Route(N, a, origin)


def test_preference_beats_everything() -> None:
    static = Origin("static1", Source.STATIC, 200)
    bgp = bgp_origin("p1", "192.168.0.7")
    cmp, reason = compare(Route(N, None, static), r(bgp, local_pref=1000))
    assert cmp < 0 and reason is Reason.PREFERENCE


def test_bgp_order_local_pref_then_path_then_origin() -> None:
    a, b = bgp_origin("a", "192.168.0.7"), bgp_origin("b", "192.168.0.25")
    assert compare(r(a, local_pref=200), r(b, local_pref=100)) == (-100, Reason.LOCAL_PREF)
    short = r(a, as_path=((AS_SEQUENCE, (1,)),))
    long_ = r(b, as_path=((AS_SEQUENCE, (1, 2)),))
    assert compare(short, long_)[1] is Reason.AS_PATH and compare(short, long_)[0] < 0
    igp = Route(N, PathAttrs(origin=0), a)
    inc = Route(N, PathAttrs(origin=2), b)
    assert compare(igp, inc)[0] < 0 and compare(igp, inc)[1] is Reason.ORIGIN


def test_router_id_uses_originator_id_when_reflected() -> None:
    a, b = bgp_origin("a", "192.168.0.7"), bgp_origin("b", "192.168.0.25")
    ra = r(a, originator_id=IPv4Address("10.0.0.9"))
    rb = r(b, originator_id=IPv4Address("10.0.0.1"))
    cmp, reason = compare(ra, rb)
    assert reason is Reason.ROUTER_ID and cmp > 0


def test_cluster_list_then_neighbor_address() -> None:
    a, b = bgp_origin("a", "192.168.0.7"), bgp_origin("b", "192.168.0.25")
    same = IPv4Address("10.0.0.1")
    ra = r(a, originator_id=same, cluster_list=(IPv4Address("1.1.1.1"),))
    rb = r(b, originator_id=same)
    assert compare(ra, rb)[1] is Reason.CLUSTER_LIST and compare(ra, rb)[0] > 0
    ra = r(a, originator_id=same)
    assert compare(ra, rb) [1] is Reason.NEIGHBOR and compare(ra, rb)[0] < 0


def test_stale_routes_lose() -> None:
    a, b = bgp_origin("a", "192.168.0.7"), bgp_origin("b", "192.168.0.25")
    ra = r(a, local_pref=500)
    ra.stale = True
    assert compare(ra, r(b))[1] is Reason.STALE and compare(ra, r(b))[0] > 0


def test_mergeable_for_ecmp() -> None:
    nodes = [bgp_origin(f"n{i}", f"192.168.0.{i}") for i in (7, 25)]
    a, b = (r(o) for o in nodes)
    assert mergeable(a, b)
    assert not mergeable(a, r(nodes[1], local_pref=50))
    assert not mergeable(Route(N, None, Origin("s", Source.STATIC, 200)),
                         Route(N, None, Origin("t", Source.STATIC, 200)))
