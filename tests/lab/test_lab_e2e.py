"""The seed lab end to end, in network namespaces with real BIRD 1.6 speakers.

Every lab here uses the prefix ``bgplab-t<pid>-`` and its own run directory,
so a user's lab (``bgplab-``) is never touched, and is torn down even when a
test fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bgplab.lab import netns
from bgplab.lab.check import ping, run_checks, wait_converged
from bgplab.lab.cli import default_speaker
from bgplab.lab.fault import drill
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.report import write_html, write_png
from bgplab.lab.scenarios import get_scenario
from bgplab.lab.speakers import available, usable
from bgplab.lab.topology import load_topology

pytestmark = [pytest.mark.root, pytest.mark.lab]

# The shared rr lab and the per-test labs get separate names, so both can be up at once.
PREFIX = f"bgplab-t{os.getpid()}-x-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-x")
RR_PREFIX = f"bgplab-t{os.getpid()}-rr-"
RR_RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-rr")
# The lab's default speaker (bgplabd when it is usable, else BIRD 1.6), unless overridden.
SPEAKER = os.environ.get("BGPLAB_TEST_SPEAKER") or (
    default_speaker() if os.geteuid() == 0 else "bird"
)

if not available(SPEAKER):
    pytestmark.append(pytest.mark.skip(reason=f"speaker {SPEAKER} is not installed"))


def new_lab(
    scenario: str,
    prefix: str = PREFIX,
    rundir: Path = RUNDIR,
    speaker: str = SPEAKER,
    router: str | None = None,
) -> Lab:
    return Lab(load_topology(), get_scenario(scenario), router or speaker, speaker, prefix, rundir)


@pytest.fixture
def make_lab() -> Iterator[Callable[[str], Lab]]:
    labs: list[Lab] = []

    def make(scenario: str, speaker: str = SPEAKER, router: str | None = None) -> Lab:
        lab = new_lab(scenario, speaker=speaker, router=router)
        labs.append(lab)
        lab.up()
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.down()
        down_any(RUNDIR, PREFIX)


def app(
    area: str, *args: str, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """The real ``bgplab AREA ...`` command line, with ``env`` added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "bgplab.app", area, *args],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def bgplab(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI, pointed at the rr lab's names (separate invocations share state.json)."""
    env = {"BGPLAB_LAB_PREFIX": RR_PREFIX, "BGPLAB_LAB_RUNDIR": str(RR_RUNDIR), "COLUMNS": "160"}
    return app("lab", *args, env=env, timeout=180)


@pytest.fixture(scope="module")
def rr_lab() -> Iterator[Lab]:
    try:
        res = bgplab("up", "--scenario", "rr", "--router", SPEAKER, "--speaker", SPEAKER)
        assert res.returncode == 0, res.stderr
        yield Lab.load(RR_RUNDIR)
    finally:
        bgplab("down")
        down_any(RR_RUNDIR, RR_PREFIX)


def test_cli_check_status_exec(rr_lab: Lab) -> None:
    res = bgplab("check", "--wait", "60")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ALL PASS" in res.stdout
    assert re.search(r"pod reachability across subnets\s*│\s*PASS", res.stdout)
    status = bgplab("status")
    assert status.returncode == 0
    assert "rke-node7" in status.stdout and "Established" in status.stdout
    ex = bgplab("exec", "rke-node6", "--", "ip", "-4", "-o", "addr", "show", "dev", "ens3")
    assert ex.returncode == 0 and "192.168.2.14/24" in ex.stdout
    bad = bgplab("exec", "rke-node99", "--", "true")
    assert bad.returncode == 1 and bad.stderr.startswith("bgplab: no host or pod named")


def _failed(rep) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(c.name, c.detail) for c in rep.checks if not c.ok]


