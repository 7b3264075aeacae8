"""A cursor over the token list shared by the config and filter parsers."""

from __future__ import annotations

from typing import NoReturn

from bgplab.config.errors import ConfigError
from bgplab.config.lexer import EOF, IP, NUM, OP, STR, SYM, Token


class TokenCursor:
    # Words that cannot be defined as names (the config parser sets BIRD's
    # keywords; a standalone filter expression defines no names).
    reserved: frozenset[str] = frozenset()

    def __init__(self, tokens: list[Token], lines: dict[str, list[str]]) -> None:
        self.toks = tokens
        self.pos = 0
        self.lines = lines  # source lines per file, for filter traces

    # -- looking ----------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.pos]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def at_op(self, *ops: str) -> bool:
        t = self.toks[self.pos]
        return t.kind == OP and t.value in ops

    def at_sym(self, *names: str) -> bool:
        t = self.toks[self.pos]
        return t.kind == SYM and t.value in names

    def at_eof(self) -> bool:
        return self.toks[self.pos].kind == EOF

    # -- consuming --------------------------------------------------------
    def next(self) -> Token:
        t = self.toks[self.pos]
        if t.kind != EOF:
            self.pos += 1
        return t

    def accept_op(self, op: str) -> bool:
        if self.at_op(op):
            self.pos += 1
            return True
        return False

    def accept_sym(self, *names: str) -> bool:
        if self.at_sym(*names):
            self.pos += 1
            return True
        return False

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            self.unexpected()
        return self.next()

    def expect_sym(self, name: str) -> Token:
        if not self.at_sym(name):
            self.unexpected()
        return self.next()

    def expect_name(self) -> str:
        if self.tok.kind != SYM:
            self.unexpected()
        return str(self.next().value)

    def expect_symbol(self) -> str:
        """A name, defined here or referred to: a symbol that is not a
        keyword. BIRD says only "syntax error" here; the rest of the line
        says why."""
        t = self.tok
        if t.kind == SYM and t.value in self.reserved:
            self.error(
                f"syntax error, unexpected {t.value}: a BIRD 1.6 keyword, reserved"
                " (choose another name)",
                t,
            )
        return self.expect_name()

    def expect_str(self) -> str:
        if self.tok.kind != STR:
            self.unexpected()
        return str(self.next().value)

    def expect_num(self) -> int:
        if self.tok.kind != NUM:
            self.unexpected()
        return int(self.next().value)

    def expect_end(self) -> None:
        self.expect_op(";")

    # -- errors -----------------------------------------------------------
    def error(self, msg: str, tok: Token | None = None) -> NoReturn:
        t = tok or self.tok
        raise ConfigError(t.file, t.line, t.col, msg)

    def unexpected(self, tok: Token | None = None) -> NoReturn:
        t = tok or self.tok
        self.error(f"syntax error, unexpected {t.describe()}", t)

    def line_text(self, tok: Token) -> str:
        lines = self.lines.get(tok.file)
        if lines and 0 < tok.line <= len(lines):
            return lines[tok.line - 1].strip()
        return ""


__all__ = ["TokenCursor", "EOF", "IP", "NUM", "OP", "STR", "SYM"]
