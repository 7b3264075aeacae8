"""KernelProtocol's bookkeeping against an in-memory FIB (no root).

Real netlink behaviour is covered in tests/interop/test_kernel_netns.py;
here: the first-scan rule, coalescing, retry after a failed write,
adoption, what may be exported at all, and the merged ECMP route.
"""

from __future__ import annotations

import asyncio
import errno
import os
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

from bgplab import net
from bgplab.bgp.attrs import PathAttrs
from bgplab.io.netlink import FibEvent, FibNextHop, FibRoute
from bgplab.protocols.kernel import KernelProtocol
from bgplab.rib.channel import ACCEPT, Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.protocol import Protocol, ProtoState
from bgplab.rib.route import Dest, NextHop, Route, Source
from tests.unit.protocols.fakefib import FakeFib


class Feeder(Protocol):
    proto_name = "BGP"
    source_type = Source.BGP
    default_preference = 100
    is_ibgp = True

    def __init__(self, ctx: DaemonContext, addr: str, source: Source = Source.BGP) -> None:
        super().__init__(SimpleNamespace(name=f"feed_{addr}"), ctx)
        self.source_type = source
        self.peer_address = addr
        self.peer_router_id = int(IPv4Address(addr))
        self.channel = Channel(self, ctx.table("master"), export_to_proto=False)
        self.state = ProtoState.UP

    def add(self, prefix: str, **kw: Any) -> None:
        n = net.parse(prefix)
        kw.setdefault("dest", Dest.ROUTER)
        if kw["dest"] == Dest.ROUTER:
            kw.setdefault("gw", self.peer_address)
            kw.setdefault("iface", "eth1")
        self.channel.import_route(n, Route(n, PathAttrs(origin=0, local_pref=100), self, **kw))

    def remove(self, prefix: str) -> None:
        self.channel.import_withdraw(net.parse(prefix))


