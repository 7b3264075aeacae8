"""Calico label selectors, parsed once into a predicate over a label dict.

The grammar is the one calicoctl accepts in ``nodeSelector`` and
``peerSelector``: ``k == 'v'``, ``k != 'v'``, ``has(k)``, ``!e``, ``e && e``,
``e || e``, ``k in {'a','b'}``, ``k not in {...}``, ``all()``, parentheses,
plus ``contains``/``starts with``/``ends with``. ``&&`` binds tighter than
``||``; the empty selector selects everything, as in Calico.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bgplab.errors import UserError

Labels = Mapping[str, str]
Predicate = Callable[[Labels], bool]


class SelectorError(UserError):
    """A selector expression that does not parse."""

    def __init__(self, text: str, reason: str):
        super().__init__(f"invalid selector {text!r}: {reason}")
        self.reason = reason


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'[^']*'|"[^"]*")
      | (?P<op>==|!=|&&|\|\||[!(){},])
      | (?P<word>[A-Za-z0-9_./\-]+)
    )""",
    re.VERBOSE,
)
_LABEL = re.compile(r"^[A-Za-z0-9_./\-]+$")


@dataclass(frozen=True)
class Selector:
    """A parsed selector: ``text`` as written, ``match(labels)`` to test."""

    text: str
    match: Predicate

    def __call__(self, labels: Labels) -> bool:
        return self.match(labels)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise SelectorError(text, f"unexpected {text[pos:].strip()!r}")
        tokens.append(m.group(m.lastgroup or "word"))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def fail(self, what: str) -> SelectorError:
        near = self.toks[self.i] if self.i < len(self.toks) else "end of input"
        return SelectorError(self.text, f"{what} near {near!r}")

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise self.fail(f"expected {expected!r}" if expected else "unexpected end")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        if not self.toks:
            return lambda labels: True
        pred = self.expr()
        if self.peek() is not None:
            raise self.fail("trailing input")
        return pred

    def expr(self) -> Predicate:
        parts = [self.conj()]
        while self.peek() == "||":
            self.take()
            parts.append(self.conj())
        if len(parts) == 1:
            return parts[0]
        return lambda labels: any(p(labels) for p in parts)

    def conj(self) -> Predicate:
        parts = [self.unary()]
        while self.peek() == "&&":
            self.take()
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return lambda labels: all(p(labels) for p in parts)

    def unary(self) -> Predicate:
        if self.peek() == "!":
            self.take()
            inner = self.unary()
            return lambda labels: not inner(labels)
        return self.primary()

    def string(self) -> str:
        tok = self.peek()
        if tok is None or tok[0] not in "'\"":
            raise self.fail("expected a quoted value")
        self.i += 1
        return tok[1:-1]

    def value_set(self) -> frozenset[str]:
        self.take("{")
        values: set[str] = set()
        if self.peek() != "}":
            values.add(self.string())
            while self.peek() == ",":
                self.take()
                values.add(self.string())
        self.take("}")
        return frozenset(values)

    def primary(self) -> Predicate:
        tok = self.peek()
        if tok == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        if tok in ("all", "has") and self.peek(1) == "(":
            self.take()
            self.take("(")
            if tok == "all":
                self.take(")")
                return lambda labels: True
            key = self.label()
            self.take(")")
            return lambda labels: key in labels
        key = self.label()
        op = self.peek()
        if op == "==":
            self.take()
            v = self.string()
            return lambda labels: labels.get(key) == v
        if op == "!=":
            self.take()
            v = self.string()
            return lambda labels: labels.get(key) != v
        if op == "in":
            self.take()
            vs = self.value_set()
            return lambda labels: labels.get(key) in vs
        if op == "not" and self.peek(1) == "in":
            self.take()
            self.take()
            vs = self.value_set()
            return lambda labels: labels.get(key) not in vs
        if op == "contains":
            self.take()
            v = self.string()
            return lambda labels: key in labels and v in labels[key]
        if op in ("starts", "ends") and self.peek(1) == "with":
            self.take()
            self.take()
            v = self.string()
            if op == "starts":
                return lambda labels: key in labels and labels[key].startswith(v)
            return lambda labels: key in labels and labels[key].endswith(v)
        raise self.fail("expected an operator (==, !=, in, not in)")

    def label(self) -> str:
        tok = self.peek()
        if tok is None or not _LABEL.match(tok):
            raise self.fail("expected a label name")
        self.i += 1
        return tok


def parse_selector(text: str) -> Selector:
    """Parse a Calico selector; raise :class:`SelectorError` if it is malformed."""
    if not isinstance(text, str):
        raise SelectorError(str(text), "not a string")
    return Selector(text, _Parser(text).parse())
