"""Run-time values of the BIRD filter language.

Plain Python values where they fit (``int``, ``bool``, ``str``,
``IPv4Address`` for ip and quad, tuples for pairs and large communities);
small classes where BIRD has a type Python lacks. The ``type_name`` of a
value is what error messages and static checks use.
"""

from __future__ import annotations

import enum
import fnmatch
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from bgplab import net as netmod
from bgplab.bgp.attrs import AS_SEQUENCE, AS_SET, AsPath
from bgplab.rib.route import Dest, Source


class FilterRuntimeError(Exception):
    """A run-time error in a filter: the route is rejected and it is logged."""


class Prefix(int):
    """A prefix value: the net key of :mod:`bgplab.net`, typed."""

    __slots__ = ()

    def __str__(self) -> str:
        return netmod.to_str(self)

    __repr__ = __str__


class EC(int):
    """An extended community as its 64-bit value."""

    __slots__ = ()

    def __str__(self) -> str:
        kind = self >> 48
        if kind in (0x0002, 0x0102, 0x0202):
            name = "rt"
        elif kind in (0x0003, 0x0103, 0x0203):
            name = "ro"
        else:
            return f"(generic, 0x{self >> 32:x}, 0x{self & 0xFFFFFFFF:x})"
        if kind >> 8 == 0:
            return f"({name}, {(self >> 32) & 0xFFFF}, {self & 0xFFFFFFFF})"
        if kind >> 8 == 2:
            return f"({name}, {(self >> 16) & 0xFFFFFFFF}, {self & 0xFFFF})"
        return f"({name}, {IPv4Address((self >> 16) & 0xFFFFFFFF)}, {self & 0xFFFF})"


class Origin(enum.IntEnum):
    """``bgp_origin`` values."""

    IGP = 0
    EGP = 1
    INCOMPLETE = 2


class Scope(enum.IntEnum):
    HOST = 0
    LINK = 253
    SITE = 200
    ORGANIZATION = 100
    UNIVERSE = 254


class Cast(enum.IntEnum):
    UNICAST = 0
    BROADCAST = 1
    MULTICAST = 2
    ANYCAST = 3


class RoaResult(enum.IntEnum):
    UNKNOWN = 0
    VALID = 1
    INVALID = 2


# Enum constants visible in filters, by name.
ENUM_CONSTANTS: dict[str, enum.IntEnum] = {
    "RTD_ROUTER": Dest.ROUTER,
    "RTD_DEVICE": Dest.DEVICE,
    "RTD_BLACKHOLE": Dest.BLACKHOLE,
    "RTD_UNREACHABLE": Dest.UNREACHABLE,
    "RTD_PROHIBIT": Dest.PROHIBIT,
    "RTD_MULTIPATH": Dest.MULTIPATH,
    "RTD_NONE": Dest.NONE,
    "ORIGIN_IGP": Origin.IGP,
    "ORIGIN_EGP": Origin.EGP,
    "ORIGIN_INCOMPLETE": Origin.INCOMPLETE,
    "SCOPE_HOST": Scope.HOST,
    "SCOPE_LINK": Scope.LINK,
    "SCOPE_SITE": Scope.SITE,
    "SCOPE_ORGANIZATION": Scope.ORGANIZATION,
    "SCOPE_UNIVERSE": Scope.UNIVERSE,
    "RTC_UNICAST": Cast.UNICAST,
    "RTC_BROADCAST": Cast.BROADCAST,
    "RTC_MULTICAST": Cast.MULTICAST,
    "RTC_ANYCAST": Cast.ANYCAST,
    "ROA_UNKNOWN": RoaResult.UNKNOWN,
    "ROA_VALID": RoaResult.VALID,
    "ROA_INVALID": RoaResult.INVALID,
}
for _s in Source:
    ENUM_CONSTANTS[f"RTS_{_s.name}"] = _s