def kcfg(**kw: Any) -> SimpleNamespace:
    base = dict(
        name="kernel1",
        table="master",
        import_filter=ACCEPT,
        export_filter=ACCEPT,
        learn=False,
        persist=False,
        scan_time=3600,
        graceful_restart=False,
        merge_paths=False,
        merge_paths_limit=16,
        device_routes=False,
        kernel_table=254,
        metric=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def setup(**kw: Any) -> tuple[DaemonContext, FakeFib, KernelProtocol]:
    ctx = DaemonContext(IPv4Address("192.168.0.40"))
    fib = FakeFib()
    return ctx, fib, KernelProtocol(kcfg(**kw), ctx, port=fib)


def test_nothing_is_written_before_the_first_scan_and_changes_coalesce() -> None:
    async def main() -> None:
        ctx, fib, k = setup()
        f = Feeder(ctx, "192.168.0.7")
        scans = 0
        real_dump = fib.dump_routes

        async def counting_dump(*a: Any, **kw: Any) -> list[FibRoute]:
            nonlocal scans
            assert not fib.log, "wrote before the first scan"
            scans += 1
            return await real_dump(*a, **kw)

        fib.dump_routes = counting_dump  # type: ignore[method-assign]
        f.add("10.41.1.0/24")
        await k.start()
        assert scans == 1
        assert await k.settle()
        assert [str(r) for r in fib.writes("replace")] == [
            "10.41.1.0/24 via 192.168.0.7 dev eth1 proto 12 metric 0 table 254"
        ]
        # many changes to one net between two writer runs: one write
        for gw in ("192.168.0.8", "192.168.0.9", "192.168.0.10"):
            f.add("10.41.2.0/24", gw=gw)
        f.add("10.41.3.0/24")
        f.remove("10.41.3.0/24")
        assert await k.settle()
        assert [r.nexthops[0].gw for r in fib.writes("replace")[1:]] == ["192.168.0.10"]
        assert fib.writes("delete") == []
        await k.stop()
        assert len(fib.routes) == 0  # no persist

    asyncio.run(main())


def test_failed_write_is_retried_at_the_next_scan() -> None:
    async def main() -> None:
        ctx, fib, k = setup()
        f = Feeder(ctx, "192.168.0.7")
        fib.fail[net.parse("10.41.1.0/24")] = errno.ENETUNREACH
        f.add("10.41.1.0/24")
        f.add("10.41.2.0/24")
        await k.start()
        assert await k.settle()
        assert k.sync_errors == {net.parse("10.41.1.0/24"): errno.ENETUNREACH}
        assert len(fib.routes) == 1 and k.state is ProtoState.UP
        fib.fail.clear()
        await k.scan()
        assert await k.settle()
        assert k.sync_errors == {} and len(fib.routes) == 2
        await k.stop()

    asyncio.run(main())


def test_adoption_keeps_identical_routes_and_replaces_changed_ones() -> None:
    async def main() -> None:
        ctx, fib, k = setup(persist=True)
        f = Feeder(ctx, "192.168.0.7")
        f.add("10.41.1.0/24")
        f.add("10.41.2.0/24")
        left = {
            "10.41.1.0/24": FibRoute(
                net.parse("10.41.1.0/24"), (FibNextHop("192.168.0.7", "eth1"),)
            ),
            "10.41.2.0/24": FibRoute(
                net.parse("10.41.2.0/24"), (FibNextHop("192.168.0.99", "eth1"),)
            ),
            "10.41.9.0/24": FibRoute(net.parse("10.41.9.0/24"), kind="blackhole"),
        }
        for r in left.values():
            fib.routes[r.key()] = r
        await k.start()
        assert await k.settle()
        assert sorted((op, str(r)) for op, r in fib.log) == [
            ("delete", "blackhole 10.41.9.0/24 proto 12 metric 0 table 254"),
            ("replace", "10.41.2.0/24 via 192.168.0.7 dev eth1 proto 12 metric 0 table 254"),
        ]  # 10.41.1.0/24 was right already: adopted, not rewritten
        assert {net.to_str(r.dst) for r in fib.routes.values()} == {"10.41.1.0/24", "10.41.2.0/24"}
        assert fib.writes("delete")[0].dst == net.parse("10.41.9.0/24")
        await k.stop()
        assert len(fib.routes) == 2  # persist

    asyncio.run(main())


def test_graceful_restart_defers_the_sweep() -> None:
    async def main() -> None:
        ctx, fib, k = setup(persist=True, graceful_restart=True)
        ctx.graceful_recovery = True
        stale = FibRoute(net.parse("10.41.9.0/24"), kind="blackhole")
        fib.routes[stale.key()] = stale
        await k.start()
        Feeder(ctx, "192.168.0.7").add("10.41.1.0/24")
        await k.scan()
        assert k.holding and fib.log == []
        ctx.extra["gr_done"].set()
        while k.holding:
            await asyncio.sleep(0)
        assert await k.settle()
        assert sorted((op, net.to_str(r.dst)) for op, r in fib.log) == [
            ("delete", "10.41.9.0/24"),
            ("replace", "10.41.1.0/24"),
        ]
        assert list(fib.routes.values())[0].dst == net.parse("10.41.1.0/24")
        await k.stop()

    asyncio.run(main())


def test_what_goes_to_the_kernel() -> None:
    async def main() -> None:
        ctx, fib, k = setup(metric=32)
        Feeder(ctx, "192.168.0.7", Source.DEVICE).add(
            "192.168.0.0/24", dest=Dest.DEVICE, iface="eth1"
        )
        Feeder(ctx, "192.168.0.8", Source.STATIC).add(
            "10.50.0.0/16", dest=Dest.DEVICE, iface="eth1"
        )
        f = Feeder(ctx, "192.168.0.9")
        f.add("10.51.0.0/16", dest=Dest.NONE)
        f.add("10.52.0.0/16", dest=Dest.PROHIBIT)
        f.add("10.53.0.0/16", ext={"krt_tunnel": "tunl0", "krt_prefsrc": "192.168.0.40"})
        f.add(
            "10.54.0.0/16",
            dest=Dest.MULTIPATH,
            nexthops=(NextHop("192.168.0.1", "eth1", 3), NextHop("192.168.0.2", "eth1", 1)),
        )
        await k.start()
        assert await k.settle()
        got = sorted(str(r) for r in fib.routes.values())
        assert got == [
            "10.50.0.0/16 dev eth1 proto 12 metric 32 table 254",
            "10.53.0.0/16 via 192.168.0.9 dev tunl0 proto 12 metric 32 table 254",
            "10.54.0.0/16 nexthop via 192.168.0.1 dev eth1 weight 3"
            " nexthop via 192.168.0.2 dev eth1 weight 1 proto 12 metric 32 table 254",
            "prohibit 10.52.0.0/16 proto 12 metric 32 table 254",
        ]  # direct's device route and the unresolvable one stay out
        tun = fib.routes[(net.parse("10.53.0.0/16"), 254, 32)]
        assert tun.nexthops[0].onlink and tun.prefsrc == "192.168.0.40"
        await k.stop()

    asyncio.run(main())


def test_merge_paths_builds_one_ecmp_route_with_limit() -> None:
    async def main() -> None:
        ctx, fib, k = setup(merge_paths=True, merge_paths_limit=3)
        nodes = ["192.168.0.7", "192.168.0.25", "192.168.2.14", "192.168.2.15"]
        feeders = [Feeder(ctx, a) for a in nodes]
        for f in feeders:
            f.add("10.43.0.0/16")
        await k.start()
        assert await k.settle()
        (r,) = fib.routes.values()
        assert [h.gw for h in r.nexthops] == nodes[:3]
        for f in feeders[:3]:
            f.remove("10.43.0.0/16")
        assert await k.settle()
        (r,) = fib.routes.values()
        assert r.nexthops == (FibNextHop("192.168.2.15", "eth1"),)
        await k.stop()

    asyncio.run(main())


def test_learn_imports_alien_routes_from_scan_and_events() -> None:
    async def main() -> None:
        ctx, fib, k = setup(learn=True)
        table = ctx.table("master")
        alien = FibRoute(
            net.parse("192.168.7.0/24"), (FibNextHop("192.168.0.1", "eth1"),), proto=3, metric=100
        )
        kern = FibRoute(net.parse("192.168.0.0/24"), (FibNextHop(None, "eth1"),), proto=2)
        for r in (alien, kern):
            fib.routes[r.key()] = r
        await k.start()
        got = table.best(alien.dst)
        assert (
            got is not None and got.origin is k and got.ext == {"krt_source": 3, "krt_metric": 100}
        )
        assert table.best(kern.dst) is None
        assert fib.log == []  # a learned route is never exported back
        bh = FibRoute(net.parse("10.60.0.0/16"), kind="blackhole", proto=4)
        fib.emit(FibEvent("route", route=bh))
        for _ in range(100):
            await asyncio.sleep(0)
        b = table.best(bh.dst)
        assert b is not None and b.dest == Dest.BLACKHOLE
        fib.emit(FibEvent("route", deleted=True, route=bh))
        for _ in range(100):
            await asyncio.sleep(0)
        assert table.best(bh.dst) is None
        del fib.routes[alien.key()]
        await k.scan()
        assert table.best(alien.dst) is None
        await k.stop()

    asyncio.run(main())


def test_daemon_shutdown_keeps_persisted_routes_despite_withdrawals() -> None:
    async def main() -> None:
        ctx, fib, k = setup(persist=True)
        f = Feeder(ctx, "192.168.0.7")
        f.add("10.41.1.0/24")
        await k.start()
        assert await k.settle()
        assert len(fib.routes) == 1
        ctx.extra["shutdown"] = True  # the daemon stops protocols in any order
        f.remove("10.41.1.0/24")
        assert await k.settle()
        await k.stop()
        assert len(fib.routes) == 1 and fib.writes("delete") == []

    asyncio.run(main())


def test_missing_namespace_is_a_one_line_protocol_error() -> None:
    async def main() -> None:
        ctx = DaemonContext(IPv4Address("192.168.0.40"))
        ctx.netns = f"bgpt-k{os.getpid()}-does-not-exist"
        k = KernelProtocol(kcfg(), ctx)
        await k.start()
        assert k.state is ProtoState.DOWN
        assert k.message == f"Netlink: network namespace {ctx.netns!r} not found"

    asyncio.run(main())
