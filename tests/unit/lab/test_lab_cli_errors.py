"""`bgplab lab` commands without a lab: one line on stderr and exit 1, like the
others (issue 18, finding 5). No root needed: nothing is built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _lab(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        BGPLAB_LAB_RUNDIR=str(tmp_path / "run"),
        BGPLAB_LAB_PREFIX=f"bgplab-t{os.getpid()}-none-",
    )
    return subprocess.run(
        [sys.executable, "-m", "bgplab.app", "lab", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize("cmd", [["status"], ["check", "--wait", "0"]])
def test_no_lab_is_an_error_on_stderr(tmp_path: Path, cmd: list[str]) -> None:
    if cmd[0] != "status" and os.geteuid() != 0:
        pytest.skip("check asks for root before it looks for a lab")
    res = _lab(tmp_path, *cmd)
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.splitlines() == ["bgplab: no lab is up (start one with: bgplab lab up)"]
