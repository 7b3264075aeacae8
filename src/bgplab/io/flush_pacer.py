"""When an update group's next flush runs: at once while it keeps up, spaced
out under load.

Every flush writes to every member of the group, and a write that sends a
segment costs far more than one that only queues bytes behind an
unacknowledged segment (Nagle's algorithm, on for BGP sessions: see
io/bgp_transport.py); on loopback the receiver's input runs in the
writer's context. A group that keeps up with its changes flushes once per
event. BIRD falls behind under load and sends what queued
meanwhile in one pass; MRAI (RFC 4271, 9.2.1.1) is the protocol's name for
spacing a peer's UPDATEs.

The rule: a flush that took ``d`` seconds (wall time: on a loaded machine
it also counts the time the daemon waited for a CPU) holds the group's next
flush until ``PACE * d`` after it ended, at most :data:`MAX_HOLD`. A change
that comes later than that leaves at the end of its loop turn, as before;
one that comes sooner waits, and the changes that come meanwhile leave in
the same write to each member. So the fan-out takes at most ``1 / (1 +
PACE)`` of the loop's time, the rest is left for input and timers, and the
hold grows with the group (more members, longer flushes) and with the
machine's load (slower writes), never with an idle daemon.

PACE is measured (docs/bench.md, issue 15): with every write a segment
(``TCP_NODELAY``, the fourth pass) 0.3 cut the daemon's CPU at 1,000
events/s to 300 peers by a fifth and its median delay with it; with
Nagle's algorithm (the sixth pass) the writes themselves cost less, and 0.1
keeps the median at BIRD 2's (0.3 held changes for twice the median delay
for a third less CPU; 0 and 0.03 measured like 0.1).
``BGPLAB_FLUSH_PACE=0`` turns pacing off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bgplab.errors import env_seconds

# After a flush of d seconds, the group's next one waits until PACE * d after it.
PACE = env_seconds("BGPLAB_FLUSH_PACE", 0.1)
# The longest a change waits for a paced flush.
MAX_HOLD = 0.025


class FlushPacer:
    """The ``schedule`` of one update group: ``pacer(fn)`` runs ``fn`` (the
    group's flush) through ``now(fn)`` (the runtime's end-of-turn
    scheduling) unless the previous flush asks for a pause, then at the
    pause's end."""

    def __init__(self, now: Callable[[Callable[[], None]], None],
                 clock: Callable[[], float] = time.monotonic,
                 pace: float = PACE, max_hold: float = MAX_HOLD) -> None:
        self._now = now
        self.clock = clock
        self.pace = pace
        self.max_hold = max_hold
        self.next_at = 0.0  # clock time before which no flush starts
        self.held = 0  # flushes that waited for the pause (for tests, stats)

    def __call__(self, fn: Callable[[], None]) -> None:
        wait = self.next_at - self.clock()
        if wait <= 0:
            self._now(lambda: self._run(fn))
            return
        self.held += 1
        asyncio.get_running_loop().call_later(wait, self._run, fn)

    def _run(self, fn: Callable[[], None]) -> None:
        start = self.clock()
        fn()
        end = self.clock()
        # max(): a flush with nothing left to send (a member's join flushed
        # the group meanwhile) takes no time and must not end the pause
        self.next_at = max(self.next_at, end + min(self.pace * (end - start), self.max_hold))
