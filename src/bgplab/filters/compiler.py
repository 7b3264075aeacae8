"""Compile filter syntax trees into Python closures, once, at load time.

Every expression becomes ``f(ctx) -> value`` and every statement
``s(ctx) -> code`` (``None`` = go on, or ACCEPT/REJECT/RETURN), so running a
filter on a route is a chain of direct calls with no tree walking. Frequent
shapes (``net ~ 10.0.0.0/8``, ``net ~ [set]``, ``net = P``) get
specialised closures.

These closures are the reference: traced runs and every run the generated
fast path (:mod:`bgplab.filters.codegen`) hands back go through them. The
value operations both share are module-level functions here
(``builtin_value``, ``method_value``, ``bgp_value``, …), so the two paths
cannot drift apart in what an operation means.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from bgplab import net as netmod
from bgplab.bgp.attrs import PathAttrs
from bgplab.filters import ast
from bgplab.filters.attributes import BGP_ATTRS, KRT_ATTRS, ROUTE_ATTRS
from bgplab.filters.values import (
    EC,
    BgpPath,
    Cast,
    CList,
    ECList,
    FilterRuntimeError,
    LCList,
    PathMask,
    Prefix,
    PrefixSet,
    Scope,
    ValueSet,
    _CListBase,
    fmt,
    match_string,
    type_name,
)
from bgplab.rib.route import Dest, Route

log = logging.getLogger("bgplab.filters")

ACCEPT = 1
REJECT = 2
RETURN = 3

Expr = Callable[["Ctx"], Any]
Stmt = Callable[["Ctx"], int | None]


class NotConstant(Exception):
    """The expression needs a route or variables; it cannot be folded."""


class Done(Exception):
    """accept/reject inside a function called from an expression."""

    def __init__(self, code: int) -> None:
        self.code = code


class Ctx:
    """State of one filter run. The route is copied on the first write."""

    __slots__ = ("route", "copied", "ext_copied", "frame", "trace", "retval", "prints")

    def __init__(self, route: Route | None, trace: list | None = None) -> None:
        self.route = route
        self.copied = False
        self.ext_copied = False
        self.frame: list[Any] = []
        self.trace = trace
        self.retval: Any = None
        self.prints: list[str] = []

    def rw(self) -> Route:
        if self.route is None:
            raise NotConstant()
        if not self.copied:
            self.route = self.route.copy()
            self.copied = True
        return self.route

    def ext_rw(self) -> dict[str, Any]:
        r = self.rw()
        if not self.ext_copied:
            r.ext = dict(r.ext or {})
            self.ext_copied = True
        assert r.ext is not None
        return r.ext


def _route(c: Ctx) -> Route:
    r = c.route
    if r is None:
        raise NotConstant()
    return r


# ---- values ----------------------------------------------------------------


def make_ec(kind: str, key: Any, value: int) -> EC:
    if kind == "generic":
        if not (0 <= key <= 0xFFFFFFFF and 0 <= value <= 0xFFFFFFFF):
            raise FilterRuntimeError("Value out of range in EC constructor")
        return EC((key << 32) | value)
    sub = 0x02 if kind == "rt" else 0x03
    if isinstance(key, IPv4Address):
        if not 0 <= value <= 0xFFFF:
            raise FilterRuntimeError(f"Value {value} out of range (0-65535)")
        return EC((((0x01 << 8) | sub) << 48) | (int(key) << 16) | value)
    if not isinstance(key, int) or isinstance(key, bool):
        raise FilterRuntimeError(
            "Can't operate with key of non-integer/IPv4 type in EC constructor"
        )
    if key <= 0xFFFF:
        if not 0 <= value <= 0xFFFFFFFF:
            raise FilterRuntimeError(f"Value {value} out of range (0-4294967295)")
        return EC((sub << 48) | (key << 32) | value)
    if key > 0xFFFFFFFF or not 0 <= value <= 0xFFFF:
        raise FilterRuntimeError(f"Value {value} out of range (0-65535)")
    return EC((((0x02 << 8) | sub) << 48) | (key << 16) | value)


def _int(v: Any, what: str) -> int:
    if type(v) is not int:
        raise FilterRuntimeError(f"{what} needs int, got {type_name(v)}")
    return v


def _tuple(vals: list[Any]) -> tuple[int, ...]:
    for v in vals:
        _int(v, "Pair/LC constructor")
    if len(vals) == 2:
        for v in vals:
            if not 0 <= v <= 0xFFFF:
                raise FilterRuntimeError(f"Value {v} out of range (0-65535)")
    else:
        for v in vals:
            if not 0 <= v <= 0xFFFFFFFF:
                raise FilterRuntimeError(f"Value {v} out of range (0-4294967295)")
    return tuple(vals)


def _same_type(a: Any, b: Any) -> bool:
    ta, tb = type_name(a), type_name(b)
    return ta == tb or {ta, tb} <= {"ip", "quad"}


def compare_eq(a: Any, b: Any) -> bool:
    """BIRD 1.6's ``=`` is "same value": values of different types are
    simply unequal, never an error (checked against BIRD 1.6.8)."""
    if not _same_type(a, b):
        return False
    return bool(a == b)


def compare_order(op: str, a: Any, b: Any) -> bool:
    ta = type_name(a)
    # BIRD 1.6 val_compare: an undefined value is lower than anything
    # ("hack for else"), so ``bgp_med > 500`` is just false without a MED.
    if a is None or b is None:
        c = (a is not None) - (b is not None)
        return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]
    if not _same_type(a, b) or ta not in (
        "int", "string", "ip", "pair", "lc", "ec", "prefix", "bool",
    ) and not ta.startswith("enum"):  # fmt: skip
        raise FilterRuntimeError(
            f"Can't compare values of incompatible types ({ta}, {type_name(b)})"
        )
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def match(a: Any, b: Any) -> bool:
    """BIRD's ``a ~ b``."""
    if isinstance(b, PrefixSet):
        if isinstance(a, Prefix):
            return b.contains(a)
    elif isinstance(b, Prefix):
        if isinstance(a, Prefix):
            return netmod.contains(b, a)
        if isinstance(a, IPv4Address | IPv6Address):
            return netmod.addr_in(b, int(a), isinstance(a, IPv6Address))
    elif isinstance(b, PathMask):
        if isinstance(a, BgpPath):
            return b.matches(a)
    elif isinstance(b, BgpPath):
        if type(a) is int:
            return a in b.flat()
    elif isinstance(b, ValueSet):
        if isinstance(a, BgpPath):
            return any(b.contains(x) for x in a.flat())
        if isinstance(a, _CListBase):
            return any(_set_has(b, x) for x in a)
        return _set_has(b, a)
    elif isinstance(b, _CListBase):
        if isinstance(a, _CListBase):
            return any(x in b for x in a)
        if isinstance(a, tuple | EC | IPv4Address | IPv6Address):
            return a in b
    elif isinstance(b, str) and isinstance(a, str):
        return match_string(a, b)
    raise FilterRuntimeError(f"~ applied on unknown type pair ({type_name(a)}, {type_name(b)})")


