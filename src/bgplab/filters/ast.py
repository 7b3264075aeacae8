"""Syntax tree of filters and functions.

Nodes are frozen dataclasses so two filters compare structurally
(``Filter.same``); source positions are excluded from equality, so moving a
filter around the file is not a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Node:
    line: int = field(default=0, compare=False, kw_only=True)
    file: str = field(default="", compare=False, kw_only=True)
    text: str = field(default="", compare=False, kw_only=True)


# ---- expressions ---------------------------------------------------------


@dataclass(frozen=True)
class Const(Node):
    value: Any
    type: str


@dataclass(frozen=True)
class Var(Node):
    name: str
    index: int  # slot in the frame of the enclosing filter/function


@dataclass(frozen=True)
class Attr(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str
    arg: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Method(Node):
    """``e.len``, ``e.first``, ``e.ip``, ``e.mask(n)`` …"""

    obj: Node
    name: str
    args: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Builtin(Node):
    """``defined(x)``, ``prepend(p, a)``, ``add(c, x)``, ``delete``, ``filter``."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Tuple(Node):
    """``(a, b)`` pair or ``(a, b, c)`` large community built at run time."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class ECCons(Node):
    kind: str  # rt | ro | generic
    key: Node
    value: Node


@dataclass(frozen=True)
class MaskCons(Node):
    """A path mask with expressions in it, built at run time."""

    items: tuple[Any, ...]  # "*", "?", or Node


# ---- statements ----------------------------------------------------------


@dataclass(frozen=True)
class Block(Node):
    body: tuple[Node, ...]


@dataclass(frozen=True)
class Assign(Node):
    target: Node  # Var or Attr
    value: Node


@dataclass(frozen=True)
class If(Node):
    cond: Node
    then: Node
    other: Node | None


@dataclass(frozen=True)
class Case(Node):
    subject: Node
    arms: tuple[tuple[Any, Node], ...]  # (set value for matching, Block)
    default: Node | None


@dataclass(frozen=True)
class Accept(Node):
    msg: Node | None = None


@dataclass(frozen=True)
class Reject(Node):
    msg: Node | None = None


@dataclass(frozen=True)
class Return(Node):
    value: Node | None = None


@dataclass(frozen=True)
class Print(Node):
    args: tuple[Node, ...]
    newline: bool = True


@dataclass(frozen=True)
class ExprStmt(Node):
    expr: Node


@dataclass(frozen=True)
class Unset(Node):
    """``unset(attr)`` / ``attr.empty``: the attribute is removed or emptied."""

    attr: str
    empty: bool = False


# ---- definitions ---------------------------------------------------------


@dataclass(frozen=True)
class FunctionDef(Node):
    name: str
    params: tuple[tuple[str, str], ...]  # (type, name)
    local_vars: tuple[tuple[str, str], ...]
    body: Block
    calls: tuple[str, ...] = ()  # functions it calls directly


@dataclass(frozen=True)
class FilterDef(Node):
    name: str | None
    local_vars: tuple[tuple[str, str], ...]
    body: Block
    calls: tuple[str, ...] = ()
