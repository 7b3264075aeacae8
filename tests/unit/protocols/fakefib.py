"""An in-memory FIB port for kernel-protocol logic tests without root.

It keeps routes the way the kernel slots them, (dst, table, metric), and
answers ``write``/``apply``/``dump_routes``/``monitor`` like
:class:`bgplab.io.netlink.NetlinkPort`. ``fail`` makes writes for chosen
nets fail with an errno, to exercise the retry path that a real kernel
only shows under rare conditions. Real netlink is tested in
tests/interop/test_kernel_netns.py.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Iterable, Sequence

from bgplab.io.netlink import AF_INET6, FibAttrs, FibEvent, FibOp, FibRoute


class FakeStream:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[FibEvent | None] = asyncio.Queue()

    def __aiter__(self) -> AsyncIterator[FibEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[FibEvent]:
        while True:
            ev = await self.queue.get()
            if ev is None:
                return
            yield ev

    def close(self) -> None:
        self.queue.put_nowait(None)


class FakeFib:
    def __init__(self) -> None:
        self.routes: dict[tuple[int, int, int], FibRoute] = {}
        self.log: list[tuple[str, FibRoute]] = []  # every successful write (add = replace)
        self.fail: dict[int, int] = {}  # dst -> errno for replace
        self.streams: list[FakeStream] = []

    async def apply(self, ops: Sequence[FibOp]) -> Sequence[FibOp]:
        for op in ops:
            r = op.route
            if op.op in ("add", "replace"):
                if r.dst in self.fail:
                    op.error = self.fail[r.dst]
                    continue
                if op.op == "add" and r.key() in self.routes:
                    op.error = errno.EEXIST
                    continue
                self.routes[r.key()] = r
            else:
                cur = self.routes.get(r.key())
                if cur is None or cur.proto != r.proto:
                    op.error = errno.ESRCH
                    continue
                del self.routes[r.key()]
            op.error = 0
            self.log.append(("delete" if op.op == "delete" else "replace", r))
        return ops

    async def write(self, ops: Sequence[tuple[str, int, FibAttrs]]) -> dict[int, int]:
        fops = [FibOp(op, a.route(dst)) for op, dst, a in ops]
        await self.apply(fops)
        return {k: o.error for k, o in enumerate(fops) if o.error}

    async def dump_routes(self, table: int | None = 254, family: int = 2) -> list[FibRoute]:
        v6 = family == AF_INET6
        return [
            r for r in self.routes.values() if (table is None or r.table == table) and r.v6 == v6
        ]

    async def monitor(self, kinds: Iterable[str] = ()) -> FakeStream:
        s = FakeStream()
        self.streams.append(s)
        return s

    def emit(self, ev: FibEvent) -> None:
        for s in self.streams:
            s.queue.put_nowait(ev)

    def writes(self, op: str) -> list[FibRoute]:
        return [r for o, r in self.log if o == op]