def arith(op: str, a: Any, b: Any) -> int:
    if type(a) is not int or type(b) is not int:
        raise FilterRuntimeError(f"Incompatible types for '{op}': {type_name(a)}, {type_name(b)}")
    if op == "+":
        return (a + b) & 0xFFFFFFFF
    if op == "-":
        return (a - b) & 0xFFFFFFFF
    if op == "*":
        return (a * b) & 0xFFFFFFFF
    if b == 0:
        raise FilterRuntimeError("Division by zero")
    return a // b


def case_hit(v: Any, sv: Any) -> bool:
    """Does a case label match? A label of another type simply misses."""
    try:
        return match(v, sv)
    except FilterRuntimeError:
        return False


def mask_parts(items: tuple[Any, ...]) -> tuple[Any, ...]:
    """A run-time path mask's fixed items, ``None`` where an expression goes."""
    return tuple(it if isinstance(it, str | tuple) else None for it in items)


def build_mask(fixed: tuple[Any, ...], vals: Iterable[Any]) -> PathMask:
    out = []
    it = iter(vals)
    for p in fixed:
        if p is None:
            v = _int(next(it), "Path mask")
            out.append((v, v))
        else:
            out.append(p)
    return PathMask(tuple(out))


def ip_mask(ip: Any, n: Any) -> Any:
    n = _int(n, "mask")
    w = 32 if isinstance(ip, IPv4Address) else 128
    if not isinstance(ip, IPv4Address | IPv6Address) or n > w:
        raise FilterRuntimeError("Invalid argument to IP mask")
    return type(ip)(int(ip) & (((1 << w) - 1) ^ ((1 << (w - n)) - 1)))


def method_value(name: str, v: Any) -> Any:
    """``.len``, ``.ip``, ``.first``, ``.last``, ``.last_nonaggregated``, ``.empty``."""
    if name == "len":
        if isinstance(v, Prefix):
            return v & 0xFF
        if isinstance(v, BgpPath):
            return v.length()
        if isinstance(v, _CListBase):
            return len(v)
    elif name == "ip":
        if isinstance(v, Prefix):
            a = netmod.address(v)
            return IPv6Address(a) if v >= netmod.V6_FLAG else IPv4Address(a)
    elif name in ("first", "last", "last_nonaggregated"):
        if isinstance(v, BgpPath):
            return getattr(v, name)()
    elif name == "empty":
        if isinstance(v, _CListBase):
            return type(v)()
        if isinstance(v, BgpPath):
            return BgpPath()
    raise FilterRuntimeError(f"Can't apply .{name} to {type_name(v)}")


