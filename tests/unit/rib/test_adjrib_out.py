"""Update groups: one encoding for many peers, never back to the source."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import pytest

from bgplab import net
from bgplab.bgp import attr_codec, messages
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import Negotiated
from bgplab.bgp.framer import Framer
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.channel import ACCEPT
from bgplab.rib.group_policy import GroupKey
from bgplab.rib.route import Route

from .helpers import bgp_origin, member

CLUSTER = IPv4Address("192.168.0.40")


class Codec:
    encode_attributes = staticmethod(attr_codec.encode_attributes)
    pack_updates = staticmethod(messages.pack_updates)
    pack_withdraws = staticmethod(messages.pack_withdraws)
    pack_eor = staticmethod(messages.pack_eor)


def key(add_path: bool = False, rr_client: bool = True) -> GroupKey:
    return GroupKey(ACCEPT, True, rr_client, 63400, CLUSTER, False, False, "192.168.0.40",
                    add_path, True, False, 100, "master")


def decode_all(blobs: list[bytes], neg: Negotiated) -> list[messages.Update]:
    fr = Framer()
    out = []
    for b in blobs:
        for mtype, body in fr.feed(b):
            out.append(messages.decode_message(mtype, body, neg))
    return out


def make_group(add_path: bool = False) -> tuple[UpdateGroup, list, Negotiated]:
    pending: list = []
    g = UpdateGroup(key(add_path), pending.append, Codec)
    neg = Negotiated.default(add_path=[(1, 1)] if add_path else ())
    return g, pending, neg


def announce(g: UpdateGroup, n: int, r: Route | None, old_best: Route | None) -> None:
    g.notify(n, [r] if r else [], old_best, r, old_best)


def test_reflection_sets_originator_and_cluster_and_skips_source() -> None:
    g, pending, neg = make_group()
    m3 = member("Node_192_168_0_7", "192.168.0.7", neg)
    m4 = member("Node_192_168_0_25", "192.168.0.25", neg)
    g.join(m3)
    g.join(m4)
    n = net.parse("10.41.113.192/26")
    attrs = PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7"), local_pref=100)
    r = Route(n, attrs, m3)  # from m3
    announce(g, n, r, None)
    assert pending, "a flush was scheduled"
    pending.pop()()
    got4 = [u for u in decode_all(m4.sent, neg) if u.nlri]
    got3 = [u for u in decode_all(m3.sent, neg) if u.nlri]
    assert got3 == []  # never back to the source
    assert len(got4) == 1 and got4[0].nlri == [(n, 0)]
    a = got4[0].attrs
    assert a.next_hop == IPv4Address("192.168.0.7")  # reflection keeps the next hop
    assert a.originator_id == IPv4Address("192.168.0.7")
    assert a.cluster_list == (CLUSTER,)


def test_joining_member_gets_whole_state_and_eor() -> None:
    g, pending, neg = make_group()
    srcs = [bgp_origin(f"n{i}", f"192.168.0.{i}") for i in range(1, 6)]
    for i, s in enumerate(srcs):
        n = net.make(0x0A290000 + (i << 6), 26)
        announce(g, n, Route(n, PathAttrs(origin=0, next_hop=IPv4Address(s.peer_address)), s),
                 None)
    late = member("late", "192.168.0.99", neg)
    g.join(late)
    ups = decode_all(late.sent, neg)
    nets = sorted(x for u in ups for x, _ in u.nlri)
    assert len(nets) == 5
    assert (1, 1) in [u.eor for u in ups]  # End-of-RIB after the initial dump


def _a_route_of_a_sent_to_b() -> tuple[UpdateGroup, list, Negotiated, Any, Any, int,
                                         Route, Route]:
    """Members a and b; a's route for n has been sent to b (nothing else
    sent is kept); b's route for n is made, not announced."""
    g, pending, neg = make_group()
    a, b = member("a", "192.168.0.7", neg), member("b", "192.168.0.25", neg)
    g.join(a)
    g.join(b)
    n = net.parse("10.43.0.0/16")
    ra = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7")), a)
    rb = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.25")), b)
    announce(g, n, ra, None)
    pending.pop()()
    a.sent.clear()
    b.sent.clear()
    return g, pending, neg, a, b, n, ra, rb


def test_best_moving_between_sources_withdraws_from_new_source() -> None:
    g, pending, neg, a, b, n, ra, rb = _a_route_of_a_sent_to_b()
    g.notify(n, [rb, ra], ra, rb, None)  # b's route becomes best
    pending.pop()()
    ua = [u for u in decode_all(a.sent, neg)]
    ub = [u for u in decode_all(b.sent, neg)]
    assert any(u.nlri == [(n, 0)] for u in ua)  # a now gets b's route
    assert any(u.withdrawn == [(n, 0)] for u in ub)  # b had a's route: withdrawn


