"""The dual-stack lab end to end: bird6 beside bird (bgplabd6 beside bgplabd) on the
router and on every node, pods with both addresses, checks for both families.

Labs here use the prefix ``bgplab-t<pid>-ds-`` and their own run directory, and
are torn down also when a test fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bgplab.lab.check import run_checks
from bgplab.lab.fault import drill
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.report import html_report
from bgplab.lab.scenarios import get_scenario
from bgplab.lab.speakers import available, binary6, usable
from bgplab.lab.topology import load_topology

pytestmark = [pytest.mark.root, pytest.mark.lab]

PREFIX = f"bgplab-t{os.getpid()}-ds-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-ds")

if not (available("bird") and binary6("bird") and usable("bgplabd") and binary6("bgplabd")):
    pytestmark.append(pytest.mark.skip(reason="needs BIRD 1.6 (bird, bird6) and bgplabd(6)"))


@pytest.fixture
def make_lab() -> Iterator[Callable[..., Lab]]:
    labs: list[Lab] = []

    def make(router: str, nodes: str) -> Lab:
        lab = Lab(load_topology(), get_scenario("dual-stack"), router, nodes, PREFIX, RUNDIR)
        labs.append(lab)
        lab.up()
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.down()
        down_any(RUNDIR, PREFIX)


def test_run_dual_stack_with_bird_and_bgplabd_gives_identical_tables() -> None:
    """`bgplab lab run --scenario dual-stack --compare`: all-BIRD 1.6 (bird + bird6) and
    all-bgplabd (bgplabd + bgplabd6) both pass every check of both families, and every
    host's `ip route` and `ip -6 route` are the same line for line."""
    env = dict(os.environ, BGPLAB_LAB_PREFIX=PREFIX, BGPLAB_LAB_RUNDIR=str(RUNDIR), COLUMNS="200")
    try:
        res = subprocess.run(
            [sys.executable, "-m", "bgplab.app", "lab", "run", "--scenario", "dual-stack"]
            + ["--compare"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        down_any(RUNDIR, PREFIX)
    out = res.stdout
    assert res.returncode == 0, out[-3000:] + res.stderr
    for label in ("bird/bird", "bgplabd/bgplabd"):
        assert re.search(rf"dual-stack\s*│\s*{label}\s*│\s*PASS\s*│\s*24 checks", out), out[-3000:]
    assert re.search(r"bird/bird = bgplabd/bgplabd\s*│\s*PASS\s*│\s*route tables identical", out)
    # the router's IPv6 table, printed by the run
    assert re.search(r"fd00:10:41:113::c0/122 via fd00:192:168::7 dev eth1 proto bird", out)


def test_check_covers_both_families(make_lab: Callable[..., Lab]) -> None:
    lab = make_lab("bird", "bgplabd")
    rep = run_checks(lab, wait=90)
    failed = [(c.name, c.detail) for c in rep.checks if not c.ok]
    assert rep.ok, failed
    names = [c.name for c in rep.checks]
    for host in ("router", "rke-node3", "rke-node7"):
        assert f"sessions {host} (IPv6)" in names and f"routes {host} (IPv6)" in names
    assert len(rep.matrix6) == 8 * 7 and all(rep.matrix6.values())
    node3 = "\n".join(rep.routes6["rke-node3"])
    assert "blackhole fd00:10:41:113::c0/122 dev lo proto bird" in node3
    assert re.search(r"fd00:10:41:113::c1 dev cali[0-9a-f]{11}", node3)  # the pod's /128
    pod = lab.exec("rke-node3-pod0", ["ip", "-6", "route", "show", "default"]).stdout
    assert "default via fe80::ecee:eeff:feee:eeee dev eth0" in pod  # as Calico's CNI
    assert "IPv6 BGP status" in rep.node_status["rke-node3"]
    assert "fd00:192:168::40" in rep.node_status["rke-node3"]
    html = html_report(lab, rep)  # the report shows the IPv6 side too
    assert "IPv6 route tables: expected versus actual" in html
    assert "Pod reachability over IPv6" in html and "(fd00:10:41:113::c1)" in html


def test_link_down_drill_counts_both_families_and_heals(make_lab: Callable[..., Lab]) -> None:
    lab = make_lab("bgplabd", "bgplabd")
    # a new lab first converges (as in the swap test below): the drill itself
    # gives a lab 60 s, which a loaded machine has missed
    before = run_checks(lab, wait=90)
    assert before.ok, [(c.name, c.detail) for c in before.checks if not c.ok]
    res = drill(lab, "rke-node7", "link-down", hold=1.0)
    print(f"link-down: IPv4 {res.pings.lost} lost, IPv6 {res.pings6.lost if res.pings6 else '-'}")
    assert res.pings6 is not None
    assert res.healed_ok, [(c.name, c.detail) for c in res.healed.checks if not c.ok]  # type: ignore[union-attr]
    assert res.pings.lost > 0 and res.pings6.lost > 0  # both crossed the cut


def test_swap_router_loses_no_ping_in_either_family(make_lab: Callable[..., Lab]) -> None:
    """The cut-over, dual stack: BIRD 1.6's bird and bird6 die, bgplabd and bgplabd6
    take over bird.conf and bird6.conf with -R; BIRD 1.6 nodes, as on the report's cluster."""
    lab = make_lab("bird", "bird")
    before = run_checks(lab, wait=90)
    assert before.ok, [(c.name, c.detail) for c in before.checks if not c.ok]
    res = drill(lab, "router", "swap-router", hold=1.0)
    assert lab.speakers["router"].kind == "bgplabd" and lab.speakers6["router"].kind == "bgplabd"
    assert res.pings6 is not None
    print(
        f"swap-router: IPv4 {res.pings.lost} lost of {res.pings.sent}, "
        f"IPv6 {res.pings6.lost} lost of {res.pings6.sent}"
    )
    assert res.healed_ok
    assert res.pings.sent >= 10 and res.pings6.sent >= 10
    assert (res.pings.lost, res.pings6.lost) == (0, 0), (res.pings, res.pings6)
