"""How attribute sets are stored: what must not change when their storage
shrinks (one object per value, memo entries per owner, shared small values,
rewrites per update group)."""

from __future__ import annotations

import gc
from ipaddress import IPv4Address

from bgplab import net
from bgplab.bgp import attr_codec, attrs
from bgplab.bgp.attrs import PathAttrs, intern, interned_count, shared
from bgplab.bgp.capabilities import Negotiated
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.route import Route
from tests.unit.rib.helpers import bgp_origin, member
from tests.unit.rib.test_adjrib_out import CLUSTER, Codec, announce, decode_all, key

NH = IPv4Address("192.168.0.7")


def _set(k: int) -> PathAttrs:
    return PathAttrs(origin=0, next_hop=NH, local_pref=100, as_path=((2, (64512, 65000 + k)),))


def test_equal_sets_are_one_object_and_a_dead_set_leaves_the_table() -> None:
    before = interned_count()
    a = intern(_set(1))
    assert intern(_set(1)) is a and intern(a) is a
    assert intern(_set(2)) is not a and interned_count() == before + 2
    assert intern(a.replace(med=5)) is not a and intern(a.replace(med=5)) == a.replace(med=5)
    gc.collect()  # the replace copies are gone
    assert interned_count() == before + 1  # only `a` is held
    del a
    assert interned_count() == before  # a set nothing holds is released at once


def _colliding(k: int) -> PathAttrs:
    x = _set(k)
    object.__setattr__(x, "_hash", 1234567)  # one hash for different values
    return x


def _is_canonical(x: PathAttrs, k: int) -> bool:
    return intern(_colliding(k)) is x  # (no reference left behind by the assert)


def test_sets_whose_hashes_collide_stay_distinct_and_are_released_alone() -> None:
    before = interned_count()
    a, b, c = _colliding(10), _colliding(11), _colliding(12)
    ok = [intern(x) is x for x in (a, b, c)]
    assert ok == [True, True, True] and interned_count() == before + 3
    ok = [_is_canonical(a, 10), _is_canonical(b, 11), _is_canonical(c, 12)]
    assert ok == [True, True, True]
    del b
    assert interned_count() == before + 2
    ok = [_is_canonical(a, 10), _is_canonical(c, 12)]
    assert ok == [True, True]
    del a
    assert interned_count() == before + 1
    ok = [_is_canonical(c, 12)]
    assert ok == [True]
    del c
    assert interned_count() == before and 1234567 not in attrs._interned


def test_memo_entries_of_several_owners_do_not_mix_and_are_not_the_value() -> None:
    a = intern(_set(20))
    assert a.memo_get(("o1", 1)) is None and a.memo_get(("o1", 1), False) is False
    a.memo_set(("o1", 1), None)  # a cached None is a value (a rewrite that drops)
    assert a.memo_get(("o1", 1), False) is None
    a.memo_set(("o2", 1), "x")
    per = a.memo_for(("bgp", 3))
    per["lp"] = 7
    assert a.memo_for(("bgp", 3)) is per
    a.memo_set(("o1", 1), "y")
    assert (a.memo_get(("o1", 1)), a.memo_get(("o2", 1)), a.memo_for(("bgp", 3))) == (
        "y",
        "x",
        {"lp": 7},
    )
    assert a == _set(20) and hash(a) == hash(_set(20)) and intern(_set(20)) is a


def test_shared_values_are_one_object_and_decoding_shares_next_hop_and_communities() -> None:
    assert shared((CLUSTER,)) is shared((IPv4Address("192.168.0.40"),))
    neg = Negotiated.default()
    tags = {
        "communities": ((65000, 1), (65000, 2)),
        "ext_communities": (0x0002FDE800000001,),
        "large_communities": ((65000, 1, 2),),
    }
    one = attr_codec.encode_attributes(_set(30).replace(**tags), neg)
    two = attr_codec.encode_attributes(_set(31).replace(**tags), neg)
    a = attr_codec.decode_attributes(one, neg, has_nlri=True).attrs
    b = attr_codec.decode_attributes(two, neg, has_nlri=True).attrs
    assert a is not None and b is not None and a is not b
    assert a.next_hop is b.next_hop == NH
    for f, v in tags.items():
        assert getattr(a, f) is getattr(b, f) == v
    # encodings are unchanged by the sharing
    assert attr_codec.encode_attributes(a, neg) == one
    assert attr_codec.encode_attributes(b, neg) == two


def test_each_group_keeps_its_own_rewrite_and_encoding_of_one_set() -> None:
    # a reflector's clients (cluster list, originator) and an eBGP group
    # (own AS prepended, no LOCAL_PREF) reading the same received set
    neg = Negotiated.default()
    ibgp = UpdateGroup(key(), lambda f: None, Codec)
    ebgp_key = key()._replace(ibgp=False, local_as=65100)
    ebgp = UpdateGroup(ebgp_key, lambda f: None, Codec)
    src = bgp_origin("src", "192.168.0.7")
    mi, me = member("ci", "192.168.0.8", neg), member("ce", "192.168.0.9", neg)
    ibgp.join(mi)
    ebgp.join(me)
    a = intern(_set(40))
    for g in (ibgp, ebgp):
        for k in range(3):  # the second and third route hit the memo
            n = net.make(0x0A280000 + (k << 8), 24)
            announce(g, n, Route(n, a, src, gw="192.168.0.7"), None)
        g.flush()
    ri = [u.attrs for u in decode_all(mi.sent, neg) if u.nlri]
    re_ = [u.attrs for u in decode_all(me.sent, neg) if u.nlri]
    assert ri and re_
    assert all(x.cluster_list == (CLUSTER,) and x.originator_id == NH for x in ri)
    assert all(x.local_pref is None and x.as_path[0][1][0] == 65100 for x in re_)
    out_i, out_e = ibgp._export(Route(1, a, src)), ebgp._export(Route(1, a, src))
    assert out_i is not None and out_e is not None and out_i is not out_e
    # one rewrite per group, kept by the set; one encoding per rewritten set
    assert out_i is ibgp._export(Route(2, a, src)) and out_e is ebgp._export(Route(2, a, src))
    assert out_i.memo_get(ibgp._wire_key) == attr_codec.encode_attributes(out_i, neg)
    assert out_e.memo_get(ebgp._wire_key) == attr_codec.encode_attributes(out_e, neg)
