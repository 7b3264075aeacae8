"""Topologies beyond the seed, end to end: racks (BIRD 1.6 and bgplabd, identical tables),
a lab built from a cluster's resources, generated labs (12 nodes; 50 nodes marked slow),
and `down` after a crash in the middle of `up`.

Labs use the prefix ``bgplab-t<pid>-tp-`` and their own run directory, torn down also
when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.lab import netns
from bgplab.lab.builtin import generated_topology, save_topology
from bgplab.lab.check import run_checks
from bgplab.lab.cli import default_speaker
from bgplab.lab.fromcalico import Options, parse_router_option, topology_text
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.scenarios import get_scenario
from bgplab.lab.speakers import available
from bgplab.lab.topology import Topology, load_topology

pytestmark = [pytest.mark.root, pytest.mark.lab]

PREFIX = f"bgplab-t{os.getpid()}-tp-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-tp")
SPEAKER = os.environ.get("BGPLAB_TEST_SPEAKER") or (
    default_speaker() if os.geteuid() == 0 else "bird"
)
DUMP = Path(__file__).parent / "data" / "cluster-dump.yaml"
if not available(SPEAKER):
    pytestmark.append(pytest.mark.skip(reason=f"speaker {SPEAKER} is not installed"))


@pytest.fixture
def labs() -> Iterator[list[Lab]]:
    made: list[Lab] = []
    try:
        yield made
    finally:
        for lab in made:
            lab.down()
        down_any(RUNDIR, PREFIX)


def up_and_check(labs: list[Lab], topo: Topology, speaker: str = SPEAKER, wait: float = 120):
    lab = Lab(topo, get_scenario("rr"), speaker, speaker, PREFIX, RUNDIR)
    labs.append(lab)
    lab.up()
    rep = run_checks(lab, wait=wait)
    assert rep.ok, [f"{c.name}: {c.detail}" for c in rep.checks if not c.ok]
    tables = {h: sorted(map(str, lab.routes(h))) for h in topo.host_names()}
    lab.down()
    return rep, tables


@pytest.mark.slow
def test_racks_bird_and_bgplabd_identical(labs: list[Lab]) -> None:
    """ToR reflectors per rack, eBGP to a spine: check passes with BIRD 1.6 on every
    router and node and with bgplabd, and every host's table is the same."""
    if not (available("bird") and available("bgplabd")):
        pytest.skip("needs both BIRD 1.6 and bgplabd")
    topo = load_topology("racks")
    rep_bird, bird = up_and_check(labs, topo, "bird")
    rep_ours, ours = up_and_check(labs, topo, "bgplabd")
    assert len(rep_bird.checks) == len(rep_ours.checks) == 22
    assert bird == ours
    assert "10.41.2.0/26 via 172.16.0.254" in bird["tor1"]  # learned over the spine


def test_lab_from_a_clusters_resources(labs: list[Lab]) -> None:
    """3 subnets, 7 nodes, a route reflector node and an external eBGP peer."""
    opts = Options(routers=dict([parse_router_option("tor=10.20.1.254,10.20.2.254,10.20.3.254")]))
    topo = save_topology(RUNDIR, topology_text(DUMP, opts))
    rep, tables = up_and_check(labs, topo)
    assert {"sessions tor", "sessions peer-10-20-3-250", "sessions ctl-1"} <= {
        c.name for c in rep.checks
    }
    assert len(tables["peer-10-20-3-250"]) == 7


def test_generated_lab(labs: list[Lab]) -> None:
    rep, _ = up_and_check(labs, generated_topology(RUNDIR, 12, 3))
    assert sum(1 for c in rep.checks if c.name.startswith("routes ")) == 13


@pytest.mark.slow
def test_fifty_nodes_four_subnets(labs: list[Lab]) -> None:
    """The issue's scale target: 50 nodes with 2 pods each over 4 subnets converges and
    passes check (a sampled ping matrix: 400 pings covering every subnet pair)."""
    rep, _ = up_and_check(labs, generated_topology(RUNDIR, 50, 4), wait=300)
    assert len(rep.matrix) == 400
    assert sum(1 for c in rep.checks if c.name.startswith("sessions ")) == 51


def _pids_in(rundir: Path) -> list[int]:
    return [p for p in netns.rundir_pids(rundir) if netns.pid_alive(p)]


def test_down_after_a_crash_in_the_middle_of_up(tmp_path: Path) -> None:
    """`up` SIGKILLed while it starts speakers: `down` still removes every namespace,
    process and the run directory."""
    env = dict(os.environ, BGPLAB_LAB_PREFIX=PREFIX, BGPLAB_LAB_RUNDIR=str(RUNDIR))
    argv = [sys.executable, "-m", "bgplab.app", "lab", "up", "--nodes", "12", "--subnets", "3"]
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        # wait until some speakers run (the state file lists them), then crash
        while time.monotonic() < deadline:
            try:
                state = json.loads((RUNDIR / "state.json").read_text())
            except (OSError, ValueError):
                state = {}
            if len(state.get("speakers", {})) >= 3:
                break
            assert proc.poll() is None, "up finished before it could be crashed"
            time.sleep(0.1)
        else:
            pytest.fail("up started no speakers in time")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert netns.list_namespaces(PREFIX) and _pids_in(RUNDIR)  # the crash left them
        res = subprocess.run(
            [sys.executable, "-m", "bgplab.app", "lab", "down"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        assert netns.list_namespaces(PREFIX) == []
        assert _pids_in(RUNDIR) == []
        assert not RUNDIR.exists()
        assert netns.list_root_links(PREFIX) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        down_any(RUNDIR, PREFIX)
