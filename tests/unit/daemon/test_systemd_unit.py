"""The shipped systemd unit (contrib/systemd/bgplabd.service) is one that works:
its commands are flags bgplabd and bgplabc take, and systemd accepts it."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bgplab.cli.client import build_parser as client_parser
from bgplab.daemon import build_parser as daemon_parser

UNIT = Path(__file__).resolve().parents[3] / "contrib" / "systemd" / "bgplabd.service"
PARSERS = {"bgplabd": daemon_parser, "bgplabc": client_parser}


def service_section() -> configparser.SectionProxy:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(UNIT.read_text())
    return cp["Service"]


def command(key: str, opts: str = "") -> list[str]:
    """An Exec line as systemd runs it, with ``$BGPLABD_OPTS`` set to ``opts``."""
    return shlex.split(service_section()[key].replace("$BGPLABD_OPTS", opts))


@pytest.mark.parametrize("key", ["ExecStartPre", "ExecStart", "ExecReload"])
def test_exec_lines_are_valid_command_lines(key: str) -> None:
    argv = command(key)
    prog = Path(argv[0]).name
    assert prog in PARSERS, argv
    args = PARSERS[prog]().parse_args(argv[1:])  # SystemExit (a failure) on a bad flag
    if prog == "bgplabd":
        assert args.config == "/etc/bird/bird.conf"
    if key == "ExecStart":
        assert args.foreground and args.socket == "/run/bird/bird.ctl"


def test_start_is_gated_by_a_parse_only_run() -> None:
    assert daemon_parser().parse_args(command("ExecStartPre")[1:]).parse_only


def test_recovery_start_through_the_environment_file() -> None:
    assert "EnvironmentFile" in service_section()
    assert not daemon_parser().parse_args(command("ExecStart")[1:]).recovery
    assert daemon_parser().parse_args(command("ExecStart", "-R")[1:]).recovery


def test_reload_talks_to_the_socket_the_daemon_serves() -> None:
    start = daemon_parser().parse_args(command("ExecStart")[1:])
    reload = client_parser().parse_args(command("ExecReload")[1:])
    assert reload.socket == start.socket and reload.command == ["configure"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    exe = shutil.which("bgplabd")
    if exe is None:
        pytest.skip("bgplabd is not installed as a script")
    # the unit names /usr/local/bin; point it at where this install put them
    unit = tmp_path / "bgplabd.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/", str(Path(exe).parent) + "/"))
    res = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "bgplabd.service" not in res.stderr  # no warning about our unit
