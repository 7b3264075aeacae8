"""bgplabd's command line for a first-time user (issue 18, finding 3): a BIRD 2
config is named as such, a missing file has no ``:0:0:``, and --help shows
the default config and socket paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bgplab.daemon import DEFAULT_CONFIG, DEFAULT_SOCKET, build_parser

# the opening of Debian bird2's /etc/bird/bird.conf
BIRD2 = """\
log syslog all;
router id 198.51.100.1;
protocol device {
}
protocol kernel {
\tipv4 {\t\t\t# Connect protocol to IPv4 table by channel
\t      export all;
\t};
}
"""


def bgplabd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bgplab.daemon import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bird2_config_says_so_in_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text(BIRD2)
    res = bgplabd("-p", "-c", str(conf))
    assert res.returncode == 1 and res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"bgplabd: {conf}:6:")
    assert "looks like a BIRD 2 config (line 6: 'ipv4 {')" in lines[0]
    assert "BIRD 1.x" in lines[0] and "bird.network.cz" in lines[0]


def test_missing_config_has_no_zero_position(tmp_path: Path) -> None:
    res = bgplabd("-p", "-c", str(tmp_path / "nonexistent"))
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        f"bgplabd: Unable to open configuration file {tmp_path}/nonexistent: "
        "No such file or directory"
    ]


def test_help_shows_default_paths() -> None:
    text = build_parser().format_help()
    assert DEFAULT_CONFIG in text and DEFAULT_SOCKET in text
    assert "root" in text


def test_control_socket_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text("router id 192.0.2.1;\nprotocol device {\n}\n")  # no BGP: nothing is sent
    sock = tmp_path / "missing" / "bird.ctl"
    res = bgplabd("-f", "-c", str(conf), "-s", str(sock))
    assert res.returncode == 1
    assert (
        f"bgplabd: Cannot create control socket {sock}: No such file or directory"
        in res.stderr.splitlines()
    )
    assert "Traceback" not in res.stderr
