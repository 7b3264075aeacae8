"""BIRD 1.6's keywords cannot name anything: one line at the name's
file:line:col (real ``bird -p`` agrees: tests/interop/test_reserved_words.py)."""

from __future__ import annotations

import pytest

from bgplab.config import ConfigError, parse_text
from bgplab.config.reserved import BIRD6_KEYWORDS, BIRD_KEYWORDS

HEAD = "router id 10.0.0.1;\nprotocol device { }\n"


def error(text: str, family: int | None = 4) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_text(HEAD + text, "bird.conf", family=family)
    return info.value


def test_the_error_line() -> None:
    assert str(error("filter out { accept; }\n")) == (
        "bird.conf:3:8: syntax error, unexpected out: a BIRD 1.6 keyword, reserved"
        " (choose another name)"
    )


@pytest.mark.parametrize(
    ("text", "col"),
    [
        ("protocol bgp peer { local as 1; neighbor 10.0.0.2 as 2; }", 14),
        ("template bgp client { local as 1; }", 14),
        ("protocol static s { }", 17),
        ("function table() { return 1; }", 10),
        ("table rr;", 7),
        ("define base = 1;", 8),
        ("function f(int in) { return 1; }", 16),
        ("filter g int out; { accept; }", 14),
        ("function f() int RTS_STATIC; { return 1; }", 18),
    ],
)
def test_every_place_a_name_is_defined(text: str, col: int) -> None:
    e = error(text + "\n")
    assert (e.line, e.col) == (3, col)
    assert e.msg.startswith("syntax error, unexpected ")


def test_keywords_are_case_sensitive() -> None:
    parse_text(HEAD + "protocol static PEER { }\nfilter Out { accept; }\n", family=4)


def test_bird6_has_more_keywords() -> None:
    text = "protocol static mtu { }\n"
    parse_text(HEAD + text, family=4)  # a name to bird
    assert error(text, family=6).col == 17  # a keyword to bird6
    assert error(text, family=None).col == 17  # for either daemon: both lists
    assert BIRD_KEYWORDS < BIRD6_KEYWORDS and "master" not in BIRD6_KEYWORDS


def test_master_is_a_table_not_a_keyword() -> None:
    # BIRD lets a config "redefine" its master table; any other use is taken
    cfg = parse_text(HEAD + "table master;\ntable t2 sorted;\n", family=4)
    assert cfg.tables == ("master", "t2")
    assert error("protocol static master { }\n").msg == "Symbol already defined"