def test_rr_scenario_passes_every_check(rr_lab: Lab) -> None:
    rep = run_checks(rr_lab, wait=60)
    assert _failed(rep) == []
    assert rep.converged_after is not None
    names = {c.name for c in rep.checks}
    assert {
        "sessions router",
        "sessions rke-node3",
        "routes router",
        "routes rke-node7",
        "pod reachability within subnets",
        "pod reachability across subnets",
    } <= names
    assert len(rep.matrix) == 8 * 7 and all(rep.matrix.values())
    # calicoctl node status on a rack-2 node: the router is a node-specific peer, Established.
    status = rep.node_status["rke-node3"]
    assert re.search(r"192\.168\.0\.40\s*\|\s*node specific\s*\|\s*up\s*\|.*Established", status)
    # The report's router table, line for line (10.41.x routes).
    lines = {ln.strip() for ln in rep.routes["router"]}
    assert {
        "10.41.210.0/26 via 192.168.2.15 dev eth0 proto bird",
        "10.41.57.192/26 via 192.168.0.25 dev eth1 proto bird",
        "10.41.113.192/26 via 192.168.0.7 dev eth1 proto bird",
        "10.41.210.128/26 via 192.168.2.14 dev eth0 proto bird",
    } <= lines
    node3 = {ln.strip() for ln in rep.routes["rke-node3"]}
    assert {
        "blackhole 10.41.113.192/26 proto bird",
        "10.41.210.0/26 via 192.168.0.40 dev ens3 proto bird",
    } <= node3


def test_bgplabd_and_bird_give_identical_tables(rr_lab: Lab, make_lab) -> None:  # type: ignore[no-untyped-def]
    other = "bgplabd" if SPEAKER == "bird" else "bird"
    if not usable(other):
        pytest.skip(f"{other} is not usable here")
    first = run_checks(rr_lab, wait=60)
    second = run_checks(make_lab("rr", other), wait=60)
    assert _failed(first) == [] and _failed(second) == []
    assert first.routes == second.routes


