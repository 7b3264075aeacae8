"""Flush pacing (io/flush_pacer): an idle update group flushes at the end of
the loop turn as before; after a flush that took ``d`` the next one waits
until ``PACE * d`` after it (at most ``MAX_HOLD``), and what changed
meanwhile leaves in one write per member, in the order the table saw it.

Time here is a fake clock that a member's write advances: the rule reads
how long a flush took, never the wall clock of the test."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address

import pytest

from bgplab import net
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import Negotiated
from bgplab.io.flush_pacer import FlushPacer
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.route import Route
from tests.unit.rib.helpers import Member, bgp_origin
from tests.unit.rib.test_adjrib_out import Codec, decode_all, key

WRITE_COST = 0.004  # fake seconds each member's write takes
NEG_DEFAULT = Negotiated.default()


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class SlowMember(Member):
    """A member whose every write moves the fake clock on."""

    clock: Clock | None = None

    def send_wire(self, chunks: list[bytes]) -> None:
        super().send_wire(chunks)
        if self.clock is not None:
            self.clock.t += WRITE_COST


def _setup(pace: float = 1.0, max_hold: float = 0.025) -> tuple[UpdateGroup, FlushPacer,
                                                                  list[SlowMember], Clock]:
    clock = Clock()
    loop = asyncio.get_running_loop()
    pacer = FlushPacer(loop.call_soon, clock=clock, pace=pace, max_hold=max_hold)
    group = UpdateGroup(key(), pacer, Codec)
    members = []
    for i in (7, 25):
        m = SlowMember(f"m{i}", peer_address=f"192.168.0.{i}",
                       peer_router_id=int(IPv4Address(f"192.168.0.{i}")), negotiated=NEG_DEFAULT)
        group.join(m)
        m.clock = clock
        m.sent.clear()  # the join's End-of-RIB
        members.append(m)
    return group, pacer, members, clock


SOURCE = bgp_origin("src", "192.168.0.99")


def _announce(group: UpdateGroup, n: int) -> None:
    r = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.99")), SOURCE)
    group.notify(n, [r], None, r, None)


def _withdraw(group: UpdateGroup, n: int, old: Route) -> None:
    group.notify(n, [], old, None, old)


def _nets(m: Member, i: int) -> tuple[list[int], list[int]]:
    """(announced, withdrawn) nets of member ``m``'s ``i``-th write."""
    ups = decode_all([m.sent[i]], NEG_DEFAULT)
    return ([n for u in ups for n, _ in u.nlri], [n for u in ups for n, _ in u.withdrawn])


async def _turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_idle_group_flushes_in_the_same_turn() -> None:
    async def main() -> None:
        group, pacer, members, _ = _setup()
        n = net.parse("10.41.0.0/26")
        _announce(group, n)
        await _turns()
        assert pacer.held == 0
        for m in members:
            assert len(m.sent) == 1 and _nets(m, 0) == ([n], [])

    asyncio.run(main())


def test_changes_during_the_pause_leave_in_one_write_in_order() -> None:
    async def main() -> None:
        group, pacer, members, clock = _setup()
        first = net.parse("10.41.0.0/26")
        _announce(group, first)
        await _turns()
        # that flush took two writes' time: the next waits as long after it
        assert pacer.next_at == pytest.approx(clock() + 2 * WRITE_COST)
        later = [net.parse(f"10.41.{i}.0/26") for i in range(1, 4)]
        for n in later:
            _announce(group, n)
        await _turns()
        assert pacer.held == 1
        assert all(len(m.sent) == 1 for m in members), "held, not sent in the same turn"
        await asyncio.sleep(0.05)  # the real timer behind the fake pause
        for m in members:
            assert len(m.sent) == 2, "three changes, one write"
            assert _nets(m, 1)[0] == later  # one bucket: in the order they came

    asyncio.run(main())


def test_withdraw_then_announce_in_a_pause_ends_announced() -> None:
    async def main() -> None:
        group, pacer, members, clock = _setup()
        n = net.parse("10.42.0.0/26")
        r = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.99")), SOURCE)
        group.notify(n, [r], None, r, None)
        await _turns()
        _withdraw(group, n, r)
        r2 = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.99"), med=5), SOURCE)
        group.notify(n, [r2], None, r2, None)
        await asyncio.sleep(0.05)
        assert pacer.held == 1
        for m in members:
            ups = decode_all(m.sent[1:], NEG_DEFAULT)
            assert [x for u in ups for x, _ in u.nlri] == [n]
            assert [u.attrs.med for u in ups if u.nlri] == [5]

    asyncio.run(main())


def test_a_long_flush_holds_the_next_at_most_max_hold() -> None:
    async def main() -> None:
        group, pacer, members, clock = _setup(pace=1000.0, max_hold=0.02)
        _announce(group, net.parse("10.43.0.0/26"))
        await _turns()
        assert pacer.next_at == pytest.approx(clock() + 0.02)

    asyncio.run(main())


def test_pace_zero_never_holds() -> None:
    async def main() -> None:
        group, pacer, members, _ = _setup(pace=0.0)
        for i in range(4):
            _announce(group, net.parse(f"10.44.{i}.0/26"))
            await _turns()
        assert pacer.held == 0
        assert all(len(m.sent) == 4 for m in members), "one write per change"

    asyncio.run(main())


def test_an_empty_flush_does_not_end_the_pause() -> None:
    async def main() -> None:
        group, pacer, members, clock = _setup()
        _announce(group, net.parse("10.45.0.0/26"))
        await _turns()
        until = pacer.next_at
        # a member's join flushed the group meanwhile: the paced run finds
        # nothing to send, takes no time, and the pause it was held by stays
        pacer(lambda: None)
        assert pacer.held == 1
        await asyncio.sleep(0.03)
        assert pacer.next_at == until

    asyncio.run(main())