def test_add_path_sends_every_path_with_ids() -> None:
    g, pending, neg = make_group(add_path=True)
    watcher = member("w", "192.168.0.99", neg)
    g.join(watcher)
    n = net.parse("10.43.0.0/16")
    routes = []
    for i in (7, 25, 14):
        o = bgp_origin(f"n{i}", f"192.168.0.{i}")
        r = Route(n, PathAttrs(origin=0, next_hop=IPv4Address(o.peer_address)), o)
        routes.append(r)
        g.notify(n, routes[:], None, r, None)
    pending.pop()()
    ups = [u for u in decode_all(watcher.sent, neg) if u.nlri]
    ids = sorted(pid for u in ups for _, pid in u.nlri)
    assert len(ids) == 3 and len(set(ids)) == 3
    hops = sorted(str(u.attrs.next_hop) for u in ups)
    assert hops == ["192.168.0.14", "192.168.0.25", "192.168.0.7"]


def test_non_client_routes_not_reflected_to_non_clients() -> None:
    pending: list = []
    g = UpdateGroup(key(rr_client=False), pending.append, Codec)
    neg = Negotiated.default()
    m = member("m", "192.168.0.98", neg)
    g.join(m)
    src = bgp_origin("x", "192.168.0.9", is_rr_client=False)
    n = net.parse("10.41.0.0/26")
    announce(g, n, Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.9")), src), None)
    assert not g.entries  # the aggregate scenario: nodes do not get each other's blocks


def _group_with_filter(text: str, ibgp: bool) -> tuple[UpdateGroup, list, Negotiated]:
    from bgplab.filters import compile_filter

    k = key()._replace(export_filter=compile_filter(text), ibgp=ibgp, rr_client=ibgp,
                       local_as=63400)
    pending: list = []
    return UpdateGroup(k, pending.append, Codec), pending, Negotiated.default()


def _sent_next_hop(g: UpdateGroup, pending: list, neg: Negotiated, r: Route) -> IPv4Address:
    m = member("peer", "192.168.0.7", neg)
    g.join(m)
    announce(g, r.net, r, None)
    pending.pop()()
    (u,) = [u for u in decode_all(m.sent, neg) if u.nlri]
    return u.attrs.next_hop


def test_next_hop_set_by_the_export_filter_is_sent_as_bird_sends_it() -> None:
    # BIRD 1.6 makes the BGP attributes before the export filter runs, so the filter's
    # `bgp_next_hop = X` is what goes out: for a static route over iBGP (where the
    # route's own gateway would otherwise be sent) ...
    from tests.unit.config.helpers import static_route

    g, pending, neg = _group_with_filter(
        "{ bgp_next_hop = 198.51.100.9; accept; }", ibgp=True)
    r = static_route("10.60.0.0/16")
    assert _sent_next_hop(g, pending, neg, r) == IPv4Address("198.51.100.9")
    # ... and for a BGP route over eBGP (where our own address would be sent).
    g, pending, neg = _group_with_filter(
        "{ bgp_next_hop = 198.51.100.9; accept; }", ibgp=False)
    src = bgp_origin("up", "192.168.0.9")
    n = net.parse("10.61.0.0/16")
    r = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.9")), src)
    assert _sent_next_hop(g, pending, neg, r) == IPv4Address("198.51.100.9")


def test_a_filter_that_leaves_the_next_hop_alone_keeps_the_rewrite() -> None:
    g, pending, neg = _group_with_filter("{ bgp_local_pref = 200; accept; }", ibgp=False)
    src = bgp_origin("up", "192.168.0.9")
    n = net.parse("10.61.0.0/16")
    r = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.9")), src)
    assert _sent_next_hop(g, pending, neg, r) == IPv4Address("192.168.0.40")  # ours, eBGP


def test_the_export_cache_key_is_shared_by_the_sets_of_a_source() -> None:
    # (memory: one key tuple per source and forwarding, not one per set)
    g, _pending, _neg = make_group()
    src = bgp_origin("src", "192.168.0.7")
    sets = [PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7"), local_pref=100,
                      as_path=((2, (64512 + k,)),)) for k in range(3)]
    for k, a in enumerate(sets):
        n = net.make(0x0A000000 + (k << 8), 24)
        announce(g, n, Route(n, a, src, gw="192.168.0.7"), None)
    keys = [a._mk for a in sets]  # the set's first memo entry: the group's rewrite
    assert keys[0] == keys[1] == keys[2] and keys[0] is keys[1] is keys[2]
    g.forget_source(src)
    assert not any(k[1] == id(src) for k in g._cache_keys)


