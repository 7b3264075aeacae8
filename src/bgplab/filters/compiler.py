"""Compile filter syntax trees into Python closures, once, at load time.

Every expression becomes ``f(ctx) -> value`` and every statement
``s(ctx) -> code`` (``None`` = go on, or ACCEPT/REJECT/RETURN), so running a
filter on a route is a chain of direct calls with no tree walking. Frequent
shapes (``net ~ 10.0.0.0/8``, ``net ~ [set]``, ``net = P``) get
specialised closures.

These closures are the reference: traced runs and every run the generated
fast path (:mod:`bgplab.filters.codegen`) hands back go through them. The
value operations both share are module-level functions (``builtin_value``,
``method_value``, ``bgp_value``, …, re-exported here), so the two paths
cannot drift apart in what an operation means.

The parts: :mod:`bgplab.filters.runtime` (the run state, result codes),
:mod:`bgplab.filters.operations` (the value operations),
:mod:`bgplab.filters.attr_access` (attribute getters and setters) and this
module (statements and expressions to closures, ``eval_const``).
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from bgplab import net as netmod
from bgplab.filters import ast
from bgplab.filters.attr_access import (
    _ATTR_FIELD,
    attr_getter,
    attr_setter,
    attr_unsetter,
    bgp_value,
)

# codegen reads these private helpers as ``compiler._x``; kept importable here.
from bgplab.filters.attr_access import _check as _check
from bgplab.filters.attr_access import _ip as _ip
from bgplab.filters.attributes import BGP_ATTRS
from bgplab.filters.operations import (
    _int,
    _tuple,
    arith,
    build_mask,
    builtin_value,
    case_hit,
    compare_eq,
    compare_order,
    ip_mask,
    make_ec,
    mask_parts,
    match,
    method_value,
)
from bgplab.filters.runtime import (
    ACCEPT,
    REJECT,
    RETURN,
    Ctx,
    Done,
    Expr,
    NotConstant,
    Stmt,
    route_of,
)
from bgplab.filters.values import (
    BgpPath,
    CList,
    ECList,
    FilterRuntimeError,
    LCList,
    Prefix,
    PrefixSet,
    _CListBase,
    fmt,
    type_name,
)

# Re-exported: callers import the run state and the operations from here.
__all__ = [
    "ACCEPT",
    "REJECT",
    "RETURN",
    "Compiler",
    "Ctx",
    "Done",
    "Expr",
    "NotConstant",
    "Stmt",
    "arith",
    "attr_getter",
    "attr_setter",
    "attr_unsetter",
    "bgp_value",
    "build_mask",
    "builtin_value",
    "case_hit",
    "compare_eq",
    "compare_order",
    "eval_const",
    "ip_mask",
    "make_ec",
    "mask_parts",
    "match",
    "method_value",
]

log = logging.getLogger("bgplab.filters")

# ---- compiler ----------------------------------------------------------------


class Compiler:
    """Compiles one configuration's functions and filters; functions are
    compiled once and shared by every filter that calls them."""

    def __init__(self, functions: dict[str, ast.FunctionDef] | None = None) -> None:
        self.defs = functions if functions is not None else {}
        self.compiled: dict[str, tuple[Stmt, int, int]] = {}

    def function(self, name: str) -> tuple[Stmt, int, int]:
        """(body, number of params, frame size)."""
        got = self.compiled.get(name)
        if got is None:
            fn = self.defs[name]
            body = self.stmt(fn.body)
            got = (body, len(fn.params), len(fn.params) + len(fn.local_vars))
            self.compiled[name] = got
        return got

    # -- statements -----------------------------------------------------------
    def stmt(self, node: ast.Node) -> Stmt:
        inner = self._stmt(node)
        if isinstance(node, ast.Block):
            return inner
        line, text = node.line, node.text

        def guarded(c: Ctx) -> int | None:
            try:
                return inner(c)
            except (FilterRuntimeError, NotConstant, Done):
                raise
            except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
                raise FilterRuntimeError(f"line {line}: {text}: {exc}") from None

        return guarded

    def _stmt(self, node: ast.Node) -> Stmt:
        if isinstance(node, ast.Block):
            body = [self.stmt(s) for s in node.body]
            if len(body) == 1:
                return body[0]

            def block(c: Ctx) -> int | None:
                for s in body:
                    r = s(c)
                    if r:
                        return r
                return None

            return block
        if isinstance(node, ast.If):
            cond = self.expr(node.cond)
            then = self.stmt(node.then)
            other = self.stmt(node.other) if node.other is not None else None
            line, text = node.line, node.text

            def if_(c: Ctx) -> int | None:
                v = cond(c)
                if v is not True and v is not False:
                    raise FilterRuntimeError(f"If requires bool expression, got {type_name(v)}")
                if c.trace is not None:
                    c.trace.append((line, f"{text} -> {'true' if v else 'false'}"))
                if v:
                    return then(c)
                if other is not None:
                    return other(c)
                return None

            return if_
        if isinstance(node, ast.Accept | ast.Reject):
            code = ACCEPT if isinstance(node, ast.Accept) else REJECT
            msg = self.expr(node.msg) if node.msg is not None else None
            line, text = node.line, node.text

            def decide(c: Ctx) -> int | None:
                if msg is not None:
                    m = msg(c)
                    log.info("%s", fmt(m))
                    c.prints.append(fmt(m))
                if c.trace is not None:
                    c.trace.append((line, text))
                return code

            return decide
        if isinstance(node, ast.Return):
            val = self.expr(node.value) if node.value is not None else None

            def ret(c: Ctx) -> int | None:
                c.retval = val(c) if val is not None else None
                return RETURN

            return ret
        if isinstance(node, ast.Print):
            args = [self.expr(a) for a in node.args]
            newline = node.newline

            def print_(c: Ctx) -> int | None:
                s = "".join(fmt(a(c)) for a in args)
                c.prints.append(s)
                if newline:
                    log.info("%s", s)
                return None

            return print_
        if isinstance(node, ast.Assign):
            value = self.expr(node.value)
            if isinstance(node.target, ast.Var):
                idx = node.target.index

                def set_var(c: Ctx) -> int | None:
                    c.frame[idx] = value(c)
                    return None

                return set_var
            assert isinstance(node.target, ast.Attr)
            setter = attr_setter(node.target.name)

            def set_attr(c: Ctx) -> int | None:
                setter(c, value(c))
                return None

            return set_attr
        if isinstance(node, ast.Unset):
            if node.empty:
                typ = BGP_ATTRS[node.attr][0]
                empty_val = {"clist": CList(), "eclist": ECList(), "lclist": LCList()}.get(
                    typ, BgpPath()
                )
                setter = attr_setter(node.attr)

                def empty_(c: Ctx) -> int | None:
                    setter(c, empty_val)
                    return None

                return empty_
            unset = attr_unsetter(node.attr, node.empty)

            def unset_(c: Ctx) -> int | None:
                unset(c)
                return None

            return unset_
        if isinstance(node, ast.ExprStmt):
            call = node.expr
            assert isinstance(call, ast.Call)
            return self._call_stmt(call)
        if isinstance(node, ast.Case):
            subject = self.expr(node.subject)
            arms = [(sv, self.stmt(body)) for sv, body in node.arms]
            default = self.stmt(node.default) if node.default is not None else None

            def case(c: Ctx) -> int | None:
                v = subject(c)
                for sv, body in arms:
                    if case_hit(v, sv):
                        return body(c)
                if default is not None:
                    return default(c)
                return None

            return case
        raise AssertionError(f"unknown statement {node!r}")

    def _call_stmt(self, call: ast.Call) -> Stmt:
        args = [self.expr(a) for a in call.args]
        name = call.name
        compiler = self

        def call_(c: Ctx) -> int | None:
            body, nparams, size = compiler.function(name)
            frame = [a(c) for a in args] + [None] * (size - nparams)
            saved = c.frame
            c.frame = frame
            try:
                r = body(c)
            finally:
                c.frame = saved
            return r if r in (ACCEPT, REJECT) else None

        return call_

    # -- expressions ----------------------------------------------------------
    def expr(self, node: ast.Node) -> Expr:
        if isinstance(node, ast.Const):
            v = node.value
            return lambda c: v
        if isinstance(node, ast.Var):
            idx = node.index

            def var(c: Ctx) -> Any:
                if c.route is None and not c.frame:
                    raise NotConstant()
                return c.frame[idx]

            return var
        if isinstance(node, ast.Attr):
            return attr_getter(node.name)
        if isinstance(node, ast.Unary):
            arg = self.expr(node.arg)

            def not_(c: Ctx) -> Any:
                v = arg(c)
                if v is not True and v is not False:
                    raise FilterRuntimeError(f"! needs bool, got {type_name(v)}")
                return not v

            return not_
        if isinstance(node, ast.Binary):
            return self._binary(node)
        if isinstance(node, ast.Method):
            return self._method(node)
        if isinstance(node, ast.Builtin):
            return self._builtin(node)
        if isinstance(node, ast.Call):
            stmt = self._call_stmt_value(node)
            return stmt
        if isinstance(node, ast.Tuple):
            items = [self.expr(i) for i in node.items]
            return lambda c: _tuple([i(c) for i in items])
        if isinstance(node, ast.ECCons):
            key = self.expr(node.key)
            val = self.expr(node.value)
            kind = node.kind
            return lambda c: make_ec(kind, key(c), _int(val(c), "EC constructor"))
        if isinstance(node, ast.MaskCons):
            fixed = mask_parts(node.items)
            exprs = [self.expr(it) for it in node.items if not isinstance(it, str | tuple)]
            # lazily, so each value is checked before the next is computed
            return lambda c: build_mask(fixed, (e(c) for e in exprs))
        raise AssertionError(f"unknown expression {node!r}")

    def _call_stmt_value(self, call: ast.Call) -> Expr:
        args = [self.expr(a) for a in call.args]
        name = call.name
        compiler = self

        def call_(c: Ctx) -> Any:
            if c.route is None:
                raise NotConstant()
            body, nparams, size = compiler.function(name)
            frame = [a(c) for a in args] + [None] * (size - nparams)
            saved = c.frame
            c.frame = frame
            try:
                r = body(c)
            finally:
                c.frame = saved
            if r in (ACCEPT, REJECT):
                raise Done(r)
            v = c.retval if r == RETURN else None
            c.retval = None
            return v

        return call_

    def _binary(self, node: ast.Binary) -> Expr:
        op = node.op
        left_n, right_n = node.left, node.right
        if op in ("~", "!~") and isinstance(left_n, ast.Attr) and left_n.name == "net":
            fast = self._net_match(right_n)
            if fast is not None:
                if op == "~":
                    return fast
                return lambda c: not fast(c)
        if (
            op in ("=", "!=")
            and isinstance(left_n, ast.Attr)
            and left_n.name == "net"
            and isinstance(right_n, ast.Const)
            and isinstance(right_n.value, Prefix)
        ):
            want = int(right_n.value)
            if op == "=":
                return lambda c: route_of(c).net == want
            return lambda c: route_of(c).net != want
        left = self.expr(left_n)
        right = self.expr(right_n)
        if op == "&&":

            def and_(c: Ctx) -> Any:
                a = left(c)
                if a is not True and a is not False:
                    raise FilterRuntimeError(f"&& needs bool, got {type_name(a)}")
                if not a:
                    return False
                b = right(c)
                if b is not True and b is not False:
                    raise FilterRuntimeError(f"&& needs bool, got {type_name(b)}")
                return b

            return and_
        if op == "||":

            def or_(c: Ctx) -> Any:
                a = left(c)
                if a is not True and a is not False:
                    raise FilterRuntimeError(f"|| needs bool, got {type_name(a)}")
                if a:
                    return True
                b = right(c)
                if b is not True and b is not False:
                    raise FilterRuntimeError(f"|| needs bool, got {type_name(b)}")
                return b

            return or_
        if op in ("+", "-", "*", "/"):
            return lambda c: arith(op, left(c), right(c))
        if op == "=":
            return lambda c: compare_eq(left(c), right(c))
        if op == "!=":
            return lambda c: not compare_eq(left(c), right(c))
        if op in ("<", "<=", ">", ">="):
            return lambda c: compare_order(op, left(c), right(c))
        if op == "~":
            return lambda c: match(left(c), right(c))
        if op == "!~":
            return lambda c: not match(left(c), right(c))
        raise AssertionError(op)

    def _net_match(self, right_n: ast.Node) -> Expr | None:
        if not isinstance(right_n, ast.Const):
            return None
        v = right_n.value
        if isinstance(v, Prefix):
            outer = int(v)
            olen = outer & 0xFF
            if outer >= netmod.V6_FLAG:
                return lambda c: netmod.contains(outer, route_of(c).net)
            shift = 32 - olen + 8
            key = outer >> shift

            def net_in(c: Ctx) -> bool:
                n = route_of(c).net
                return (n & 0xFF) >= olen and n < netmod.V6_FLAG and (n >> shift) == key

            return net_in
        if isinstance(v, PrefixSet):
            contains = v.contains
            return lambda c: contains(route_of(c).net)
        return None

    def _method(self, node: ast.Method) -> Expr:
        obj = self.expr(node.obj)
        name = node.name
        if name == "mask":
            arg = self.expr(node.args[0])

            return lambda c: ip_mask(obj(c), arg(c))
        return lambda c: method_value(name, obj(c))

    def _builtin(self, node: ast.Builtin) -> Expr:
        name = node.name
        if name == "defined":
            inner = self.expr(node.args[0])

            def defined(c: Ctx) -> bool:
                v = inner(c)
                if isinstance(v, _CListBase | BgpPath) and isinstance(node.args[0], ast.Attr):
                    attrs = route_of(c).attrs
                    field = _ATTR_FIELD.get(node.args[0].name)
                    return attrs is not None and field is not None and bool(getattr(attrs, field))
                return v is not None

            return defined
        a_f = self.expr(node.args[0])
        b_f = self.expr(node.args[1])

        return lambda c: builtin_value(name, a_f(c), b_f(c))


def eval_const(node: ast.Node) -> Any:
    """Evaluate an expression that needs no route (for sets and defines)."""
    if isinstance(node, ast.Const):
        return node.value
    f = Compiler().expr(node)
    c = Ctx(None)
    try:
        v = f(c)
    except NotConstant:
        raise
    except (AttributeError, TypeError, IndexError, KeyError):
        raise NotConstant() from None
    if isinstance(v, enum.IntEnum) and not isinstance(node, ast.Const):
        return v
    return v
