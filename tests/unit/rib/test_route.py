from __future__ import annotations

from bgplab import net
from bgplab.bgp.attrs import PathAttrs
from bgplab.rib.route import Dest, NextHop, Route

from .helpers import bgp_origin


def test_copy_keeps_every_slot_and_changes_only_what_is_asked() -> None:
    o = bgp_origin("p", "192.168.0.7")
    r = Route(net.parse("10.41.0.0/26"), PathAttrs(origin=0), o, path_id=3, dest=Dest.MULTIPATH,
              gw="192.168.0.7", iface="eth1", nexthops=(NextHop("192.168.0.7", "eth1"),),
              pref=123, igp_metric=7, stale=True, since=1.5, from_addr="192.168.0.7",
              ext={"krt_metric": 9})
    c = r.copy()
    for name in (*Route.__slots__, *Route.FIELDS):  # a field copy() forgets fails here
        assert getattr(c, name) == getattr(r, name), name
    d = r.copy(stale=False, gw="x")
    assert (d.stale, d.gw, r.stale, r.gw) == (False, "x", True, "192.168.0.7")


def test_routes_of_one_update_share_their_tail_until_one_is_changed() -> None:
    o = bgp_origin("p", "192.168.0.7")
    tail = Route.tail(o, dest=Dest.ROUTER, gw="192.168.0.7", iface="eth1", igp_metric=4,
                      since=2.5, from_addr="192.168.0.7")
    a = Route.shared(net.parse("10.0.0.0/24"), None, o, 0, tail)
    b = Route.shared(net.parse("10.0.1.0/24"), None, o, 0, tail)
    made = Route(net.parse("10.0.2.0/24"), None, o, gw="192.168.0.7", iface="eth1",
                 igp_metric=4, since=2.5, from_addr="192.168.0.7")
    for name in Route.FIELDS[4:]:  # the same fields as the constructor's
        assert getattr(a, name) == getattr(made, name), name
    assert a._t is b._t  # one tuple for the UPDATE: no per-route copy
    b.gw = "192.168.0.9"  # a filter's `gw = ...` on one route
    b.pref = 50
    assert (a.gw, a.pref, b.gw, b.pref, b.iface) == ("192.168.0.7", o.preference,
                                                     "192.168.0.9", 50, "eth1")
    assert a._t is tail


def test_path_attrs_replace_is_a_new_value() -> None:
    a = PathAttrs(origin=0, local_pref=100, communities=((1, 2),))
    b = a.replace(local_pref=200)
    assert (a.local_pref, b.local_pref, b.communities) == (100, 200, ((1, 2),))
    assert b == PathAttrs(origin=0, local_pref=200, communities=((1, 2),))
    assert hash(b) == hash(PathAttrs(origin=0, local_pref=200, communities=((1, 2),)))
