"""Kernel, device, direct and static protocols against a real Linux FIB.

Every test makes its own network namespace (``bgplab-t<pid>-k<n>``) holding a
veth pairs, eth1 = 192.168.0.40/24 and eth0 = 192.168.2.16/24 (the seed's
router), plus ``cali0`` = 10.99.0.1/24 that Calico's direct patterns
exclude. The namespace goes away at the end, also on failure. Route
exports come from a real Table fed by stand-in BGP protocols through
real Channels; what lands in the kernel is read back with ``ip route``.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from ipaddress import IPv4Address
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bgplab import extpeers, net
from bgplab.bgp.attrs import PathAttrs
from bgplab.config import parse_text
from bgplab.io.netlink import FibNextHop, FibOp, FibRoute, NetlinkPort
from bgplab.protocols.device import DeviceProtocol
from bgplab.protocols.direct import DirectProtocol
from bgplab.protocols.kernel import KernelProtocol, same_route
from bgplab.protocols.static import StaticProtocol
from bgplab.rib.channel import Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.protocol import Protocol, ProtoState
from bgplab.rib.route import Dest, Route, Source
from tests.netns import ns_name, throwaway_netns

pytestmark = [pytest.mark.root, pytest.mark.interop]


def sh(ns: str, *args: str, check: bool = True) -> str:
    p = subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def bird_routes(ns: str) -> list[str]:
    """Our routes as ``ip route`` prints them: one normalised line per route
    (``… proto bird``) and per nexthop of a multipath route."""
    out: list[str] = []
    ours = False
    for raw in sh(ns, "route", "show").splitlines():
        line = " ".join(raw.split())
        if raw[:1].isspace():
            if ours:
                out.append(line)
            continue
        ours = "proto bird" in line
        if ours:
            out.append(line)
    return out


@pytest.fixture
def ns() -> Iterator[str]:
    with throwaway_netns(ns_name("k")) as (name,):
        sh(name, "link", "add", "eth1", "type", "veth", "peer", "name", "p1")
        sh(name, "link", "add", "eth0", "type", "veth", "peer", "name", "p0")
        sh(name, "link", "add", "cali0", "type", "veth", "peer", "name", "calipeer")
        for dev in ("eth0", "p0", "eth1", "p1", "cali0", "calipeer"):
            sh(name, "link", "set", dev, "up")
        sh(name, "addr", "add", "192.168.0.40/24", "dev", "eth1")
        sh(name, "addr", "add", "192.168.2.16/24", "dev", "eth0")
        sh(name, "addr", "add", "10.99.0.1/24", "dev", "cali0")
        yield name


class RouteWatch:
    """``ip monitor route`` in the namespace: an independent witness of
    every route the kernel deletes."""

    def __init__(self, ns: str, tmp: Path) -> None:
        self.ns = ns
        self.path = tmp / f"monitor-{ns}.txt"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RouteWatch:
        with open(self.path, "wb") as out:
            self.proc = subprocess.Popen(
                ["ip", "-n", self.ns, "monitor", "route"],
                stdout=out,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        # a marker route proves the monitor is listening before we go on
        deadline = time.monotonic() + 10
        while "10.255.255.255" not in self.text():
            sh(self.ns, "route", "replace", "blackhole", "10.255.255.255/32")
            sh(self.ns, "route", "del", "blackhole", "10.255.255.255/32")
            if time.monotonic() > deadline:
                raise RuntimeError("ip monitor did not start")
            time.sleep(0.05)
        self.mark = len(self.text())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()

    def text(self) -> str:
        return self.path.read_text(errors="replace")

    def deleted(self) -> list[str]:
        lines = self.text()[self.mark :].splitlines()
        return [ln for ln in lines if ln.startswith("Deleted") and "proto bird" in ln]


class Feeder(Protocol):
    """A stand-in BGP neighbour: imports routes into the real table."""

    proto_name = "BGP"
    source_type = Source.BGP
    default_preference = 100
    is_ibgp = True

    def __init__(self, ctx: DaemonContext, addr: str) -> None:
        super().__init__(SimpleNamespace(name=f"Node_{addr.replace('.', '_')}"), ctx)
        self.peer_address = addr
        self.peer_router_id = int(IPv4Address(addr))
        self.peer_as = self.local_as = 63400
        self.channel = Channel(self, ctx.table("master"), export_to_proto=False)
        self.state = ProtoState.UP

    def announce(self, prefix: str, iface: str = "eth1", gw: str | None = None) -> None:
        n = net.parse(prefix)
        attrs = PathAttrs(origin=0, next_hop=IPv4Address(gw or self.peer_address), local_pref=100)
        r = Route(n, attrs, self, dest=Dest.ROUTER, gw=gw or self.peer_address, iface=iface)
        self.channel.import_route(n, r)  # type: ignore[union-attr]

    def withdraw(self, prefix: str) -> None:
        self.channel.import_withdraw(net.parse(prefix))  # type: ignore[union-attr]


KERNEL = """router id 192.168.0.40;
protocol kernel {{ learn; {persist} scan time 2; import all; export all; {gr} merge paths on; }}
protocol device {{ scan time 2; }}
protocol direct {{ interface -"cali*", -"kube-ipvs*", "*"; }}
protocol static {{
  route 10.41.0.0/16 via 192.168.0.40;
  route 10.44.0.0/16 blackhole;
  route 10.45.0.0/16 unreachable;
  route 10.46.0.0/16 prohibit;
  route 10.47.0.0/16 multipath via 192.168.0.7 weight 2 via 192.168.2.15;
  route 10.48.0.0/16 via 192.168.2.14;
}}
"""


def configs(persist: bool = True, gr: bool = False) -> dict[str, Any]:
    text = KERNEL.format(
        persist="persist;" if persist else "", gr="graceful restart;" if gr else ""
    )
    return {p.kind: p for p in parse_text(text).protocols}


def make_ctx(ns: str) -> DaemonContext:
    ctx = DaemonContext(IPv4Address("192.168.0.40"))
    ctx.netns = ns
    return ctx


async def until(pred: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


SERVICE_ECMP = [
    "10.43.0.0/16 proto bird",
    "nexthop via 192.168.0.7 dev eth1 weight 1",
    "nexthop via 192.168.0.25 dev eth1 weight 1",
    "nexthop via 192.168.2.14 dev eth0 weight 1",
    "nexthop via 192.168.2.15 dev eth0 weight 1",
]
NODES = [
    ("192.168.0.7", "eth1"),
    ("192.168.0.25", "eth1"),
    ("192.168.2.14", "eth0"),
    ("192.168.2.15", "eth0"),
]


# ---- the netlink port ------------------------------------------------------
def test_port_writes_dumps_and_reports_per_route_errors(ns: str) -> None:
    async def main() -> None:
        async with NetlinkPort(ns) as port:
            ecmp = FibRoute(
                net.parse("10.43.0.0/16"),
                tuple(FibNextHop(gw, dev) for gw, dev in NODES),
            )
            plain = FibRoute(net.parse("10.41.210.0/26"), (FibNextHop("192.168.2.15", "eth0"),))
            weighted = FibRoute(
                net.parse("10.47.0.0/16"),
                (FibNextHop("192.168.0.7", "eth1", 2), FibNextHop("192.168.2.15", "eth0", 1)),
            )
            holes = [
                FibRoute(net.parse(f"10.{40 + i}.0.0/16"), kind=k)
                for i, k in ((4, "blackhole"), (5, "unreachable"), (6, "prohibit"))
            ]
            bad = FibRoute(net.parse("10.77.0.0/16"), (FibNextHop("172.31.0.1", None),))
            nodev = FibRoute(net.parse("10.78.0.0/16"), (FibNextHop("192.168.0.7", "nosuch0"),))
            ops = [FibOp("replace", r) for r in (ecmp, plain, bad, weighted, nodev, *holes)]
            await port.apply(ops)
            assert [o.error for o in ops] == [0, 0, errno.ENETUNREACH, 0, errno.ENODEV, 0, 0, 0]

            lines = bird_routes(ns)
            for want in [
                *SERVICE_ECMP,
                "10.41.210.0/26 via 192.168.2.15 dev eth0 proto bird",
                "blackhole 10.44.0.0/16 proto bird",
                "unreachable 10.45.0.0/16 proto bird",
                "prohibit 10.46.0.0/16 proto bird",
                "10.47.0.0/16 proto bird",
                "nexthop via 192.168.0.7 dev eth1 weight 2",
                "nexthop via 192.168.2.15 dev eth0 weight 1",
            ]:
                assert want in lines, (want, lines)
            assert not any("10.77." in ln or "10.78." in ln for ln in lines)

            dumped = {r.dst: r for r in await port.dump_routes(254) if r.proto == 12}
            for r in (ecmp, plain, weighted, *holes):
                assert same_route(r, dumped[r.dst]), (r, dumped.get(r.dst))
            connected = [r for r in await port.dump_routes(254) if r.proto == 2]
            assert {net.to_str(r.dst) for r in connected} >= {"192.168.0.0/24", "192.168.2.0/24"}

            # replacing changes the route in place; delete removes only ours
            sh(ns, "route", "add", "10.41.210.0/26", "via", "192.168.0.9", "metric", "5")
            moved = FibRoute(plain.dst, (FibNextHop("192.168.0.25", "eth1"),))
            assert await port.route_replace(moved) == 0
            assert "10.41.210.0/26 via 192.168.0.25 dev eth1 proto bird" in bird_routes(ns)
            assert await port.route_delete(moved) == 0
            assert await port.route_delete(moved) == errno.ESRCH
            assert "10.41.210.0/26 via 192.168.0.9 dev eth1 metric 5" in sh(ns, "route")
            assert not any(ln.startswith("10.41.210.0/26") for ln in bird_routes(ns))

    run(main())


def test_port_ipv6_routes_and_multipath_replace(ns: str) -> None:
    sh(ns, "addr", "add", "2001:db8:ff::1/64", "dev", "eth0", "nodad")

    async def main() -> None:
        async with NetlinkPort(ns) as port:
            first = FibRoute(
                net.parse("2001:db8:3::/48"),
                (FibNextHop("2001:db8:ff::7", "eth0"), FibNextHop("2001:db8:ff::8", "eth0")),
            )
            second = FibRoute(
                first.dst,
                (FibNextHop("2001:db8:ff::8", "eth0"), FibNextHop("2001:db8:ff::9", "eth0", 2)),
            )
            hole = FibRoute(net.parse("2001:db8:2::/48"), kind="blackhole")
            ops = [FibOp("replace", r) for r in (first, hole)]
            await port.apply(ops)
            assert [o.error for o in ops] == [0, 0]
            assert await port.route_replace(second) == 0  # replaces, does not append
            text = sh(ns, "-6", "route", "show", "2001:db8:3::/48")
            assert "2001:db8:ff::7" not in text and text.count("nexthop") == 2, text
            dumped = {r.dst: r for r in await port.dump_routes(254, socket.AF_INET6)}
            assert same_route(second, dumped[second.dst]) and same_route(hole, dumped[hole.dst])
            assert not same_route(first, dumped[first.dst])
            assert await port.route_delete(second) == 0
            assert sh(ns, "-6", "route", "show", "2001:db8:3::/48").strip() == ""

    run(main())


def test_port_monitor_reports_links_addresses_and_alien_routes(ns: str) -> None:
    async def main() -> None:
        async with NetlinkPort(ns) as port:
            stream = await port.monitor(["link", "addr", "route"])
            seen: list[Any] = []

            async def collect(pred: Callable[[Any], bool], what: str) -> Any:
                async def inner() -> Any:
                    async for ev in stream:
                        seen.append(ev)
                        if pred(ev):
                            return ev

                return await asyncio.wait_for(inner(), 15)

            sh(ns, "link", "set", "eth1", "down")
            ev = await collect(
                lambda e: e.link is not None and e.link.name == "eth1" and not e.link.admin_up,
                "eth1 down",
            )
            assert ev.what == "link" and not ev.deleted
            sh(ns, "addr", "add", "192.168.5.1/24", "dev", "eth0")
            ev = await collect(
                lambda e: e.addr is not None and e.addr.address == "192.168.5.1", "address"
            )
            assert ev.addr.prefix == net.parse("192.168.5.0/24") and not ev.deleted
            sh(ns, "route", "add", "10.50.0.0/16", "via", "192.168.2.1", "proto", "static")
            ev = await collect(
                lambda e: e.route is not None and e.route.dst == net.parse("10.50.0.0/16"), "route"
            )
            assert ev.route.proto == 4 and ev.route.nexthops[0].gw == "192.168.2.1"
            assert ev.route.nexthops[0].ifname == "eth0"
            # our own routes are not echoed back
            await port.route_replace(FibRoute(net.parse("10.51.0.0/16"), kind="blackhole"))
            sh(ns, "route", "del", "10.50.0.0/16")
            ev = await collect(lambda e: e.route is not None and e.deleted, "route delete")
            assert ev.route.dst == net.parse("10.50.0.0/16")
            assert not any(e.route is not None and e.route.proto == 12 for e in seen)
            stream.close()

    run(main())


# ---- protocol kernel -----------------------------------------------------
def test_kernel_exports_ecmp_blackhole_and_follows_withdraws(ns: str) -> None:
    async def main() -> None:
        ctx = make_ctx(ns)
        cfg = configs(persist=False)
        kernel = KernelProtocol(cfg["kernel"], ctx)
        feeders = [Feeder(ctx, gw) for gw, _ in NODES]
        for f, (_gw, dev) in zip(feeders, NODES):
            f.announce("10.43.0.0/16", dev)
        feeders[3].announce("10.41.210.0/26", "eth0")
        blackhole = Feeder(ctx, "192.168.0.40")
        blackhole.channel.import_route(  # type: ignore[union-attr]
            net.parse("10.41.113.192/26"),
            Route(
                net.parse("10.41.113.192/26"), PathAttrs(origin=0), blackhole, dest=Dest.BLACKHOLE
            ),
        )
        await kernel.start()
        try:
            assert kernel.state is ProtoState.UP and kernel.scanned
            assert await kernel.settle()
            lines = bird_routes(ns)
            assert (
                lines[lines.index(SERVICE_ECMP[0]) : lines.index(SERVICE_ECMP[0]) + 5]
                == SERVICE_ECMP
            )
            assert "10.41.210.0/26 via 192.168.2.15 dev eth0 proto bird" in lines
            assert "blackhole 10.41.113.192/26 proto bird" in lines

            feeders[1].withdraw("10.43.0.0/16")
            await until(
                lambda: "nexthop via 192.168.0.25 dev eth1 weight 1" not in bird_routes(ns),
                "ECMP shrink",
            )
            assert sum(ln.startswith("nexthop") for ln in bird_routes(ns)) == 3
            feeders[3].withdraw("10.41.210.0/26")
            await until(lambda: not any("10.41.210.0" in ln for ln in bird_routes(ns)), "withdraw")
            # the kernel changed behind our back: the next scan repairs it
            sh(ns, "route", "del", "10.41.113.192/26", "proto", "bird")
            await kernel.scan()
            assert await kernel.settle()
            assert "blackhole 10.41.113.192/26 proto bird" in bird_routes(ns)
            # a link flap flushes routes in the kernel without telling us; the
            # table did not change, so only the link-triggered rescan helps
            feeders[0].announce("10.41.57.192/26", "eth0", gw="192.168.2.25")
            mine = "10.41.57.192/26 via 192.168.2.25 dev eth0 proto bird"
            await until(lambda: mine in bird_routes(ns), "install")
            sh(ns, "link", "set", "eth0", "down")
            await until(lambda: mine not in bird_routes(ns), "kernel flush")
            sh(ns, "link", "set", "eth0", "up")
            await until(lambda: mine in bird_routes(ns), "reinstall after link up")
        finally:
            await kernel.stop()
        assert bird_routes(ns) == []  # no persist: we clean up

    run(main())


def test_kernel_learns_alien_routes_but_not_kernel_or_own(ns: str) -> None:
    async def main() -> None:
        ctx = make_ctx(ns)
        table = ctx.table("master")
        sh(ns, "route", "add", "192.168.7.0/24", "via", "192.168.0.1")  # proto boot
        sh(ns, "route", "add", "10.60.0.0/16", "dev", "eth0", "proto", "static")
        sh(ns, "route", "add", "10.61.0.0/16", "proto", "bird", "via", "192.168.0.9")
        kernel = KernelProtocol(configs()["kernel"], ctx)
        await kernel.start()
        try:
            r = table.best(net.parse("192.168.7.0/24"))
            assert r is not None and r.origin is kernel
            assert (r.dest, r.gw, r.iface, r.pref) == (Dest.ROUTER, "192.168.0.1", "eth1", 10)
            assert r.ext["krt_source"] == 3
            d = table.best(net.parse("10.60.0.0/16"))
            assert d is not None and (d.dest, d.iface) == (Dest.DEVICE, "eth0")
            assert table.best(net.parse("192.168.0.0/24")) is None  # proto kernel: ignored
            assert table.best(net.parse("10.61.0.0/16")) is None  # proto bird: ours, not learned

            sh(ns, "route", "add", "10.62.0.0/16", "via", "192.168.2.3", "proto", "static")
            await until(lambda: table.best(net.parse("10.62.0.0/16")) is not None, "learn event")
            sh(ns, "route", "del", "192.168.7.0/24")
            await until(lambda: table.best(net.parse("192.168.7.0/24")) is None, "unlearn event")
            assert kernel.channel.imported == 2
            # a better route for a net an admin routed by hand: BIRD's rule, the
            # alien route stays and our write fails (retried every scan)
            Feeder(ctx, "192.168.0.7").announce("10.62.0.0/16")
            await until(lambda: net.parse("10.62.0.0/16") in kernel.sync_errors, "EEXIST")
            assert kernel.sync_errors[net.parse("10.62.0.0/16")] == errno.EEXIST
            assert kernel.state is ProtoState.UP
            assert not any("10.62.0.0" in ln for ln in bird_routes(ns))
        finally:
            await kernel.stop()
        assert all(r.origin is not kernel for r in table.routes(net.parse("10.62.0.0/16")))
        # learned routes were never written back as ours
        assert "10.62.0.0/16 via 192.168.2.3 dev eth0 proto static" in [
            " ".join(ln.split()) for ln in sh(ns, "route").splitlines()
        ]

    run(main())


def _feed_many(ctx: DaemonContext, count: int) -> Feeder:
    f = Feeder(ctx, "192.168.0.7")
    for i in range(count):
        f.announce(f"10.{100 + i // 256}.{i % 256}.0/24")
    return f


def test_persist_restart_adopts_routes_without_deleting_and_sweeps_stale(
    ns: str, tmp_path: Path
) -> None:
    async def main() -> None:
        ctx = make_ctx(ns)
        cfg = configs(persist=True)
        feeder = _feed_many(ctx, 3000)
        for f, (_gw, dev) in zip([Feeder(ctx, gw) for gw, _ in NODES], NODES):
            f.announce("10.43.0.0/16", dev)
        first = KernelProtocol(cfg["kernel"], ctx)
        await first.start()
        assert await first.settle()
        assert first.writes == 3001 and not first.sync_errors
        await first.stop()
        before = bird_routes(ns)
        assert len(before) == 3001 + 4  # persist: all left in the kernel

        with RouteWatch(ns, tmp_path) as watch:
            second = KernelProtocol(cfg["kernel"], ctx)
            await second.start()
            assert await second.settle()
            await second.scan()
            assert await second.settle()
            assert second.writes == 0 and second.deletes == 0
            assert len(second.installed) == 3001
            await second.stop()
            assert bird_routes(ns) == before
            assert watch.deleted() == []

            # a route withdrawn while we were down is swept after the first scan
            feeder.withdraw("10.100.5.0/24")
            third = KernelProtocol(cfg["kernel"], ctx)
            await third.start()
            assert await third.settle()
            await third.stop()
            await until(lambda: len(watch.deleted()) == 1, "stale sweep")
            assert "10.100.5.0/24" in watch.deleted()[0]
        assert len(bird_routes(ns)) == len(before) - 1

    run(main())


def test_graceful_restart_holds_writes_until_recovery_ends(ns: str, tmp_path: Path) -> None:
    async def main() -> None:
        ctx = make_ctx(ns)
        cfg = configs(persist=True, gr=True)
        feeder = Feeder(ctx, "192.168.0.7")
        for p in ("10.41.1.0/24", "10.41.2.0/24", "10.41.3.0/24"):
            feeder.announce(p)
        first = KernelProtocol(cfg["kernel"], ctx)
        await first.start()
        assert await first.settle()
        await first.stop()
        assert len(bird_routes(ns)) == 3

        # restart in recovery (-R): the table starts empty, as after a reboot
        ctx2 = make_ctx(ns)
        ctx2.graceful_recovery = True
        with RouteWatch(ns, tmp_path) as watch:
            second = KernelProtocol(cfg["kernel"], ctx2)
            await second.start()
            await second.scan()
            assert second.holding and len(second.installed) == 3
            again = Feeder(ctx2, "192.168.0.7")
            again.announce("10.41.1.0/24")
            again.announce("10.41.2.0/24", gw="192.168.0.25")  # changed next hop
            await second.scan()
            assert watch.deleted() == [] and len(bird_routes(ns)) == 3
            assert "10.41.2.0/24 via 192.168.0.7 dev eth1 proto bird" in bird_routes(ns)
            ctx2.extra["gr_done"].set()  # the daemon: recovery is over
            await until(lambda: not second.holding, "end of recovery")
            assert await second.settle()
            assert bird_routes(ns) == [
                "10.41.1.0/24 via 192.168.0.7 dev eth1 proto bird",
                "10.41.2.0/24 via 192.168.0.25 dev eth1 proto bird",
            ]
            await second.stop()
            deleted = watch.deleted()
        assert len(deleted) == 1 and "10.41.3.0/24" in deleted[0]

    run(main())


# ---- device, direct, static ------------------------------------------------
def test_device_and_direct_follow_interfaces(ns: str) -> None:
    async def main() -> None:
        ctx = make_ctx(ns)
        cfg = configs()
        table = ctx.table("master")
        device = DeviceProtocol(cfg["device"], ctx)
        direct = DirectProtocol(cfg["direct"], ctx)
        await device.start()
        await direct.start()
        try:
            eth1 = ctx.ifaces["eth1"]
            assert eth1.up and eth1.link_up and eth1.addrs[0].address == "192.168.0.40"
            assert ctx.ifaces["lo"].flags >= {"loopback"}
            r = table.best(net.parse("192.168.0.0/24"))
            assert r is not None and (r.dest, r.iface, r.pref) == (Dest.DEVICE, "eth1", 240)
            assert table.best(net.parse("192.168.2.0/24")) is not None
            assert table.best(net.parse("10.99.0.0/24")) is None  # -"cali*"
            assert table.best(net.parse("127.0.0.0/8")) is None  # host scope

            sh(ns, "link", "set", "eth1", "down")
            await until(lambda: table.best(net.parse("192.168.0.0/24")) is None, "direct down")
            assert not ctx.ifaces["eth1"].up
            sh(ns, "link", "set", "eth1", "up")
            await until(lambda: table.best(net.parse("192.168.0.0/24")) is not None, "direct up")
            sh(ns, "addr", "add", "172.20.0.1/16", "dev", "eth0")
            await until(lambda: table.best(net.parse("172.20.0.0/16")) is not None, "new addr")
            sh(ns, "link", "add", "kube-ipvs0", "type", "veth", "peer", "name", "kpeer")
            sh(ns, "addr", "add", "10.43.0.10/32", "dev", "kube-ipvs0")
            sh(ns, "link", "set", "kube-ipvs0", "up")
            await until(
                lambda: "kube-ipvs0" in ctx.ifaces and ctx.ifaces["kube-ipvs0"].up, "new link"
            )
            assert table.best(net.parse("10.43.0.10/32")) is None
            sh(ns, "link", "del", "kube-ipvs0")
            await until(lambda: "kube-ipvs0" not in ctx.ifaces, "link removed")
        finally:
            await direct.stop()
            await device.stop()
        assert len(table) == 0 and ctx.ifaces == {}

    run(main())


def test_static_routes_every_form_into_the_kernel(ns: str) -> None:
    async def main() -> None:
        ctx = make_ctx(ns)
        cfg = configs(persist=False)
        table = ctx.table("master")
        device = DeviceProtocol(cfg["device"], ctx)
        static = StaticProtocol(cfg["static"], ctx)
        kernel = KernelProtocol(cfg["kernel"], ctx)
        await device.start()
        await static.start()
        await kernel.start()
        try:
            own = table.best(net.parse("10.41.0.0/16"))
            assert own is not None and (own.dest, own.gw, own.iface) == (
                Dest.ROUTER,
                "192.168.0.40",
                "eth1",
            )
            assert own.pref == 200
            assert await kernel.settle()
            lines = bird_routes(ns)
            for want in [
                "10.41.0.0/16 via 192.168.0.40 dev eth1 proto bird",  # via our own address
                "blackhole 10.44.0.0/16 proto bird",
                "unreachable 10.45.0.0/16 proto bird",
                "prohibit 10.46.0.0/16 proto bird",
                "10.47.0.0/16 proto bird",
                "nexthop via 192.168.0.7 dev eth1 weight 2",
                "nexthop via 192.168.2.15 dev eth0 weight 1",
                "10.48.0.0/16 via 192.168.2.14 dev eth0 proto bird",
            ]:
                assert want in lines, (want, lines)

            # eth0 down: its gateways are gone; multipath keeps the live one
            sh(ns, "link", "set", "eth0", "down")
            await until(lambda: table.best(net.parse("10.48.0.0/16")) is None, "static down")
            mp = table.best(net.parse("10.47.0.0/16"))
            assert mp is not None and [h.gw for h in mp.nexthops] == ["192.168.0.7"]
            await until(
                lambda: "10.47.0.0/16 via 192.168.0.7 dev eth1 proto bird" in bird_routes(ns),
                "multipath shrinks in the kernel",
            )
            sh(ns, "link", "set", "eth0", "up")
            await until(lambda: table.best(net.parse("10.48.0.0/16")) is not None, "static up")
            await until(
                lambda: "10.48.0.0/16 via 192.168.2.14 dev eth0 proto bird" in bird_routes(ns),
                "reinstalled after link up",
            )
        finally:
            await kernel.stop()
            await static.stop()
            await device.stop()

    run(main())


# ---- drop-in for BIRD 1.6 ----------------------------------------------------
BIRD_SAME = """router id 192.168.0.40;
protocol kernel { persist; scan time 2; import none; export all; merge paths on; }
protocol device { scan time 2; }
protocol static {
  route 10.41.0.0/16 via 192.168.0.40;
  route 10.44.0.0/16 blackhole;
  route 10.45.0.0/16 unreachable;
  route 10.46.0.0/16 prohibit;
  route 10.47.0.0/16 multipath via 192.168.0.7 weight 2 via 192.168.2.15;
  route 10.49.0.0/16 via "eth1";
}
"""


@pytest.mark.skipif(not extpeers.available("bird1"), reason="BIRD 1.6 not installed")
def test_same_kernel_routes_as_bird16_and_adopts_what_it_left(ns: str, tmp_path: Path) -> None:
    (tmp_path / "bird").mkdir()
    bird = extpeers.BirdDaemon(1, BIRD_SAME, netns=ns, workdir=tmp_path / "bird")
    try:
        bird.start()
        deadline = time.monotonic() + 20
        while len(bird_routes(ns)) < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        bird.stop(remove=False)  # SIGTERM: with persist, BIRD leaves its routes
    by_bird = bird_routes(ns)
    assert len(by_bird) == 8, by_bird

    async def main() -> None:
        ctx = make_ctx(ns)
        cfg = {p.kind: p for p in parse_text(BIRD_SAME).protocols}
        device = DeviceProtocol(cfg["device"], ctx)
        static = StaticProtocol(cfg["static"], ctx)
        kernel = KernelProtocol(cfg["kernel"], ctx)
        with RouteWatch(ns, tmp_path) as watch:
            for p in (device, static, kernel):
                await p.start()
            assert await kernel.settle()
            await kernel.scan()
            assert await kernel.settle()
            # BIRD's routes are exactly ours: adopted, nothing rewritten or deleted
            assert (kernel.writes, kernel.deletes) == (0, 0)
            assert len(kernel.installed) == 6
            assert watch.deleted() == []
            for p in (kernel, static, device):
                await p.stop()
        assert bird_routes(ns) == by_bird

    run(main())
