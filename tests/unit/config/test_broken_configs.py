"""Broken configurations: one line, file:line:col and a message naming the
problem (BIRD's wording where BIRD has one); never a traceback."""

from __future__ import annotations

import pytest

from bgplab.config import ConfigError, parse_file, parse_text
from tests.unit.config.helpers import FIXTURES

BROKEN = FIXTURES / "broken"

CASES = [
    # file, line, col, message fragment
    ("unknown_keyword.conf", 4, 3, "syntax error, unexpected frobnicate"),
    ("missing_semicolon.conf", 4, 1, "syntax error, unexpected '}'"),
    ("undefined_filter.conf", 6, 17, "No such filter."),
    ("wrong_type.conf", 4, 3, "wrong type: cannot assign string to int"),
    ("wrong_type_cond.conf", 3, 3, "wrong type: condition must be bool, got int"),
    ("duplicate_protocol.conf", 7, 14, "Symbol already defined"),
    ("duplicate_kernel.conf", 3, 28, "Kernel syncer (kernel1) already attached to table master"),
    ("bad_prefix.conf", 4, 14, "Invalid network prefix: 10.41.0.1/16."),
    ("bad_include.conf", 2, 1, "Unable to open included file"),
    ("loop.conf", 2, 1, "Max include depth reached"),
    ("unexpected_brace.conf", 6, 1, "syntax error, unexpected '}'"),
    ("bad_ip.conf", 1, 11, "Invalid IPv4 address 192.168.0.400"),
    ("pair_range.conf", 3, 30, "Value 70000 out of range (0-65535)"),
    ("open_comment.conf", 2, 1, "unterminated comment"),
    ("no_local_as.conf", 4, 1, "Local AS number must be set"),
    ("undefined_function.conf", 3, 3, "You can't call something which is not a function"),
    ("no_protocol.conf", 1, 0, "No protocol is specified in the config file"),
]


@pytest.mark.parametrize(("name", "line", "col", "msg"), CASES, ids=[c[0] for c in CASES])
def test_broken_config(name: str, line: int, col: int, msg: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_file(BROKEN / name)
    err = info.value
    assert (err.line, err.col) == (line, col)
    assert msg in err.msg
    text = str(err)
    assert "\n" not in text
    assert text.startswith(f"{err.file}:{line}:{col}: ")
    assert err.file.endswith(".conf") or err.file.endswith(".cfg")


def test_error_in_included_file_names_that_file(tmp_path) -> None:
    (tmp_path / "main.conf").write_text('protocol device { }\ninclude "sub/*.cfg";\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.cfg").write_text("filter a { accept; }\n")
    (tmp_path / "sub" / "b.cfg").write_text("filter b {\n  accept\n}\n")
    with pytest.raises(ConfigError) as info:
        parse_file(tmp_path / "main.conf")
    assert info.value.file.endswith("b.cfg")
    assert (info.value.line, info.value.col) == (3, 1)


def test_glob_include_in_alphabetic_order(tmp_path) -> None:
    (tmp_path / "main.conf").write_text('include "p/*.cfg";\n')
    (tmp_path / "p").mkdir()
    for n in ("b", "a", "c"):
        (tmp_path / "p" / f"{n}.cfg").write_text("protocol static { }\n")
    cfg = parse_file(tmp_path / "main.conf")
    assert [p.name for p in cfg.protocols] == ["static1", "static2", "static3"]


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as info:
        parse_file(BROKEN / "does_not_exist.conf")
    assert "Unable to open configuration file" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "protocol bgp { local as 1; }",  # no neighbor
        "protocol device { } protocol device { }",
        "protocol device { } filter f { if net ~ [ 1.0.0.0/8{9,7} ] then accept; }",
        "protocol device { } define x = 5; define x = 6;",
        "protocol device { } filter f { x = 5; accept; }",
        "protocol device { } filter f { if yy then accept; }",
        "protocol device { } filter f { accept; } filter f { reject; }",
        "protocol static { route 10.0.0.0/8 via; }",
        'protocol kernel { scan time "x"; }',
        "protocol bgp { local as 1; neighbor 1.2.3.4 as 2; rr client; }",
        "protocol device { } \x01",
        'protocol device { description "unterminated',
        "protocol device { } filter f { if net ~ 10.0.0.0/33 then accept; }",
        "protocol device { } filter f { bgp_path.add(5); accept; }",
        "protocol device { } filter f int x; { x = net; accept; }",
    ],
)
def test_more_errors_are_one_line(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_text(text, "t.conf")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("t.conf:1:")
