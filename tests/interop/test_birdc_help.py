"""bgplabc's `?` and `help` against real birdc 1.6 (issue 18, finding 4).

birdc answers both itself, in interactive mode: `help` with one line, `?`
with the commands one word below what was typed. bgplabc does the same
(also as a one-shot command, where birdc says "No such command"). The
lines for the commands both know are compared to the letter.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest

from bgplab.cli.client import HELP_HINT
from bgplab.cli.commands import help_lines
from bgplab.extpeers import BirdDaemon, available, birdc_binary

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed"),
]

# no BGP, no listening socket: only the control socket
CONF = "router id 192.0.2.1;\nprotocol device {\n}\n"
_CSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\r")


@pytest.fixture(scope="module")
def bird() -> Iterator[BirdDaemon]:
    d = BirdDaemon(1, CONF).start()
    try:
        yield d
    finally:
        d.stop()


def birdc_interactive(bird: BirdDaemon, *lines: str) -> dict[str, list[str]]:
    """What interactive birdc prints after each input line (prompt lines dropped)."""
    res = subprocess.run(
        [str(birdc_binary(1)), "-s", str(bird.socket)],
        input="".join(f"{ln}\n" for ln in lines),
        capture_output=True,
        text=True,
        timeout=20,
    )
    out: dict[str, list[str]] = {}
    current = None
    for raw in _CSI.sub("", res.stdout).splitlines():
        m = re.match(r"bird> (.*)$", raw)
        if m:
            current = m.group(1).strip() or None
            if current is not None:
                out[current] = []
        elif current is not None:
            out[current].append(raw)
    return out


def _by_words(lines: list[str]) -> dict[str, str]:
    """listing line -> keyed by its command words (text before the arguments)."""
    keyed = {}
    for ln in lines:
        words = re.match(r"([a-z]+(?: [a-z]+)*)", ln)
        if words:
            keyed.setdefault(words.group(1), ln)
    return keyed


def test_help_answers_as_birdc(bird: BirdDaemon) -> None:
    seen = birdc_interactive(bird, "help")
    assert seen["help"] == [HELP_HINT]


def test_question_mark_lines_match_birdc(bird: BirdDaemon) -> None:
    seen = birdc_interactive(bird, "?", "show ?", "configure ?")
    top, ours = _by_words(seen["?"]), _by_words(help_lines("", client=True))
    # the group line, birdc's own commands and the plain ones, to the letter
    for words in ("show", "exit", "quit", "down", "restrict"):
        assert ours[words] == top[words]
    show, ours_show = _by_words(seen["show ?"]), _by_words(help_lines("show"))
    for words in ("show memory", "show status", "show static"):
        assert ours_show[words] == show[words]
    conf = seen["configure ?"]
    ours_conf = help_lines("configure")
    assert conf[0].startswith("configure ") and ours_conf[0].startswith("configure ")
    assert _by_words(ours_conf)["configure check"] == _by_words(conf)["configure check"]


def test_birdc_one_shot_question_mark_leads_in_a_circle(bird: BirdDaemon) -> None:
    """Why bgplabc answers `?` one-shot: birdc itself does not."""
    assert "No such command" in bird.birdc("?")
