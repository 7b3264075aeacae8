"""Tokenizer for BIRD 1.x configuration files, with ``include`` expansion.

BIRD handles ``include`` in its lexer, so an include may appear anywhere
(even inside a filter); we do the same by splicing the included file's
tokens into the stream. Every token remembers its file, line and column for
error messages.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from bgplab.config.errors import ConfigError

MAX_INCLUDE_DEPTH = 8

# Token kinds
NUM = "num"
IP = "ip"
STR = "str"
SYM = "sym"
OP = "op"
EOF = "eof"

_OPS2 = ("!=", "<=", ">=", "!~", "&&", "||", "..", "[=", "=]")
_OPS1 = set("{}()[];,:=<>+-*/~!.?$")

_IP_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(?![0-9])")
# IPv6 literals as BIRD's lexer takes them: something with '::' or 3+ colons
_IP6_RE = re.compile(
    r"(?:[0-9A-Fa-f]{0,4}:){2,}[0-9A-Fa-f]{0,4}(?:\.[0-9]+){0,3}(?:%[A-Za-z0-9_.-]+)?"
)
_NUM_RE = re.compile(r"0x[0-9A-Fa-f]+|[0-9]+")
_SYM_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str | int
    file: str
    line: int
    col: int

    def describe(self) -> str:
        """How the token reads in an error message (BIRD style)."""
        if self.kind == EOF:
            return "end of file"
        if self.kind == STR:
            return f'"{self.value}"'
        if self.kind == OP:
            return f"'{self.value}'"
        return str(self.value)


def tokenize(
    text: str,
    filename: str,
    base_dir: Path | None = None,
    depth: int = 0,
    sources: dict[str, list[str]] | None = None,
) -> list[Token]:
    """Turn a configuration text into tokens, expanding includes.

    The final EOF token is only added at depth 0. ``sources`` collects the
    lines of every file read (for filter traces).
    """
    if sources is not None:
        sources[filename] = text.splitlines()
    out: list[Token] = []
    i = 0
    n = len(text)
    line = 1
    line_start = 0

    def err(msg: str, at: int | None = None) -> ConfigError:
        pos = i if at is None else at
        return ConfigError(filename, line, pos - line_start + 1, msg)

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            line_start = i
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise err("unterminated comment")
            chunk = text[i : j + 2]
            nl = chunk.count("\n")
            if nl:
                line += nl
                line_start = i + chunk.rfind("\n") + 1
            i = j + 2
            continue
        col = i - line_start + 1
        if c == '"':
            j = i + 1
            buf = []
            while j < n and text[j] != '"':
                if text[j] == "\n":
                    raise err("unterminated string")
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise err("unterminated string")
            out.append(Token(STR, "".join(buf), filename, line, col))
            i = j + 1
            continue
        if c == ":" or "0" <= c <= "9" or "a" <= c <= "f" or "A" <= c <= "F":
            m = _IP6_RE.match(text, i)
            if m:
                out.append(Token(IP, m.group(0), filename, line, col))
                i = m.end()
                continue
        if "0" <= c <= "9":
            m = _IP_RE.match(text, i)
            if m:
                out.append(Token(IP, m.group(0), filename, line, col))
                i = m.end()
                continue
            m = _NUM_RE.match(text, i)
            assert m is not None
            tok = m.group(0)
            if i + len(tok) < n and (text[i + len(tok)].isalpha() or text[i + len(tok)] == "_"):
                raise err(f"invalid number '{tok}{text[i + len(tok)]}'")
            value = int(tok[2:], 16) if tok.startswith("0x") else int(tok)
            if value > 0xFFFFFFFF:
                raise err("Number out of range")
            out.append(Token(NUM, value, filename, line, col))
            i = m.end()
            continue
        if ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_":
            m = _SYM_RE.match(text, i)
            assert m is not None
            out.append(Token(SYM, m.group(0), filename, line, col))
            i = m.end()
            continue
        two = text[i : i + 2]
        if two in _OPS2:
            out.append(Token(OP, two, filename, line, col))
            i += 2
            continue
        if c in _OPS1:
            out.append(Token(OP, c, filename, line, col))
            i += 1
            continue
        raise err(f"unexpected character '{c}'")

    out = _expand_includes(out, base_dir, depth, sources)
    if depth == 0:
        out.append(Token(EOF, "", filename, line, i - line_start + 1))
    return out


def _expand_includes(
    tokens: list[Token], base_dir: Path | None, depth: int, sources: dict[str, list[str]] | None
) -> list[Token]:
    """Replace ``include "pattern";`` by the tokens of the matching files."""
    if not any(t.kind == SYM and t.value == "include" for t in tokens):
        return tokens
    out: list[Token] = []
    k = 0
    while k < len(tokens):
        t = tokens[k]
        if t.kind == SYM and t.value == "include":
            if k + 2 >= len(tokens) or tokens[k + 1].kind != STR:
                nxt = tokens[k + 1] if k + 1 < len(tokens) else t
                raise ConfigError(
                    nxt.file, nxt.line, nxt.col, "syntax error, include needs a file name"
                )
            if tokens[k + 2].kind != OP or tokens[k + 2].value != ";":
                nt = tokens[k + 2]
                raise ConfigError(
                    nt.file, nt.line, nt.col, f"syntax error, unexpected {nt.describe()}"
                )
            if depth + 1 > MAX_INCLUDE_DEPTH:
                raise ConfigError(t.file, t.line, t.col, "Max include depth reached")
            out.extend(_include(str(tokens[k + 1].value), t, base_dir, depth, sources))
            k += 3
            continue
        out.append(t)
        k += 1
    return out


def _include(
    pattern: str, at: Token, base_dir: Path | None, depth: int, sources: dict[str, list[str]] | None
) -> list[Token]:
    base = base_dir if base_dir is not None else Path.cwd()
    if "\x00" in pattern:  # found by fuzz/fuzz_config.py: no OS call takes a NUL
        raise ConfigError(at.file, at.line, at.col, "Unable to open included file: invalid name")
    path = Path(pattern)
    if not path.is_absolute():
        path = base / path
    if glob.has_magic(str(path)):
        # A glob that matches nothing is fine in BIRD; files go in alphabetic order.
        files = sorted(p for p in glob.glob(str(path)) if Path(p).is_file())
    else:
        files = [str(path)]
    out: list[Token] = []
    for f in files:
        try:
            text = Path(f).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                at.file, at.line, at.col, f"Unable to open included file {f}: {reason}"
            ) from None
        out.extend(tokenize(text, f, Path(f).parent, depth + 1, sources))
    return out
