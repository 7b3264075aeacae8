"""BGP input under a time budget per event-loop turn, shared by all sessions.

When thousands of sessions come up at once, every one of them is readable
in the same loop turn, and handling each read (an OPEN, the first UPDATEs,
a member joining its update group) costs milliseconds: one turn took
seconds, and the control socket, which needs a few turns to accept, greet,
read a command and answer, waited for several of them. So input is handled
inline only until the turn has spent :data:`BUDGET` on it; later reads
wait, their connections paused (TCP pushes back on the peers), and are
handled in arrival order at the start of the next turns. The common case,
one small read with nothing waiting, still runs inline with no extra turn.

A read longer than :data:`INPUT_SLICE` is handled a slice at a time (a full
table arrives in 256 KiB reads), its rest ahead of later reads so that each
connection's bytes stay in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("bgplab.bgp")

# Seconds of BGP input handled per loop turn before the rest waits.
BUDGET = 0.010
# Bytes decoded at a time from one read.
INPUT_SLICE = 16 * 1024


class Sink(Protocol):
    def consume(self, conn: Any, data: bytes) -> None: ...


class InputQueue:
    """``feed(sink, conn, data)``: ``sink.consume(conn, data)`` now or in a
    later turn. ``conn`` has ``closed`` and ``transport`` (pause/resume)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter,
                 budget: float = BUDGET) -> None:
        self.clock = clock
        self.budget = budget
        self._queue: deque[tuple[Sink, Any, bytes]] = deque()
        self._waiting: dict[int, int] = {}  # id(conn) -> its entries in _queue
        self._start: float | None = None  # when this turn's input began
        self._turn: asyncio.Handle | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def feed(self, sink: Sink, conn: Any, data: bytes) -> None:
        if not self._queue and self._in_budget():
            if len(data) <= INPUT_SLICE:
                sink.consume(conn, data)
                return
            # a big read: its first slice now, the rest in later turns
            self._push(sink, conn, data[INPUT_SLICE:])
            self._consume(sink, conn, data[:INPUT_SLICE])
            return
        self._push(sink, conn, data)
        if self._turn is None:
            self._turn = asyncio.get_running_loop().call_soon(self._next_turn)

    def _in_budget(self) -> bool:
        now = self.clock()
        if self._start is None:
            # the first input of this turn; the call below runs first in
            # the next turn (callbacks queued now precede its I/O events)
            self._start = now
            if self._turn is None:
                self._turn = asyncio.get_running_loop().call_soon(self._next_turn)
            return True
        return now - self._start < self.budget

    def _push(self, sink: Sink, conn: Any, data: bytes) -> None:
        self._queue.append((sink, conn, data))
        key = id(conn)
        n = self._waiting.get(key, 0)
        self._waiting[key] = n + 1
        if n == 0 and conn.transport is not None:
            conn.transport.pause_reading()

    def _next_turn(self) -> None:
        self._turn = None
        self._start = None
        if not self._queue:
            return
        start = self._start = self.clock()
        q = self._queue
        while True:  # at least one entry per turn, then while in budget
            sink, conn, data = q[0]
            if len(data) > INPUT_SLICE:
                q[0] = (sink, conn, data[INPUT_SLICE:])
                data = data[:INPUT_SLICE]
            else:
                q.popleft()
                self._done_with(conn)
            if not conn.closed:
                self._consume(sink, conn, data)
            if not q or self.clock() - start >= self.budget:
                break
        self._turn = asyncio.get_running_loop().call_soon(self._next_turn)

    def _done_with(self, conn: Any) -> None:
        key = id(conn)
        n = self._waiting.pop(key) - 1
        if n:
            self._waiting[key] = n
        elif conn.transport is not None and not conn.closed:
            conn.transport.resume_reading()

    @staticmethod
    def _consume(sink: Sink, conn: Any, data: bytes) -> None:
        try:
            sink.consume(conn, data)
        except Exception:  # one session's bug must not stall everyone's input
            log.exception("BGP input handling failed")

    def drain(self, conn: Any) -> list[bytes]:
        """Take ``conn``'s waiting input out of the queue (a lost connection's
        input still counts: the caller handles it now)."""
        if self._waiting.pop(id(conn), 0) == 0:
            return []
        rest = [d for _, c, d in self._queue if c is conn]
        keep = [e for e in self._queue if e[1] is not conn]
        self._queue.clear()  # in place: _next_turn may be iterating
        self._queue.extend(keep)
        return rest

    def forget(self, sink: Sink) -> None:
        """Drop what waits for ``sink`` (its protocol stopped)."""
        if not self._queue:
            return
        keep = []
        for e in self._queue:
            if e[0] is sink:
                self._waiting.pop(id(e[1]), None)
            else:
                keep.append(e)
        self._queue.clear()
        self._queue.extend(keep)
