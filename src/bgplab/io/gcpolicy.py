"""Garbage collection for a daemon whose heap is mostly long-lived routes.

CPython's default collector (thresholds 700/10/10) rescans every tracked
object in a full collection, and it runs one each time the heap has grown by
a quarter. With half a million routes that is a pause of about a second
(measured: 1.24 s at 500,000 routes), several times during a full table,
and about a quarter of the CPU of loading it; with 100,000 kernel routes it
is the stall the kernel-fib benchmark showed at ~64,000.

Here the young generations are larger, and whatever survives a
generation-1 collection is frozen (``gc.freeze``): it is long-lived, and the
collector never walks it again. The cost is that cyclic garbage among
frozen objects is only found by :func:`full_collect`, which the daemon runs
every minute with a small heap and more rarely with a big one (at most
0.5 % of the time: a collection that took 1 s waits 200 s). Routes,
attribute sets and their caches are freed by reference counting, not by the
collector; what needs it is mostly a closed session's connection objects.
``BGPLAB_GC=default`` keeps CPython's policy.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from typing import Any

log = logging.getLogger("bgplab.gc")

THRESHOLDS = (10_000, 10, 10)
FULL_EVERY = 60.0  # seconds between full collections of the frozen objects, at least
FULL_SHARE = 200.0  # ... and at least this many times the last one's duration

_installed = False


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation", 0) >= 1:
        gc.freeze()


def install(loop: Any = None) -> bool:
    """Apply the policy (once per process); with ``loop``, schedule the
    periodic full collection on it. False when ``BGPLAB_GC=default``."""
    global _installed
    if os.environ.get("BGPLAB_GC", "") == "default":
        return False
    if not _installed:
        gc.set_threshold(*THRESHOLDS)
        gc.callbacks.append(_freeze_survivors)
        _installed = True
    if loop is not None:
        loop.call_later(FULL_EVERY, _periodic, loop)
    return True


def uninstall() -> None:
    """Back to CPython's defaults (tests)."""
    global _installed
    if _freeze_survivors in gc.callbacks:
        gc.callbacks.remove(_freeze_survivors)
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    _installed = False


def full_collect() -> float:
    """Collect everything, the frozen objects too; returns the seconds it took."""
    t0 = time.monotonic()
    gc.unfreeze()
    n = gc.collect()
    gc.freeze()
    took = time.monotonic() - t0
    log.debug("full collection: %d objects freed in %.3f s", n, took)
    return took


def _periodic(loop: Any) -> None:
    took = full_collect()
    loop.call_later(max(FULL_EVERY, FULL_SHARE * took), _periodic, loop)
