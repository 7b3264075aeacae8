"""Recursive-descent parser of BIRD 1.x filter code (filters, functions,
expressions, ``where`` clauses) into :mod:`bgplab.filters.ast`.

Operator precedence follows BIRD 1.6's grammar (checked against its
``eval``): ``&&`` and ``||`` share one left-associative level below the
comparisons, so ``true || false && x`` means ``(true || false) && x``;
``!`` binds tighter than ``=`` (``!a = b`` is ``(!a) = b``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bgplab import net as netmod
from bgplab.config.cursor import IP, NUM, OP, STR, SYM, TokenCursor
from bgplab.config.lexer import Token
from bgplab.filters import ast
from bgplab.filters.attributes import lookup as attr_lookup
from bgplab.filters.typecheck import check_assign, check_binary, check_cond, static_type
from bgplab.filters.values import (
    EC,
    ENUM_CONSTANTS,
    MASK_ANY,
    MASK_ONE,
    FilterRuntimeError,
    PathMask,
    Prefix,
    PrefixSet,
    ValueSet,
    type_name,
)

TYPES = (
    "int", "bool", "ip", "prefix", "pair", "quad", "ec", "lc", "string", "bgpmask",
    "bgppath", "clist", "eclist", "lclist",
)  # fmt: skip

_CMP_OPS = ("=", "!=", "<", "<=", ">", ">=", "~", "!~", "&&", "||")
_BUILTINS = ("defined", "prepend", "add", "delete", "filter", "unset")


class FilterParser(TokenCursor):
    """Filter-language productions; the config parser extends this class."""

    def __init__(self, tokens: list[Token], lines: dict[str, list[str]]) -> None:
        super().__init__(tokens, lines)
        self.constants: dict[str, ast.Const] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        self.filter_defs: dict[str, ast.FilterDef] = {}
        self._locals: dict[str, tuple[int, str]] | None = None
        self._calls: list[str] = []

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

    def parse_type(self) -> str:
        t = self.tok
        if t.kind != SYM or t.value not in TYPES:
            self.unexpected()
        self.next()
        name = str(t.value)
        if self.accept_sym("set"):
            if name not in ("int", "pair", "quad", "ip", "prefix", "ec", "lc"):
                self.error(f"{name} set is not a valid type", t)
            return f"{name} set"
        return name

    # ---- definitions ----------------------------------------------------
    def parse_var_decls(self, into: dict[str, tuple[int, str]]) -> tuple[tuple[str, str], ...]:
        """``type name; type name; …`` before a function/filter body."""
        out = []
        while self.tok.kind == SYM and self.tok.value in TYPES:
            typ = self.parse_type()
            nt = self.tok
            name = self.expect_name()
            if name in into:
                self.error("Symbol already defined", nt)
            into[name] = (len(into), typ)
            out.append((typ, name))
            self.expect_op(";")
        return tuple(out)

    def parse_function(self, start: Token) -> ast.FunctionDef:
        """After ``function``: ``name ( params ) locals { body }``."""
        nt = self.tok
        name = self.expect_name()
        self.check_new_symbol(name, nt)
        scope: dict[str, tuple[int, str]] = {}
        params = []
        self.expect_op("(")
        if not self.at_op(")"):
            while True:
                typ = self.parse_type()
                pt = self.tok
                pname = self.expect_name()
                if pname in scope:
                    self.error("Symbol already defined", pt)
                scope[pname] = (len(scope), typ)
                params.append((typ, pname))
                # BIRD 1.6 separates parameters with ';' (2.x with ','): take both
                if not (self.accept_op(";") or self.accept_op(",")):
                    break
        self.expect_op(")")
        local_vars = self.parse_var_decls(scope)
        body, calls = self._parse_body(scope, recursive_name=name)
        fn = ast.FunctionDef(name, tuple(params), local_vars, body, calls, **self._pos(start))
        self.functions[name] = fn
        return fn

    def parse_filter_def(self, start: Token, name: str | None) -> ast.FilterDef:
        """After ``filter name`` (or ``filter`` inline): ``locals { body }``."""
        scope: dict[str, tuple[int, str]] = {}
        local_vars = self.parse_var_decls(scope)
        body, calls = self._parse_body(scope)
        return ast.FilterDef(name, local_vars, body, calls, **self._pos(start))

    def where_filter(self, start: Token) -> ast.FilterDef:
        """``where EXPR``: accept when true, reject otherwise."""
        saved, self._locals = self._locals, {}
        self._calls = []
        try:
            cond = self.parse_expr()
        finally:
            self._locals = saved
        self.check_bool(cond, start)
        pos = self._pos(start)
        body = ast.Block((ast.If(cond, ast.Accept(**pos), ast.Reject(**pos), **pos),), **pos)
        return ast.FilterDef(None, (), body, tuple(self._calls), **pos)

    def _parse_body(
        self, scope: dict[str, tuple[int, str]], recursive_name: str | None = None
    ) -> tuple[ast.Block, tuple[str, ...]]:
        saved, self._locals = self._locals, scope
        self._calls = []
        self._recursive_name = recursive_name
        try:
            body = self.parse_block()
        finally:
            self._locals = saved
            self._recursive_name = None
        calls = tuple(dict.fromkeys(self._calls))
        return body, calls

    def check_new_symbol(self, name: str, tok: Token) -> None:
        if name in self.constants or name in self.functions or name in self.filter_defs:
            self.error("Symbol already defined", tok)

    # ---- statements -----------------------------------------------------
    def parse_block(self) -> ast.Block:
        start = self.expect_op("{")
        body = []
        while not self.at_op("}"):
            if self.at_eof():
                self.unexpected()
            st = self.parse_stmt()
            if st is not None:
                body.append(st)
        self.expect_op("}")
        return ast.Block(tuple(body), **self._pos(start))

    def parse_cmd(self) -> ast.Node:
        """A statement or a ``{ … }`` block (after then/else)."""
        if self.at_op("{"):
            return self.parse_block()
        st = self.parse_stmt()
        if st is None:
            return ast.Block((), **self._pos(self.tok))
        return st

    def parse_stmt(self) -> ast.Node | None:
        t = self.tok
        pos = self._pos(t)
        if self.accept_op(";"):
            return None
        if t.kind == OP and t.value == "{":
            return self.parse_block()
        if t.kind != SYM:
            self.unexpected()
        word = str(t.value)
        if word == "if":
            self.next()
            cond = self.parse_expr()
            self.check_bool(cond, t)
            self.expect_sym("then")
            then = self.parse_cmd()
            other = None
            if self.accept_sym("else"):
                other = self.parse_cmd()
            return ast.If(cond, then, other, **pos)
        if word in ("accept", "reject"):
            self.next()
            msg = None if self.at_op(";") else self.parse_expr()
            self.expect_op(";")
            return ast.Accept(msg, **pos) if word == "accept" else ast.Reject(msg, **pos)
        if word == "return":
            self.next()
            val = None if self.at_op(";") else self.parse_expr()
            self.expect_op(";")
            return ast.Return(val, **pos)
        if word in ("print", "printn"):
            self.next()
            args = [self.parse_expr()]
            while self.accept_op(","):
                args.append(self.parse_expr())
            self.expect_op(";")
            return ast.Print(tuple(args), word == "print", **pos)
        if word == "quitbird":
            self.error("quitbird is not supported", t)
        if word == "case":
            return self.parse_case()
        if word == "unset" and self.peek().kind == OP and self.peek().value == "(":
            self.next()
            self.expect_op("(")
            at = self.tok
            name = self.expect_name()
            if attr_lookup(name) is None:
                self.error(f"{name} is not a route attribute", at)
            self.expect_op(")")
            self.expect_op(";")
            return ast.Unset(name, **pos)
        nxt = self.peek()
        if nxt.kind == OP and nxt.value == "=":
            return self.parse_assign()
        if nxt.kind == OP and nxt.value == "." and attr_lookup(word) is not None:
            return self.parse_attr_method()
        expr = self.parse_expr()
        if not isinstance(expr, ast.Call):
            self.unexpected()
        self.expect_op(";")
        return ast.ExprStmt(expr, **pos)

    def parse_assign(self) -> ast.Node:
        t = self.next()
        name = str(t.value)
        pos = self._pos(t)
        self.expect_op("=")
        value = self.parse_expr()
        self.expect_op(";")
        if self._locals is not None and name in self._locals:
            idx, typ = self._locals[name]
            target: ast.Node = ast.Var(name, idx, **pos)
            check_assign(self, typ, value, t)
        else:
            info = attr_lookup(name)
            if info is None:
                self.error("You may set only variables.", t)
            if not info[1]:
                self.error(f"Attribute {name} is read-only", t)
            target = ast.Attr(name, **pos)
            check_assign(self, info[0], value, t)
        return ast.Assign(target, value, **pos)

    def parse_attr_method(self) -> ast.Node:
        """``bgp_path.prepend(x);``, ``bgp_community.add(x);``, ``C.empty;``"""
        t = self.next()
        name = str(t.value)
        pos = self._pos(t)
        self.expect_op(".")
        mt = self.tok
        method = self.expect_name()
        typ = attr_lookup(name)
        assert typ is not None
        if method == "empty":
            self.expect_op(";")
            if typ[0] not in ("clist", "eclist", "lclist", "bgppath"):
                self.error(f"{name} can't be emptied", mt)
            return ast.Unset(name, empty=True, **pos)
        if method not in ("prepend", "add", "delete", "filter"):
            self.unexpected(mt)
        self.expect_op("(")
        arg = self.parse_expr()
        self.expect_op(")")
        self.expect_op(";")
        if method == "prepend" and typ[0] != "bgppath":
            self.error(f"Can't prepend to {name}", mt)
        if method == "add" and typ[0] == "bgppath":
            self.error("Can't add to a path", mt)
        attr = ast.Attr(name, **pos)
        return ast.Assign(attr, ast.Builtin(method, (attr, arg), **pos), **pos)

    def parse_case(self) -> ast.Node:
        t = self.next()
        pos = self._pos(t)
        subject = self.parse_expr()
        self.expect_op("{")
        arms: list[tuple[Any, ast.Node]] = []
        default: ast.Node | None = None
        while not self.at_op("}"):
            at = self.tok
            if self.accept_sym("else"):
                self.expect_op(":")
                default = self._case_body(at)
                continue
            items = [self.parse_set_item()]
            while self.accept_op(","):
                items.append(self.parse_set_item())
            self.expect_op(":")
            arms.append((self._make_set(items, at), self._case_body(at)))
        self.expect_op("}")
        return ast.Case(subject, tuple(arms), default, **pos)

    def _case_body(self, at: Token) -> ast.Block:
        body = []
        while not self.at_op("}") and not self._at_case_label():
            st = self.parse_stmt()
            if st is not None:
                body.append(st)
        return ast.Block(tuple(body), **self._pos(at))

    def _at_case_label(self) -> bool:
        """Is the next thing ``else:`` or ``VALUE[..VALUE], …:``? Scan ahead
        for a ':' before a ';' or '{' at depth zero."""
        if self.at_sym("else"):
            return True
        k = self.pos
        depth = 0
        while k < len(self.toks):
            tk = self.toks[k]
            if tk.kind == OP:
                if tk.value in ("(", "["):
                    depth += 1
                elif tk.value in (")", "]"):
                    depth -= 1
                elif depth == 0 and tk.value in (";", "{", "}"):
                    return False
                elif depth == 0 and tk.value == ":":
                    return True
            elif tk.kind == "eof":
                return False
            k += 1
        return False

    def check_bool(self, cond: ast.Node, tok: Token) -> None:
        check_cond(self, cond, tok)

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

    # ---- sets and masks -------------------------------------------------
    def parse_set(self) -> ast.Node:
        t = self.expect_op("[")
        items = []
        if not self.at_op("]"):
            items.append(self.parse_set_item())
            while self.accept_op(","):
                items.append(self.parse_set_item())
        self.expect_op("]")
        value = self._make_set(items, t)
        return ast.Const(value, type_name(value), **self._pos(t))

    def parse_set_item(self) -> tuple[str, Any, Any]:
        """One element of a set literal: ("prefix", net, (lo, hi)),
        ("range", lo, hi) or ("comp", parts, None) for pair patterns."""
        t = self.tok
        if t.kind == IP and self.peek().kind == OP and self.peek().value == "/":
            self.next()
            n = self.parse_prefix_after_ip(t)
            plen = n & 0xFF
            w = netmod.width(n)
            lo, hi = plen, plen
            if self.accept_op("+"):
                hi = w
            elif self.accept_op("-"):
                lo = 0
            elif self.at_op("{"):
                bt = self.next()
                lo = self.expect_num()
                self.expect_op(",")
                hi = self.expect_num()
                self.expect_op("}")
                if not (lo <= hi <= w):
                    self.error(f"Invalid prefix pattern range: {{{lo}, {hi}}}.", bt)
            return ("prefix", n, (lo, hi))
        if t.kind == OP and t.value == "(" and not self._paren_is_plain_expr():
            first = self._parse_pair_pattern()
            if not self.accept_op(".."):
                return first
            last = self._parse_pair_pattern()
            if first[0] != "comp" or last[0] != "comp" or len(first[1]) != len(last[1]):
                self.error("Mixed types in set", t)
            if any(lo != hi for lo, hi in first[1] + last[1]):
                self.error("syntax error, a range needs two single values", t)
            return ("range", tuple(lo for lo, _ in first[1]), tuple(lo for lo, _ in last[1]))
        lo = self._const_value(self.parse_sum(), t)
        hi = lo
        if self.accept_op(".."):
            hi = self._const_value(self.parse_sum(), self.tok)
        return ("range", lo, hi)

    def _paren_is_plain_expr(self) -> bool:
        """``(1+2)`` is an expression, ``(1,2)`` / ``(rt, 1, 2)`` a tuple."""
        depth = 0
        k = self.pos
        while k < len(self.toks):
            tk = self.toks[k]
            if tk.kind == OP and tk.value in ("(", "["):
                depth += 1
            elif tk.kind == OP and tk.value in (")", "]"):
                depth -= 1
                if depth == 0:
                    return True
            elif tk.kind == OP and tk.value == "," and depth == 1:
                return False
            k += 1
        return True

    def _parse_pair_pattern(self) -> tuple[str, Any, Any]:
        t = self.expect_op("(")
        ec_kind = None
        if self.at_sym("rt", "ro", "generic"):
            ec_kind = str(self.next().value)
            self.expect_op(",")
        parts: list[tuple[int, int]] = []
        while True:
            if self.accept_op("*"):
                parts.append((0, -1))  # filled in below
            else:
                lo = self._const_value(self.parse_sum(), self.tok)
                hi = lo
                if self.accept_op(".."):
                    hi = self._const_value(self.parse_sum(), self.tok)
                parts.append((lo, hi))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        if ec_kind is not None:
            if len(parts) != 2 or parts[0] == (0, -1):
                self.error("EC set with a wildcard key is not supported", t)
            vmax = 0xFFFFFFFF if parts[0][1] <= 0xFFFF else 0xFFFF
            value = (0, vmax) if parts[1] == (0, -1) else parts[1]
            return ("ec", ec_kind, (parts[0], value))
        if len(parts) == 2:
            limit = 0xFFFF
        elif len(parts) == 3:
            limit = 0xFFFFFFFF
        else:
            self.error("syntax error, a pair has two parts, a large community three", t)
        full = tuple((0, limit) if p == (0, -1) else p for p in parts)
        for lo, hi in full:
            if not (0 <= lo <= limit and 0 <= hi <= limit):
                bad = lo if not 0 <= lo <= limit else hi
                self.error(f"Value {bad} out of range (0-{limit})", t)
        return ("comp", full, None)

    def _const_value(self, node: ast.Node, tok: Token) -> Any:
        from bgplab.filters.compiler import NotConstant, eval_const

        try:
            return eval_const(node)
        except NotConstant:
            self.error("Constant expression required in set", tok)
        except FilterRuntimeError as exc:
            self.error(str(exc), tok)

    def _make_set(self, items: list[tuple[str, Any, Any]], tok: Token) -> Any:
        kinds = {it[0] for it in items}
        if not items:
            return ValueSet.build("int", [])
        if kinds == {"prefix"}:
            return PrefixSet(tuple((n, lo, hi) for _k, n, (lo, hi) in items))
        if "prefix" in kinds:
            self.error("Mixed types in set", tok)
        ranges: list[tuple[Any, Any]] = []
        elem_types = set()
        for kind, a, b in items:
            if kind == "range":
                ta, tb = type_name(a), type_name(b)
                if ta != tb:
                    self.error("Mixed types in set", tok)
                if isinstance(a, Prefix):
                    ranges.append((a, a))
                    elem_types.add("prefix")
                    continue
                ranges.append((a, b))
                elem_types.add("quad" if ta == "ip" else ta)
            elif kind == "comp" and len(a) == 2:
                elem_types.add("pair")
                (fa, ta), (fb, tb) = a
                if fa == ta or (fb, tb) == (0, 0xFFFF):
                    ranges.append(((fa, fb), (ta, tb)))
                else:
                    # BIRD expands a range in the first part into one
                    # interval per value: (*, 4..20) is 65536 intervals.
                    ranges.extend(((i, fb), (i, tb)) for i in range(fa, ta + 1))
            elif kind == "comp":
                elem_types.add("lc")
                k = next((i for i, (lo, hi) in enumerate(a) if lo != hi), len(a))
                if any(p != (0, 0xFFFFFFFF) for p in a[k + 1 :]):
                    self.error("Invalid LC set: after a range, only wildcards may follow", tok)
                ranges.append((tuple(lo for lo, _ in a), tuple(hi for _, hi in a)))
            else:  # ec pattern
                elem_types.add("ec")
                (klo, khi), (vlo, vhi) = b
                if klo != khi:
                    self.error("EC set with a key range is not supported", tok)
                from bgplab.filters.compiler import make_ec

                try:
                    ranges.append((make_ec(a, klo, vlo), make_ec(a, klo, vhi)))
                except FilterRuntimeError as exc:
                    self.error(str(exc), tok)
        if len(elem_types) != 1:
            self.error("Mixed types in set", tok)
        return ValueSet.build(elem_types.pop(), ranges)

    def parse_mask(self) -> ast.Node:
        t = self.expect_op("[=")
        items: list[Any] = []
        dynamic = False
        while not self.at_op("=]"):
            if self.accept_op("*"):
                items.append(MASK_ANY)
            elif self.accept_op("?"):
                items.append(MASK_ONE)
            elif self.tok.kind == NUM:
                lo = int(self.next().value)
                hi = lo
                if self.accept_op(".."):
                    hi = self.expect_num()
                items.append((lo, hi))
            elif self.at_op("(") or self.tok.kind == SYM:
                e = self.parse_term() if self.tok.kind == SYM else self.parse_paren()
                try:
                    from bgplab.filters.compiler import NotConstant, eval_const

                    v = eval_const(e)
                    items.append((v, v))
                except NotConstant:
                    items.append(e)
                    dynamic = True
            else:
                self.unexpected()
        self.expect_op("=]")
        pos = self._pos(t)
        if dynamic:
            return ast.MaskCons(tuple(items), **pos)
        return ast.Const(PathMask(tuple(items)), "bgpmask", **pos)


def _empty(typ: str) -> Any:
    from bgplab.filters.values import CList, ECList, LCList

    return {"clist": CList(), "eclist": ECList(), "lclist": LCList()}[typ]


__all__ = ["FilterParser", "TYPES", "EC"]
