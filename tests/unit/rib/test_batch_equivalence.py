"""Per-UPDATE batching changes nothing a peer or an operator can see.

The same UPDATE stream goes through two identical worlds: one imports route
by route (:meth:`Channel.import_route`, the reference), the other a whole
UPDATE at a time (:meth:`Channel.import_routes`, what the BGP protocol
does). Everything observable must match: BIRD's route change statistics
of every channel and of every group member (``show protocols all``), the
table (routes per net, in preference order), what each member received
(ADD-PATH path ids included, and never a route back to its source), the
events another exporter saw, in order, and how limits and ``keep
filtered`` ended up, also when a limit is hit in the middle of an UPDATE.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

import pytest

from bgplab import net
from bgplab.bgp.attrs import PathAttrs, intern
from bgplab.bgp.capabilities import Negotiated
from bgplab.config.model import Limit
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.channel import ACCEPT, Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.route import Route
from tests.unit.rib.helpers import Member, bgp_protocol
from tests.unit.rib.test_adjrib_out import Codec, decode_all, key
from tests.unit.rib.test_table import Recorder


@dataclasses.dataclass(eq=False)
class Peer(Member):
    ctx: Any = None
    limit_actions: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def attrs(k: int, nh: int = 1) -> PathAttrs:
    return intern(PathAttrs(origin=0, next_hop=IPv4Address(f"198.18.0.{nh}"), local_pref=100,
                            as_path=((2, (64512 + k,)),)))


def nets(base: int, n: int) -> list[int]:
    return [net.make(0x0B000000 + ((base + i) << 8), 24) for i in range(n)]


class Only:
    """An import filter that rejects every third /24."""

    name = "thirds"

    def run(self, route: Route, trace: object = None) -> Route | None:
        return None if (route.net >> 16) % 3 == 0 else route


class World:
    def __init__(self, *, add_path: bool, rr_client: bool = True, channel_opts: Any = None,
                 import_filter: Any = ACCEPT, export_limit: Any = None) -> None:
        self.ctx = DaemonContext(IPv4Address("192.168.0.40"))
        self.table = self.ctx.table("master")
        self.pending: list[Any] = []
        self.neg = Negotiated.default(add_path=[(1, 1)] if add_path else ())
        gk = key(add_path, rr_client=rr_client)._replace(export_limit=export_limit)
        self.group = UpdateGroup(gk, self.pending.append, Codec)
        self.table.attach(self.group)
        self.kernel = Recorder("kernel", self.ctx)  # another exporter, per change
        self.peers: list[Peer] = []
        self.channels: list[Channel] = []
        for i in range(1, 4):
            addr = f"192.168.0.{i}"
            p = Peer(f"n{i}", peer_address=addr, peer_router_id=int(IPv4Address(addr)),
                     negotiated=self.neg, is_rr_client=rr_client, ctx=self.ctx)
            ch = Channel(p, self.table, import_filter, export_to_proto=False)
            ch.apply_options(channel_opts or SimpleNamespace())
            self.peers.append(p)
            self.channels.append(ch)
            self.group.join(p)
        self.ctx.set_limit_handler(lambda proto, which, action: proto.limit_actions.append(
            (which, action)))

    def update(self, i: int, a: PathAttrs, nlri: list[tuple[int, int]], batch: bool) -> None:
        ch, p = self.channels[i], self.peers[i]

        def make(n: int, pid: int) -> Route:
            return Route(n, a, p, path_id=pid, since=1.0, from_addr=p.peer_address)

        if batch:
            ch.import_routes(nlri, make)
        else:
            for n, pid in nlri:
                ch.import_route(n, make(n, pid), pid)

    def withdraw(self, i: int, nlri: list[tuple[int, int]], batch: bool) -> None:
        if batch:
            self.channels[i].withdraw_routes(nlri)
            return
        for n, pid in nlri:
            self.channels[i].import_withdraw(n, pid)

    def down(self, i: int, batch: bool) -> None:
        """Protocol ``i`` goes down: its channel is flushed."""
        ch = self.channels[i]
        if batch:
            ch.flush()
            return
        for k in list(ch.own_routes()):  # the reference: route by route
            ch._remove(k)
        ch.forget_filtered()
        ch.exported.clear()
        ch.exported_any.clear()

    def flush(self) -> None:
        while self.pending:
            self.pending.pop()()

    def observe(self) -> dict[str, Any]:
        self.flush()
        # `show route count` answers from this counter: it must be exact
        assert self.table.route_count == sum(len(rs) for _, rs in self.table)
        # "preferred" is kept as routes change: it must match a walk of the table
        for c in self.channels:
            assert c.preferred() == sum(1 for _, rs in self.table if rs[0].origin is c.proto)
        g = self.group
        received = {}
        for p in self.peers:
            state: dict[tuple[int, int], Any] = {}
            announced: list[tuple[int, int, Any]] = []
            for u in decode_all(p.sent, self.neg):
                for k in u.withdrawn:
                    state.pop(k, None)
                for k in u.nlri:
                    state[k] = u.attrs
                    announced.append((*k, u.attrs))
            # what each member holds, and how many announcements it took
            received[p.name] = (state, sorted(announced, key=repr))
        return {
            "channels": [(c.import_stats.as_dict(), c.imported, c.filtered,
                          sorted(c.own_routes()), sorted(c.filtered_routes()))
                         for c in self.channels],
            "table": {n: [(r.origin.name, r.path_id, r.attrs) for r in rs]
                      for n, rs in self.table},
            "route_count": self.table.route_count,
            "group": (g.stats.as_dict(), [g.member_stats(p).as_dict() for p in self.peers],
                      [g.exported_to(p) for p in self.peers]),
            "entries": sorted((k, b.attrs, b.source.name) for k, b in g.entries.items()),
            "received": received,
            "kernel": [(n, new and (new.origin.name, new.path_id), old and old.origin.name)
                       for n, new, old in self.kernel.events],
            "limits": [p.limit_actions for p in self.peers],
        }


def script(w: World, batch: bool) -> None:
    """Announcements, implicit replaces, one net under two path ids in one
    UPDATE, the same nets from several peers, withdrawals in between (of
    nets two peers have, of nets never announced, one twice), a protocol
    going down."""
    a = [attrs(k, nh=k % 3 + 1) for k in range(6)]
    w.update(0, a[0], [(n, 1) for n in nets(0, 30)], batch)
    w.update(1, a[1], [(n, 1) for n in nets(20, 30)], batch)  # 10 nets also from n1
    w.flush()
    w.update(2, a[2], [(n, 7) for n in nets(0, 5)] + [(n, 8) for n in nets(0, 5)], batch)
    w.update(0, a[3], [(n, 1) for n in nets(10, 15)], batch)  # implicit replace, new attrs
    w.withdraw(1, [(n, 1) for n in nets(25, 5)] + [(n, 1) for n in nets(200, 2)], batch)
    w.update(1, a[4], [(n, 1) for n in nets(25, 10)] + [(n, 1) for n in nets(25, 2)], batch)
    w.flush()
    w.update(2, a[5], [(n, 9) for n in nets(100, 12)], batch)
    # sent again: unchanged (ignored) and, in the same UPDATE, changed
    w.update(0, a[3], [(n, 1) for n in nets(10, 15)], batch)
    w.update(0, a[3], [(n, 1) for n in nets(12, 6)] + [(n, 1) for n in nets(40, 4)], batch)
    w.withdraw(0, [(n, 1) for n in nets(0, 3)] + [(nets(0, 1)[0], 1)], batch)
    w.flush()
    w.down(1, batch)


CASES = {
    "add-path, reflector clients": {"add_path": True},
    "no add-path": {"add_path": False},
    "no reflection between non-clients": {"add_path": True, "rr_client": False},
    "receive limit block mid-UPDATE": {
        "add_path": True, "channel_opts": SimpleNamespace(receive_limit=Limit(12, "block"))},
    "import limit warn mid-UPDATE": {
        "add_path": True, "channel_opts": SimpleNamespace(import_limit=Limit(12, "warn"))},
    "import limit restart mid-UPDATE": {
        "add_path": False, "channel_opts": SimpleNamespace(import_limit=Limit(12, "restart"))},
    "keep filtered": {
        "add_path": True, "import_filter": Only(),
        "channel_opts": SimpleNamespace(import_keep_filtered=True)},
    "export limit block mid-UPDATE": {"add_path": True, "export_limit": Limit(40, "block")},
}


@pytest.mark.parametrize("case", list(CASES))
def test_batched_import_is_route_by_route(case: str) -> None:
    worlds = []
    for batch in (False, True):
        w = World(**CASES[case])
        script(w, batch)
        worlds.append(w.observe())
    ref, got = worlds
    for part in ref:
        assert got[part] == ref[part], part


def test_never_back_to_the_source_and_path_ids() -> None:
    w = World(add_path=True)
    script(w, True)
    obs = w.observe()
    held = {name: state for name, (state, _ann) in obs["received"].items()}
    # n3 announced 10.x.0-4 under two path ids and 100-111 under one:
    # every other member holds each under its own out path id, n3 none of them
    from_n3 = {k for k, b in w.group.entries.items() if b.source is w.peers[2]}
    assert len(from_n3) == 5 * 2 + 12
    assert not from_n3 & set(held["n3"])
    assert from_n3 <= set(held["n1"]) and from_n3 <= set(held["n2"])
    assert len({pid for _n, pid in from_n3}) == 3  # (n3, 7), (n3, 8), (n3, 9)


def _upd(nlri: list[int], a: PathAttrs | None, *, taw: bool = False,
         withdrawn: list[int] = ()) -> Any:
    return SimpleNamespace(eor=None, withdrawn=[(n, 0) for n in withdrawn],
                           nlri=[(n, 0) for n in nlri], attrs=a, treat_as_withdraw=taw)


def test_treat_as_withdraw_takes_the_whole_update_and_loops_too() -> None:
    ctx = DaemonContext(IPv4Address("192.168.0.40"))
    p = bgp_protocol(ctx)
    ch = p.channel
    first = nets(0, 6)
    p._on_update(_upd(first, attrs(1)))
    assert ch.imported == 6 and ctx.table("master").route_count == 6
    # RFC 7606: a malformed UPDATE withdraws every prefix it carries (that we
    # hold); the two we never had are not counted at all
    p._on_update(_upd(first[:3] + nets(50, 2), attrs(2), taw=True))
    assert sorted(n for n, _ in ch.own_routes()) == sorted(first[3:])
    st = ch.import_stats.as_dict()
    assert (st["updates_received"], st["updates_accepted"]) == (6, 6)
    assert (st["withdraws_received"], st["withdraws_accepted"]) == (3, 3)
    # a reflected route that carries our cluster id is a loop: the same
    looped = intern(attrs(3).replace(cluster_list=(IPv4Address("192.168.0.40"),)))
    p._on_update(_upd(first[3:5], looped))
    assert [n for n, _ in ch.own_routes()] == [first[5]]
    assert ch.import_stats.withdraws_accepted == 5 and ch.imported == 1
    # a good UPDATE with withdrawals and announcements in one message
    p._on_update(_upd(nets(60, 4), attrs(4), withdrawn=[first[5]]))
    assert ch.imported == 4 and ch.import_stats.updates_received == 10
    assert ctx.table("master").route_count == 4 and p.updates_in == 10
