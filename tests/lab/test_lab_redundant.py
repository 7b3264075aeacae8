"""seed-redundant end to end: two route reflectors sharing a cluster id, every node peering
with both, nodes reaching the other subnet by one ECMP static route over both.

The four seed scenarios pass on it, and a reflector can be lost (its daemon SIGKILLed,
or all its links cut) during a continuous cross-subnet ping: the lost pings are counted
and bounded, and the lab heals. Labs use the prefix ``bgplab-t<pid>-red-`` and their own
run directory, torn down also when a test fails.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.lab import ctl
from bgplab.lab.check import run_checks, wait_converged
from bgplab.lab.cli import default_speaker
from bgplab.lab.fault import ContinuousPing, DrillResult, break_it, drill, heal, pick_pods
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.netns import NEIGH_TIMERS
from bgplab.lab.scenarios import get_scenario
from bgplab.lab.speakers import available
from bgplab.lab.topology import load_topology

pytestmark = [pytest.mark.root, pytest.mark.lab]

PREFIX = f"bgplab-t{os.getpid()}-red-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-red")
SPEAKER = os.environ.get("BGPLAB_TEST_SPEAKER") or (
    default_speaker() if os.geteuid() == 0 else "bird"
)
if not available(SPEAKER):
    pytestmark.append(pytest.mark.skip(reason=f"speaker {SPEAKER} is not installed"))

PING_INTERVAL = 0.2  # fault.ContinuousPing
# A node stops using a router whose ARP entry failed: reachable for at most 1.5 s after
# the last confirmation, 1 s delay, 3 probes 0.2 s apart (netns.NEIGH_TIMERS), on each
# direction of the ping; 5 s of pings is a generous bound on a loaded CI machine.
MAX_LINK_CUT_LOSS = 25


def new_lab(scenario: str) -> Lab:
    return Lab(
        load_topology("seed-redundant"),
        get_scenario(scenario),
        SPEAKER,
        SPEAKER,
        PREFIX,
        RUNDIR,
    )


@pytest.fixture
def lab_factory() -> Iterator[list[Lab]]:
    labs: list[Lab] = []
    try:
        yield labs
    finally:
        for lab in labs:
            lab.down()
        down_any(RUNDIR, PREFIX)


@pytest.mark.parametrize("scenario", ["rr", "aggregate", "pod-routes", "service-ecmp"])
def test_seed_scenarios_pass_with_two_reflectors(lab_factory: list[Lab], scenario: str) -> None:
    lab = new_lab(scenario)
    lab_factory.append(lab)
    lab.up()
    rep = run_checks(lab, wait=90)
    failed = [f"{c.name}: {c.detail}" for c in rep.checks if not c.ok]
    assert rep.ok, failed
    names = {c.name for c in rep.checks}
    assert {"sessions rr1", "sessions rr2", "routes rr1", "routes rr2"} <= names
    # every node has both reflectors as next hops for the other subnet's blocks
    assert any(len(r.gateways) == 2 for r in rep.actual["rke-node3"])


@pytest.fixture(scope="module")
def rr_lab() -> Iterator[Lab]:
    lab = new_lab("rr")
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
        down_any(RUNDIR, PREFIX)


def _links_up_at(res: DrillResult) -> float:
    """When the drill set the links up again (seconds since the ping started)."""
    return next(at for at, text in res.timeline if "up again" in text)


@pytest.mark.parametrize("host", ["rr1", "rr2"])
def test_kill_either_reflector_loses_no_ping(rr_lab: Lab, host: str) -> None:
    """SIGKILL closes the reflector's sessions; its kernel still forwards and the other
    reflector still holds every route, so no ping is lost; it comes back with -R."""
    res = drill(rr_lab, host, "kill-speaker", hold=3.0)
    print(f"kill-speaker {host}: {res.pings.lost} of {res.pings.sent} pings lost")
    assert res.healed_ok, [c.detail for c in res.healed.checks if not c.ok]  # type: ignore[union-attr]
    assert res.pings.lost <= 1, res.pings


@pytest.mark.parametrize("host", ["rr1", "rr2"])
def test_cut_either_reflector_the_other_carries_the_traffic(rr_lab: Lab, host: str) -> None:
    """All of a reflector's links down (nothing closes): its sessions stay Established
    until the hold timer, but the nodes' kernels stop using it once its ARP entry fails,
    so the loss is bounded and ends while the cut still lasts."""
    res = drill(rr_lab, host, "link-down", hold=6.0)
    lost = res.pings.lost_seqs
    print(f"link-down {host}: {res.pings.lost} of {res.pings.sent} pings lost, seqs {lost}")
    assert res.healed_ok, [c.detail for c in res.healed.checks if not c.ok]  # type: ignore[union-attr]
    assert res.pings.lost <= MAX_LINK_CUT_LOSS, res.pings
    if lost:
        # the last lost ping was sent well before the links came back: the survivor
        # carried the traffic while the cut lasted
        assert lost[-1] * PING_INTERVAL < _links_up_at(res) - 1.0, (lost, res.timeline)
    assert NEIGH_TIMERS["base_reachable_time_ms"] == "1000"


def _bfd_variant(tmp_path: Path, bfd: bool) -> Path:
    """seed-redundant with the two reflectors in an iBGP session of their own, BFD on it
    or not (Calico 3.17's nodes have no BFD, so BFD can only run between routers)."""
    text = load_topology("seed-redundant").source.read_text()  # type: ignore[union-attr]
    flag = "true" if bfd else "false"
    text = text.replace(
        "    rr_cluster_id: 244.0.0.1\n    interfaces:\n      - {interface: eth0, address: 192.168.2.16}",
        f"    rr_cluster_id: 244.0.0.1\n    bfd: {flag}\n    peers: [{{router: rr2}}]\n"
        "    interfaces:\n      - {interface: eth0, address: 192.168.2.16}",
    ).replace(
        "    rr_cluster_id: 244.0.0.1\n    interfaces:\n      - {interface: eth0, address: 192.168.2.17}",
        f"    rr_cluster_id: 244.0.0.1\n    bfd: {flag}\n"
        "    interfaces:\n      - {interface: eth0, address: 192.168.2.17}",
    )
    assert text.count(f"bfd: {flag}") == 2
    path = tmp_path / f"redundant-bfd-{flag}.yaml"
    path.write_text(text)
    return path


# its own names: the module's rr lab may still be up
BFD_PREFIX = f"bgplab-t{os.getpid()}-bfd-"
BFD_RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-bfd")


@pytest.fixture
def bfd_labs() -> Iterator[list[Lab]]:
    labs: list[Lab] = []
    try:
        yield labs
    finally:
        for lab in labs:
            lab.down()
        down_any(BFD_RUNDIR, BFD_PREFIX)


@pytest.mark.parametrize("bfd", [True, False], ids=["bfd", "no-bfd"])
def test_link_cut_with_and_without_bfd(bfd_labs: list[Lab], tmp_path: Path, bfd: bool) -> None:
    """Cut rr1's links: with BFD, rr2's session to rr1 goes down within BFD's detection
    time (BIRD 1.6's defaults: 5 x 100 ms); without, it stays Established (hold time
    240 s). The nodes' pings do not depend on it (their kernels leave rr1 out)."""
    lab = Lab(
        load_topology(_bfd_variant(tmp_path, bfd)),
        get_scenario("rr"),
        SPEAKER,
        SPEAKER,
        BFD_PREFIX,
        BFD_RUNDIR,
    )
    bfd_labs.append(lab)
    lab.up()
    assert wait_converged(lab, 90) is not None
    src, dst = pick_pods(lab, None)
    pinger = ContinuousPing(src, dst)
    sock = lab.speakers["rr2"].socket
    try:
        time.sleep(1.0)
        start = time.monotonic()
        break_it(lab, "rr1", "link-down")
        down_after = None
        while time.monotonic() - start < 5.0:
            if ctl.bgp_sessions(sock).get("Router_rr1") != "Established":
                down_after = time.monotonic() - start
                break
            time.sleep(0.05)
        time.sleep(max(0.0, 5.0 - (time.monotonic() - start)))
        heal(lab, "rr1", "link-down")
        healed = run_checks(lab, wait=90)
    finally:
        counts = pinger.stop()
    print(
        f"bfd={bfd}: rr2 saw rr1 down after {down_after} s; "
        f"{counts.lost} of {counts.sent} pings lost"
    )
    assert healed.ok, [f"{c.name}: {c.detail}" for c in healed.checks if not c.ok]
    if bfd:
        assert down_after is not None and down_after < 3.0
    else:
        assert down_after is None  # still Established 5 s into the cut: the hold timer
    assert counts.lost <= MAX_LINK_CUT_LOSS
