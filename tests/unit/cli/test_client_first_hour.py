"""bgplabc for scripts and for a first-time user: --json is JSON alone on stdout,
`?` and `help` answer as birdc does, --version exists (issue 18, findings 2 and 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab import __version__
from bgplab.cli import client

from .fakedaemon import ServedDaemon, small_daemon


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[str]:
    s = ServedDaemon(small_daemon(), str(tmp_path / "bird.ctl"))
    try:
        yield s.path
    finally:
        s.close()


def test_json_stdout_is_only_the_document(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["--json", "-s", sock, "show", "protocols"]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)  # the whole of stdout: what `| jq .` reads
    assert [p["name"] for p in doc][:1] == ["device1"] and cap.err == ""


def test_json_restricted_still_only_the_document(
    sock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client.main(["--json", "-r", "-s", sock, "show", "status"]) == 0
    json.loads(capsys.readouterr().out)


def test_json_errors_go_to_stderr(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["--json", "-s", sock, "show", "route", "table", "nope"]) == 1
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.strip() == "nope is not a table"
    assert client.main(["--json", "-s", sock, "show", "bogus"]) == 1
    cap = capsys.readouterr()
    assert cap.out == "" and "No such command" in cap.err
    assert client.main(["--json", "-s", sock, "disable", "peer_b"]) == 1
    cap = capsys.readouterr()
    assert cap.out == "" and "show commands only" in cap.err


def test_question_mark_lists_commands_as_birdc(
    sock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client.main(["-s", sock, "?"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "No such command" not in "\n".join(out)
    # birdc's top level: one "show ..." line for the show commands, exit and quit
    assert any(ln.startswith("show ...") and "Show status information" in ln for ln in out)
    assert any(ln.startswith("quit ") for ln in out)
    assert not any(ln.startswith("show route") for ln in out)


def test_question_mark_after_words(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["-s", sock, "sh", "?"]) == 0
    out = capsys.readouterr().out.splitlines()[1:]
    assert out and all(ln.startswith("show ") for ln in out)
    assert any(ln.startswith("show route [all]") for ln in out)
    # a command with sub-commands: itself first, then them (birdc's `configure ?`)
    assert client.main(["-s", sock, "conf", "?"]) == 0
    out = capsys.readouterr().out.splitlines()[1:]
    assert out[0].startswith('configure [soft] ["<file>"]')
    assert any(ln.startswith("configure check") for ln in out)


def test_help_answers_as_birdc(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["-s", sock, "help"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["Press `?' for context sensitive help."]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        client.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"bgplabc {__version__}"
