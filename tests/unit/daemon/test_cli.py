"""bgplabd's command line, as scripts that start BIRD use it (no root)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "config"


def bgplabd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bgplab.daemon", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("name", ["seed_rr.conf", "seed_aggregate.conf"])
def test_parse_only_accepts_the_seed_configs(name: str) -> None:
    res = bgplabd("-p", "-c", str(FIXTURES / name))
    assert res.returncode == 0, res.stderr
    assert res.stdout == res.stderr == ""


def test_parse_only_reports_file_line_col_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bird.conf"
    bad.write_text("router id 192.168.0.40;\nprotocol device {\n  scan time 2\n}\n")
    res = bgplabd("-p", "-c", str(bad))
    assert res.returncode == 1
    assert res.stderr.startswith(f"bgplabd: {bad}:4:1")
    assert "Traceback" not in res.stderr and len(res.stderr.splitlines()) == 1


def test_missing_config_file() -> None:
    res = bgplabd("-p", "-c", "/nonexistent/bird.conf")
    assert res.returncode == 1
    assert "Unable to open configuration file /nonexistent/bird.conf" in res.stderr
    assert "Traceback" not in res.stderr


def test_unknown_flag_is_a_usage_error() -> None:
    res = bgplabd("-Z")
    assert res.returncode == 2 and "usage: bgplabd" in res.stderr


def test_version_names_bird_and_bgplab() -> None:
    res = bgplabd("--version")
    assert res.returncode == 0 and "BIRD version 1.6.8" in res.stdout and "bgplab" in res.stdout
