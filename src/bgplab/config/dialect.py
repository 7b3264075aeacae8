"""Which BIRD a configuration was written for, to explain a failed parse.

Debian's ``bird2`` package puts BIRD 2 syntax in ``/etc/bird/bird.conf``,
bgplabd's default file. BIRD 2 attaches protocols to tables through
channels (``ipv4 { ... };``, ``ipv6;``) and names tables by type
(``ipv4 table t;``); BIRD 1.x has neither, so a failed parse of a file
with those lines is a BIRD 2 file, and the user should hear that rather
than a bare syntax error.
"""

from __future__ import annotations

import re

from bgplab.config.errors import ConfigError

BIRD1_DOCS = "https://bird.network.cz/?get_doc&v=16&f=bird.html"
# a channel or a typed table: `ipv4 {`, `ipv6;`, `ipv4 table t;`, `vpn4 {`, `roa6 table r;`
_BIRD2 = re.compile(
    r"^\s*(ipv4|ipv6|vpn4|vpn6|roa4|roa6|flow4|flow6|ipv4-mc|ipv6-mc|mpls)\s*(\{|;|table\b)",
    re.M,
)
_COMMENT = re.compile(r"#[^\n]*|/\*.*?\*/", re.S)


def bird2_line(text: str) -> tuple[int, str] | None:
    """The first line that only BIRD 2 accepts (number, text without comments), or None."""
    # comments are blanked, not removed, so line numbers stay right
    bare = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    m = _BIRD2.search(bare)
    if m is None:
        return None
    lineno = bare.count("\n", 0, m.start()) + 1
    return lineno, bare.splitlines()[lineno - 1].strip()


def explain(exc: ConfigError, text: str | None) -> str:
    """One line for a configuration that did not load: BIRD's ``file:line:col:
    message``, or without the position when there is none (a file that cannot
    be opened), and a note when the file looks like BIRD 2's."""
    if exc.line == 0:
        return exc.msg
    head = str(exc)
    found = bird2_line(text) if text else None
    if found is None:
        return head
    lineno, line = found
    return (
        f"{head} -- {exc.file} looks like a BIRD 2 config (line {lineno}: {line!r}); "
        f"bgplabd reads BIRD 1.x syntax, documented at {BIRD1_DOCS}"
    )
