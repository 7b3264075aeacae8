"""Recursive-descent parser of BIRD 1.x filter code (filters, functions,
expressions, ``where`` clauses) into :mod:`bgplab.filters.ast`.
Split by responsibility: :mod:`bgplab.filters.parser_expr` (expressions,
symbols), :mod:`bgplab.filters.parser_sets` (set and mask literals) and this
module (definitions, statements); the config parser extends
:class:`FilterParser`.
"""

from __future__ import annotations

from typing import Any

from bgplab.config.cursor import OP, SYM
from bgplab.config.lexer import Token
from bgplab.filters import ast
from bgplab.filters.attributes import lookup as attr_lookup
from bgplab.filters.parser_sets import SetParser
from bgplab.filters.typecheck import check_assign, check_cond
from bgplab.filters.values import EC

TYPES = (
    "int", "bool", "ip", "prefix", "pair", "quad", "ec", "lc", "string", "bgpmask",
    "bgppath", "clist", "eclist", "lclist",
)  # fmt: skip


class FilterParser(SetParser):
    """Filter-language productions; the config parser extends this class."""

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
            name = self.expect_symbol()
            if name in into:
                self.error("Symbol already defined", nt)
            into[name] = (len(into), typ)
            out.append((typ, name))
            self.expect_op(";")
        return tuple(out)

    def parse_function(self, start: Token) -> ast.FunctionDef:
        """After ``function``: ``name ( params ) locals { body }``."""
        nt = self.tok
        name = self.expect_symbol()
        self.check_new_symbol(name, nt)
        scope: dict[str, tuple[int, str]] = {}
        params = []
        self.expect_op("(")
        if not self.at_op(")"):
            while True:
                typ = self.parse_type()
                pt = self.tok
                pname = self.expect_symbol()
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


__all__ = ["FilterParser", "TYPES", "EC"]