def builtin_value(name: str, a: Any, b: Any) -> Any:
    """``prepend``/``add``/``delete``/``filter`` on a path or community list."""
    if name == "prepend":
        if not isinstance(a, BgpPath):
            raise FilterRuntimeError("Can't prepend to non-path")
        return a.prepend(_int(b, "prepend"))
    if isinstance(a, BgpPath):
        if type(b) is int:
            pred = b.__eq__
        elif isinstance(b, ValueSet) and b.elem_type == "int":
            pred = b.contains
        else:
            raise FilterRuntimeError(f"Can't {name} {type_name(b)} from a path")
        if name == "delete":
            return a.remove(pred)
        if name == "filter" and isinstance(b, ValueSet):
            return a.remove(lambda x: not pred(x))
        raise FilterRuntimeError(f"Can't {name} {type_name(b)} on a path")
    if not isinstance(a, _CListBase):
        raise FilterRuntimeError(f"Can't {name} on {type_name(a)}")
    if name == "add":
        if isinstance(b, ValueSet):
            raise FilterRuntimeError("Can't add set")
        if not isinstance(b, _CListBase):
            _check_item(a, b)
        return a.add(b)
    if isinstance(b, ValueSet):
        pred = b.contains
    elif isinstance(b, _CListBase):
        pred = b.__contains__
    else:
        _check_item(a, b)
        if name == "filter":
            raise FilterRuntimeError("Can't filter by a single value")
        pred = b.__eq__
    if name == "delete":
        return a.delete(pred)
    return a.keep(pred)


def _set_has(s: ValueSet, v: Any) -> bool:
    et = s.elem_type
    tv = type_name(v)
    if tv != et and not ({tv, et} <= {"ip", "quad"}):
        if et == "int" and not s.ranges:
            return False  # the empty set literal [] has no element type
        raise FilterRuntimeError(f"~ applied on unknown type pair ({tv}, {et} set)")
    return s.contains(v)


# ---- attributes --------------------------------------------------------------


def _ip(s: str | None) -> IPv4Address | IPv6Address:
    if s is None:
        return IPv4Address(0)
    try:
        return ip_address(s.split("%")[0])
    except ValueError:
        return IPv4Address(0)


_ATTR_FIELD = {
    "bgp_path": "as_path",
    "bgp_local_pref": "local_pref",
    "bgp_med": "med",
    "bgp_origin": "origin",
    "bgp_next_hop": "next_hop",
    "bgp_atomic_aggr": "atomic_aggregate",
    "bgp_community": "communities",
    "bgp_ext_community": "ext_communities",
    "bgp_large_community": "large_communities",
    "bgp_originator_id": "originator_id",
    "bgp_cluster_list": "cluster_list",
}


def attr_getter(name: str) -> Expr:
    if name == "net":
        return lambda c: Prefix(_route(c).net)
    if name == "preference":
        return lambda c: _route(c).pref
    if name == "from":
        return lambda c: _ip(_route(c).from_addr)
    if name == "gw":
        return lambda c: _ip(_route(c).gw)
    if name == "proto":
        return lambda c: _route(c).origin.name
    if name == "source":
        return lambda c: _route(c).origin.source_type
    if name == "cast":
        return lambda c: Cast.UNICAST
    if name == "dest":
        return lambda c: _route(c).dest
    if name == "ifname":
        return lambda c: _route(c).iface or ""
    if name == "ifindex":
        return lambda c: 0
    if name == "igp_metric":
        return lambda c: _route(c).igp_metric
    if name == "scope":
        return lambda c: (_route(c).ext or {}).get("scope", Scope.UNIVERSE)
    if name in KRT_ATTRS:
        return lambda c: (_route(c).ext or {}).get(name)
    field = _ATTR_FIELD[name]
    if name == "bgp_path":

        def g_path(c: Ctx) -> Any:
            a = _route(c).attrs
            return BgpPath(a.as_path if a is not None else ())

        return g_path
    if name in ("bgp_community", "bgp_cluster_list"):
        return lambda c: CList(getattr(_route(c).attrs, field, ()))
    if name == "bgp_large_community":
        return lambda c: LCList(getattr(_route(c).attrs, field, ()))
    if name == "bgp_ext_community":
        return lambda c: ECList(EC(x) for x in getattr(_route(c).attrs, field, ()))
    if name == "bgp_origin":
        # BIRD 1.6.8 reads bgp_origin as a plain int, so ``bgp_origin =
        # ORIGIN_IGP`` is never true there; we keep that behaviour (drop-in).
        return lambda c: getattr(_route(c).attrs, "origin", None)
    if name == "bgp_atomic_aggr":
        return lambda c: True if getattr(_route(c).attrs, field, False) else None
    return lambda c: getattr(_route(c).attrs, field, None)


