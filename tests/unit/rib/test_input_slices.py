"""A big read is decoded in slices that yield to the event loop, in order,
with the connection paused meanwhile; a lost connection's backlog still
counts. (The shared budget across sessions: tests/unit/io/test_bgp_input.py.)"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

from bgplab.io import bgp_input
from bgplab.io.bgp_input import InputQueue
from bgplab.rib.context import DaemonContext
from tests.unit.rib.helpers import bgp_protocol


class Fsm:
    def __init__(self, log: list[Any]) -> None:
        self.log = log
        self.other = False

    def data_received(self, conn_id: object, data: bytes) -> None:
        if not self.other:  # the first input queues other work, due next turn
            self.other = True
            asyncio.get_running_loop().call_soon(self.log.append, "other work")
        self.log.append(("data", conn_id, data))

    def connection_lost(self, conn_id: object, why: str) -> None:
        self.log.append(("lost", conn_id))

    def events(self) -> list[Any]:
        return []


class Transport:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def pause_reading(self) -> None:
        self.log.append("pause")

    def resume_reading(self) -> None:
        self.log.append("resume")


def _proto(log: list[Any]) -> tuple[Any, Any]:
    ctx = DaemonContext(IPv4Address("192.168.0.40"))
    ctx.extra["bgp_input"] = InputQueue(budget=0.0)  # one slice per turn
    p = bgp_protocol(ctx)
    p.fsm = Fsm(log)
    conn = SimpleNamespace(conn_id=7, transport=Transport(log), closed=False)
    p.conns[7] = conn
    return p, conn


def test_big_read_in_slices_one_per_turn() -> None:
    async def run() -> list[Any]:
        log: list[Any] = []
        p, conn = _proto(log)
        data = bytes(range(256)) * 200  # 51,200 bytes: 4 slices of 16 KiB
        p.on_data(conn, data)
        p.on_data(conn, b"tail")  # arrives behind the backlog, not before it
        while len(p._input):
            await asyncio.sleep(0)
        got = b"".join(e[2] for e in log if isinstance(e, tuple))
        assert got == data + b"tail"
        return log

    log = asyncio.run(run())
    sizes = [len(e[2]) if isinstance(e, tuple) else e for e in log]
    s = bgp_input.INPUT_SLICE
    # paused at once, the first slice inline, one slice per turn (budget 0):
    # a callback the first slice queued ran between the second and third
    assert sizes == ["pause", s, s, "other work", s, 51_200 - 3 * s, "resume", 4]


def test_lost_connection_decodes_its_backlog_first() -> None:
    async def run() -> list[Any]:
        log: list[Any] = []
        p, conn = _proto(log)
        p.on_data(conn, b"x" * (3 * bgp_input.INPUT_SLICE))
        conn.closed = True
        p.on_connection_lost(conn, None)
        await asyncio.sleep(0)
        return log

    log = asyncio.run(run())
    kinds = [e[0] if isinstance(e, tuple) else e for e in log]
    assert kinds == ["pause", "data", "data", "lost", "other work"]
    assert sum(len(e[2]) for e in log if e[0] == "data") == 3 * bgp_input.INPUT_SLICE
