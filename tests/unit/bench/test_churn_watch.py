"""The churn measurement at the receivers' side, and the new scenario names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bgplab.bench import scenarios, wire
from bgplab.bench.loadgen import LoadGen
from bgplab.bench.peerplan import PeerPlan
from bgplab.errors import UserError


def test_watchers_spread_over_the_session_order() -> None:
    assert scenarios.watcher_indices(300, 10) == [0, 33, 66, 100, 133, 166, 199, 233, 266, 299]
    assert scenarios.watcher_indices(5, 10) == [0, 2, 4]  # two left to originate
    assert scenarios.watcher_indices(3, 10) == [0]
    plans = scenarios.build_plans(scenarios.parse("churn"), scenarios.peer_addrs("127.11.0.1", 300))
    assert sum(p.watch for p in plans) == 10 and plans[0].watch and plans[-1].watch


def test_new_names() -> None:
    s = scenarios.parse("churn")
    assert (s.peers, s.churn_rate) == (300, 1000.0)
    assert scenarios.parse("churn-300-200").churn_rate == 200.0
    s = scenarios.parse("pods-per-route")
    assert (s.kind, s.peers, s.pods) == ("pods-per-route", 500, 110)
    plans = scenarios.build_plans(
        scenarios.parse("pods-per-route-4-3"), scenarios.peer_addrs("127.11.0.1", 4)
    )
    # /32s only, no block; every node holds every other node's pods
    assert all(plen == 32 for p in plans for _a, plen in p.routes)
    assert [p.expect for p in plans] == [9, 9, 9, 9]
    assert len({r for p in plans for r in p.routes}) == 12
    for bad in ("churn-2", "churn-300-0", "pods-per-route-1", "pods-per-route-4-200"):
        with pytest.raises(UserError):
            scenarios.parse(bad)


@pytest.fixture
def event_loop_set() -> Iterator[None]:
    # LoadGen takes the current event loop when it is made; after an earlier test's
    # asyncio.run() there is none, so the test sets its own (order-independent).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.mark.usefixtures("event_loop_set")
def test_every_watcher_times_every_event_once() -> None:
    plans = [PeerPlan(f"127.11.0.{i}", routes=[(0x0A000000 + (i << 6), 26)]) for i in (1, 2, 3)]
    gen = LoadGen(plans, "127.10.0.1")
    w0, w1 = gen.sessions[0], gen.sessions[1]
    for s in (w0, w1):
        s.plan.watch = True
        s.addpath_rx = True
    key = wire.prefix_bytes(0x0A0000C0, 26)
    gen.pending_announce[key] = [0.0, {0, 1}]
    body = b"".join(
        wire.pack_announces([wire.nlri_entry(0x0A0000C0, 26, 7)], wire.ibgp_attributes(1))
    )[19:]
    gen.watch_arrivals(w0, body, 0, len(body))
    gen.watch_arrivals(w0, body, 0, len(body))  # a repeat at the same watcher: not again
    assert len(gen.announce_delays) == 1 and gen.pending_announce[key][1] == {1}
    gen.watch_arrivals(w1, body, 0, len(body))
    assert len(gen.announce_delays) == 2 and key not in gen.pending_announce
    assert sorted(gen.delays_by_watcher) == [0, 1]


def test_bytes_per_route_split_by_component() -> None:
    from bgplab.bench.memory import measure
    from bgplab.rib.intmap import compiled

    per = measure(2000, members=2)
    parts = ("table", "channel", "adj-rib-out", "attributes", "prefixes", "other")
    assert abs(sum(per[k] for k in parts) - per["total"]) < 1e-6
    # a table slot (the routes of an UPDATE share one Route object: under a
    # route and a slot, 120 B), its net in the channel's list (8 bytes; the
    # channel finds its routes through the table) and its group entry (a
    # dict slot, or ~26 B in the compiled map of rib.intmap)
    assert 8 < per["table"] < 90 and 4 < per["channel"] < 20 and per["adj-rib-out"] > 20
    if compiled():  # the maps and the channel's list keep no int per net
        assert per["prefixes"] < 8
    else:
        assert 28 <= per["prefixes"] <= 40  # an int per net, the table's key