def test_report_draws_the_sessions(rr_lab: Lab, tmp_path: Path) -> None:
    rep = run_checks(rr_lab, wait=60)
    write_html(rr_lab, rep, tmp_path / "lab.html")
    text = (tmp_path / "lab.html").read_text()
    svg = ET.fromstring(text[text.index("<svg") : text.index("</svg>") + 6])
    titles = [el.findtext("{http://www.w3.org/2000/svg}title") or "" for el in svg.iter()]
    sessions = [t for t in titles if t.startswith("BGP ")]
    assert len(sessions) == 4 and all(t.endswith("Established") for t in sessions)
    assert "10.41.210.0/26 via 192.168.2.15 dev eth0 proto bird" in text
    write_png(rr_lab, rep, tmp_path / "lab.png")
    assert (tmp_path / "lab.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_router_restart_loses_no_ping(rr_lab: Lab) -> None:
    """Graceful restart + persist: a crashed and restarted router keeps forwarding."""
    if SPEAKER == "bird":
        # Observed: BIRD 1.6 on both ends dials simultaneously after the restart and the
        # connection collisions can flap a session, flushing the stale routes (1-3 s lost).
        pytest.skip("the no-loss restart is bgplabd's guarantee; BIRD 1.6 pairs can flap")
    res = drill(rr_lab, "router", "restart-router", hold=1.0)
    assert res.healed_ok
    assert res.pings.sent >= 10
    assert res.pings.lost == 0, res.pings


@pytest.mark.parametrize("nodes", ["bird", "bgplabd"])
def test_bird_router_swapped_for_bgplabd_loses_no_ping(
    make_lab: Callable[..., Lab], nodes: str
) -> None:
    """The cut-over this project exists for: the router's BIRD 1.6 dies and
    bgplabd takes over its bird.conf (-R); the FIB BIRD left (persist) and the
    nodes' stale routes (graceful restart) carry the traffic meanwhile. With
    BIRD 1.6 nodes, as on the report's cluster, and with emulated ones."""
    if not (available("bird") and usable("bgplabd")):
        pytest.skip("needs BIRD 1.6 and bgplabd")
    lab = make_lab("rr", speaker=nodes, router="bird")
    res = drill(lab, "router", "swap-router", hold=1.0)
    assert lab.router_speaker == "bgplabd" and lab.speakers["router"].kind == "bgplabd"
    assert Lab.load(lab.rundir).router_speaker == "bgplabd"  # `lab status` and `down` know it
    assert res.healed_ok
    assert res.pings.sent >= 10
    assert res.pings.lost == 0, res.pings


def test_check_sees_a_node_cut_off_and_heals(rr_lab: Lab) -> None:
    res = drill(rr_lab, "rke-node7", "link-down", hold=1.0)
    assert not res.during_ok
    assert res.healed_ok
    assert res.pings.lost > 0  # the ping to rke-node7's pod crossed the cut


def test_service_ecmp_scenario(make_lab: Callable[[str], Lab]) -> None:
    lab = make_lab("service-ecmp")
    rep = run_checks(lab, wait=60)
    assert _failed(rep) == []
    text = "\n".join(rep.routes["router"])
    m = re.search(r"^10\.43\.0\.0/16 proto bird\s*\n((?:\s+nexthop via .*\n?)+)", text, re.M)
    assert m, text
    gws = sorted(re.findall(r"nexthop via (\S+)", m.group(1)))
    assert gws == sorted(["192.168.0.7", "192.168.0.25", "192.168.2.14", "192.168.2.15"])
    # Nodes do not program the service CIDR (Calico's rejectcidrs).
    assert not any("10.43." in ln for ln in rep.routes["rke-node3"])


def _leftovers() -> dict[str, list[str]]:
    procs = [str(p) for p in netns.rundir_pids(RUNDIR)]
    links = [ln for ln in netns.run(["ip", "-o", "link", "show"]).splitlines() if PREFIX in ln]
    return {
        "namespaces": [
            n for n in netns.run(["ip", "netns", "list"]).split() if n.startswith(PREFIX)
        ],
        "links": links,
        "processes": procs,
        "rundir": [str(RUNDIR)] if RUNDIR.exists() else [],
    }


def test_down_leaves_nothing_behind(make_lab: Callable[[str], Lab]) -> None:
    lab = make_lab("aggregate")
    pids = [s.pid for s in lab.speakers.values()]
    assert len(netns.list_namespaces(PREFIX)) == 2 + 1 + 4 + 8
    assert lab.down()
    assert _leftovers() == {"namespaces": [], "links": [], "processes": [], "rundir": []}
    assert not any(Path(f"/proc/{p}").exists() and netns.pid_alive(p) for p in pids)
    assert lab.down() == []  # idempotent


def test_down_after_a_crash_finds_everything_by_prefix(make_lab: Callable[[str], Lab]) -> None:
    lab = make_lab("rr")
    (RUNDIR / "state.json").unlink()  # as if `up` had died without saving its state
    removed = down_any(RUNDIR, PREFIX)
    assert any("namespace" in r for r in removed)
    assert _leftovers() == {"namespaces": [], "links": [], "processes": [], "rundir": []}
    assert lab.speakers and not any(netns.pid_alive(s.pid) for s in lab.speakers.values())


def _ping_ok(pod: object, dst: str) -> bool:
    p = ping(pod, dst)  # type: ignore[arg-type]
    return p.wait(timeout=10) == 0


def test_withdrawn_route_stops_cross_subnet_traffic(rr_lab: Lab) -> None:
    """Issue 4: a pod pings across the router; when the router withdraws the
    far block (its session to that node disabled) the ping stops; enabling
    it again heals."""
    assert wait_converged(rr_lab, timeout=60) is not None
    pods = {p.name: p for p in rr_lab.pods()}
    src, dst = pods["rke-node3-pod0"], pods["rke-node7-pod0"]
    assert _ping_ok(src, dst.address)
    sock = rr_lab.speakers["router"].socket
    client = [sys.executable, "-m", "bgplab.cli.client", "-s", str(sock)]
    res = rr_lab.exec("router", [*client, "disable", "Node_192_168_2_15"])
    assert "disabled" in res.stdout, res.stdout + res.stderr
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
            r.dst == "10.41.210.0/26" for r in rr_lab.routes("rke-node3")
        ):
            time.sleep(0.2)
        assert not any(r.dst == "10.41.210.0/26" for r in rr_lab.routes("rke-node3"))
        assert not _ping_ok(src, dst.address)
    finally:
        rr_lab.exec("router", [*client, "enable", "Node_192_168_2_15"])
    assert wait_converged(rr_lab, timeout=60) is not None
    assert _ping_ok(src, dst.address)


@pytest.mark.parametrize("scenario", ["aggregate", "pod-routes"])
def test_other_seed_scenarios(make_lab: Callable[[str], Lab], scenario: str) -> None:
    lab = make_lab(scenario)
    rep = run_checks(lab, wait=60)
    assert _failed(rep) == []
    node = "\n".join(rep.routes["rke-node3"])
    router = "\n".join(rep.routes["router"])
    if scenario == "aggregate":
        # nodes hold only the aggregates via the router, plus their blackhole
        assert "10.41.0.0/16 via 192.168.0.40" in node
        assert "10.42.0.0/16 via 192.168.0.40" in node
        assert "blackhole 10.41.113.192/26 proto bird" in node
        assert "10.41.57.192/26" not in node
    else:
        # the router holds one /32 per pod via the pod's node
        for p in lab.pods():
            node_addr = next(n.address for n in lab.topo.nodes if n.name == p.node)
            assert re.search(rf"^{re.escape(p.address)} via {node_addr} ", router, re.M), p
