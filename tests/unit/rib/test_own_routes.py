"""A channel finds its routes through the table (no index of its own).

What that must not change: a flush takes one session's routes and nothing
else, a route is found per (net, path id) also beside other peers' routes
and other path ids, the counters ``show protocols all`` prints, ``keep
filtered``, graceful restart's stale marking and sweep, and a key twice in
one UPDATE counting as it does route by route.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from types import SimpleNamespace

from bgplab import net
from bgplab.bgp.attrs import PathAttrs, intern
from bgplab.rib.channel import ACCEPT, Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.route import Route
from bgplab.rib.table import Table
from tests.unit.rib.helpers import bgp_origin, bgp_protocol


def attrs(k: int) -> PathAttrs:
    return intern(
        PathAttrs(
            origin=0,
            next_hop=IPv4Address("198.18.0.1"),
            local_pref=100,
            as_path=((2, (64512 + k,)),),
        )
    )


def nets(base: int, n: int) -> list[int]:
    return [net.make(0x0B000000 + ((base + i) << 8), 24) for i in range(n)]


def peer(table: Table, i: int) -> tuple[Channel, object]:
    o = bgp_origin(f"p{i}", f"192.168.0.{i + 1}")
    return Channel(o, table, ACCEPT, export_to_proto=False), o  # type: ignore[arg-type]


def load(ch: Channel, o: object, keys: list[tuple[int, int]], k: int = 0) -> None:
    a = attrs(k)
    ch.import_routes(keys, lambda n, pid: Route(n, a, o, path_id=pid))  # type: ignore[arg-type]


def test_flush_of_one_session_among_many_takes_only_its_routes() -> None:
    table = Table()
    peers = [peer(table, i) for i in range(4)]
    shared, own = nets(0, 50), nets(100, 30)
    for i, (ch, o) in enumerate(peers):
        load(ch, o, [(n, 0) for n in shared], k=i)
    load(peers[2][0], peers[2][1], [(n, 0) for n in own])
    assert table.route_count == 4 * 50 + 30 and peers[2][0].imported == 80
    peers[2][0].flush()
    assert peers[2][0].imported == 0 and len(peers[2][0].own_routes()) == 0
    assert table.route_count == 3 * 50 and len(table) == 50
    for i in (0, 1, 3):
        ch, o = peers[i]
        assert ch.imported == 50
        assert sorted(ch.own_routes()) == sorted((n, 0) for n in shared)
        assert all(r.origin is o for r in ch.own_routes().values())
    assert all(not any(r.origin is peers[2][1] for r in table.routes(n)) for n in shared)
    # the preferred counts follow: the others' best routes are theirs
    assert sum(ch.preferred() for ch, _ in peers) == 50 and peers[2][0].preferred() == 0


def test_route_per_net_and_path_id() -> None:
    table = Table()
    (a, oa), (b, ob) = peer(table, 0), peer(table, 1)
    ns = nets(0, 8)
    load(a, oa, [(n, pid) for n in ns for pid in (1, 2)])
    load(b, ob, [(n, 1) for n in ns], k=5)
    own = a.own_routes()
    assert len(own) == a.imported == 16 and b.imported == 8
    r = own.get((ns[3], 2))
    assert r is not None and r.origin is oa and r.path_id == 2 and r.net == ns[3]
    assert (ns[3], 3) not in own and own.get((nets(50, 1)[0], 1)) is None
    assert b.own_routes()[(ns[3], 1)].origin is ob
    # withdrawing one path id keeps the other and the other peer's route
    a.withdraw_routes([(n, 1) for n in ns])
    assert sorted(own) == sorted((n, 2) for n in ns) and a.imported == 8
    assert all(len(table.routes(n)) == 2 for n in ns)


def test_counters_as_route_by_route_with_a_key_twice_in_one_update() -> None:
    table = Table()
    ch, o = peer(table, 0)
    ns = nets(0, 6)
    # the same key twice: the second is the same route again, ignored
    load(ch, o, [(n, 0) for n in ns] + [(ns[0], 0)])
    st = ch.import_stats
    assert (st.updates_received, st.updates_accepted, st.updates_ignored) == (7, 6, 1)
    assert ch.imported == 6 and table.route_count == 6
    load(ch, o, [(n, 0) for n in ns])  # sent again unchanged: all ignored
    assert (st.updates_received, st.updates_accepted, st.updates_ignored) == (13, 6, 7)
    load(ch, o, [(n, 0) for n in ns[:4]], k=9)  # changed: accepted, no new route
    assert st.updates_accepted == 10 and ch.imported == 6
    held = ch.withdraw_routes([(n, 0) for n in ns[:5]] + [(ns[0], 0)] + [(nets(40, 1)[0], 0)])
    assert held == 5 and ch.imported == 1 and table.route_count == 1
    assert (st.withdraws_received, st.withdraws_accepted, st.withdraws_ignored) == (7, 5, 2)


def test_keep_filtered_routes_are_not_the_channels_routes() -> None:
    table = Table()
    o = bgp_origin("p0", "192.168.0.1")

    class Odd:
        name = "odd"

        def run(self, route: Route, trace: object = None) -> Route | None:
            return route if (route.net >> 16) & 1 else None

    ch = Channel(o, table, Odd(), export_to_proto=False)  # type: ignore[arg-type]
    ch.keep_filtered = True
    ns = nets(0, 10)
    load(ch, o, [(n, 0) for n in ns])
    assert ch.imported == 5 and ch.filtered == 5 and table.route_count == 5
    assert {n for n, _ in ch.own_routes()} == {n for n in ns if (n >> 16) & 1}
    assert {n for n, _ in ch.filtered_routes()} == {n for n in ns if not (n >> 16) & 1}
    ch.flush()
    assert ch.imported == ch.filtered == 0 and table.route_count == 0


def test_churn_keeps_the_channels_net_list_bounded() -> None:
    table = Table()
    ch, o = peer(table, 0)
    ns = nets(0, 100)
    for _ in range(50):
        load(ch, o, [(n, 0) for n in ns])
        ch.withdraw_routes([(n, 0) for n in ns[:90]])
    assert ch.imported == 10 and len(ch.own_routes()) == 10
    assert sorted(ch.own_routes()) == sorted((n, 0) for n in ns[90:])
    assert len(ch.own_routes().nets) <= 2 * 100 + 64


def _upd(nlri: list[int], a: PathAttrs) -> SimpleNamespace:
    return SimpleNamespace(
        eor=None, withdrawn=[], nlri=[(n, 0) for n in nlri], attrs=a, treat_as_withdraw=False
    )


def test_graceful_restart_marks_stale_and_sweeps_what_was_not_sent_again() -> None:
    ctx = DaemonContext(IPv4Address("192.168.0.40"))
    p = bgp_protocol(ctx)
    ch = p.channel
    table = ctx.table("master")
    ns = nets(0, 10)
    p._on_update(_upd(ns, attrs(1)))

    async def restart() -> None:
        p._mark_stale(120)
        assert ch.imported == 10 and table.route_count == 10
        assert all(r.stale for r in ch.own_routes().values())
        assert all(table.best(n).stale for n in ns)
        p._on_update(_upd(ns[:6], attrs(1)))  # the peer is back: sends six again
        p._end_of_rib(1)

    asyncio.run(restart())
    assert sorted(ch.own_routes()) == sorted((n, 0) for n in ns[:6])
    assert not any(r.stale for r in ch.own_routes().values())
    assert ch.imported == 6 and table.route_count == 6
    st = ch.import_stats
    # the sweep is an accepted withdraw, not one received from the peer
    assert (st.withdraws_received, st.withdraws_accepted) == (0, 4)
    assert (st.updates_received, st.updates_accepted) == (16, 16)


class _CountingNets(dict):  # type: ignore[type-arg]
    """The table's nets, counting how a flush reads them."""

    reads = 0

    def get(self, *a: object) -> object:  # type: ignore[override]
        _CountingNets.reads += 1
        return super().get(*a)

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a flush walked the whole table")

    def items(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a flush walked the whole table")


def test_a_flush_reads_only_its_own_nets_not_the_table() -> None:
    # 2,500 sessions going down beside a big table stay linear: each flush
    # looks at its own nets only
    table = Table()
    big, ob = peer(table, 0)
    load(big, ob, [(n, 0) for n in nets(0, 2000)])
    small = [peer(table, i) for i in range(1, 6)]
    for i, (ch, o) in enumerate(small):
        load(ch, o, [(n, 0) for n in nets(5000 + 10 * i, 4)])
    table.nets = _CountingNets(table.nets)
    for ch, _ in small:
        ch.flush()
    assert _CountingNets.reads <= 5 * 4 * 3
    assert table.route_count == 2000 and big.imported == 2000


def test_a_big_session_goes_down_a_chunk_at_a_time_and_completely() -> None:
    # more nets than a chunk, ADD-PATH (a net in the list once per path id),
    # churn (nets in the list again after a withdrawal): every route goes,
    # each withdrawal is seen once, by the exporter and in the counters
    from tests.unit.rib.test_table import Recorder

    c = DaemonContext(IPv4Address("192.168.0.40"))
    table = c.table("master")
    rec = Recorder("kernel", c)
    p = bgp_protocol(c)
    ch = p.channel
    ns = nets(0, 6000)
    ch.import_routes(
        [(n, pid) for n in ns for pid in (1, 2)], lambda n, pid: Route(n, attrs(1), p, path_id=pid)
    )
    ch.withdraw_routes([(n, 1) for n in ns[:100]])
    ch.import_routes([(n, 1) for n in ns[:100]], lambda n, pid: Route(n, attrs(2), p, path_id=pid))
    assert ch.imported == 12000 and len(ch.own_routes().nets) > 12000
    st = ch.import_stats
    before = st.withdraws_accepted
    rec.events.clear()
    p._flush_routes()
    assert ch.imported == 0 and table.route_count == 0 and len(table) == 0
    assert st.withdraws_accepted - before == 12000
    gone = [n for n, new, _ in rec.events if new is None]
    assert sorted(gone) == sorted(ns)  # the best route per net, withdrawn once
    # the same through Channel.flush (a protocol that is not BGP going down)
    ch.import_routes([(n, 0) for n in ns], lambda n, pid: Route(n, attrs(1), p, path_id=pid))
    ch.flush()
    assert ch.imported == 0 and table.route_count == 0
