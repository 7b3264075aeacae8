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
    for name in Route.__slots__:  # a new slot that copy() forgets fails here
        assert getattr(c, name) == getattr(r, name), name
    d = r.copy(stale=False, gw="x")
    assert (d.stale, d.gw, r.stale, r.gw) == (False, "x", True, "192.168.0.7")


def test_path_attrs_replace_is_a_new_value() -> None:
    a = PathAttrs(origin=0, local_pref=100, communities=((1, 2),))
    b = a.replace(local_pref=200)
    assert (a.local_pref, b.local_pref, b.communities) == (100, 200, ((1, 2),))
    assert b == PathAttrs(origin=0, local_pref=200, communities=((1, 2),))
    assert hash(b) == hash(PathAttrs(origin=0, local_pref=200, communities=((1, 2),)))