def _swap_within_one_flush(batch: bool) -> tuple[list, list, int, Negotiated]:
    """a's route for n reaches b; then, before the next flush, a withdraws n
    and b announces it."""
    g, pending, neg, a, b, n, ra, rb = _a_route_of_a_sent_to_b()
    if batch:
        g.notify_batch([(n, [], ra, None, ra)])  # Table.withdraw_batch's shape
        g.notify_batch([(n, [rb], None, rb, None)])  # Table.update_batch's shape
    else:
        g.notify(n, [], ra, None, ra)
        g.notify(n, [rb], None, rb, None)
    while pending:
        pending.pop()()
    return a.sent, b.sent, n, neg


@pytest.mark.parametrize("batch", [False, True], ids=["per-route", "batch"])
def test_a_route_gone_and_back_from_another_member_in_one_flush_is_withdrawn_from_it(
        batch: bool) -> None:
    # b held a's route from us; b's own route does not go back to b, so b
    # must get the withdrawal, or a's route stays in b's Adj-RIB-In (BIRD
    # withdraws it: the best route for n is now b's own, which b's export rejects)
    sent_a, sent_b, n, neg = _swap_within_one_flush(batch)
    ua = decode_all(sent_a, neg)
    ub = decode_all(sent_b, neg)
    assert any(u.nlri == [(n, 0)] for u in ua)  # a gets b's route
    assert [u.withdrawn for u in ub if u.withdrawn] == [[(n, 0)]]
    assert not any(u.nlri for u in ub)


def _nets(k: int) -> list[int]:
    return [net.make(0x0A000000 + (i << 8), 24) for i in range(k)]


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "per-route"])
@pytest.mark.parametrize("add_path", [False, True], ids=["optimal", "add-path"])
def test_a_table_from_the_only_member_is_sent_to_nobody_and_kept_for_a_later_one(
        add_path: bool, batch: bool) -> None:
    # a router whose one peer sends (and later withdraws) a table: BIRD sends
    # that peer neither its own routes nor their withdrawals
    g, pending, neg = make_group(add_path)
    m = member("m", "192.168.0.7", neg)
    g.join(m)
    m.sent.clear()
    nets = _nets(50)
    attrs = PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7"), local_pref=100)
    routes = [Route(n, attrs, m) for n in nets]
    adds = [(n, [r], None, r, None) for n, r in zip(nets, routes, strict=True)]
    if batch:
        g.notify_batch(adds)
    else:
        for change in adds:
            g.notify(*change)
    while pending:
        pending.pop()()
    assert m.sent == []
    assert g.exported_to(m) == 0 and len(g.entries) == 50
    late = member("late", "192.168.0.99", neg)
    g.join(late)  # the routes were kept: a later member gets them all
    got = sorted(x for u in decode_all(late.sent, neg) for x, _ in u.nlri)
    assert got == sorted(nets)
    g.leave(late)
    late.sent.clear()
    gone = [(n, [], r, None, r) for n, r in zip(nets, routes, strict=True)]
    if batch:
        g.notify_batch(gone)
    else:
        for change in gone:
            g.notify(*change)
    while pending:
        pending.pop()()
    assert m.sent == [] and len(g.entries) == 0


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "per-route"])
def test_the_only_member_still_gets_the_withdrawal_it_is_owed(batch: bool) -> None:
    # m held x's route for n from us; m's own route took over (m is owed a
    # withdrawal of x's), then m withdrew its own before the flush: the
    # withdrawal m is owed must still leave
    g, pending, neg = make_group()
    m = member("m", "192.168.0.7", neg)
    x = bgp_origin("x", "192.168.0.25")  # a source that is not in this group
    g.join(m)
    n = net.parse("10.43.0.0/16")
    rx = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.25")), x)
    rm = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7")), m)
    announce(g, n, rx, None)
    pending.pop()()
    assert any(u.nlri == [(n, 0)] for u in decode_all(m.sent, neg))
    m.sent.clear()
    g.notify(n, [rm, rx], rx, rm, None)  # m's own route becomes best
    g.notify(n, [rm], rm, None, rx)  # x's goes (the best stays)
    if batch:  # then m's own, before the flush
        g.notify_batch([(n, [], rm, None, rm)])
    else:
        g.notify(n, [], rm, None, rm)
    while pending:
        pending.pop()()
    assert [u.withdrawn for u in decode_all(m.sent, neg) if u.withdrawn] == [[(n, 0)]]
