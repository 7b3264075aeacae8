"""Compile a filter to straight-line Python source, once, for the hot path.

The closures of :mod:`bgplab.filters.compiler` cost a call per node and an
exception per ``accept``. Here a whole filter, with the functions it calls
inlined, becomes one Python function ``run(route) -> Route | None | NO``:
``accept``/``reject`` are ``return``, ``net ~ 10.41.0.0/16`` is integer
arithmetic on the net key, prefix sets are precomputed tables, and attribute
writes are kept in locals and applied with one ``PathAttrs.replace`` (its
result memoised per input attribute set) when the route is accepted.

This fast path is used only when no trace is asked for, and it never has a
side effect before it returns: on anything unusual (a run-time error, a
value of an unexpected type, no decision) it raises or returns ``NO`` and
:class:`~bgplab.filters.filter.Filter` runs the closures instead, which
produce the exact result, log lines and trace. Filters using what this
module does not handle (writes to route fields such as ``preference`` or
``gw``, functions that change the route used as values) get no fast path at
all; a run that reaches ``print`` or ``accept "msg"`` is handed back.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

from bgplab import net as netmod
from bgplab.bgp.attrs import PathAttrs, intern
from bgplab.filters import ast
from bgplab.filters import compiler as cm
from bgplab.filters.attributes import BGP_ATTRS, KRT_ATTRS
from bgplab.filters.fastset import prefix_set_matcher
from bgplab.filters.values import (
    EC,
    BgpPath,
    Cast,
    CList,
    ECList,
    LCList,
    Prefix,
    PrefixSet,
    Scope,
)
from bgplab.rib.route import Route

NO = object()  # "no decision here": the caller runs the closures
_U = object()  # a pending attribute that was not written

_MAX_INLINE_DEPTH = 8  # Python allows 20 nested loops; functions inline as loops
_CACHE_SIZE = 512
_LIST_TYPES = {"bgppath", "clist", "eclist", "lclist"}


class Unsupported(Exception):
    """This filter uses something the generator leaves to the closures."""


class _Bail(Exception):
    """Not a plain case at run time: let the closures decide."""


def _bool(v: Any) -> bool:
    if v is True or v is False:
        return v
    raise _Bail()


def _tuple_add(t: tuple[Any, ...], item: Any) -> tuple[Any, ...]:
    if item in t:
        return tuple(t)
    return (*t, item)


def _eclist(raw: Any) -> ECList:
    return ECList(EC(x) for x in raw)


def _make_copier() -> Callable[[Route], Route]:
    """Route.copy() for every slot, as straight-line code (several times
    faster than its generic loop); built from Route.__slots__ so a new slot
    is never missed."""
    lines = ["def copy_route(r):", "    n = _new(_Route)"]
    lines += [f"    n.{s} = r.{s}" for s in Route.__slots__]
    lines.append("    return n")
    ns: dict[str, Any] = {"_new": object.__new__, "_Route": Route}
    exec(compile("\n".join(lines), "<bgplab.filters.codegen copy>", "exec"), ns)
    fn: Callable[[Route], Route] = ns["copy_route"]
    return fn


_copy_route = _make_copier()


def finish(
    route: Route,
    bgp_set: bool,
    ext: dict[str, Any] | None,
    fields: tuple[str, ...],
    vals: tuple[Any, ...],
    cache: dict[Any, tuple[PathAttrs | None, PathAttrs | None]],
) -> Route:
    """The accepted route after writes: a copy with the pending BGP fields
    applied in one replace() and interned, as the closures would leave it."""
    a = route.attrs
    if fields:
        # Keyed by identity: attribute sets are interned, and comparing two
        # equal but distinct ones would cost more than the replace.
        key = (id(a), bgp_set, vals)
        hit = cache.get(key)
        if hit is not None and hit[0] is a:
            a = intern(hit[1]) if hit[1] is not None else None
        else:
            src = a
            ch = {f: v for f, v in zip(fields, vals, strict=True) if v is not _U}
            # Unsetting on a route without attributes leaves it without them.
            if ch and (a is not None or bgp_set):
                a = (a if a is not None else PathAttrs()).replace(**ch)
            if a is not None:
                a = intern(a)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = (src, a)  # src kept alive so its id stays its own
    elif a is not None:
        a = intern(a)
    r = _copy_route(route)
    r.attrs = a
    if ext is not None:
        r.ext = ext
    return r


def _walk(node: Any) -> Any:
    """Every AST node under ``node`` (case arms and tuples included)."""
    if isinstance(node, ast.Node):
        yield node
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, tuple):
        for x in node:
            yield from _walk(x)


class _Gen:
    def __init__(self, defs: dict[str, ast.FunctionDef]) -> None:
        self.defs = defs
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.n_tmp = 0
        self.n_inline = 0
        self.depth = 0
        self.frame: list[str] = []
        self.ind = 1
        self.ret_var: str | None = None
        self.has_prints = False
        self.fields: list[str] = []  # PathAttrs fields written somewhere
        self.pending: dict[str, str] = {}  # filter attr name -> local
        self.writes = False

    # -- helpers ----------------------------------------------------------------
    def const(self, v: Any) -> str:
        if type(v) is int or type(v) is bool or v is None:
            return repr(v)
        name = f"k{len(self.consts)}"
        self.consts[name] = v
        return name

    def tmp(self) -> str:
        self.n_tmp += 1
        return f"t{self.n_tmp}"

    def emit(self, ind: int, line: str) -> None:
        self.lines.append("    " * ind + line)

    # -- whole filter -----------------------------------------------------------
    def scan(self, fd: ast.FilterDef) -> None:
        """Which attributes may be written, over the filter and every function
        it may call, so reads know whether to look at pending values."""
        seen: set[str] = set()
        todo: list[ast.Node] = [fd.body]
        while todo:
            for node in _walk(todo.pop()):
                if isinstance(node, ast.Call) and node.name not in seen:
                    seen.add(node.name)
                    if node.name not in self.defs:
                        raise Unsupported(f"unknown function {node.name}")
                    todo.append(self.defs[node.name].body)
                name = None
                if isinstance(node, ast.Assign) and isinstance(node.target, ast.Attr):
                    name = node.target.name
                elif isinstance(node, ast.Unset):
                    name = node.attr
                if name is None or not (
                    name in cm._ATTR_FIELD or name in KRT_ATTRS or name == "scope"
                ):
                    continue  # route fields (preference, gw, …): left to the closures
                self.writes = True
                if name in cm._ATTR_FIELD and name not in self.pending:
                    self.pending[name] = f"p_{cm._ATTR_FIELD[name]}"
                    self.fields.append(cm._ATTR_FIELD[name])

    def filter_source(self, fd: ast.FilterDef) -> str:
        self.scan(fd)
        self.emit(0, "def run(route):")
        self.emit(1, "A = route.attrs")
        self.emit(1, "n = route.net")
        if self.writes:
            self.emit(1, "W = False")
            self.emit(1, "S = False")
        for local in self.pending.values():
            self.emit(1, f"{local} = _U")
        self.emit(1, "EX = None")
        for i in range(len(fd.local_vars)):
            self.emit(1, f"v{i} = None")
        self.frame = [f"v{i}" for i in range(len(fd.local_vars))]
        self.block(fd.body, 1, in_function=False)
        self.emit(1, "return _NO")
        return "\n".join(self.lines) + "\n"

    # -- statements ---------------------------------------------------------------
    def block(self, node: ast.Node, ind: int, in_function: bool) -> None:
        start = len(self.lines)
        if isinstance(node, ast.Block):
            for s in node.body:
                self.stmt(s, ind, in_function)
        else:
            self.stmt(node, ind, in_function)
        if len(self.lines) == start:
            self.emit(ind, "pass")

    def accept_code(self) -> str:
        if not self.writes:
            return "return route"
        vals = ", ".join(self.pending.values())
        vals = f"({vals},)" if self.pending else "()"
        return f"return _finish(route, S, EX, _FIELDS, {vals}, _CACHE) if W else route"

    def stmt(self, node: ast.Node, ind: int, in_function: bool) -> None:
        saved, self.ind = self.ind, ind  # where calls in expressions are hoisted to
        self._stmt(node, ind, in_function)
        self.ind = saved

    def _stmt(self, node: ast.Node, ind: int, in_function: bool) -> None:
        if isinstance(node, ast.Block):
            self.block(node, ind, in_function)
        elif isinstance(node, ast.If):
            self.emit(ind, f"if {self.cond(node.cond)}:")
            self.block(node.then, ind + 1, in_function)
            if node.other is not None:
                self.emit(ind, "else:")
                self.block(node.other, ind + 1, in_function)
        elif isinstance(node, ast.Print) or (
            isinstance(node, ast.Accept | ast.Reject) and node.msg is not None
        ):
            # Output is a side effect: the closures redo this run and print.
            self.has_prints = True
            self.emit(ind, "return _NO")
        elif isinstance(node, ast.Accept | ast.Reject):
            self.emit(ind, self.accept_code() if isinstance(node, ast.Accept) else "return None")
        elif isinstance(node, ast.Return):
            if not in_function:
                self.emit(ind, "return _NO")
                return
            if node.value is not None:
                # evaluated even when unused: its errors count
                self.emit(ind, f"{self.ret_var or '_'} = {self.expr(node.value)[0]}")
            self.emit(ind, "break")
        elif isinstance(node, ast.Assign):
            self.assign(node, ind)
        elif isinstance(node, ast.Unset):
            self.unset(node, ind)
        elif isinstance(node, ast.ExprStmt):
            call = node.expr
            if not isinstance(call, ast.Call):
                raise Unsupported("expression statement")
            self.inline_call(call, ind)
        elif isinstance(node, ast.Case):
            t = self.tmp()
            self.emit(ind, f"{t} = {self.expr(node.subject)[0]}")
            kw = "if"
            for sv, body in node.arms:
                self.emit(ind, f"{kw} _case_hit({t}, {self.const(sv)}):")
                self.block(body, ind + 1, in_function)
                kw = "elif"
            if node.default is not None:
                if kw == "if":
                    self.block(node.default, ind, in_function)
                else:
                    self.emit(ind, "else:")
                    self.block(node.default, ind + 1, in_function)
        else:
            raise Unsupported(type(node).__name__)

    def assign(self, node: ast.Assign, ind: int) -> None:
        if isinstance(node.target, ast.Attr) and node.target.name in self.pending:
            direct = self.direct_value(node.target.name, node.value)
            if direct is not None:
                self.emit(ind, f"{self.pending[node.target.name]} = {direct}")
                self.emit(ind, "S = True")
                self.emit(ind, "W = True")
                return
        value = self.expr(node.value)[0]
        if isinstance(node.target, ast.Var):
            self.emit(ind, f"{self.frame[node.target.index]} = {value}")
            return
        assert isinstance(node.target, ast.Attr)
        name = node.target.name
        if not self.batched(name):
            self.emit(ind, "return _NO")
            return
        if name in self.pending:
            self.emit(ind, f"{self.pending[name]} = _bgp_value({name!r}, {value})")
            self.emit(ind, "S = True")
            self.emit(ind, "W = True")
            return
        typ = (KRT_ATTRS.get(name) or ("enum scope", True))[0]
        t = self.tmp()
        self.emit(ind, f"{t} = {value}")
        self.emit(ind, f"_check({t}, {typ!r}, {name!r})")
        self.emit(ind, "if EX is None: EX = dict(route.ext or {})")
        self.emit(ind, f"EX[{name!r}] = {t}")
        self.emit(ind, "W = True")

    def direct_value(self, name: str, value: ast.Node) -> str | None:
        """The common edits with a constant, straight to the field's value
        (what bgp_value(builtin_value(…)) gives, with the checks done now)."""
        if isinstance(value, ast.Const):
            v = value.value
            if name in ("bgp_local_pref", "bgp_med") and type(v) is int and 0 <= v <= 0xFFFFFFFF:
                return repr(v)
            return None
        if not (
            isinstance(value, ast.Builtin)
            and len(value.args) == 2
            and value.args[0] == ast.Attr(name)
            and isinstance(value.args[1], ast.Const)
        ):
            return None
        k = value.args[1].value
        raw = self.raw_bgp(name)
        if value.name == "prepend" and name == "bgp_path" and type(k) is int:
            return f"_BgpPath({raw}).prepend({k!r}).segs"
        if value.name != "add" or type(k) is not tuple or not all(type(x) is int for x in k):
            return None
        if (name, len(k)) in (("bgp_community", 2), ("bgp_large_community", 3)):
            kc = self.const(k)
            # clist add: unchanged when present, else appended
            return f"_tuple_add({raw}, {kc})"
        return None

    def batched(self, name: str) -> bool:
        """Is a write to this attribute kept in locals? Route fields such as
        ``preference`` or ``gw`` are not: a run reaching one is handed back."""
        return name in self.pending or name in KRT_ATTRS or name == "scope"

    def unset(self, node: ast.Unset, ind: int) -> None:
        name = node.attr
        if not self.batched(name):
            self.emit(ind, "return _NO")
            return
        if node.empty:
            typ = BGP_ATTRS[name][0]
            empty = {"clist": CList(), "eclist": ECList(), "lclist": LCList()}.get(typ, BgpPath())
            self.emit(ind, f"{self.pending[name]} = _bgp_value({name!r}, {self.const(empty)})")
            self.emit(ind, "S = True")
        elif name in self.pending:
            blank = getattr(PathAttrs(), cm._ATTR_FIELD[name])
            self.emit(ind, f"{self.pending[name]} = {self.const(blank)}")
        else:
            self.emit(ind, "if EX is None: EX = dict(route.ext or {})")
            self.emit(ind, f"EX.pop({name!r}, None)")
        self.emit(ind, "W = True")

    def inline_call(self, call: ast.Call, ind: int, ret_var: str | None = None) -> None:
        """The function's body in place; ``ret_var`` receives its value."""
        fn = self.defs.get(call.name)
        if fn is None:
            raise Unsupported(f"unknown function {call.name}")
        if self.depth >= _MAX_INLINE_DEPTH or self.n_inline > 200:
            raise Unsupported("functions nested too deeply (or recursive)")
        if len(call.args) != len(fn.params):
            raise Unsupported("argument count")
        self.n_inline += 1
        k = self.n_inline
        args = [self.expr(a)[0] for a in call.args]  # in the caller's frame
        frame = [f"f{k}_{i}" for i in range(len(fn.params) + len(fn.local_vars))]
        for i, a in enumerate(args):
            self.emit(ind, f"{frame[i]} = {a}")
        for v in frame[len(args) :]:
            self.emit(ind, f"{v} = None")
        if ret_var is not None:
            self.emit(ind, f"{ret_var} = None")
        saved, self.frame = self.frame, frame
        saved_ret, self.ret_var = self.ret_var, ret_var
        self.depth += 1
        # ``return`` leaves the function: a one-pass loop gives it a ``break``.
        if any(isinstance(x, ast.Return) for x in _walk(fn.body)):
            self.emit(ind, "while True:")
            self.block(fn.body, ind + 1, in_function=True)
            self.emit(ind + 1, "break")
        else:
            self.block(fn.body, ind, in_function=True)
        self.frame = saved
        self.ret_var = saved_ret
        self.depth -= 1

    def pure(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Neither writes attributes nor decides, nor calls what does: such a
        function can be run before the statement that uses its value (even
        where ``&&`` would have skipped it, as it changes nothing)."""
        fn = self.defs.get(name)
        if fn is None or name in seen:
            return False
        for node in _walk(fn.body):
            if isinstance(node, ast.Unset | ast.Accept | ast.Reject):
                return False
            if isinstance(node, ast.Assign) and not isinstance(node.target, ast.Var):
                return False
            if isinstance(node, ast.Call) and not self.pure(node.name, seen | {name}):
                return False
        return True

    def value_call(self, call: ast.Call) -> str:
        if not self.pure(call.name):
            raise Unsupported(f"{call.name}() used as a value changes the route")
        var = self.tmp()
        self.inline_call(call, self.ind, ret_var=var)
        return var

    # -- expressions ------------------------------------------------------------
    def cond(self, node: ast.Node) -> str:
        code, is_bool = self.expr(node)
        return code if is_bool else f"_bool({code})"

    def expr(self, node: ast.Node) -> tuple[str, bool]:
        """Python source for the value, and whether it is surely a bool."""
        if isinstance(node, ast.Const):
            v = node.value
            return self.const(v), v is True or v is False
        if isinstance(node, ast.Var):
            return self.frame[node.index], False
        if isinstance(node, ast.Attr):
            return self.attr(node.name), False
        if isinstance(node, ast.Unary):
            return f"(not {self.cond(node.arg)})", True
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Method):
            obj = self.expr(node.obj)[0]
            if node.name == "mask":
                return f"_ip_mask({obj}, {self.expr(node.args[0])[0]})", False
            return f"_method({node.name!r}, {obj})", False
        if isinstance(node, ast.Builtin):
            if node.name == "defined":
                return self.defined(node.args[0]), True
            a, b = (self.expr(x)[0] for x in node.args)
            return f"_builtin({node.name!r}, {a}, {b})", False
        if isinstance(node, ast.Tuple):
            items = ", ".join(self.expr(i)[0] for i in node.items)
            return f"_tuple([{items}])", False
        if isinstance(node, ast.ECCons):
            key, val = self.expr(node.key)[0], self.expr(node.value)[0]
            return f"_make_ec({node.kind!r}, {key}, _int({val}, 'EC constructor'))", False
        if isinstance(node, ast.Call):
            return self.value_call(node), False
        if isinstance(node, ast.MaskCons):
            fixed = self.const(cm.mask_parts(node.items))
            vals = [self.expr(x)[0] for x in node.items if not isinstance(x, str | tuple)]
            return f"_build_mask({fixed}, [{', '.join(vals)}])", False
        raise Unsupported(type(node).__name__)

    def raw_bgp(self, name: str) -> str:
        """The PathAttrs field as the filter sees it now (pending write first)."""
        field = cm._ATTR_FIELD[name]
        default = self.const(getattr(PathAttrs(), field))
        read = f"getattr(A, {field!r}, {default})"
        local = self.pending.get(name)
        if local is None:
            return read
        return f"({local} if {local} is not _U else {read})"

    def ext(self) -> str:
        return "(EX if EX is not None else (route.ext or {}))"

    def attr(self, name: str) -> str:
        simple = {
            "net": "_Prefix(n)",
            "preference": "route.pref",
            "from": "_ip(route.from_addr)",
            "gw": "_ip(route.gw)",
            "proto": "route.origin.name",
            "source": "route.origin.source_type",
            "cast": self.const(Cast.UNICAST),
            "dest": "route.dest",
            "ifname": '(route.iface or "")',
            "ifindex": "0",
            "igp_metric": "route.igp_metric",
            "scope": f"{self.ext()}.get('scope', {self.const(Scope.UNIVERSE)})",
        }
        if name in simple:
            return simple[name]
        if name in KRT_ATTRS:
            return f"{self.ext()}.get({name!r})"
        raw = self.raw_bgp(name)
        if name == "bgp_path":
            return f"_BgpPath({raw})"
        if name in ("bgp_community", "bgp_cluster_list"):
            return f"_CList({raw})"
        if name == "bgp_large_community":
            return f"_LCList({raw})"
        if name == "bgp_ext_community":
            return f"_eclist({raw})"
        if name == "bgp_atomic_aggr":
            return f"(True if {raw} else None)"
        return raw

    def defined(self, arg: ast.Node) -> str:
        is_list = isinstance(arg, ast.Attr) and BGP_ATTRS.get(arg.name, ("",))[0] in _LIST_TYPES
        if is_list:
            assert isinstance(arg, ast.Attr)
            # an empty list attribute counts as undefined
            return f"bool({self.raw_bgp(arg.name)})"
        return f"({self.expr(arg)[0]} is not None)"

    def binary(self, node: ast.Binary) -> tuple[str, bool]:
        op, left_n, right_n = node.op, node.left, node.right
        is_net = isinstance(left_n, ast.Attr) and left_n.name == "net"
        if is_net and isinstance(right_n, ast.Const):
            v = right_n.value
            if op in ("~", "!~") and isinstance(v, Prefix | PrefixSet):
                if isinstance(v, PrefixSet):
                    code = f"{self.const(prefix_set_matcher(v))}(n)"
                elif v >= netmod.V6_FLAG:
                    code = f"_contains({int(v)}, n)"
                else:
                    olen = v & 0xFF
                    shift = 40 - olen  # keeps olen address bits; a v6 key never matches
                    code = f"((n & 255) >= {olen} and (n >> {shift}) == {v >> shift})"
                return (f"({code})" if op == "~" else f"(not {code})"), True
            if op in ("=", "!=") and isinstance(v, Prefix):
                return f"(n {'==' if op == '=' else '!='} {int(v)})", True
        if op in ("&&", "||"):
            a, b = self.cond(left_n), self.cond(right_n)
            return f"({a} {'and' if op == '&&' else 'or'} {b})", True
        a, b = self.expr(left_n)[0], self.expr(right_n)[0]
        if op in ("=", "!=") and isinstance(right_n, ast.Const) \
                and isinstance(right_n.value, enum.IntEnum):
            # `source = RTS_BGP`: same enum type and value (what _eq decides)
            v = right_n.value
            code = f"(type({a}) is {self.const(type(v))} and {a} == {int(v)})"
            return (code if op == "=" else f"(not {code})"), True
        if op in ("+", "-", "*", "/"):
            return f"_arith({op!r}, {a}, {b})", False
        if op == "=":
            return f"_eq({a}, {b})", True
        if op == "!=":
            return f"(not _eq({a}, {b}))", True
        if op in ("<", "<=", ">", ">="):
            return f"_order({op!r}, {a}, {b})", True
        if op == "~":
            return f"_match({a}, {b})", True
        if op == "!~":
            return f"(not _match({a}, {b}))", True
        raise Unsupported(op)


_GLOBALS: dict[str, Any] = {
    "_NO": NO,
    "_U": _U,
    "_bool": _bool,
    "_finish": finish,
    "_Prefix": Prefix,
    "_BgpPath": BgpPath,
    "_CList": CList,
    "_LCList": LCList,
    "_eclist": _eclist,
    "_tuple_add": _tuple_add,
    "_ip": cm._ip,
    "_check": cm._check,
    "_bgp_value": cm.bgp_value,
    "_case_hit": cm.case_hit,
    "_ip_mask": cm.ip_mask,
    "_method": cm.method_value,
    "_builtin": cm.builtin_value,
    "_tuple": cm._tuple,
    "_make_ec": cm.make_ec,
    "_int": cm._int,
    "_build_mask": cm.build_mask,
    "_arith": cm.arith,
    "_eq": cm.compare_eq,
    "_order": cm.compare_order,
    "_match": cm.match,
    "_contains": netmod.contains,
}


def compile_fast(
    fd: ast.FilterDef, defs: dict[str, ast.FunctionDef]
) -> tuple[Callable[[Route], Any], str, bool] | None:
    """``(run, source, may_print)`` for the filter, or None when it needs the
    closures. ``may_print``: some runs print (and are left to the closures)."""
    gen = _Gen(defs)
    try:
        src = gen.filter_source(fd)
        ns = dict(_GLOBALS)
        ns.update(gen.consts)
        ns["_FIELDS"] = tuple(gen.fields)
        ns["_CACHE"] = {}
        exec(compile(src, f"<filter {fd.name or '(unnamed)'}>", "exec"), ns)
    except Exception:  # whatever the generator cannot do, the closures do
        return None
    return ns["run"], src, gen.has_prints


__all__ = ["NO", "Unsupported", "compile_fast", "finish"]
