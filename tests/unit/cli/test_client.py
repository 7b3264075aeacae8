"""bgplabc against the real control server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.cli import client

from .fakedaemon import ServedDaemon, small_daemon


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[str]:
    s = ServedDaemon(small_daemon(), str(tmp_path / "bird.ctl"))
    try:
        yield s.path
    finally:
        s.close()


def test_one_shot_strips_codes_like_birdc(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["-s", sock, "sh", "pro"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "BIRD 1.6.8 ready."
    assert out[1] == "name     proto    table    state  since       info"
    assert out[2].startswith("device1  Device   master   up")
    assert not any(line[:4].isdigit() for line in out[1:])


def test_verbose_shows_codes_and_indents_continuations(
    sock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client.main(["-v", "-s", sock, "show", "protocols"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "0001 BIRD 1.6.8 ready."
    assert out[1].startswith("2002-name")
    assert out[2].startswith("1002-device1")
    assert out[3].startswith("     static1")


def test_json_flag_pretty_prints(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["--json", "-s", sock, "show", "route", "for", "10.50.1.1"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out[out.index("{") :])
    assert [r["net"] for r in doc["routes"]] == ["10.50.1.0/24"]


def test_errors_exit_nonzero_with_one_line(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["-s", sock, "show", "route", "table", "nope"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "nope is not a table"
    assert client.main(["-s", sock, "show", "bogus"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "No such command. Press `?' for help."


def test_restricted_flag(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["-r", "-s", sock, "disable", "peer_b"]) == 1
    assert capsys.readouterr().out.splitlines()[1:] == ["Access restricted", "Access denied"]


def test_missing_socket_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["-s", str(tmp_path / "none.ctl"), "show", "status"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Unable to connect to server control socket")


def test_format_line_rules() -> None:
    assert client.format_line("+async", False) == ">>> async"
    assert client.format_line("0000 ", False) is None
    assert client.format_line("weird", False) == "??? <weird>"


def test_interactive_session(sock: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "bgplab.cli.client", "-s", sock],
        input="sh pro\nshow route count\nshow ?\nbogus\nquit\n",
        capture_output=True,
        text=True,
        timeout=30,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    out = res.stdout
    assert res.returncode == 0
    assert "name     proto    table    state  since       info" in out
    assert "5 of 5 routes for 5 networks" in out
    assert "show route [all]" in out  # the ? listing
    assert "No such command. Press `?' for help." in out
    assert (tmp_path / ".bgplabc_history").exists()
