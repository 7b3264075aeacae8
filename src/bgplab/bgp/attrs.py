"""BGP path attributes as one immutable, interned value.

Many routes share one attribute set (a node's blocks, a peer's full table
packed many prefixes per UPDATE), so the set is the unit of work: it is
decoded once, compared by identity after :func:`intern`, filtered once and
encoded once per outgoing context. Routes point at it.

This module holds only the value type; the wire codec is in
:mod:`bgplab.bgp.attr_codec`.
"""

from __future__ import annotations

import operator
import weakref
from ipaddress import IPv4Address, IPv6Address
from typing import Any

IPAddress = IPv4Address | IPv6Address

# ORIGIN values
ORIGIN_IGP = 0
ORIGIN_EGP = 1
ORIGIN_INCOMPLETE = 2

# AS_PATH segment types (RFC 4271, RFC 5065)
AS_SET = 1
AS_SEQUENCE = 2
AS_CONFED_SEQUENCE = 3
AS_CONFED_SET = 4

AsPath = tuple[tuple[int, tuple[int, ...]], ...]
"""Segments as ``(segment_type, (asn, ...))``, always with 4-octet ASNs."""


class PathAttrs:
    """An immutable set of path attributes.

    Fields follow RFC 4271 and its extensions; ``None`` (or an empty tuple)
    means "attribute absent". ``communities`` are ``(asn, value)`` pairs as
    BIRD prints them, ``large_communities`` ``(a, b, c)`` triples,
    ``ext_communities`` 64-bit integers, ``unknown`` holds attributes this
    speaker does not understand as ``(flags, type_code, value_bytes)`` so that
    optional transitive ones can be passed on (with the partial bit set).

    Use :meth:`replace` to derive a modified copy and :func:`intern` to share
    equal sets.
    """

    __slots__ = (
        "origin",
        "as_path",
        "next_hop",
        "next_hop_ll",
        "med",
        "local_pref",
        "atomic_aggregate",
        "aggregator",
        "communities",
        "ext_communities",
        "large_communities",
        "originator_id",
        "cluster_list",
        "unknown",
        "_hash",
        "memo",
        "_mk",
        "_mv",
        "__weakref__",
    )

    origin: int | None
    as_path: AsPath
    next_hop: IPAddress | None
    next_hop_ll: IPv6Address | None
    med: int | None
    local_pref: int | None
    atomic_aggregate: bool
    aggregator: tuple[int, IPv4Address] | None
    communities: tuple[tuple[int, int], ...]
    ext_communities: tuple[int, ...]
    large_communities: tuple[tuple[int, int, int], ...]
    originator_id: IPv4Address | None
    cluster_list: tuple[IPv4Address, ...]
    unknown: tuple[tuple[int, int, bytes], ...]
    _hash: int | None
    memo: dict[Any, Any] | None  # memo entries past the first
    _mk: Any  # the first memo entry's key and value
    _mv: Any

    _FIELDS = (
        "origin",
        "as_path",
        "next_hop",
        "next_hop_ll",
        "med",
        "local_pref",
        "atomic_aggregate",
        "aggregator",
        "communities",
        "ext_communities",
        "large_communities",
        "originator_id",
        "cluster_list",
        "unknown",
    )

    def __init__(
        self,
        origin: int | None = None,
        as_path: AsPath = (),
        next_hop: IPAddress | None = None,
        next_hop_ll: IPv6Address | None = None,
        med: int | None = None,
        local_pref: int | None = None,
        atomic_aggregate: bool = False,
        aggregator: tuple[int, IPv4Address] | None = None,
        communities: tuple[tuple[int, int], ...] = (),
        ext_communities: tuple[int, ...] = (),
        large_communities: tuple[tuple[int, int, int], ...] = (),
        originator_id: IPv4Address | None = None,
        cluster_list: tuple[IPv4Address, ...] = (),
        unknown: tuple[tuple[int, int, bytes], ...] = (),
    ) -> None:
        s = object.__setattr__
        s(self, "origin", origin)
        s(self, "as_path", as_path)
        s(self, "next_hop", next_hop)
        s(self, "next_hop_ll", next_hop_ll)
        s(self, "med", med)
        s(self, "local_pref", local_pref)
        s(self, "atomic_aggregate", atomic_aggregate)
        s(self, "aggregator", aggregator)
        s(self, "communities", communities)
        s(self, "ext_communities", ext_communities)
        s(self, "large_communities", large_communities)
        s(self, "originator_id", originator_id)
        s(self, "cluster_list", cluster_list)
        s(self, "unknown", unknown)
        s(self, "_hash", None)
        s(self, "memo", None)
        s(self, "_mk", None)
        s(self, "_mv", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PathAttrs is immutable; use replace()")

    def memo_for(self, owner: object) -> dict[Any, Any]:
        """A cache that lives exactly as long as this set, one per ``owner``.

        Consumers (an update group, a peer) keep what they derive from a set
        here — its rewrite for their peers, its wire encoding — instead of
        in a table of their own that would keep dead sets alive (the soak
        in docs/soak.md grew 2 MiB/min that way). Not part of the value:
        equality and hashing ignore it. An owner with one entry per set
        should rather use :meth:`memo_get`/:meth:`memo_set` (no dict of its
        own per set).
        """
        per = self.memo_get(owner)
        if per is None:
            per = {}
            self.memo_set(owner, per)
        return per

    def memo_get(self, key: Any, default: Any = None) -> Any:
        """An entry of the set's memo; each owner keys its entries by a
        tuple that starts with its own unique memo key."""
        if self._mk == key:
            return self._mv
        m = self.memo
        return default if m is None else m.get(key, default)

    def memo_set(self, key: Any, value: Any) -> None:
        # The first entry lives in two slots: most sets have exactly one
        # (the group's rewrite of a received set, the encoding of the
        # rewritten one), and a dict for it cost ~220 bytes a set.
        mk = self._mk
        if mk is None or mk == key:
            object.__setattr__(self, "_mk", key)
            object.__setattr__(self, "_mv", value)
            return
        m = self.memo
        if m is None:
            m = {}
            object.__setattr__(self, "memo", m)
        m[key] = value

    def _key(self) -> tuple[Any, ...]:
        return _fields_of(self)

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash(self._key())
            object.__setattr__(self, "_hash", h)
        return h

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, PathAttrs):
            return NotImplemented
        return hash(self) == hash(other) and self._key() == other._key()

    def replace(self, **changes: Any) -> PathAttrs:
        """A copy with some fields changed (copy-on-write for filters)."""
        new = object.__new__(PathAttrs)
        s = object.__setattr__
        for f, v in zip(self._FIELDS, _fields_of(self)):
            s(new, f, v)
        for f, v in changes.items():
            if f not in _FIELD_SET:
                raise TypeError(f"PathAttrs has no field {f!r}")
            s(new, f, v)
        s(new, "_hash", None)
        s(new, "memo", None)
        s(new, "_mk", None)
        s(new, "_mv", None)
        return new

    def as_path_len(self) -> int:
        """Path length for best-path selection: an AS_SET counts as one,
        confederation segments count as zero (RFC 4271 9.1.2.2, RFC 5065)."""
        n = 0
        for seg_type, asns in self.as_path:
            if seg_type == AS_SEQUENCE:
                n += len(asns)
            elif seg_type == AS_SET:
                n += 1
        return n

    def as_path_flat(self) -> tuple[int, ...]:
        """All ASNs of the path in order, as BIRD's ``bgp_path`` sees them."""
        out: list[int] = []
        for _seg_type, asns in self.as_path:
            out.extend(asns)
        return tuple(out)

    def __repr__(self) -> str:
        parts = []
        for f in self._FIELDS:
            v = getattr(self, f)
            if v not in (None, (), False):
                parts.append(f"{f}={v!r}")
        return "PathAttrs(" + ", ".join(parts) + ")"


