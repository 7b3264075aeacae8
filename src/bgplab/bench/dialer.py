"""Keep one scripted BGP session connected to the daemon under test.

The benchmark's load generator and the soak both play hundreds of Calico
nodes: each node dials the reflector from its own loopback address, waits
for its OPEN, and dials again after a drop, as calico-node's BIRD would.
"""

from __future__ import annotations

import asyncio  # noqa: TID251 - drives real sockets
import contextlib
import errno
from collections.abc import Callable

# Refusals and resets while the daemon starts or restarts are expected;
# anything else is worth a line in the run's log.
EXPECTED_ERRNOS = (errno.ECONNREFUSED, errno.ECONNRESET, errno.ETIMEDOUT)
OPEN_WAIT = 3.0  # seconds a dial holds its slot for the daemon's OPEN


async def keep_dialling(
    session: asyncio.Protocol,
    target: tuple[str, int],
    local: str,
    slots: asyncio.Semaphore,
    opened: asyncio.Event,
    closed: asyncio.Event,
    *,
    stopping: Callable[[], bool],
    failed: Callable[[OSError], None],
    pause: Callable[[], float | None],
    dialling: Callable[[], None] | None = None,
) -> None:
    """Dial ``target`` from ``local`` until ``stopping()``; after each drop
    wait ``pause()`` seconds, or return if it says None (no reconnect).

    ``slots`` bounds the dials in flight: a daemon's listen backlog drops a
    storm of SYNs, and TCP's retry a second later would be measured instead
    of the daemon. A slot is held until the daemon's OPEN (``opened``);
    ``slots`` as large as the peer count is a burst, every node at once.
    ``dialling()`` is called as each ``connect()`` starts (its time)."""
    loop = asyncio.get_running_loop()
    delay = 0.2
    while not stopping():
        closed.clear()
        opened.clear()
        try:
            async with slots:
                if dialling is not None:
                    dialling()
                await loop.create_connection(lambda: session, *target, local_addr=(local, 0))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(opened.wait(), OPEN_WAIT)
        except OSError as exc:
            failed(exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        delay = 0.2
        await closed.wait()
        if stopping():
            return
        wait = pause()
        if wait is None:
            return
        await asyncio.sleep(wait)