def _check(v: Any, want: str, name: str) -> None:
    got = type_name(v)
    if got != want and not ({got, want} <= {"ip", "quad"}):
        raise FilterRuntimeError(f"Attempt to set {name} ({want}) to a value of type {got}")


def bgp_value(name: str, v: Any) -> Any:
    """Check and convert a value assigned to a BGP attribute into the
    PathAttrs field's representation."""
    if name == "bgp_atomic_aggr":
        return bool(v)
    if name != "bgp_origin" or type(v) is not int:
        _check(v, BGP_ATTRS[name][0], name)
    if name == "bgp_path":
        return v.segs
    if name in ("bgp_local_pref", "bgp_med") and not 0 <= v <= 0xFFFFFFFF:
        raise FilterRuntimeError(f"Value {v} out of range for {name}")
    if name == "bgp_origin":
        if v not in (0, 1, 2):
            raise FilterRuntimeError(f"Invalid bgp_origin {v}")
        return int(v)
    if name == "bgp_ext_community":
        return tuple(int(x) for x in v)
    if isinstance(v, _CListBase):
        return tuple(v)
    return v


def attr_setter(name: str) -> Callable[[Ctx, Any], None]:
    typ = (ROUTE_ATTRS.get(name) or BGP_ATTRS.get(name) or KRT_ATTRS[name])[0]
    if name in _ATTR_FIELD:
        field = _ATTR_FIELD[name]

        def s_bgp(c: Ctx, v: Any) -> None:
            val = bgp_value(name, v)
            r = c.rw()
            a = r.attrs if r.attrs is not None else PathAttrs()
            r.attrs = a.replace(**{field: val})

        return s_bgp
    if name in KRT_ATTRS or name == "scope":

        def s_ext(c: Ctx, v: Any) -> None:
            _check(v, typ, name)
            c.ext_rw()[name] = v

        return s_ext

    def s_route(c: Ctx, v: Any) -> None:
        _check(v, typ, name)
        r = c.rw()
        if name == "preference":
            if not 0 <= v <= 0xFFFF:
                raise FilterRuntimeError(f"Value {v} out of range for preference")
            r.pref = v
        elif name == "from":
            r.from_addr = str(v)
        elif name == "gw":
            r.gw = str(v)
            r.dest = Dest.ROUTER
            r.nexthops = ()
        elif name == "dest":
            if v not in (Dest.BLACKHOLE, Dest.UNREACHABLE, Dest.PROHIBIT):
                raise FilterRuntimeError("Setting dest to a value other than a sink type")
            r.dest = v
            r.gw = None
            r.iface = None
            r.nexthops = ()
        elif name == "ifname":
            r.iface = v
            r.gw = None
            r.dest = Dest.DEVICE
            r.nexthops = ()
        elif name == "igp_metric":
            r.igp_metric = v

    return s_route


def attr_unsetter(name: str, empty: bool) -> Callable[[Ctx], None]:
    if name in _ATTR_FIELD:
        field = _ATTR_FIELD[name]
        blank = PathAttrs()
        val = getattr(blank, field)

        def u(c: Ctx) -> None:
            r = c.rw()
            if r.attrs is not None:
                r.attrs = r.attrs.replace(**{field: val})

        return u
    if name in KRT_ATTRS or name == "scope":
        return lambda c: c.ext_rw().pop(name, None) and None
    raise FilterRuntimeError(f"{name} cannot be unset")


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
                return lambda c: _route(c).net == want
            return lambda c: _route(c).net != want
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
                return lambda c: netmod.contains(outer, _route(c).net)
            shift = 32 - olen + 8
            key = outer >> shift

            def net_in(c: Ctx) -> bool:
                n = _route(c).net
                return (n & 0xFF) >= olen and n < netmod.V6_FLAG and (n >> shift) == key

            return net_in
        if isinstance(v, PrefixSet):
            contains = v.contains
            return lambda c: contains(_route(c).net)
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
                    attrs = _route(c).attrs
                    field = _ATTR_FIELD.get(node.args[0].name)
                    return attrs is not None and field is not None and bool(getattr(attrs, field))
                return v is not None

            return defined
        a_f = self.expr(node.args[0])
        b_f = self.expr(node.args[1])

        return lambda c: builtin_value(name, a_f(c), b_f(c))


def _check_item(lst: _CListBase, v: Any) -> None:
    t = type_name(v)
    if isinstance(lst, CList):
        if t not in ("pair", "ip"):
            raise FilterRuntimeError(f"Can't add/delete {t} to/from clist")
    elif isinstance(lst, LCList):
        if t != "lc":
            raise FilterRuntimeError(f"Can't add/delete {t} to/from lclist")
    elif t != "ec":
        raise FilterRuntimeError(f"Can't add/delete {t} to/from eclist")


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
