"""Expressions of BIRD 1.x filter code, and the symbols they resolve against.

Operator precedence follows BIRD 1.6's grammar (checked against its
``eval``): ``&&`` and ``||`` share one left-associative level below the
comparisons, so ``true || false && x`` means ``(true || false) && x``;
``!`` binds tighter than ``=`` (``!a = b`` is ``(!a) = b``).

Set literals and path masks are :mod:`bgplab.filters.parser_sets`;
definitions and statements :mod:`bgplab.filters.parser`.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from bgplab import net as netmod
from bgplab.config.cursor import IP, NUM, OP, STR, SYM, TokenCursor
from bgplab.config.lexer import Token
from bgplab.filters import ast
from bgplab.filters.attributes import lookup as attr_lookup
from bgplab.filters.typecheck import check_assign, check_binary, static_type
from bgplab.filters.values import ENUM_CONSTANTS, FilterRuntimeError, Prefix, type_name

_CMP_OPS = ("=", "!=", "<", "<=", ">", ">=", "~", "!~", "&&", "||")
_BUILTINS = ("defined", "prepend", "add", "delete", "filter", "unset")


class ExprParser(TokenCursor):
    """Expression productions and the symbol tables (constants, functions,
    the current scope's locals) they look names up in."""

    def __init__(self, tokens: list[Token], lines: dict[str, list[str]]) -> None:
        super().__init__(tokens, lines)
        self.constants: dict[str, ast.Const] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        self.filter_defs: dict[str, ast.FilterDef] = {}
        self._locals: dict[str, tuple[int, str]] | None = None
        self._calls: list[str] = []

    if TYPE_CHECKING:
        # Literals of bgplab.filters.parser_sets (a subclass).

        def parse_set(self) -> ast.Node: ...

        def parse_mask(self) -> ast.Node: ...

    # ---- helpers --------------------------------------------------------
    def _pos(self, tok: Token) -> dict[str, Any]:
        return {"line": tok.line, "file": tok.file, "text": self.line_text(tok)}

    def parse_ip(self, tok: Token) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        text = str(tok.value)
        try:
            if ":" in text:
                return ipaddress.IPv6Address(text.split("%")[0])
            return ipaddress.IPv4Address(text)
        except ValueError:
            self.error(f"Invalid IPv{6 if ':' in text else 4} address {tok.value}", tok)

    def parse_prefix_after_ip(self, iptok: Token) -> int:
        """``IP '/' (NUM | IP-netmask)`` with the IP already consumed."""
        ip = self.parse_ip(iptok)
        self.expect_op("/")
        t = self.next()
        if t.kind == NUM:
            plen = int(t.value)
        elif t.kind == IP and ip.version == 4:
            mask = int(self.parse_ip(t))
            plen = bin(mask).count("1")
            if mask != ((1 << 32) - 1) ^ ((1 << (32 - plen)) - 1):
                self.error(f"Invalid netmask {t.value}", t)
        else:
            self.unexpected(t)
        try:
            return netmod.parse(f"{ip}/{plen}")
        except netmod.PrefixError:
            self.error(f"Invalid network prefix: {ip}/{plen}.", iptok)

    # ---- expressions ----------------------------------------------------
    def parse_expr(self) -> ast.Node:
        """``&&`` and ``||``: one left-associative level, below comparisons."""
        left = self.parse_cmp()
        while self.at_op("&&", "||"):
            t = self.next()
            right = self.parse_cmp()
            check_binary(self, str(t.value), left, right, t)
            left = ast.Binary(str(t.value), left, right, **self._pos(t))
        return left

    def parse_cmp(self) -> ast.Node:
        """Comparisons and ``~`` do not chain (BIRD: nonassoc)."""
        left = self.parse_sum()
        if self.tok.kind == OP and self.tok.value in _CMP_OPS[:8]:
            t = self.next()
            right = self.parse_sum()
            check_binary(self, str(t.value), left, right, t)
            left = ast.Binary(str(t.value), left, right, **self._pos(t))
        return left

    def parse_sum(self) -> ast.Node:
        left = self.parse_product()
        while self.at_op("+", "-"):
            t = self.next()
            right = self.parse_product()
            check_binary(self, str(t.value), left, right, t)
            left = ast.Binary(str(t.value), left, right, **self._pos(t))
        return left

    def parse_product(self) -> ast.Node:
        left = self.parse_unary()
        while self.at_op("*", "/"):
            t = self.next()
            right = self.parse_unary()
            check_binary(self, str(t.value), left, right, t)
            left = ast.Binary(str(t.value), left, right, **self._pos(t))
        return left

    def parse_unary(self) -> ast.Node:
        if self.at_op("!"):
            t = self.next()
            arg = self.parse_unary()
            typ = static_type(self, arg)
            if typ is not None and typ != "bool":
                self.error(f"wrong type: '!' needs bool, got {typ}", t)
            return ast.Unary("!", arg, **self._pos(t))
        return self.parse_postfix()

    def parse_postfix(self) -> ast.Node:
        e = self.parse_term()
        while self.at_op("."):
            self.next()
            mt = self.tok
            m = self.expect_name()
            args: tuple[ast.Node, ...] = ()
            if m == "mask":
                self.expect_op("(")
                args = (self.parse_expr(),)
                self.expect_op(")")
            elif m not in ("len", "first", "last", "last_nonaggregated", "ip", "empty"):
                self.unexpected(mt)
            e = ast.Method(e, m, args, **self._pos(mt))
        return e

    def parse_term(self) -> ast.Node:
        t = self.tok
        pos = self._pos(t)
        if t.kind == NUM:
            self.next()
            return ast.Const(int(t.value), "int", **pos)
        if t.kind == STR:
            self.next()
            return ast.Const(str(t.value), "string", **pos)
        if t.kind == IP:
            self.next()
            if self.at_op("/"):
                return ast.Const(Prefix(self.parse_prefix_after_ip(t)), "prefix", **pos)
            return ast.Const(self.parse_ip(t), "ip", **pos)
        if t.kind == OP:
            if t.value == "(":
                return self.parse_paren()
            if t.value == "[":
                return self.parse_set()
            if t.value == "[=":
                return self.parse_mask()
            if t.value == "-" and self.peek().kind == SYM and self.peek().value == "empty":
                self.next()
                self.next()
                self.expect_op("-")
                return ast.Const(_empty("clist"), "clist", **pos)
            self.unexpected()
        if t.kind != SYM:
            self.unexpected()
        name = str(t.value)
        nxt = self.peek()
        if name in ("true", "false"):
            self.next()
            return ast.Const(name == "true", "bool", **pos)
        if self._locals is not None and name in self._locals:
            self.next()
            return ast.Var(name, self._locals[name][0], **pos)
        if name in self.constants:
            self.next()
            c = self.constants[name]
            return ast.Const(c.value, c.type, **pos)
        if name in ENUM_CONSTANTS:
            self.next()
            v = ENUM_CONSTANTS[name]
            return ast.Const(v, type_name(v), **pos)
        if nxt.kind == OP and nxt.value == "(":
            if name in _BUILTINS and name != "unset":
                return self.parse_builtin()
            if name == "roa_check":
                self.error("roa_check is not supported", t)
            return self.parse_call()
        if attr_lookup(name) is not None:
            self.next()
            return ast.Attr(name, **pos)
        self.error(f"{name}: variable expected.", t)

    def parse_builtin(self) -> ast.Node:
        t = self.next()
        pos = self._pos(t)
        name = str(t.value)
        self.expect_op("(")
        if name == "defined":
            at = self.tok
            arg = self.parse_expr()
            if not isinstance(arg, ast.Attr | ast.Var):
                self.error("defined() needs an attribute", at)
            self.expect_op(")")
            return ast.Builtin(name, (arg,), **pos)
        a = self.parse_expr()
        self.expect_op(",")
        b = self.parse_expr()
        self.expect_op(")")
        return ast.Builtin(name, (a, b), **pos)

    def parse_call(self) -> ast.Node:
        t = self.next()
        name = str(t.value)
        fn = self.functions.get(name)
        if fn is None:
            if name == getattr(self, "_recursive_name", None):
                self.error("Recursion is not allowed", t)
            self.error("You can't call something which is not a function. Really.", t)
        self.expect_op("(")
        args: list[ast.Node] = []
        if not self.at_op(")"):
            args.append(self.parse_expr())
            while self.accept_op(","):
                args.append(self.parse_expr())
        self.expect_op(")")
        if len(args) != len(fn.params):
            self.error(f"Function {name} takes {len(fn.params)} arguments, {len(args)} given", t)
        for (ptype, _pname), arg in zip(fn.params, args):
            check_assign(self, ptype, arg, t)
        self._calls.append(name)
        return ast.Call(name, tuple(args), **self._pos(t))

    def parse_paren(self) -> ast.Node:
        t = self.expect_op("(")
        pos = self._pos(t)
        if (
            self.at_sym("rt", "ro", "generic")
            and self.peek().kind == OP
            and self.peek().value == ","
        ):
            kind = str(self.next().value)
            self.expect_op(",")
            key = self.parse_expr()
            self.expect_op(",")
            val = self.parse_expr()
            self.expect_op(")")
            return self._fold(ast.ECCons(kind, key, val, **pos))
        first = self.parse_expr()
        if self.accept_op(")"):
            return first
        items = [first]
        while self.accept_op(","):
            items.append(self.parse_expr())
        self.expect_op(")")
        if len(items) not in (2, 3):
            self.error("syntax error, a pair has two parts, a large community three", t)
        for it in items:
            typ = static_type(self, it)
            if typ is not None and typ != "int":
                self.error(f"wrong type: pair/lc parts must be int, got {typ}", t)
        return self._fold(ast.Tuple(tuple(items), **pos))

    def _fold(self, node: ast.Node) -> ast.Node:
        """Evaluate constant pairs/LCs/ECs now (BIRD does; range errors show
        at load time, e.g. ``Value 70000 out of range (0-65535)``)."""
        from bgplab.filters.compiler import NotConstant, eval_const

        try:
            v = eval_const(node)
        except NotConstant:
            return node
        except FilterRuntimeError as exc:
            self.error(str(exc), self.toks[self.pos - 1])
        return ast.Const(v, type_name(v), line=node.line, file=node.file, text=node.text)


def _empty(typ: str) -> Any:
    from bgplab.filters.values import CList, ECList, LCList

    return {"clist": CList(), "eclist": ECList(), "lclist": LCList()}[typ]