class BgpPath:
    """An AS path value (``bgppath``): segments as in PathAttrs."""

    __slots__ = ("segs",)

    def __init__(self, segs: AsPath = ()) -> None:
        self.segs = segs

    def flat(self) -> tuple[int, ...]:
        out: list[int] = []
        for _t, asns in self.segs:
            out.extend(asns)
        return tuple(out)

    def length(self) -> int:
        # BIRD's as_path_getlen: an AS_SET counts as one.
        n = 0
        for t, asns in self.segs:
            n += 1 if t == AS_SET else len(asns)
        return n

    def first(self) -> int:
        if self.segs and self.segs[0][0] == AS_SEQUENCE and self.segs[0][1]:
            return self.segs[0][1][0]
        return 0

    def last(self) -> int:
        if self.segs and self.segs[-1][0] == AS_SEQUENCE and self.segs[-1][1]:
            return self.segs[-1][1][-1]
        return 0

    def last_nonaggregated(self) -> int:
        res = 0
        for t, asns in self.segs:
            if t == AS_SET:
                break
            if asns:
                res = asns[-1]
        return res

    def prepend(self, asn: int) -> BgpPath:
        segs = self.segs
        if segs and segs[0][0] == AS_SEQUENCE and len(segs[0][1]) < 255:
            return BgpPath(((AS_SEQUENCE, (asn,) + segs[0][1]),) + segs[1:])
        return BgpPath(((AS_SEQUENCE, (asn,)),) + segs)

    def remove(self, pred: Any) -> BgpPath:
        """Drop ASNs for which ``pred`` is true; empty segments vanish."""
        out = []
        for t, asns in self.segs:
            kept = tuple(a for a in asns if not pred(a))
            if kept:
                out.append((t, kept))
        return BgpPath(tuple(out))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BgpPath) and self.segs == other.segs

    def __hash__(self) -> int:
        return hash(self.segs)

    def __str__(self) -> str:
        parts = []
        for t, asns in self.segs:
            s = " ".join(str(a) for a in asns)
            parts.append("{" + s + "}" if t == AS_SET else s)
        return " ".join(p for p in parts if p)

    __repr__ = __str__


class _CListBase(tuple):
    """Community-like lists: immutable tuples, BIRD's add/delete/filter."""

    __slots__ = ()
    item_type = "pair"

    def add(self, item: Any) -> Any:
        if isinstance(item, _CListBase):
            res = list(self)
            for x in item:
                if x not in res:
                    res.append(x)
            return type(self)(res)
        if item in self:
            return self
        return type(self)((*self, item))

    def delete(self, pred: Any) -> Any:
        return type(self)(x for x in self if not pred(x))

    def keep(self, pred: Any) -> Any:
        return type(self)(x for x in self if pred(x))

    def __str__(self) -> str:
        return " ".join(fmt(x) for x in self)


class CList(_CListBase):
    __slots__ = ()
    item_type = "pair"


class ECList(_CListBase):
    __slots__ = ()
    item_type = "ec"


class LCList(_CListBase):
    __slots__ = ()
    item_type = "lc"


# ---- sets ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueSet:
    """``int|pair|quad|ip|ec|lc|enum set``: ``(from, to)`` intervals.

    Lookup is BIRD's: the intervals sorted by ``from`` form an implicit
    balanced tree (the middle element is the root) searched like a binary
    tree. For overlapping intervals this can miss a member, e.g. in
    ``[(*, 1), (65010, *)]`` BIRD 1.6 does not find ``(65010, 10)``; being
    bug-compatible keeps filters deciding exactly as BIRD's do (verified by
    tests/interop/test_filters_vs_bird.py).
    """

    elem_type: str
    ranges: tuple[tuple[Any, Any], ...]

    @staticmethod
    def build(elem_type: str, ranges: list[tuple[Any, Any]]) -> ValueSet:
        return ValueSet(elem_type, tuple(sorted(ranges, key=lambda r: r[0])))

    def contains(self, v: Any) -> bool:
        items = self.ranges
        lo, hi = 0, len(items)
        while lo < hi:
            m = (lo + hi) // 2
            a, b = items[m]
            if a <= v <= b:
                return True
            if v < a:
                hi = m
            else:
                lo = m + 1
        return False

    def __str__(self) -> str:
        items = [fmt(lo) if lo == hi else f"{fmt(lo)}..{fmt(hi)}" for lo, hi in self.ranges]
        return "[" + ", ".join(items) + "]"


@dataclass(frozen=True, slots=True)
class PrefixSet:
    """A prefix set: patterns ``(net, low, high)``."""

    patterns: tuple[tuple[int, int, int], ...]

    def contains(self, n: int) -> bool:
        v6 = n >= netmod.V6_FLAG
        plen = n & 0xFF
        addr = netmod.address(n)
        for pnet, lo, hi in self.patterns:
            if not lo <= plen <= hi or (pnet >= netmod.V6_FLAG) != v6:
                continue
            w = 128 if v6 else 32
            m = min(plen, pnet & 0xFF)
            shift = w - m
            if (addr >> shift) == (netmod.address(pnet) >> shift):
                return True
        return False

    def __str__(self) -> str:
        out = []
        for pnet, lo, hi in self.patterns:
            out.append(f"{netmod.to_str(pnet)}{{{lo},{hi}}}")
        return "[" + ", ".join(out) + "]"


