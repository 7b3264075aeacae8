"""BFD between bgplabd and real BIRD 1.6, each in its own namespace, joined
by a veth pair (10.106.77.1/30 - .2).

Both run ``protocol bfd`` (100 ms, multiplier 3: a 0.3 s detection time) and
an iBGP session with ``bfd on`` and a 30 s hold time, single hop (``direct``,
UDP 3784, TTL 255) and multihop (BIRD 1.6's iBGP default, UDP 4784). The sessions
come Up both ways and ``show bfd sessions`` reads as BIRD's. Then the path
fails silently, twice: the link drops every packet (iptables), and the peer
is frozen (SIGSTOP, its TCP stays open). Each time the BGP session goes
down with "Error: BFD session down" long before the hold time, on both
sides, and comes back when the path heals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from bgplab.extpeers import BirdDaemon, available
from bgplab.launch import BgplabDaemon
from tests.netns import throwaway_netns, veth

from .test_graceful_restart import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop]

A, B = "10.106.77.1", "10.106.77.2"
HOLD = 30


def conf(me: str, peer: str, dev: str, multihop: bool = False) -> str:
    # iBGP is multihop in BIRD 1.6 unless `direct`; multihop BFD needs a source
    hop = f"source address {me};" if multihop else "direct;"
    return f"""
router id {me};
protocol device {{ scan time 10; }}
protocol bfd {{
  interface "{dev}" {{ interval 100 ms; multiplier 3; }};
  multihop {{ interval 100 ms; multiplier 3; }};
}}
protocol bgp peer1 {{
  local as 64512; neighbor {peer} as 64512; {hop} bfd on; hold time {HOLD};
  import all; export all; connect delay time 1; connect retry time 2; error wait time 1,2;
}}
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def iptables(ns: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "iptables", *args], check=True, capture_output=True)


@pytest.fixture(params=["single-hop", "multihop"])
def pair(request) -> Iterator[tuple[str, BgplabDaemon, BirdDaemon]]:
    multihop = request.param == "multihop"
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is not installed (scripts/install)")
    na, nb = f"bgpt-bfd{os.getpid()}-a", f"bgpt-bfd{os.getpid()}-b"
    started: list = []
    with throwaway_netns(na, nb):
        try:
            veth(na, "a0", nb, "b0")
            ip("-n", na, "addr", "add", f"{A}/30", "dev", "a0")
            ip("-n", nb, "addr", "add", f"{B}/30", "dev", "b0")
            for ns, dev in ((na, "a0"), (nb, "b0")):
                ip("-n", ns, "link", "set", dev, "up")
            ours = BgplabDaemon(conf(A, B, "a0", multihop), netns=na).start()
            started.append(ours)
            bird = BirdDaemon(1, conf(B, A, "b0", multihop), netns=nb).start()
            started.append(bird)
            yield na, ours, bird
        finally:
            for d in reversed(started):
                if d.proc is not None and d.proc.poll() is None:
                    os.killpg(d.proc.pid, signal.SIGCONT)
                d.stop()


def bfd_row(d: object) -> list[str]:
    out = d.birdc("show bfd sessions")  # type: ignore[attr-defined]
    rows = [line.split() for line in out.splitlines() if line.startswith("10.106.77.")]
    return rows[0] if rows else []


def bgp_info(d: object) -> str:
    return d.birdc("show protocols peer1")  # type: ignore[attr-defined]


def both_up(ours: BgplabDaemon, bird: BirdDaemon) -> bool:
    return all(bfd_row(d)[2:3] == ["Up"] and "Established" in bgp_info(d) for d in (ours, bird))


def test_sessions_up_both_ways_and_shown_as_bird(pair) -> None:
    _ns, ours, bird = pair
    wait_for("BFD Up and BGP Established on both sides", lambda: both_up(ours, bird), 30)

    def head(d: object) -> list[str]:
        lines = d.birdc("show bfd sessions").splitlines()  # type: ignore[attr-defined]
        return [line for line in lines if line == "bfd1:" or line.startswith("IP address")]

    # same title and header (addresses and interfaces differ by side)
    assert head(ours) == head(bird) and len(head(ours)) == 2
    multihop = "source address" in ours.config_path.read_text()
    ifa, ifb = ("---", "---") if multihop else ("a0", "b0")  # as BIRD: no interface
    assert bfd_row(ours)[:3] == [B, ifa, "Up"] and bfd_row(bird)[:3] == [A, ifb, "Up"]
    assert bfd_row(ours)[-2:] == ["0.100", "0.300"] == bfd_row(bird)[-2:]
    raw = ours.raw("show bfd sessions")
    assert raw[0] == "1020-bfd1:" and raw[-1].startswith("0000")


def _goes_down_by_bfd(ours: BgplabDaemon, bird: BirdDaemon, what: str) -> float:
    t0 = time.monotonic()
    wait_for(f"BGP down after {what}", lambda: "Established" not in bgp_info(ours), HOLD / 2)
    took = time.monotonic() - t0
    out = ours.birdc("show protocols all peer1")
    assert "Error: BFD session down" in out, out
    assert bfd_row(ours)[2] == "Down"
    return took


def test_cut_link_and_frozen_peer_end_bgp_by_bfd(pair) -> None:
    ns, ours, bird = pair
    wait_for("both up", lambda: both_up(ours, bird), 30)
    # 1. the link silently drops everything
    iptables(ns, "-A", "INPUT", "-i", "a0", "-j", "DROP")
    iptables(ns, "-A", "OUTPUT", "-o", "a0", "-j", "DROP")
    took = _goes_down_by_bfd(ours, bird, "the link cut")
    assert took < HOLD / 2
    wait_for("BIRD's side down by BFD too", lambda: "BFD session down" in bgp_info(bird), 10)
    iptables(ns, "-F")
    wait_for("both up again", lambda: both_up(ours, bird), 30)
    # 2. the peer freezes: its TCP stays open, only BFD can tell
    assert bird.proc is not None
    os.killpg(bird.proc.pid, signal.SIGSTOP)
    try:
        took = _goes_down_by_bfd(ours, bird, "the peer froze")
        assert took < HOLD / 2
    finally:
        os.killpg(bird.proc.pid, signal.SIGCONT)
    wait_for("both up after the peer thaws", lambda: both_up(ours, bird), 40)
