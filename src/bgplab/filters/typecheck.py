"""Load-time type checks of filter code.

BIRD 1.6 finds most type errors only when a route passes; we report the
ones that are certain (both sides' types known) when the configuration is
loaded, with line and column, which is what a user fixing a file wants.
Anything whose type depends on run-time data is left to run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bgplab.config.lexer import Token
from bgplab.filters import ast
from bgplab.filters.attributes import lookup as attr_lookup

if TYPE_CHECKING:
    from bgplab.filters.parser_expr import ExprParser

_METHOD_TYPES = {
    "len": "int",
    "first": "int",
    "last": "int",
    "last_nonaggregated": "int",
}

# Which right-hand types `~` accepts for a left-hand type.
_MATCH = {
    "prefix": {"prefix", "prefix set"},
    "ip": {"prefix", "ip set", "quad set"},
    "quad": {"clist", "quad set", "ip set"},
    "int": {"int set", "bgppath"},
    "pair": {"pair set", "clist"},
    "lc": {"lc set", "lclist"},
    "ec": {"ec set", "eclist"},
    "string": {"string"},
    "bgppath": {"bgpmask", "int set"},
    "clist": {"pair set", "quad set", "clist"},
    "eclist": {"ec set", "eclist"},
    "lclist": {"lc set", "lclist"},
}


def static_type(p: ExprParser, node: ast.Node) -> str | None:
    """The type of an expression if it is known at load time."""
    if isinstance(node, ast.Const):
        return node.type
    if isinstance(node, ast.Attr):
        if node.name == "bgp_origin":
            return None  # reads as int in BIRD 1.6.8, written as an enum
        info = attr_lookup(node.name)
        return info[0] if info else None
    if isinstance(node, ast.Var):
        if p._locals is not None and node.name in p._locals:
            return p._locals[node.name][1]
        return None
    if isinstance(node, ast.Binary):
        if node.op in ("+", "-", "*", "/"):
            return "int"
        return "bool"
    if isinstance(node, ast.Unary):
        return "bool"
    if isinstance(node, ast.Method):
        if node.name == "ip":
            return "ip"
        if node.name == "mask":
            return "ip"
        return _METHOD_TYPES.get(node.name)
    if isinstance(node, ast.Builtin):
        if node.name == "defined":
            return "bool"
        return static_type(p, node.args[0])
    if isinstance(node, ast.Tuple):
        return "pair" if len(node.items) == 2 else "lc"
    if isinstance(node, ast.ECCons):
        return "ec"
    if isinstance(node, ast.MaskCons):
        return "bgpmask"
    return None


def _compatible(want: str, got: str) -> bool:
    if want == got:
        return True
    return {want, got} <= {"ip", "quad"}


def check_assign(p: ExprParser, want: str, value: ast.Node, tok: Token) -> None:
    got = static_type(p, value)
    if got is None or want == "void":
        return
    if not _compatible(want, got):
        p.error(f"wrong type: cannot assign {got} to {want}", tok)


def check_cond(p: ExprParser, cond: ast.Node, tok: Token) -> None:
    got = static_type(p, cond)
    if got is not None and got != "bool":
        p.error(f"wrong type: condition must be bool, got {got}", tok)


def check_binary(p: ExprParser, op: str, left: ast.Node, right: ast.Node, tok: Token) -> None:
    lt = static_type(p, left)
    rt = static_type(p, right)
    if lt is None or rt is None:
        return
    if op in ("+", "-", "*", "/"):
        if lt != "int" or rt != "int":
            p.error(f"wrong type: '{op}' needs int operands, got {lt} and {rt}", tok)
    elif op in ("&&", "||"):
        if lt != "bool" or rt != "bool":
            p.error(f"wrong type: '{op}' needs bool operands, got {lt} and {rt}", tok)
    elif op in ("~", "!~"):
        ok = _MATCH.get(lt, set())
        if lt == "ip":
            ok = ok | {"clist"}
        if rt not in ok:
            p.error(f"wrong type: cannot match {lt} against {rt}", tok)
    elif op not in ("=", "!=") and not _compatible(lt, rt):
        # '=' and '!=' on different types are just false/true in BIRD 1.6
        p.error(f"wrong type: cannot compare {lt} and {rt}", tok)
