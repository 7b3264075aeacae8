"""Every session's input shares one time budget per event-loop turn: what is
over budget waits, its connection paused, and is handled in arrival order
in the next turns, with other callbacks (timers, the control socket)
running in between; the common case stays inline. The listener accepts a
bounded batch of connections per turn."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from bgplab.io import bgp_transport
from bgplab.io.bgp_input import INPUT_SLICE, InputQueue


class Clock:
    """Time advances only when a sink works: 1.0 per input handled."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Transport:
    def __init__(self, name: str, log: list[Any]) -> None:
        self.name = name
        self.log = log

    def pause_reading(self) -> None:
        self.log.append(("pause", self.name))

    def resume_reading(self) -> None:
        self.log.append(("resume", self.name))


class Conn:
    def __init__(self, name: str, log: list[Any]) -> None:
        self.name = name
        self.closed = False
        self.transport = Transport(name, log)


class Sink:
    def __init__(self, clock: Clock, log: list[Any]) -> None:
        self.clock = clock
        self.log = log

    def consume(self, conn: Conn, data: bytes) -> None:
        self.log.append((conn.name, data))
        self.clock.now += 1.0


def _setup(budget: float) -> tuple[InputQueue, Sink, list[Any], dict[str, Conn]]:
    log: list[Any] = []
    clock = Clock()
    q = InputQueue(clock=clock, budget=budget)
    conns = {n: Conn(n, log) for n in "abcde"}
    return q, Sink(clock, log), log, conns


def test_small_read_with_nothing_waiting_is_handled_inline() -> None:
    async def run() -> None:
        q, sink, log, c = _setup(budget=10.0)
        q.feed(sink, c["a"], b"x")
        assert log == [("a", b"x")]  # before feed returned: no extra loop turn
        await asyncio.sleep(0)
        assert len(q) == 0

    asyncio.run(run())


def test_over_budget_input_waits_in_arrival_order_across_sessions() -> None:
    async def run() -> list[Any]:
        q, sink, log, c = _setup(budget=1.5)
        loop = asyncio.get_running_loop()
        q.feed(sink, c["a"], b"a1")  # t 0: inline
        q.feed(sink, c["b"], b"b1")  # t 1 < 1.5: inline
        q.feed(sink, c["c"], b"c1")  # t 2: over budget, waits
        loop.call_soon(log.append, "control socket")  # e.g. a command arrived
        q.feed(sink, c["d"], b"d1")
        q.feed(sink, c["a"], b"a2")  # behind c1 and d1 although a went first
        q.feed(sink, c["e"], b"e1")
        assert len(q) == 4
        while len(q):
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        return log

    log = asyncio.run(run())
    handled = [e[0] for e in log if isinstance(e, tuple) and e[0] not in ("pause", "resume")]
    assert handled == ["a", "b", "c", "d", "a", "e"]  # arrival order
    # each waiting connection paused once, resumed before its input ran;
    # the next turn did c1 and d1 (budget), then the control socket ran,
    # then a2 and e1 in the turn after
    assert log == [
        ("a", b"a1"), ("b", b"b1"),
        ("pause", "c"), ("pause", "d"), ("pause", "a"), ("pause", "e"),
        ("resume", "c"), ("c", b"c1"), ("resume", "d"), ("d", b"d1"),
        "control socket",
        ("resume", "a"), ("a", b"a2"), ("resume", "e"), ("e", b"e1"),
    ]


def test_budget_starts_again_each_turn() -> None:
    async def run() -> list[Any]:
        q, sink, log, c = _setup(budget=1.5)
        q.feed(sink, c["a"], b"1")
        q.feed(sink, c["b"], b"2")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        q.feed(sink, c["c"], b"3")  # a new turn: inline again
        q.feed(sink, c["d"], b"4")
        return log

    log = asyncio.run(run())
    assert log == [("a", b"1"), ("b", b"2"), ("c", b"3"), ("d", b"4")]


def test_a_big_read_keeps_its_connections_bytes_in_order() -> None:
    async def run() -> list[Any]:
        q, sink, log, c = _setup(budget=0.5)  # one slice per turn
        big = bytes(range(256)) * 160  # 40,960 bytes: 3 slices
        q.feed(sink, c["a"], big)
        q.feed(sink, c["b"], b"b1")  # arrived after the big read
        while len(q):
            await asyncio.sleep(0)
        got = b"".join(e[1] for e in log if e[0] == "a")
        assert got == big
        return log

    log = asyncio.run(run())
    order = [(e[0], len(e[1])) for e in log if e[0] in ("a", "b")]
    assert order == [("a", INPUT_SLICE), ("a", INPUT_SLICE), ("a", 40_960 - 2 * INPUT_SLICE),
                     ("b", 2)]


