"""The kernel protocol's counters through batched writes.

A fixed story (300 routes, two refused writes, ECMP merges, gateway
changes, withdrawals, a retry at the next scan, stop without persist) must
end with the same ``show protocols all`` block and the same counters as
before writes were batched: the expected text was produced by the code
that wrote and booked route by route (commit 5cfeb75).
"""

from __future__ import annotations

import asyncio
import errno

from bgplab import net
from bgplab.cli.render.protocols import proto_details
from tests.unit.protocols.test_kernel_logic import Feeder, setup

EXPECTED = """\
  Preference:     10
  Input filter:   ACCEPT
  Output filter:  ACCEPT
  Routes:         0 imported, 220 exported, 0 preferred
  Route change stats:     received   rejected   filtered    ignored   accepted
    Import updates:              0          0          0          0          0
    Import withdraws:            0          0        ---          0          0
    Export updates:            460          0          0        ---        460
    Export withdraws:            0        ---        ---        ---          0
installed=220 wanted=220 sync_errors=1 writes=418 deletes=79 scans=2
errors=2 fib=220 log=497
after stop: fib=0 deletes=299"""


def story() -> list[str]:
    out: list[str] = []

    async def main() -> None:
        ctx, fib, k = setup(merge_paths=True)
        a, b = Feeder(ctx, "192.168.0.7"), Feeder(ctx, "192.168.0.8")
        nets = [f"10.{i >> 8}.{i & 255}.0/24" for i in range(300)]
        fib.fail[net.parse(nets[7])] = errno.ENETUNREACH
        fib.fail[net.parse(nets[150])] = errno.EEXIST
        for p in nets:
            a.add(p)
        await k.start()
        assert await k.settle()
        for p in nets[:40]:
            b.add(p)  # merged: ECMP through both
        for p in nets[200:260]:
            a.add(p, gw="192.168.0.9")
        for p in nets[100:180]:
            a.remove(p)
        fib.fail.clear()
        await k.scan()
        assert await k.settle()
        for p in nets[:20]:
            a.remove(p)
        assert await k.settle()
        out.extend(line for _code, line in proto_details(k))
        d = k.describe()
        keys = ("installed", "wanted", "sync_errors", "writes", "deletes", "scans")
        out.append(" ".join(f"{key}={d[key]}" for key in keys))
        out.append(f"errors={k.errors} fib={len(fib.routes)} log={len(fib.log)}")
        await k.stop()
        out.append(f"after stop: fib={len(fib.routes)} deletes={k.deletes}")

    asyncio.run(main())
    return out


def test_show_protocols_all_and_counters_as_before_batching() -> None:
    assert "\n".join(story()) == EXPECTED


def test_a_failed_send_is_retried_at_the_next_scan() -> None:
    async def main() -> None:
        ctx, fib, k = setup()
        f = Feeder(ctx, "192.168.0.7")
        real_write = fib.write
        broken = True

        async def write(ops: list) -> dict[int, int]:
            if broken:
                raise OSError(errno.ENOBUFS, "No buffer space available")
            return await real_write(ops)

        fib.write = write  # type: ignore[method-assign]
        await k.start()
        for i in range(5):
            f.add(f"10.41.{i}.0/24")
        assert await k.settle()
        assert len(fib.routes) == 0 and len(k.sync_errors) == 5
        broken = False
        await k.scan()
        assert await k.settle()
        assert len(fib.routes) == 5 and not k.sync_errors and len(k.installed) == 5
        await k.stop()

    asyncio.run(main())


def test_stop_with_persist_keeps_what_is_installed() -> None:
    async def main() -> None:
        for persist, left in ((True, 3), (False, 0)):
            ctx, fib, k = setup(persist=persist)
            f = Feeder(ctx, "192.168.0.7")
            for i in range(3):
                f.add(f"10.41.{i}.0/24")
            await k.start()
            assert await k.settle()
            await k.stop()
            assert len(fib.routes) == left and len(k.installed) == left and not k.want

    asyncio.run(main())
