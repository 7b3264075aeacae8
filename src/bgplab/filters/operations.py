"""The value operations of BIRD's filter language (comparison, ``~``,
arithmetic, EC/pair constructors, path masks, ``.len``/``.first``...,
``add``/``delete``/``filter``/``prepend``), as BIRD 1.6 defines them.

The closures (:mod:`bgplab.filters.compiler`) and the generated fast path
(:mod:`bgplab.filters.codegen`) both call these, so the two paths cannot
drift apart in what an operation means.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from bgplab import net as netmod
from bgplab.filters.values import (
    EC,
    BgpPath,
    CList,
    FilterRuntimeError,
    LCList,
    PathMask,
    Prefix,
    PrefixSet,
    ValueSet,
    _CListBase,
    match_string,
    type_name,
)


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
