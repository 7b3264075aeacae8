"""A BIRD 2 config is named as such; a missing file has no :0:0: (issue 18, finding 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgplab.config import ConfigError, parse_file
from bgplab.config.dialect import BIRD1_DOCS, bird2_line, explain

# the shape of Debian bird2's /etc/bird/bird.conf
BIRD2 = """\
# This is a basic configuration file
log syslog all;
router id 198.51.100.1;
/* ipv4 { in a comment is not a channel */
protocol device {
}
protocol direct {
\tdisabled;\t\t# Disable by default
\tipv4;\t\t\t# Connect to default IPv4 table
\tipv6;
}
protocol kernel {
\tipv4 {
\t      export all;
\t};
}
"""


def _error(tmp_path: Path, text: str) -> tuple[ConfigError, str]:
    path = tmp_path / "bird.conf"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        parse_file(path)
    return exc.value, text


def test_bird2_config_is_named(tmp_path: Path) -> None:
    exc, text = _error(tmp_path, BIRD2)
    line = explain(exc, text)
    assert "\n" not in line
    assert line.startswith(f"{tmp_path}/bird.conf:9:")  # BIRD's position is kept
    assert "looks like a BIRD 2 config (line 9: 'ipv4;')" in line
    assert "BIRD 1.x" in line and BIRD1_DOCS in line


def test_a_bird1_error_is_left_alone(tmp_path: Path) -> None:
    exc, text = _error(tmp_path, "router id 198.51.100.1;\nprotocol device {\n  nonsense;\n}\n")
    assert explain(exc, text) == str(exc)


def test_missing_file_has_no_zero_position(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_file(tmp_path / "nonexistent.conf")
    line = explain(exc.value, None)
    assert ":0:0:" not in line
    assert line == f"Unable to open configuration file {tmp_path}/nonexistent.conf: " + (
        "No such file or directory"
    )


def test_bird2_markers() -> None:
    assert bird2_line("ipv4 table t2;\n") == (1, "ipv4 table t2;")
    assert bird2_line("protocol static { ipv6; }") is None  # not at a line start: unsure
    assert bird2_line("table t2;\nprotocol static {\n  route 10.0.0.0/8 blackhole;\n}\n") is None