# Path mask items
MASK_ANY = "*"  # any (even empty) sequence
MASK_ONE = "?"  # exactly one ASN


@dataclass(frozen=True, slots=True)
class PathMask:
    """``[= ... =]``: items are ``"*"``, ``"?"`` or ``(lo, hi)`` ASN ranges."""

    items: tuple[Any, ...]

    def matches(self, path: BgpPath) -> bool:
        asns = path.flat()
        items = self.items
        # Classic wildcard matching with backtracking on the last '*'.
        i = j = 0
        star_i, star_j = -1, 0
        while j < len(asns):
            if i < len(items) and items[i] == MASK_ANY:
                star_i, star_j = i, j
                i += 1
            elif i < len(items) and (
                items[i] == MASK_ONE or (items[i][0] <= asns[j] <= items[i][1])
            ):
                i += 1
                j += 1
            elif star_i >= 0:
                i = star_i + 1
                star_j += 1
                j = star_j
            else:
                return False
        while i < len(items) and items[i] == MASK_ANY:
            i += 1
        return i == len(items)

    def __str__(self) -> str:
        parts = []
        for it in self.items:
            if isinstance(it, str):
                parts.append(it)
            elif it[0] == it[1]:
                parts.append(str(it[0]))
            else:
                parts.append(f"{it[0]}..{it[1]}")
        return "[= " + " ".join(parts) + " =]"


# ---- types ---------------------------------------------------------------


def type_name(v: Any) -> str:
    """BIRD's name for the type of a run-time value."""
    got = _EXACT_TYPE_NAMES.get(type(v))
    if got is not None:
        return got
    got = _type_name(v)
    if isinstance(v, enum.IntEnum):
        _EXACT_TYPE_NAMES[type(v)] = got  # enum classes are few and fixed
    return got


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, Prefix):
        return "prefix"
    if isinstance(v, EC):
        return "ec"
    if isinstance(v, enum.IntEnum):
        return "enum " + type(v).__name__.lower()
    if isinstance(v, int):
        return "int"
    if isinstance(v, str):
        return "string"
    if isinstance(v, IPv4Address | IPv6Address):
        return "ip"
    if isinstance(v, tuple) and not isinstance(v, _CListBase):
        return "pair" if len(v) == 2 else "lc"
    if isinstance(v, BgpPath):
        return "bgppath"
    if isinstance(v, CList):
        return "clist"
    if isinstance(v, ECList):
        return "eclist"
    if isinstance(v, LCList):
        return "lclist"
    if isinstance(v, PathMask):
        return "bgpmask"
    if isinstance(v, PrefixSet):
        return "prefix set"
    if isinstance(v, ValueSet):
        return f"{v.elem_type} set"
    if v is None:
        return "void"
    return type(v).__name__


# Types whose name does not depend on the value (tuples and sets do): the
# hot path's type checks become one dict lookup.
_EXACT_TYPE_NAMES: dict[type, str] = {
    t: _type_name(v)
    for t, v in [
        (bool, True),
        (int, 0),
        (str, ""),
        (Prefix, Prefix(0)),
        (EC, EC(0)),
        (IPv4Address, IPv4Address(0)),
        (IPv6Address, IPv6Address(0)),
        (BgpPath, BgpPath()),
        (CList, CList()),
        (ECList, ECList()),
        (LCList, LCList()),
        (PathMask, PathMask(())),
        (PrefixSet, PrefixSet(())),
        (type(None), None),
    ]
}


def fmt(v: Any) -> str:
    """Format a value like BIRD's ``print``."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, enum.IntEnum):
        return f"(enum {type(v).__name__.lower()}){int(v)}"
    if isinstance(v, tuple) and not isinstance(v, _CListBase):
        return "(" + ", ".join(str(x) for x in v) + ")" if len(v) == 3 else f"({v[0]},{v[1]})"
    if v is None:
        return "(void)"
    return str(v)


def match_string(s: str, pattern: str) -> bool:
    """BIRD's shell-like pattern match (``*`` and ``?``)."""
    return fnmatch.fnmatchcase(s, pattern)