_fields_of = operator.attrgetter(*PathAttrs._FIELDS)
_FIELD_SET = frozenset(PathAttrs._FIELDS)

# Canonical instances by hash: a weak reference to the set (its hash is
# cached in the reference), or a list of them when different sets collide.
# Weak: a set that no route or cache holds any more disappears by itself (a
# churning peer creates new sets all the time; the 10-minute soak in
# docs/soak.md grew by 2 MiB/min with a plain dict). Keyed by the hash, not
# by a tuple of the fields: that tuple cost ~150 bytes a set.
_interned: dict[int, Any] = {}


def _drop(ref: weakref.ref[PathAttrs]) -> None:
    h = hash(ref)  # cached while the set was alive
    got = _interned.get(h)
    if got is ref:
        del _interned[h]
    elif type(got) is list:
        for i, r in enumerate(got):
            if r is ref:
                del got[i]  # in place: intern() may hold this list
                break
        if not got:
            del _interned[h]


def _keep_hash(attrs: PathAttrs, h: int) -> None:
    # the table's key and the set's cached hash: one int object, not two
    if attrs._hash is not h:
        object.__setattr__(attrs, "_hash", h)


def _ref(attrs: PathAttrs) -> weakref.ref[PathAttrs]:
    r = weakref.ref(attrs, _drop)
    hash(r)  # keep the hash for _drop, when the set is gone
    return r


def intern(attrs: PathAttrs) -> PathAttrs:
    """Return the canonical instance equal to ``attrs``."""
    key = _fields_of(attrs)
    h = attrs._hash
    if h is None:
        h = hash(key)
    got = _interned.get(h)
    if got is None:
        _keep_hash(attrs, h)
        _interned[h] = _ref(attrs)
        return attrs
    # (anything that allocates may run a collection, and _drop with it:
    # the table is read again before it is written)
    if type(got) is list:
        for r in tuple(got):
            o = r()
            if o is not None and (o is attrs or _fields_of(o) == key):
                return o
    else:
        o = got()
        if o is not None and (o is attrs or _fields_of(o) == key):
            return o
    _keep_hash(attrs, h)
    new = _ref(attrs)
    pair: list[Any] = [None, new]
    cur = _interned.get(h)
    if cur is None:
        _interned[h] = new
    elif type(cur) is list:
        cur.append(new)
    elif cur() is None:
        _interned[h] = new  # dead, its callback not run yet
    else:
        pair[0] = cur  # a different set with the same hash
        _interned[h] = pair
    return attrs


def interned_count() -> int:
    """How many distinct attribute sets are alive (for `show memory`)."""
    extra = sum(len(v) - 1 for v in _interned.values() if type(v) is list)
    return len(_interned) + extra


# Equal small values that many sets hold (a next hop, a reflector's
# CLUSTER_LIST and ORIGINATOR_ID) as one object; bounded: cleared when full.
_shared: dict[Any, Any] = {}
_SHARED_MAX = 4096


def shared(value: Any) -> Any:
    """The one object equal to ``value`` (immutable values only)."""
    got = _shared.get(value)
    if got is None:
        if len(_shared) >= _SHARED_MAX:
            _shared.clear()
        got = _shared[value] = value
    return got
