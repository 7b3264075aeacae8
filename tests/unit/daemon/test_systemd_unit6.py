"""The IPv6 unit (contrib/systemd/bgplabd6.service) is bgplabd.service with
bird6's files: its commands are flags bgplabd6 and bgplabc take, it talks
to the socket bgplabd6 serves, and systemd accepts it. The cut-over from
bird6 is its one ExecStart line."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bgplab.cli.client import build_parser as client_parser
from bgplab.daemon import build_parser as daemon_parser

UNITS = Path(__file__).resolve().parents[3] / "contrib" / "systemd"
UNIT6 = UNITS / "bgplabd6.service"


def _service(path: Path) -> configparser.SectionProxy:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(path.read_text())
    return cp["Service"]


def _argv(key: str, opts: str = "") -> list[str]:
    return shlex.split(_service(UNIT6)[key].replace("$BGPLABD6_OPTS", opts))


def test_exec_lines_are_bgplabd6_command_lines() -> None:
    pre, start = _argv("ExecStartPre"), _argv("ExecStart")
    assert Path(pre[0]).name == Path(start[0]).name == "bgplabd6"
    assert daemon_parser(6).parse_args(pre[1:]).parse_only
    args = daemon_parser(6).parse_args(start[1:])
    assert (args.config, args.socket, args.foreground) == (
        "/etc/bird/bird6.conf",
        "/run/bird/bird6.ctl",
        True,
    )
    assert daemon_parser(6).parse_args(_argv("ExecStart", "-R")[1:]).recovery
    reload = client_parser().parse_args(_argv("ExecReload")[1:])
    assert reload.socket == args.socket and reload.command == ["configure"]


def test_same_unit_as_ipv4_but_for_the_files() -> None:
    """Only names differ from bgplabd.service: the two run side by side."""
    v4, v6 = _service(UNITS / "bgplabd.service"), _service(UNIT6)
    assert set(v4) == set(v6)
    for key in v4:
        same = v4[key].replace("bird.conf", "bird6.conf").replace("bird.ctl", "bird6.ctl")
        same = same.replace("bgplabd ", "bgplabd6 ").replace("BGPLABD_OPTS", "BGPLABD6_OPTS")
        same = same.replace("/etc/default/bgplabd", "/etc/default/bgplabd6")
        assert v6[key] == same, key


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    exe = shutil.which("bgplabd6")
    if exe is None:
        pytest.skip("bgplabd6 is not installed as a script")
    unit = tmp_path / "bgplabd6.service"
    unit.write_text(UNIT6.read_text().replace("/usr/local/bin/", str(Path(exe).parent) + "/"))
    res = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "bgplabd6.service" not in res.stderr
