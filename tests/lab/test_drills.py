"""`bgplab lab` on one running lab, as a user types it (issue 18).

`fault`: the exit code carries the verdict, the timeline is printed, and the
"during the fault" table is taken while the fault lasts. `up` says what
next; `status` prints whole paths once at 80 columns; `exec` lists hosts.

One seed lab (rr scenario, the default speaker) under its own prefix and run
directory, torn down even when a test fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.lab.cli import default_speaker
from bgplab.lab.lab import down_any
from bgplab.lab.speakers import available
from tests.lab.test_lab_e2e import app

pytestmark = [pytest.mark.root, pytest.mark.lab]

PREFIX = f"bgplab-t{os.getpid()}-dr-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-dr")
SPEAKER = os.environ.get("BGPLAB_TEST_SPEAKER") or (
    default_speaker() if os.geteuid() == 0 else "bird"
)


def bgplab(*args: str, columns: int = 160):  # type: ignore[no-untyped-def]
    env = {"BGPLAB_LAB_PREFIX": PREFIX, "BGPLAB_LAB_RUNDIR": str(RUNDIR), "COLUMNS": str(columns)}
    return app("lab", *args, env=env, timeout=240)


@pytest.fixture(scope="module")
def lab() -> Iterator[str]:
    """The lab is up; the value is what `bgplab lab up` printed."""
    if not available(SPEAKER):
        pytest.skip(f"speaker {SPEAKER} is not installed")
    try:
        res = bgplab("up", "--router", SPEAKER, "--speaker", SPEAKER)
        assert res.returncode == 0, res.stderr
        yield res.stdout
    finally:
        bgplab("down")
        down_any(RUNDIR, PREFIX)


def _table(out: str, title: str) -> str:
    start = out.index(title)
    end = out.index("└", start)
    return out[start:end]


def test_restart_router_verdict_timeline_and_during_table(lab: str) -> None:
    if SPEAKER == "bird":
        pytest.skip("the no-loss restart is bgplabd's guarantee; BIRD 1.6 pairs can flap")
    res = bgplab("fault", "router", "--restart-router", "--hold", "1")
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    # taken while the router is down: its speaker is not running, the nodes hold its routes
    during = _table(out, "during the fault")
    assert re.search(r"sessions router\s*│\s*FAIL\s*│\s*\(speaker\) not running", during), during
    assert re.search(r"routes rke-node3\s*│\s*PASS", during), during
    assert re.search(r"killed \w+ \(pid \d+\) on router with SIGKILL", out)
    assert re.search(r"started \w+ \(pid \d+\) on router with -R", out)
    assert re.search(r"converged: .*\(\d+\.\ds after the heal\)", out)
    assert "routes held by graceful restart: yes" in out
    assert re.search(r"\d+ sent, \d+ received, 0 lost", out)
    assert "verdict: PASS" in out


def test_link_down_reports_loss_without_failing(lab: str) -> None:
    res = bgplab("fault", "rke-node7", "--link-down", "--hold", "2")
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    m = re.search(r"(\d+) sent, (\d+) received, (\d+) lost", out)
    assert m and int(m.group(3)) > 0, out
    assert "(expected)" in out and "verdict: PASS" in out
    assert re.search(r"sessions|routes|pod reachability", _table(out, "during the fault"))
    assert re.search(r"pod reachability across subnets\s*│\s*FAIL", _table(out, "during the fault"))
    assert "set ens3 down on rke-node7" in out


def test_unknown_host_lists_the_valid_ones(lab: str) -> None:
    res = bgplab("fault", "rke-node99", "--link-down")
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("bgplab: ") and "rke-node3" in res.stderr


def test_up_says_what_next(lab: str) -> None:
    assert "lab up" in lab
    assert "still coming up" in lab and "bgplab lab check" in lab


def test_status_prints_each_socket_once_and_whole_at_80_columns(lab: str) -> None:
    res = bgplab("status", columns=80)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for host in ("router", "rke-node3", "rke-node7"):
        sock = next(
            str(p) for p in (RUNDIR / host).iterdir() if p.suffix == ".ctl" and "6" not in p.name
        )
        assert out.count(sock) == 1, out  # whole (not broken by the wrap) and not repeated
    table = [ln for ln in out.splitlines() if ln.startswith(("┃", "│", "┏", "└"))]
    assert table and all(len(ln) <= 80 for ln in table)
    assert re.search(r"│ router\s+│ \w+\s+│ \d+\s+│ yes\s+│ 4 Established", out), out


def test_exec_without_a_host_lists_them(lab: str) -> None:
    res = bgplab("exec")
    assert res.returncode == 1 and res.stdout == ""
    assert "hosts: router, rke-node3, rke-node4, rke-node6, rke-node7" in res.stderr
