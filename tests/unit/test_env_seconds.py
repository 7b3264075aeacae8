"""Tuning knobs from the environment (BGPLAB_FLUSH_DELAY, BGPLAB_FLUSH_PACE):
a bad value is named in one line and the default used, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bgplab.errors import env_seconds


@pytest.mark.parametrize("raw,want", [("0.3", 0.3), ("0", 0.0), ("2", 2.0)])
def test_good_values(monkeypatch: pytest.MonkeyPatch, raw: str, want: float) -> None:
    monkeypatch.setenv("BGPLAB_TEST_KNOB", raw)
    assert env_seconds("BGPLAB_TEST_KNOB", 7.0) == want


def test_unset_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BGPLAB_TEST_KNOB", raising=False)
    assert env_seconds("BGPLAB_TEST_KNOB", 7.0) == 7.0


@pytest.mark.parametrize("raw", ["abc", "", "-1", "nan", "inf"])
def test_bad_values_fall_back_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], raw: str) -> None:
    monkeypatch.setenv("BGPLAB_TEST_KNOB", raw)
    assert env_seconds("BGPLAB_TEST_KNOB", 7.0) == 7.0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"ignoring BGPLAB_TEST_KNOB={raw!r}" in err


def test_the_daemon_modules_import_with_a_bad_pace() -> None:
    r = subprocess.run(
        [sys.executable, "-c", "import bgplab.io.bgp_runtime as b, bgplab.io.flush_pacer as f;"
         " print(f.PACE, b.FLUSH_DELAY)"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "BGPLAB_FLUSH_PACE": "fast", "BGPLAB_FLUSH_DELAY": "x"},
    )
    assert r.returncode == 0 and r.stdout.split() == ["0.1", "0.0"]
    assert "Traceback" not in r.stderr and "ignoring BGPLAB_FLUSH_PACE='fast'" in r.stderr
