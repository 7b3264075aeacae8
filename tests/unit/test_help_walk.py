"""Every command line teaches: each (sub-)command has a description and every
option has help text, with its default when it has one (issue 18, finding 4).

The walk is generic (argparse's own tree), so sub-commands added later are
covered without touching this file.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from bgplab import app, daemon
from bgplab.cli import client

PARSERS = {
    "bgplab": app.build_parser,
    "bgplabd": lambda: daemon.build_parser(4),
    "bgplabd6": lambda: daemon.build_parser(6),
    "bgplabc": client.build_parser,
}


def walk(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # aliases share one parser
                    seen.add(id(sub))
                    yield from walk(sub, f"{path} {name}")


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    return [pair for prog, build in PARSERS.items() for pair in walk(build(), prog)]


def _has_default(action: argparse.Action) -> bool:
    if isinstance(action, (argparse._StoreConstAction, argparse._HelpAction)):
        return False  # store_true/false and friends: the flag itself is the choice
    if isinstance(action, (argparse._VersionAction, argparse._SubParsersAction)):
        return False
    d = action.default
    return d is not None and d is not argparse.SUPPRESS and d != [] and d is not False


def problems(path: str, parser: argparse.ArgumentParser) -> list[str]:
    out = []
    if not (parser.description or "").strip():
        out.append(f"{path}: no description")
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = "/".join(action.option_strings) or action.dest
        text = action.help
        if text is argparse.SUPPRESS:
            continue  # hidden on purpose
        if not (text or "").strip():
            out.append(f"{path} {name}: no help")
        elif action.option_strings and _has_default(action) and "default" not in text:
            out.append(f"{path} {name}: default {action.default!r} not shown")
    return out


def test_the_walk_reaches_every_area() -> None:
    paths = {p for p, _ in all_parsers()}
    assert {"bgplab", "bgplab lab", "bgplab lab up", "bgplab lab fault", "bgplabc"} <= paths
    assert {"bgplab calico", "bgplab bench", "bgplab soak", "bgplabd"} <= paths


@pytest.mark.parametrize(
    "path, parser", all_parsers(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_command_teaches(path: str, parser: argparse.ArgumentParser) -> None:
    assert problems(path, parser) == []
    text = parser.format_help()
    assert "``" not in text, "raw rst markup in --help"


def test_top_level_help_lists_every_area_and_explains_the_seed() -> None:
    top = app.build_parser()
    text = top.format_help()
    for area in app.AREAS:
        assert area in text
    lab = dict(walk(top, "bgplab"))["bgplab lab"].format_help()
    assert "the seed's topology (" in lab and "rke-node3" in lab  # what "the seed" is
    assert "root" in lab
