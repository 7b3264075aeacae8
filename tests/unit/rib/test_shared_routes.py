"""The table keeps one Route for the run of an UPDATE's routes (issue 15).

A net may hold a route whose ``net`` is another net of its run (the
template); every reader gets the route at its own net. What that must not
change: the routes read back field by field, ADD-PATH path ids, graceful
restart's stale mark on one route of a run, recursive next hops, `show
route` (every form, the age), and what exporters see within one update
(``old is old_best``), also when the template's own net is withdrawn first.
"""

from __future__ import annotations

import asyncio
import time
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

from bgplab import net
from bgplab.bgp.attrs import PathAttrs, intern
from bgplab.rib.channel import MODE_ANY
from bgplab.rib.context import DaemonContext
from bgplab.rib.route import Dest, Route
from bgplab.rib.table import Table
from tests.unit.rib.helpers import bgp_protocol
from tests.unit.rib.test_table import Recorder

FIELDS: tuple[str, ...] = Route.FIELDS  # type: ignore[attr-defined]


def attrs(k: int, nh: str = "198.18.0.1") -> PathAttrs:
    return intern(PathAttrs(origin=0, next_hop=IPv4Address(nh), local_pref=100,
                            as_path=((2, (64512 + k,)),)))


def nets(base: int, n: int) -> list[int]:
    return [net.make(0x0B000000 + ((base + i) << 8), 24) for i in range(n)]


def upd(keys: list[tuple[int, int]], a: PathAttrs | None,
        withdrawn: list[tuple[int, int]] | None = None) -> Any:
    return SimpleNamespace(eor=None, withdrawn=withdrawn or [], nlri=keys, attrs=a,
                           treat_as_withdraw=False)


def setup(**config: Any) -> tuple[DaemonContext, Any, Table]:
    c = DaemonContext(IPv4Address("192.168.0.40"))
    p = bgp_protocol(c, **config)
    return c, p, c.table("master")


def objects(table: Table) -> int:
    """Distinct Route objects the table keeps for its single-route nets."""
    return len({id(v) for v in table.nets.values() if type(v) is not list})


def same_fields(a: Route, b: Route) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in FIELDS)


def test_an_updates_routes_are_one_object_and_read_back_field_by_field() -> None:
    c, p, table = setup()
    rec = Recorder("kernel", c)
    ns = nets(0, 40)
    p._on_update(upd([(n, 0) for n in ns], attrs(1)))
    assert objects(table) == 1 and len(table) == 40 and table.route_count == 40
    sent = {n: new for n, new, _ in rec.events}
    assert sorted(sent) == sorted(ns) and all(sent[n].net == n for n in ns)
    own = p.channel.own_routes()
    fed = Recorder("late", c)  # a protocol that comes up later gets the table fed
    fed.events.clear()
    fed.channel.feed()
    got_fed = {n: new for n, new, _ in fed.events}
    walked = dict(table)
    for n in ns:
        for r in (table.best(n), table.routes(n)[0], own[(n, 0)], got_fed[n], walked[n][0]):
            assert r is not None and r.net == n and same_fields(r, sent[n])
    assert dict(own.items()).keys() == {(n, 0) for n in ns}
    assert all(r.net == k[0] for k, r in own.items())
    # longest match and `show route for` find a net that holds its run's route
    inside = int(IPv4Address("11.0.7.9"))
    assert table.longest_match(inside) == ns[7]
    # the next UPDATE is another run, another object; a third with the first
    # UPDATE's attributes but its own age is a third
    more = nets(100, 10)
    p._on_update(upd([(n, 0) for n in more], attrs(2)))
    assert objects(table) == 2
    p._on_update(upd([(n, 0) for n in nets(200, 10)], attrs(1)))
    assert objects(table) == 3
    assert all(table.best(n).attrs is attrs(2) and table.best(n).net == n for n in more)


