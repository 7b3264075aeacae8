"""Export "Route change stats" of update-group members, as BIRD 1.6 counts
them per protocol.

BIRD zeroes a protocol's stats when it goes down and counts the feed when
it comes up: every route offered (the best of each net, or every route with
ADD-PATH) is an export update received, then rejected (the peer's own
route, an iBGP route not reflected), filtered (the export filter) or
accepted. A graceful restart keeps the stats; a route refresh refeeds on top
of them, and a route refused at refeed counts as a withdrawal accepted. The
numbers in the small tests are what tests/interop/test_export_stats.py saw
real BIRD 1.6 reflectors show; the random walk checks the group against a
per-member model of BIRD's rt_notify_basic that walks the table at join.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address
from typing import Any

import pytest

from bgplab import net
from bgplab.bgp.attrs import PathAttrs, intern
from bgplab.bgp.capabilities import Negotiated
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.channel import ACCEPT, MODE_ANY, MODE_OPTIMAL, ChangeStats, Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.route import Route

from .helpers import Member
from .test_adjrib_out import Codec, key

FIELDS = ("updates_received", "updates_rejected", "updates_filtered", "updates_accepted",
          "withdraws_received", "withdraws_accepted")


def rows(st: ChangeStats | None) -> tuple[int, ...]:
    st = st or ChangeStats()
    return tuple(getattr(st, f) for f in FIELDS)


def attrs(k: int) -> PathAttrs:
    return intern(PathAttrs(origin=0, next_hop=IPv4Address(f"198.18.0.{k + 1}"),
                            local_pref=100 + k))


def nets(n: int) -> list[int]:
    return [net.make(0x0A000000 + (i << 8), 24) for i in range(n)]


class NoQuarters:
    """An export filter: every fourth /24 stays home."""

    name = "no_quarters"

    def run(self, route: Route, trace: object = None) -> Route | None:
        return None if (net.address(route.net) >> 8) % 4 == 0 else route


class BirdModel:
    """One BIRD 1.6 protocol's export stats: rt_notify_basic per change,
    a walk of the table at feed time. Attached to the table as an exporter."""

    def __init__(self, member: Any, group: UpdateGroup, table: Any) -> None:
        self.member, self.group, self.table = member, group, table
        self.mode = group.mode
        self.up = False
        self.st = ChangeStats()

    def _ok(self, r: Route, count: bool) -> bool:
        src = r.origin
        g = self.group.key
        if src is self.member or (g.ibgp and src.is_ibgp
                                  and not (src.is_rr_client or g.rr_client)):
            if count:
                self.st.updates_rejected += 1
            return False
        if g.export_filter is not ACCEPT and g.export_filter.run(r) is None:
            if count:
                self.st.updates_filtered += 1
            return False
        return True

    def _basic(self, new: Route | None, old: Route | None, refeed: bool = False) -> None:
        st = self.st
        if new is not None:
            st.updates_received += 1
        else:
            st.withdraws_received += 1
        new_ok = new is not None and self._ok(new, True)
        old_ok = old is not None and (refeed or self._ok(old, False))
        if new_ok:
            st.updates_accepted += 1
        elif old_ok:
            st.withdraws_accepted += 1

    def notify(self, n: int, routes: list[Route], old_best: Route | None,
               new: Route | None, old: Route | None) -> None:
        if not self.up or (new is not None and old is not None and new.attrs is old.attrs
                           and new.origin is old.origin):
            return  # BIRD ignores a route sent again unchanged at import (rte_same)
        if self.mode == MODE_OPTIMAL:
            best = routes[0] if routes else None
            if best is not old_best:
                self._basic(best, old_best)
        else:
            self._basic(new, old)

    def feed(self, refeed: bool = False) -> None:
        self.up = True
        for _, routes in self.table:
            for r in routes if self.mode == MODE_ANY else routes[:1]:
                self._basic(r, r if refeed else None, refeed)


class World:
    """A reflector's table, a group, members (peers in the group) and two
    reflector clients that only send routes."""

    def __init__(self, *, add_path: bool, rr_client: bool, export_filter: Any) -> None:
        self.ctx = DaemonContext(IPv4Address("192.168.0.40"))
        self.table = self.ctx.table("master")
        self.pending: list[Any] = []
        self.neg = Negotiated.default(add_path=[(1, 1)] if add_path else ())
        gk = key(add_path, rr_client=rr_client)._replace(export_filter=export_filter)
        self.group = UpdateGroup(gk, self.pending.append, Codec)
        self.table.attach(self.group)
        self.peers: list[Member] = []
        self.channels: list[Channel] = []
        self.models: list[BirdModel] = []
        for i in range(5):
            addr = f"192.168.0.{i + 1}"
            # peers 0-2 are members (of the group's kind); 3 and 4 are clients
            p = Member(f"p{i}", peer_address=addr, peer_router_id=int(IPv4Address(addr)),
                       negotiated=self.neg, is_rr_client=rr_client if i < 3 else True)
            self.peers.append(p)
            self.channels.append(Channel(p, self.table, ACCEPT, export_to_proto=False))
            if i < 3:
                m = BirdModel(p, self.group, self.table)
                self.table.attach(m)
                self.models.append(m)
        self.carried: dict[int, ChangeStats | None] = {}

    def announce(self, i: int, n: int, k: int, batch: bool = False) -> None:
        p = self.peers[i]
        r = Route(n, attrs(k), p, since=1.0, from_addr=p.peer_address)
        if batch:
            self.channels[i].import_routes([(n, 0)], lambda n_, pid: r)
        else:
            self.channels[i].import_route(n, r)

    def withdraw(self, i: int, n: int) -> None:
        self.channels[i].import_withdraw(n, 0)

    def join(self, i: int) -> None:
        self.group.join(self.peers[i], carried=self.carried.pop(i, None))
        self.models[i].feed()

    def lose(self, i: int) -> None:
        """Session lost for good: stats zero, its routes go."""
        self.group.leave(self.peers[i])
        self.models[i].up = False
        self.models[i].st = ChangeStats()
        self.channels[i].flush()

    def graceful(self, i: int) -> None:
        """Graceful restart: out of the group, stats and routes kept."""
        self.carried[i] = self.group.leave(self.peers[i])
        self.models[i].up = False

    def refresh(self, i: int) -> None:
        self.group.resend(self.peers[i])
        self.models[i].feed(refeed=True)

    def check(self) -> None:
        while self.pending:
            self.pending.pop()()
        for i, m in enumerate(self.models):
            p = self.peers[i]
            if p in self.group.members:
                got = self.group.member_stats(p)
            elif i in self.carried:
                got = self.carried[i]
            else:
                got = None
            assert rows(got) == rows(m.st), (p.name, rows(got), rows(m.st))


def small_world(add_path: bool = False, rr_client: bool = False) -> World:
    return World(add_path=add_path, rr_client=rr_client, export_filter=NoQuarters())


def test_late_joiner_sees_its_feed_not_the_group_history() -> None:
    w = small_world()
    a, b, c, q = nets(4)[1], nets(4)[2], nets(4)[3], nets(8)[4]  # q is refused
    w.join(0)
    w.announce(3, a, 1)
    w.announce(3, q, 1)  # filtered
    w.announce(1, b, 2)  # a non-client's: not reflected to non-clients
    w.announce(3, c, 3)
    w.withdraw(3, c)
    w.check()
    assert rows(w.group.member_stats(w.peers[0])) == (4, 1, 1, 2, 1, 1)
    w.join(2)  # fed a, q (filtered), b (rejected): no withdraw in its history
    w.check()
    assert rows(w.group.member_stats(w.peers[2])) == (3, 1, 1, 1, 0, 0)


def test_rejoin_after_loss_starts_from_the_feed() -> None:
    w = small_world(rr_client=True)
    a, b, q = nets(4)[1], nets(4)[2], nets(8)[4]
    for i in (0, 1):
        w.join(i)
    w.announce(3, a, 1)
    w.announce(3, q, 1)
    w.announce(1, b, 2)
    w.check()
    # BIRD 1.6 in the interop test: a client fed C1's two nets (one
    # filtered), then its own net comes back rejected: 4 1 1 2
    w.lose(1)
    assert rows(w.group.member_stats(w.peers[0])) == (3, 0, 1, 2, 1, 1)
    w.join(1)
    w.announce(1, b, 2)
    w.check()
    assert rows(w.group.member_stats(w.peers[1])) == (3, 1, 1, 1, 0, 0)


def test_own_withdrawals_are_not_accepted_for_the_member() -> None:
    """BIRD: C1 withdraws its two nets; C1 shows 2 received, 0 accepted."""
    w = small_world(rr_client=True)
    a, q = nets(4)[1], nets(8)[4]
    w.join(0)
    w.join(1)
    w.announce(0, a, 1)
    w.announce(0, q, 1)
    w.withdraw(0, a)
    w.withdraw(0, q)
    w.check()
    assert rows(w.group.member_stats(w.peers[0]))[4:] == (2, 0)
    assert rows(w.group.member_stats(w.peers[1]))[4:] == (2, 1)


def test_best_route_moving_to_the_member_is_a_withdrawal_to_it() -> None:
    w = small_world(rr_client=True)
    a = nets(4)[1]
    w.join(0)
    w.announce(3, a, 5)  # local pref 105
    w.announce(0, a, 9)  # 109: the member's own route is best now
    w.check()
    assert rows(w.group.member_stats(w.peers[0])) == (2, 1, 0, 1, 0, 1)


def test_graceful_restart_keeps_counting_and_refeeds() -> None:
    w = small_world(rr_client=True)
    a, b, q = nets(4)[1], nets(4)[2], nets(8)[4]
    w.join(0)
    w.join(1)
    w.announce(3, a, 1)
    w.announce(3, q, 1)
    w.announce(1, b, 2)
    w.check()
    before = rows(w.group.member_stats(w.peers[1]))
    w.graceful(1)
    w.announce(4, nets(4)[3], 4)  # while it is away: not counted for it
    w.check()
    assert rows(w.carried[1]) == before
    w.join(1)  # the feed of 4 routes on top: its own rejected, q filtered
    w.check()
    assert rows(w.group.member_stats(w.peers[1])) == tuple(
        x + y for x, y in zip(before, (4, 1, 1, 2, 0, 0), strict=True))


def test_route_refresh_refeeds_refused_routes_as_withdrawals() -> None:
    """BIRD: `reload out C1` took C1 from 8 4 0 4 / 3 1 to 13 6 0 7 / 3 3."""
    w = small_world(rr_client=True)
    w.join(0)
    for k, n in enumerate(nets(4)[1:]):
        w.announce(3 if k else 0, n, k)
    w.check()
    before = rows(w.group.member_stats(w.peers[0]))
    w.refresh(0)
    w.check()
    after = rows(w.group.member_stats(w.peers[0]))
    assert tuple(y - x for x, y in zip(before, after, strict=True)) == (3, 1, 0, 2, 0, 1)


@pytest.mark.parametrize("add_path", [False, True])
@pytest.mark.parametrize("rr_client", [False, True])
@pytest.mark.parametrize("filtered", [False, True])
def test_random_walk_against_birds_model(add_path: bool, rr_client: bool,
                                         filtered: bool) -> None:
    rnd = random.Random(f"{add_path}{rr_client}{filtered}")
    w = World(add_path=add_path, rr_client=rr_client,
              export_filter=NoQuarters() if filtered else ACCEPT)
    pool = nets(12)
    seen = [0] * 6
    # a table before anyone joins, as a group created late finds it
    for n in pool[:6]:
        w.announce(rnd.randrange(5), n, rnd.randrange(3))
    for _ in range(600):
        op = rnd.random()
        i = rnd.randrange(5)
        member = i < 3
        if op < 0.45:
            w.announce(i, rnd.choice(pool), rnd.randrange(4), batch=rnd.random() < 0.5)
        elif op < 0.7:
            w.withdraw(i, rnd.choice(pool))
        elif member and w.peers[i] not in w.group.members:
            w.join(i)
        elif member and op < 0.8:
            w.lose(i)
        elif member and op < 0.9:
            w.graceful(i)
        elif member:
            w.refresh(i)
        w.check()
        for m in w.models:
            seen = [max(x, y) for x, y in zip(seen, rows(m.st), strict=True)]
    # the walk got somewhere: every counter (filtered only with a filter) moved
    assert all(seen[f] for f in range(6) if filtered or f != 2), seen
