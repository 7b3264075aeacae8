"""The kernel channel's record of what it exported is the kernel protocol's
wanted routes (plus the nets whose route may not go to the kernel), not a
dict of routes of its own. What must not change: ``show protocols all``'s
exported count and the export "Route change stats" (filtered, accepted,
withdrawn), for routes the kernel can take, routes it cannot (BIRD's
krt_capable), filtered ones, withdrawals, a refeed and the merged mode.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bgplab import net
from bgplab.rib.route import Dest, Route, Source
from tests.unit.protocols.test_kernel_logic import Feeder, setup


class NotNine:
    """An export filter that rejects 10.41.9.0/24."""

    name = "not_nine"

    def run(self, route: Route, trace: object = None) -> Route | None:
        return None if route.net == net.parse("10.41.9.0/24") else route


def counts(k: Any) -> tuple[int, dict[str, int]]:
    d = k.channel.describe()
    return d["exported"], d["export_stats"]


def test_exported_count_and_stats_for_capable_and_other_routes() -> None:
    async def main() -> None:
        ctx, fib, k = setup(export_filter=NotNine())
        await k.start()
        f = Feeder(ctx, "192.168.0.7")
        dev = Feeder(ctx, "192.168.0.8", source=Source.DEVICE)
        f.add("10.41.1.0/24")
        f.add("10.41.2.0/24", dest=Dest.NONE)  # not capable: exported, not written
        dev.add("10.41.3.0/24", dest=Dest.DEVICE, iface="eth1")  # no `device routes`
        f.add("10.41.9.0/24")  # filtered
        assert await k.settle()
        n, st = counts(k)
        assert n == 3 and len(fib.routes) == 1
        assert (st["updates_received"], st["updates_filtered"], st["updates_accepted"]) == (4, 1, 3)
        f.add("10.41.2.0/24")  # capable now
        f.add("10.41.1.0/24", dest=Dest.NONE)  # and this one no more
        assert await k.settle()
        n, st = counts(k)
        assert n == 3 and len(fib.routes) == 1 and st["updates_accepted"] == 5
        dev.remove("10.41.3.0/24")
        f.remove("10.41.9.0/24")  # was never exported: no withdrawal
        f.remove("10.41.1.0/24")
        assert await k.settle()
        n, st = counts(k)
        assert n == 1 and len(fib.routes) == 1 and st["withdraws_accepted"] == 2
        # a refeed (`reload out`) counts the feed and changes nothing else
        k.channel.feed()
        assert await k.settle()
        n, st = counts(k)
        assert n == 1 and len(fib.routes) == 1
        assert (st["updates_received"], st["updates_accepted"], st["withdraws_accepted"]) == (
            7,
            6,
            2,
        )
        f.remove("10.41.2.0/24")
        assert await k.settle()
        n, st = counts(k)
        assert n == 0 and len(fib.routes) == 0 and st["withdraws_accepted"] == 3
        f.add("10.41.4.0/24")
        assert await k.settle()
        await k.stop()
        assert counts(k)[0] == 0

    asyncio.run(main())


def test_merged_mode_counts_nets() -> None:
    async def main() -> None:
        ctx, fib, k = setup(merge_paths=True)
        await k.start()
        a, b = Feeder(ctx, "192.168.0.7"), Feeder(ctx, "192.168.0.9")
        a.add("10.41.1.0/24")
        b.add("10.41.1.0/24")
        a.add("10.41.2.0/24", dest=Dest.NONE)
        assert await k.settle()
        assert counts(k)[0] == 2 and len(fib.routes) == 1
        a.remove("10.41.2.0/24")
        a.remove("10.41.1.0/24")
        assert await k.settle()
        n, st = counts(k)
        # (the merged mode books no withdrawals, as before)
        assert n == 1 and len(fib.routes) == 1 and st["withdraws_accepted"] == 0
        await k.stop()

    asyncio.run(main())