def test_add_path_ids_per_prefix_in_one_update() -> None:
    c, p, table = setup()
    rec = Recorder("rr", c, mode=MODE_ANY)
    ns = nets(0, 20)
    keys = [(n, 1) for n in ns[:10]] + [(n, 2) for n in ns[:10]] + [(n, 1) for n in ns[10:]]
    p._on_update(upd(keys, attrs(1)))
    own = p.channel.own_routes()
    assert len(own) == p.channel.imported == 30 and table.route_count == 30
    for n in ns[:10]:
        rs = table.routes(n)
        assert sorted(r.path_id for r in rs) == [1, 2] and all(r.net == n for r in rs)
        assert own[(n, 2)].path_id == 2 and own[(n, 2)].net == n
    for n in ns[10:]:
        assert [(r.net, r.path_id) for r in table.routes(n)] == [(n, 1)]
        assert (n, 2) not in own
    # every (net, path id) went out once, with its own path id and net
    assert sorted((n, new.path_id) for n, new, _ in rec.events) == sorted(keys)
    assert all(new.net == n for n, new, _ in rec.events)
    # path id 1 withdrawn where there are two: the other stays, right
    p._on_update(upd([], None, [(n, 1) for n in ns[:10]]))
    assert all([(r.net, r.path_id) for r in table.routes(n)] == [(n, 2)] for n in ns[:10])
    assert sorted(own) == sorted([(n, 2) for n in ns[:10]] + [(n, 1) for n in ns[10:]])


def test_graceful_restart_stale_on_one_route_of_a_run_and_on_all() -> None:
    c, p, table = setup()
    ch = p.channel
    ns = nets(0, 10)
    p._on_update(upd([(n, 0) for n in ns], attrs(1)))
    before = {n: table.best(n) for n in ns}
    # one route of the run (then the template's own net) marked stale alone
    for one in (ns[3], ns[0]):
        table.restamp(ch, [(one, ch.own_routes()[(one, 0)])], stale=True)
    assert [n for n in ns if table.best(n).stale] == [ns[0], ns[3]]
    for n in ns:
        b = table.best(n)
        assert b.net == n and all(getattr(b, f) == getattr(before[n], f)
                                  for f in FIELDS if f != "stale")
    assert table.route_count == 10 and ch.imported == 10

    async def restart() -> None:
        p._mark_stale(120)
        assert all(table.best(n).stale for n in ns) and ch.imported == 10
        assert objects(table) <= 3  # the stale ones share too
        p._on_update(upd([(n, 0) for n in ns[:6]], attrs(1)))
        p._end_of_rib(1)

    asyncio.run(restart())
    assert sorted(ch.own_routes()) == [(n, 0) for n in sorted(ns[:6])]
    assert not any(table.best(n).stale for n in ns[:6]) and table.route_count == 6


def test_recursive_next_hop_change_moves_the_whole_run() -> None:
    c, p, table = setup()
    igp = Recorder("static1", c)
    conn = net.parse("198.18.0.0/24")
    igp.channel.import_route(conn, Route(conn, None, igp, dest=Dest.DEVICE, iface="eth1"))
    ns = nets(0, 12)
    p._on_update(upd([(n, 0) for n in ns], attrs(1)))
    p._on_update(upd([(n, 0) for n in nets(50, 5)], attrs(2, nh="198.19.0.1")))
    assert all(table.best(n).iface == "eth1" for n in ns)
    igp.channel.import_route(conn, Route(conn, None, igp, dest=Dest.DEVICE, iface="eth9"))
    for n in ns:
        b = table.best(n)
        assert (b.net, b.iface, b.gw, b.attrs) == (n, "eth9", "198.18.0.1", attrs(1))
    assert objects(table) == 3  # the IGP route, the re-resolved run, the other next hop's
    assert all(table.best(n).dest == Dest.UNREACHABLE for n in nets(50, 5))
    igp.channel.import_withdraw(conn)
    assert all(table.best(n).dest == Dest.UNREACHABLE and table.best(n).net == n for n in ns)


class Watch:
    """An exporter that checks what every notification says about identity."""

    mode = "optimal"

    def __init__(self) -> None:
        self.seen: list[tuple[int, list[Route], Any, Any, Any]] = []

    def notify(self, n: int, routes: list[Route], old_best: Any, new: Any, old: Any) -> None:
        for r in (*routes, old_best, new, old):
            assert r is None or r.net == n
        if old is not None and old_best is not None and old.origin is old_best.origin:
            assert old is old_best  # one route at the net: made once per update
        self.seen.append((n, list(routes), old_best, new, old))

    def notify_batch(self, changes: list[Any]) -> None:
        for ch in changes:
            self.notify(*ch)