def test_drain_and_forget() -> None:
    async def run() -> tuple[list[bytes], list[Any], InputQueue]:
        q, sink, log, c = _setup(budget=0.5)
        other = Sink(sink.clock, log)
        q.feed(sink, c["a"], b"a1")  # inline, uses the turn's budget
        q.feed(sink, c["b"], b"b1")
        q.feed(other, c["c"], b"c1")
        q.feed(sink, c["b"], b"b2")
        rest = q.drain(c["b"])  # b's connection was lost: the caller handles these
        q.forget(other)  # c's protocol stopped
        assert len(q) == 0
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return rest, log, q

    rest, log, q = asyncio.run(run())
    assert rest == [b"b1", b"b2"]
    assert [e for e in log if e[0] in "abc"] == [("a", b"a1")]  # nothing else was handled
    assert not q._waiting


def test_listener_accepts_a_bounded_batch_per_turn() -> None:
    """A burst of connections is set up over several loop turns, at most
    ACCEPT_BATCH at a time, and every one is accepted."""
    n = 3 * bgp_transport.ACCEPT_BATCH + 5
    per_turn: list[int] = []
    made = 0

    class Owner:
        def on_connection_made(self, conn: Any) -> None:
            nonlocal made
            made += 1
            conn.abort()

        def on_data(self, conn: Any, data: bytes) -> None:
            pass

        def on_connection_lost(self, conn: Any, exc: Exception | None) -> None:
            pass

    async def run() -> None:
        owner = Owner()
        listener = bgp_transport.Listener("127.0.0.1", 0, lambda addr: owner)
        await listener.start()
        port = listener.sockets[0].getsockname()[1]
        clients = []
        try:
            for _ in range(n):  # all queued in the kernel before the loop runs
                s = socket.socket()
                s.connect(("127.0.0.1", port))
                clients.append(s)
            last = 0
            for _ in range(200):
                await asyncio.sleep(0)
                per_turn.append(made - last)
                last = made
                if made == n:
                    break
        finally:
            for s in clients:
                s.close()
            await listener.close()

    asyncio.run(run())
    assert made == n
    assert max(per_turn) <= bgp_transport.ACCEPT_BATCH
    assert sum(1 for k in per_turn if k) >= 4


def test_group_flush_waits_while_input_waits() -> None:
    """A burst's changes leave in one flush once the waiting input is done
    (not one flush per budgeted turn); with nothing waiting, the flush runs
    at the end of the turn as before."""
    from ipaddress import IPv4Address
    from types import SimpleNamespace

    from bgplab.io.bgp_runtime import BgpRuntime
    from bgplab.rib.context import DaemonContext

    async def run() -> list[Any]:
        ctx = DaemonContext(IPv4Address("192.168.0.40"))
        q, sink, log, c = _setup(budget=0.5)  # one input per turn
        ctx.extra["bgp_input"] = q
        rt = BgpRuntime(ctx, SimpleNamespace())
        rt._schedule(lambda: log.append("flush, idle"))
        await asyncio.sleep(0)
        q.feed(sink, c["a"], b"a1")
        for n in "bcd":
            q.feed(sink, c[n], n.encode() + b"1")
        rt._schedule(lambda: log.append("flush, busy"))
        for _ in range(8):
            await asyncio.sleep(0)
        return log

    log = asyncio.run(run())
    handled = [e if isinstance(e, str) else e[0] for e in log if e[0] != "pause"
               and e[0] != "resume"]
    assert handled == ["flush, idle", "a", "b", "c", "d", "flush, busy"]


def test_joins_wait_for_the_input_and_go_together() -> None:
    """A session Established while input waits joins its group after the
    input is done, with the other joiners; one that goes down before that
    never joins and keeps its carried stats."""
    from ipaddress import IPv4Address
    from types import SimpleNamespace

    from bgplab.io.bgp_runtime import BgpRuntime
    from bgplab.rib.context import DaemonContext

    class Group:
        def __init__(self, log: list[Any]) -> None:
            self.log = log

        def join(self, member: Any, carried: Any = None) -> None:
            self.log.append(("join", member.name, carried))

    async def run() -> list[Any]:
        ctx = DaemonContext(IPv4Address("192.168.0.40"))
        q, sink, log, c = _setup(budget=0.5)
        ctx.extra["bgp_input"] = q
        rt = BgpRuntime(ctx, SimpleNamespace())
        g = Group(log)
        members = [SimpleNamespace(name=n, group=g, join_pending=True) for n in "xyz"]
        q.feed(sink, c["a"], b"a1")
        q.feed(sink, c["b"], b"b1")  # waits
        q.feed(sink, c["c"], b"c1")  # waits
        for m in members:
            rt.join_later(g, m, f"stats-{m.name}")  # type: ignore[arg-type]
        assert rt.cancel_join(members[1])  # y's session went down
        assert not rt.cancel_join(members[1])
        for _ in range(6):
            await asyncio.sleep(0)
        assert not any(m.join_pending for m in members)
        return log

    log = asyncio.run(run())
    handled = [e[:2] if e[0] == "join" else e[0] for e in log
               if e[0] not in ("pause", "resume")]
    assert handled == ["a", "b", "c", ("join", "x"), ("join", "z")]
    assert ("join", "x", "stats-x") in log
