"""The event loop's longest stall (``bgplabd --stall-log FILE``), for
benchmarks: issue 15 asks for it in every run.

A timer every :data:`INTERVAL` seconds notes how late it runs. Work that
holds the loop for ``S`` seconds (one callback, or several in one turn)
makes the next tick late by ``S - INTERVAL`` to ``S``, so the recorded
maximum is the longest stall within one interval. Whenever it grows, FILE
is replaced with one line, ``<seconds> <loop time of the stall's end>``,
so a reader finds the value of the run so far whether or not the daemon
exits cleanly. bgplabd starts it once its protocols and control socket
are up (start-up holds the loop once, before any peer is served). Off
unless asked for: an idle daemon should not wake up 200 times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

INTERVAL = 0.005
# a new maximum is written only when it beats the last one written by this
# much: the file is not rewritten for every microsecond of timer jitter
WRITE_STEP = 0.001


class StallMonitor:
    def __init__(self, path: str | os.PathLike[str], interval: float = INTERVAL) -> None:
        self.path = Path(path)
        self.interval = interval
        self.max_stall = 0.0
        self._written = -1.0
        self._due = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None

    def check(self) -> None:
        """Write FILE's first record (no stall yet): a path that cannot be
        written fails here (OSError) rather than silently later."""
        self._write(0.0, 0.0)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin measuring (writes FILE's first record if :meth:`check` did not)."""
        self._loop = loop
        if self._written < 0:
            self._write(0.0, loop.time())
        self._schedule(loop.time())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, now: float) -> None:
        assert self._loop is not None
        self._due = now + self.interval
        self._handle = self._loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        late = now - self._due
        if late > self.max_stall:
            self.max_stall = late
            if late >= self._written + WRITE_STEP:
                # the file went away: keep measuring, there is nobody to tell
                with contextlib.suppress(OSError):
                    self._write(late, now)
        self._schedule(now)

    def _write(self, stall: float, at: float) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(f"{stall:.6f} {at:.6f}\n")
        os.replace(tmp, self.path)
        self._written = stall


def read(path: str | os.PathLike[str]) -> float | None:
    """The stall a :class:`StallMonitor` recorded in ``path`` (seconds), or
    None when there is no readable record."""
    try:
        return float(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