def test_withdrawing_the_templates_own_net_first() -> None:
    c, p, table = setup()
    rec = Recorder("kernel", c)
    w = Watch()
    table.attach(w)
    ns = nets(0, 10)
    p._on_update(upd([(n, 0) for n in ns], attrs(1)))
    template = table.nets[ns[0]]
    assert all(table.nets[n] is template for n in ns) and template.net == ns[0]
    p._on_update(upd([], None, [(ns[0], 0)]))  # one withdrawal: route by route
    assert rec.events[-1][0] == ns[0] and rec.events[-1][1] is None
    assert rec.events[-1][2].net == ns[0]
    assert ns[0] not in table.nets and table.route_count == 9
    for n in ns[1:]:
        b = table.best(n)
        assert b.net == n and b.attrs is attrs(1) and table.nets[n] is template
    # the net comes back with other attributes; the rest of the run keeps its own
    p._on_update(upd([(ns[0], 0)], attrs(5)))
    assert table.best(ns[0]).attrs is attrs(5) and table.best(ns[0]).net == ns[0]
    assert all(table.best(n).attrs is attrs(1) for n in ns[1:])
    # another peer's worse route beside a shared one: the best is unchanged,
    # the kernel hears nothing (best is old_best), the list holds real routes
    q = bgp_protocol(c, name="p2", neighbor_address="192.168.0.2")
    events = len(rec.events)
    worse = intern(PathAttrs(origin=0, next_hop=IPv4Address("198.18.0.1"), local_pref=50))
    q._on_update(upd([(ns[4], 0)], worse))
    assert len(rec.events) == events and w.seen[-1][2] is w.seen[-1][1][0]
    assert [r.net for r in table.nets[ns[4]]] == [ns[4], ns[4]]  # type: ignore[union-attr]
    q._on_update(upd([], None, [(ns[4], 0)]))
    assert table.best(ns[4]).net == ns[4] and table.best(ns[4]).attrs is attrs(1)
    # the rest in one UPDATE (the batch path): each withdrawal at its own net
    p._on_update(upd([], None, [(n, 0) for n in ns]))
    gone = [(n, old.net) for n, new, old in rec.events[events:] if new is None]
    assert sorted(gone) == sorted((n, n) for n in ns)
    assert len(table) == 0 and table.route_count == 0 and p.channel.preferred() == 0


def test_show_route_is_the_same_with_and_without_shared_routes() -> None:
    from bgplab.cli.execute import Session, execute
    from tests.unit.cli.fakedaemon import BgpProto, FakeDaemon

    t0 = time.time() - 5000
    a = attrs(3)
    ns = nets(0, 12)

    def daemon(shared: bool) -> tuple[FakeDaemon, Any]:
        d = FakeDaemon()
        b = d.add(BgpProto, "peer_b", neighbor_address="127.4.0.2", neighbor_as=65002,
                  local_as=65001, multihop=None, gateway=None)
        if shared:
            tail = Route.tail(b, gw="198.18.0.1", iface="eth1", since=t0,
                              from_addr="127.4.0.2")
            b.channel.import_routes([(n, 0) for n in ns],
                                    lambda n, pid: Route.shared(n, a, b, pid, tail))
            assert objects(d.ctx.table("master")) == 1
        else:
            for n in ns:
                d.route(b, net.to_str(n), gw="198.18.0.1", iface="eth1", attrs=a,
                        since=t0, from_addr="127.4.0.2")
            assert objects(d.ctx.table("master")) == 12
        return d, b

    lines = ["show route", "show route all", "show route for 11.0.5.7 all",
             "show route 11.0.0.0/24", "show route count", "show route primary",
             "show route protocol peer_b", "show route where net ~ [ 11.0.4.0/22+ ]",
             "show route where bgp_path.last = 64515 count", "show route filtered"]

    async def replies(d: Any) -> list[list[tuple[int, str]]]:
        return [list((await execute(d, line, Session())).lines) for line in lines]

    (d1, b1), (d2, b2) = daemon(True), daemon(False)
    got, want = asyncio.run(replies(d1)), asyncio.run(replies(d2))
    assert got == want
    assert any("11.0.5.0/24" in text for _, text in got[1])
    # one net announced again with a change gets its own age; the run keeps its
    later = t0 + 3600
    for d, b in ((d1, b1), (d2, b2)):
        d.route(b, net.to_str(ns[2]), gw="198.18.0.1", iface="eth1", attrs=attrs(4),
                since=later, from_addr="127.4.0.2")
    got, want = asyncio.run(replies(d1)), asyncio.run(replies(d2))
    assert got == want
    stamp = time.strftime("%H:%M:%S", time.localtime(later))
    assert [text for _, text in got[0] if stamp in text] == [
        text for _, text in got[0] if text.startswith("11.0.2.0/24")]
