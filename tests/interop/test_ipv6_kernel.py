"""bgplabd6's kernel protocol programs IPv6 routes as bird6 does.

The same bird6 configuration runs once under real BIRD 1.6 bird6 and once
under bgplabd6, each in a fresh namespace pair with two bird6 peers in the
same AS announcing one prefix (ECMP through ``merge paths``). Compared:
the router's kernel table (blackhole, unreachable, prohibit, a /128
host route as Calico's pods have, a static multipath route, the merged BGP
route), the routes it learned from the kernel (``learn``), its ``show
route all`` (times masked), and what ``persist`` leaves after a stop.
(No multipath weights: bird6 installs IPv6 multipath routes without them,
bgplabd6 keeps them; docs/ipv6.md.)
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available
from bgplab.launch import BgplabDaemon

from .ipv6net import R4, R6, established, ip, p4, p6, pair, shown_routes
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop]

MERGED = "2001:db8:300::/48"
ALIEN = "2001:db8:500::/48"

ROUTER = f"""
router id {R4};
protocol device {{ scan time 2; }}
protocol direct {{ interface "*"; }}
protocol kernel {{
  learn; persist; scan time 2; import all; export all;
  graceful restart; merge paths on;
}}
protocol static {{
  route 2001:db8:400::/48 blackhole;
  route 2001:db8:401::/48 unreachable;
  route 2001:db8:402::/48 prohibit;
  route 2001:db8:6::77/128 via 2001:db8:6::9;
  route 2001:db8:403::/48 multipath via 2001:db8:6::9 via 2001:db8:6::8;
}}
template bgp up {{
  local {R6} as 64512; import all; export none; connect delay time 1;
  connect retry time 2; error wait time 1,5;
}}
protocol bgp left from up {{ neighbor {p6(2)} as 65002; }}
protocol bgp right from up {{ neighbor {p6(3)} as 65002; }}
"""


def peer(i: int) -> str:
    return f"""
router id {p4(i)};
listen bgp address {p6(i)};
protocol device {{ scan time 2; }}
protocol static {{ route {MERGED} blackhole; }}
protocol bgp uplink {{
  local {p6(i)} as 65002; neighbor {R6} as 64512; import none; export all;
  passive on;
}}
"""


def _kernel(ns: str) -> str:
    return ip(ns, "-6", "route", "show", "table", "main")


def _run(kind: str) -> tuple[str, str, str]:
    with pair(peers=2) as net:
        # an alien route for `learn` (proto static: not ours, not the kernel's)
        ip(
            net.r,
            "-6",
            "route",
            "add",
            ALIEN,
            "via",
            "2001:db8:6::9",
            "dev",
            "eth0",
            "proto",
            "static",
        )
        peers: list[ExternalDaemon] = []
        router: ExternalDaemon = (
            BgplabDaemon(ROUTER, netns=net.r, ipv6=True)
            if kind == "bgplabd6"
            else BirdDaemon(1, ROUTER, netns=net.r, ipv6=True)
        )
        try:
            for i in (2, 3):
                peers.append(BirdDaemon(1, peer(i), netns=net.p, ipv6=True).start())
            router.start()  # type: ignore[attr-defined]
            wait_for(
                f"{kind}: both sessions",
                lambda: all(established(router, n) for n in ("left", "right")),
            )
            wait_for(
                f"{kind}: the merged route in the kernel",
                lambda: _kernel(net.r).count("nexthop via") >= 4,
            )
            wait_for(f"{kind}: the learned route", lambda: ALIEN in router.birdc("show route"))  # type: ignore[attr-defined]
            shown = shown_routes(router)
            table = _kernel(net.r)
            router.stop()
            after_stop = _kernel(net.r)
            return table, shown, after_stop
        finally:
            router.stop()
            for d in peers:
                d.stop()


def test_kernel_routes_as_bird6() -> None:
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is needed (scripts/install)")
    table, shown, after_stop = _run("bgplabd6")
    for want in (
        "blackhole 2001:db8:400::/48",
        "unreachable 2001:db8:401::/48",
        "prohibit 2001:db8:402::/48",
        "2001:db8:6::77 via 2001:db8:6::9 dev eth0",
        "nexthop via 2001:db8:6::8 dev eth0 weight 1 \n\tnexthop via 2001:db8:6::9",
        f"{MERGED} proto bird",
        f"nexthop via {p6(2)} dev eth0 weight 1",
        f"nexthop via {p6(3)} dev eth0 weight 1",
    ):
        assert want in table, (want, table)
    assert f"{ALIEN}  via 2001:db8:6::9 on eth0 [kernel1 T] * (10)" in shown, shown
    assert after_stop == table  # persist
    ref_table, ref_shown, ref_after = _run("bird6")
    assert table == ref_table
    assert shown == ref_shown
    assert after_stop == ref_after


def test_takeover_from_bird6_with_recovery_rewrites_nothing(tmp_path: Path) -> None:
    """bird6 stops (persist leaves its routes), bgplabd6 -R takes over the
    same file: no IPv6 route of the router's table is deleted or re-added
    (a route bird6 left has metric 1024, Linux's for our metric 0)."""
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is needed (scripts/install)")
    with pair(peers=2) as net:
        peers: list[ExternalDaemon] = []
        monitor: subprocess.Popen[bytes] | None = None
        router: ExternalDaemon = BirdDaemon(1, ROUTER, netns=net.r, ipv6=True)
        try:
            for i in (2, 3):
                peers.append(BirdDaemon(1, peer(i), netns=net.p, ipv6=True).start())
            router.start()  # type: ignore[attr-defined]
            wait_for(
                "bird6: the merged route in the kernel",
                lambda: _kernel(net.r).count("nexthop via") >= 4,
            )
            router.stop()
            left = _kernel(net.r)
            log = tmp_path / "monitor.txt"
            with open(log, "wb") as out:
                monitor = subprocess.Popen(
                    ["ip", "-n", net.r, "-6", "monitor", "route"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            router = BgplabDaemon(ROUTER, netns=net.r, ipv6=True, extra_args=["-R"])
            router.start()  # type: ignore[attr-defined]
            wait_for("bgplabd6: recovery over", lambda: "Graceful restart done" in router.log())
            time.sleep(3)  # a kernel scan (scan time 2) after the recovery
            monitor.terminate()
            monitor.wait(5)
            changes = log.read_text()
            assert "2001:db8:" not in changes, changes
            assert _kernel(net.r) == left
        finally:
            if monitor is not None and monitor.poll() is None:
                monitor.kill()
            router.stop()
            for d in peers:
                d.stop()
