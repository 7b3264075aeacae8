"""The command language: parsing, BIRD's error codes, birdc's expansion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgplab import net as netmod
from bgplab.cli.commands import MAX_LINE, CommandError, complete, expand, help_lines, parse


@pytest.mark.parametrize(
    ("line", "expanded"),
    [
        ("sh pro", "show protocols"),
        ("s r", "show route"),
        ("sh p all", "show protocols all"),
        ("sh ro for 10.0.0.1 all", "show route for 10.0.0.1 all"),
        ("conf ch", "configure check"),
        ("dis peer_b", "disable peer_b"),
        ('sh p "Node*"', 'show protocols "Node*"'),
    ],
)
def test_expand_unique_prefixes_like_birdc(line: str, expanded: str) -> None:
    assert expand(line) == expanded


@pytest.mark.parametrize("line", ["show", "show foo", "frobnicate", "sh bogus x"])
def test_expand_refuses_incomplete_commands(line: str) -> None:
    with pytest.raises(CommandError, match="No such command"):
        expand(line)


def test_expand_reports_ambiguity() -> None:
    with pytest.raises(CommandError) as exc:
        expand("re peer_b")
    assert "Ambiguous" in exc.value.msg
    assert "reload" in exc.value.msg and "restart" in exc.value.msg


def test_complete_offers_next_words() -> None:
    assert complete("sh") == ["show"]
    assert "protocols" in complete("show ")
    assert complete("show ro") == ["route"]
    assert complete("bogus ") == []


def test_help_lists_commands_with_prefix() -> None:
    lines = help_lines("show r")
    assert len(lines) == 1 and lines[0].startswith("show route")
    assert any(line.startswith("configure") for line in help_lines())


def test_show_route_arguments() -> None:
    q = parse("show route for 10.50.1.7 all table master protocol peer_b primary").route
    assert q is not None
    assert q.for_addr == netmod.parse("10.50.1.7/32")
    assert (q.verbose, q.table, q.protocol, q.primary) == (True, "master", "peer_b", True)
    q = parse("show route 10.50.0.0/16 count").route
    assert q is not None and q.exact == netmod.parse("10.50.0.0/16") and q.stats == 2
    q = parse("show route export peer_b stats").route
    assert q is not None and (q.export_mode, q.export_proto, q.stats) == ("export", "peer_b", 1)


def test_where_takes_the_expression_and_trailing_flags() -> None:
    q = parse("show route where net ~ [ 10.0.0.0/8+ ] all count").route
    assert q is not None
    assert q.where == "net ~ [ 10.0.0.0/8+ ]"
    assert q.verbose and q.stats == 2
    q = parse('show route where proto = "peer_b"').route
    assert q is not None and q.where == 'proto = "peer_b"'


def test_json_prefix_only_for_show() -> None:
    cmd = parse('json show protocols all "peer*"')
    assert cmd.json and cmd.verbose and cmd.pattern and cmd.target == "peer*"
    with pytest.raises(CommandError):
        parse("json disable peer_b")


def test_debug_flags() -> None:
    assert parse("debug peer_b { states, routes }").flags == {"states", "routes"}
    assert parse("debug all off").flags == {"off"}
    assert parse('debug "peer*" all').pattern


def test_configure_forms() -> None:
    c = parse('configure soft "/tmp/x.conf"')
    assert (c.soft, c.check, c.path) == (True, False, "/tmp/x.conf")
    c = parse("configure check")
    assert c.check and c.path is None


@pytest.mark.parametrize(
    ("line", "code", "msg"),
    [
        ("", 9001, "syntax error"),
        ("show foo", 9001, "syntax error"),
        ("show status now", 9001, "syntax error"),
        ("show protocols a b", 9001, "syntax error"),
        ("show route for", 9001, "syntax error"),
        ("show route for garbage", 9001, "syntax error"),
        ("show route 10.50.1.1/24", 9001, "Invalid prefix"),
        ("show route table", 9001, "syntax error"),
        ("show route where", 9001, "syntax error"),
        ("show route explain", 9001, "explain needs for <prefix>"),
        ("show route filter f where net ~ 10.0.0.0/8", 9001, "syntax error"),
        ("show interfaces everything", 9001, "syntax error"),
        ("show static a b", 9001, "syntax error"),
        ("show memory now", 9001, "syntax error"),
        ("show symbols a b", 9001, "syntax error"),
        ("enable", 9001, "syntax error"),
        ("disable a b", 9001, "syntax error"),
        ("restart", 9001, "syntax error"),
        ("reload in", 9001, "syntax error"),
        ("debug peer_b nonsense", 9001, "syntax error"),
        ("debug peer_b { states routes }", 9001, "syntax error"),
        ("configure check soft", 9001, "syntax error"),
        ('configure "a" "b"', 9001, "syntax error"),
        ("down now", 9001, "syntax error"),
        ('show protocols "unterminated', 9001, "Unterminated string"),
        ("x" * (MAX_LINE + 1), 9000, "Command too long"),
    ],
)
def test_bad_arguments_get_bird_errors(line: str, code: int, msg: str) -> None:
    with pytest.raises(CommandError) as exc:
        parse(line)
    assert (exc.value.code, exc.value.msg) == (code, msg)


# ---- robustness: nothing a client sends may raise anything but CommandError ----

WORDS = [
    "show",
    "route",
    "protocols",
    "all",
    "for",
    "table",
    "protocol",
    "filter",
    "where",
    "count",
    "primary",
    "export",
    "preexport",
    "noexport",
    "filtered",
    "explain",
    "status",
    "interfaces",
    "summary",
    "static",
    "symbols",
    "memory",
    "configure",
    "check",
    "soft",
    "enable",
    "disable",
    "restart",
    "reload",
    "in",
    "out",
    "debug",
    "down",
    "restrict",
    "json",
    "{",
    "}",
    ",",
    '"',
    "'",
    "peer_b",
    "master",
    "10.50.1.0/24",
    "10.50.1.7",
    "10.0.0.1/8",
    "::1",
    "1.2.3.4/33",
    "net",
    "~",
    "=",
    "[",
    "]",
    "states",
    "routes",
    "off",
    "x" * 50,
    "\x00",
    "ü",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=8))
def test_any_word_salad_parses_or_errors(words: list[str]) -> None:
    try:
        parse(" ".join(words))
    except CommandError as exc:
        assert exc.code in (9000, 9001)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_errors(text: str) -> None:
    try:
        parse(text)
    except CommandError as exc:
        assert exc.code in (9000, 9001)
    try:
        expand(text)
    except CommandError as exc:
        assert exc.code == 0
