"""Int-keyed maps for the RIB: compiled where it was built, else plain dicts.

A full table keeps a few maps keyed by the net (an int: ``addr << 8 | len``
for IPv4): the table's nets, an update group's Adj-RIB-Out. As a dict each
entry is a 42-byte slot plus the key's int object (32 bytes) that the slot
keeps alive. ``bgplab._intmap.IntMap`` (src/bgplab/_intmap.c, built by
``pip install -e .`` when a C compiler is there) stores keys up to 2**63-1
inline: 16 bytes an entry plus ~8 of index, and no int object.

The plain dict is the reference: the tests run both (``MAP_TYPES``), and
``BGPLAB_PURE=1`` in the environment (read at import) makes the daemon use
dicts. Differences from a dict that no caller depends on:

- iteration gives the inline keys (nets up to 2**63-1, every IPv4 net) in
  insertion order, then the others (IPv6 nets) in theirs: a map holding
  both families does not interleave them as inserted;
- keys come back as new ``int`` objects (a bool key comes back as 0 or 1);
- a key that is not an int raises TypeError on a store and is simply not
  found on a lookup (so ``1.0 in m`` is False where a dict says True).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

PURE_ENV = "BGPLAB_PURE"
_PACKED_LIMIT = 1 << 64

try:
    from bgplab import _intmap  # type: ignore[attr-defined]
except ImportError:  # not built (no compiler at install): dicts
    _intmap = None


if _intmap is not None:

    class CompiledIntMap(_intmap.IntMap, MutableMapping):  # type: ignore[misc,name-defined]
        """The compiled map, with the MutableMapping mixins it does not
        define itself (``==``, ``popitem``)."""

        __slots__ = ()

    COMPILED: type | None = CompiledIntMap
else:
    COMPILED = None


def _choose() -> type:
    if COMPILED is None or os.environ.get(PURE_ENV, "") not in ("", "0"):
        return dict
    return COMPILED


#: the map type the RIB uses: ``IntMap()`` makes an empty map
IntMap: Any = _choose()

#: every implementation present, the reference (dict) first: for tests
MAP_TYPES: tuple[type, ...] = (dict,) if COMPILED is None else (dict, COMPILED)


def compiled() -> bool:
    """Whether the RIB uses the compiled map."""
    return IntMap is not dict


class NetList:
    """A list of nets that keeps no int object per net below 2**64 (every
    IPv4 net): those are packed in an ``array('Q')``, 8 bytes each, the
    rest (IPv6 nets) in a list. A channel's list of the nets it imported to
    (rib/own_routes.py) is one: beside the compiled maps, it was the last
    holder of each net's int. Iteration gives the packed nets, then the
    others, each in the order appended.
    """

    __slots__ = ("_small", "_big")

    def __init__(self, nets: Iterable[int] = ()) -> None:
        self._small = array("Q")
        self._big: list[int] = []
        self.extend(nets)

    def append(self, net: int) -> None:
        if 0 <= net < _PACKED_LIMIT:
            self._small.append(net)
        else:
            self._big.append(net)

    def extend(self, nets: Iterable[int]) -> None:
        small = self._small
        n0 = len(small)
        try:
            small.extend(nets if isinstance(nets, list | tuple) else list(nets))
        except OverflowError:  # an IPv6 net (or one below 0): one by one
            del small[n0:]
            for net in nets:
                self.append(net)

    def copy(self) -> NetList:
        c = NetList()
        c._small = array("Q", self._small)
        c._big = list(self._big)
        return c

    def __len__(self) -> int:
        return len(self._small) + len(self._big)

    def __iter__(self) -> Iterator[int]:
        yield from self._small
        yield from self._big

    def __getitem__(self, part: slice) -> list[int]:
        """A slice, as a list of ints (only slices: what a chunked walk takes)."""
        start, stop, step = part.indices(len(self))
        n = len(self._small)
        out = self._small[start : min(stop, n)].tolist() if start < n else []
        if stop > n:
            out += self._big[max(start - n, 0) : stop - n]
        if step != 1:
            out = out[::step]
        return out

    def __delitem__(self, part: slice) -> None:
        """Delete a slice of step 1 (a queue's consumed head: ``del q[:k]``)."""
        start, stop, step = part.indices(len(self))
        if step != 1:
            raise ValueError("NetList deletes slices of step 1 only")
        if stop <= start:
            return
        n = len(self._small)
        if start < n:
            del self._small[start : min(stop, n)]
        if stop > n:
            del self._big[max(start - n, 0) : stop - n]


def net_list(nets: Iterable[int] = ()) -> list[int] | NetList:
    """A list of nets: a :class:`NetList` with the compiled maps (which keep
    no int per net either), else a plain list (the reference)."""
    return NetList(nets) if compiled() else list(nets)
