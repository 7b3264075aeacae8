"""``bgplab calico`` against a running lab: node status from the live sockets,
and apply/delete re-rendering and reconfiguring exactly the affected nodes.

The lab (rr scenario, bgplabd everywhere; ``BGPLAB_TEST_SPEAKER=bird`` for
BIRD 1.6) is named ``bgplab-t<pid>-c-`` with
its own run directory; the CLI finds it through ``BGPLAB_LAB_RUNDIR``, the
same way it finds the user's lab in /run/bgplab/lab.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.lab.check import sessions, sessions_up, wait_converged
from bgplab.lab.lab import Lab, calico_state_dir, down_any
from bgplab.lab.speakers import usable
from tests.lab.test_lab_e2e import app, new_lab

pytestmark = [pytest.mark.root, pytest.mark.lab]

PREFIX = f"bgplab-t{os.getpid()}-c-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-c")
SPEAKER = os.environ.get("BGPLAB_TEST_SPEAKER") or "bgplabd"
RACK1 = ("rke-node6", "rke-node7")
RACK2 = ("rke-node3", "rke-node4")
# Blocks of the rack-2 and rack-1 nodes as the router learns them (the seed's table).
RACK2_ROUTES = {"10.41.57.192/26", "10.41.113.192/26"}
RACK1_ROUTES = {"10.41.210.0/26", "10.41.210.128/26"}


def calico(*args: str) -> subprocess.CompletedProcess[str]:
    """``bgplab calico`` with no ``--state``: it must find the lab by itself."""
    return app("calico", *args, env={"BGPLAB_LAB_RUNDIR": str(RUNDIR)}, timeout=60)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if not usable(SPEAKER):
        pytest.skip(f"{SPEAKER} is not usable here")
    the_lab = new_lab("rr", PREFIX, RUNDIR, SPEAKER)
    try:
        the_lab.up()
        assert wait_converged(the_lab, 60) is not None, sessions(the_lab)
        yield the_lab
    finally:
        the_lab.down()
        down_any(RUNDIR, PREFIX)


def wait_for(cond, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def router_dsts(lab: Lab) -> set[str]:
    return {r.dst for r in lab.routes("router")}


def node_files(lab: Lab) -> dict[str, str]:
    return {
        n: Path(lab.speakers[n].config).read_text() for n in (*RACK1, *RACK2) if lab.speakers.get(n)
    }


def test_node_status_reads_the_live_sockets(lab: Lab) -> None:
    assert calico_state_dir(RUNDIR) == RUNDIR / "calico"
    for node, peer in (("rke-node3", r"192\.168\.0\.40"), ("rke-node6", r"192\.168\.2\.16")):
        res = calico("node", "status", node)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("Calico process is running.\n")
        assert re.search(rf"\| {peer}\s*\| node specific \| up\s*\|.*\| Established \|", res.stdout)
    res = calico("node", "status", "rke-node99")
    assert (res.returncode, res.stderr) == (
        1,
        'bgplab: nodes "rke-node99" not found (the nodes: rke-node3, rke-node4, rke-node6, '
        "rke-node7)\n",
    )
    # An explicit --state wins over the lab.
    res = calico("--state", str(RUNDIR / "elsewhere"), "node", "status", "rke-node3")
    assert (res.returncode, res.stderr) == (
        1,
        'bgplab: nodes "rke-node3" not found (the nodes: none)\n',
    )


def test_delete_peer_takes_down_only_its_rack(lab: Lab, tmp_path: Path) -> None:
    got = calico("get", "bgppeer", "rack1-tor", "-o", "yaml")
    assert got.returncode == 0 and "peerIP: 192.168.2.16" in got.stdout
    peer = tmp_path / "rack1-tor.yaml"
    peer.write_text(got.stdout)
    before = node_files(lab)

    res = calico("delete", "-f", str(peer))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "Successfully deleted 1 'BGPPeer' resource(s)",
        "reconfigured rke-node6",
        "reconfigured rke-node7",
    ]
    after = node_files(lab)
    assert all(after[n] == before[n] for n in RACK2)
    assert all(
        "Node_192_168_2_16" in before[n] and "Node_192_168_2_16" not in after[n] for n in RACK1
    )

    def rack1_gone() -> bool:
        ss = sessions(lab)
        router_up = [k for k, v in ss["router"].items() if v == "Established"]
        return (
            all(not sessions_up(ss[n]) for n in RACK1)
            and sorted(router_up) == ["Node_192_168_0_25", "Node_192_168_0_7"]
            and not router_dsts(lab) & RACK1_ROUTES
        )

    wait_for(rack1_gone, "the rack-1 sessions and routes to go")
    ss = sessions(lab)
    assert all(sessions_up(ss[n]) for n in RACK2), ss
    assert router_dsts(lab) >= RACK2_ROUTES
    # rke-node3 keeps its own block (blackhole) and rke-node4's, via the router.
    for node in RACK2:
        assert {r.dst for r in lab.routes(node)} >= RACK2_ROUTES, node
    status = calico("node", "status", "rke-node6")
    assert status.returncode == 0 and "192.168.2.16" not in status.stdout
    assert "192.168.0.40" in calico("node", "status", "rke-node3").stdout

    res = calico("apply", "-f", str(peer))
    assert res.returncode == 0, res.stderr
    assert "reconfigured rke-node6" in res.stdout and "rke-node3" not in res.stdout
    assert node_files(lab) == before
    assert wait_converged(lab, 60) is not None, sessions(lab)


def test_invalid_file_changes_nothing(lab: Lab, tmp_path: Path) -> None:
    before = node_files(lab)
    peers = calico("get", "bgppeer").stdout
    assert "rack1-tor" in peers and "rack2-tor" in peers
    bad = tmp_path / "bad.yaml"
    # One good document and one bad: all or nothing.
    bad.write_text(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: rack1-tor\n"
        "spec:\n  peerIP: 192.168.2.16\n  asNumber: 63400\n  nodeSelector: rack == 'rack-1'\n"
        "---\n"
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: broken\n"
        "spec:\n  peerIP: 192.168.2.300\n  asNumber: 63400\n"
    )
    for verb in ("apply", "delete"):
        res = calico(verb, "-f", str(bad))
        assert res.returncode == 1 and res.stdout == ""
        assert res.stderr.startswith("bgplab: ") and res.stderr.count("\n") == 1, res.stderr
    missing = calico("delete", "-f", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and missing.stderr.startswith("bgplab: cannot read")
    # A label no selector looks at: stored, nothing to reconfigure.
    res = calico("label", "rke-node3", "zone=a")
    assert (res.returncode, res.stdout) == (0, "node/rke-node3 labeled\n")
    assert calico("get", "bgppeer").stdout == peers
    assert node_files(lab) == before
    assert all(sessions_up(s) for s in sessions(lab).values())
