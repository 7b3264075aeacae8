"""Prefix-set lookup precomputed per prefix length.

``PrefixSet.contains`` walks every pattern per route. For IPv4 we instead
build, once, a table indexed by the route's prefix length: for each length,
the few (shift, keys) groups of patterns that admit that length, so a lookup
is one or two shifts and set probes. Same answers as ``PrefixSet.contains``
(a pattern shorter than the route compares on its own length, a longer one
on the route's: BIRD's ``net ~ [ p{lo,hi} ]``).
"""

from __future__ import annotations

from collections.abc import Callable

from bgplab import net as netmod
from bgplab.filters.values import PrefixSet

V6_FLAG = netmod.V6_FLAG


def prefix_set_matcher(ps: PrefixSet) -> Callable[[int], bool]:
    """A function ``net key -> bool`` equivalent to ``ps.contains``."""
    by_len: list[dict[int, set[int]]] = [{} for _ in range(33)]
    has_v6 = False
    for pnet, lo, hi in ps.patterns:
        if pnet >= V6_FLAG:
            has_v6 = True
            continue
        plen = pnet & 0xFF
        addr = pnet >> 8
        for length in range(max(lo, 0), min(hi, 32) + 1):
            m = min(length, plen)
            # On the key (addr << 8 | len), ``>> (40 - m)`` keeps m address bits.
            by_len[length].setdefault(40 - m, set()).add(addr >> (32 - m))
    table = tuple(tuple((sh, frozenset(keys)) for sh, keys in sorted(g.items())) for g in by_len)
    slow = ps.contains

    def contains(n: int) -> bool:
        if n >= V6_FLAG:
            return has_v6 and slow(n)
        for sh, keys in table[n & 0xFF]:  # noqa: SIM110 - a loop beats any() here
            if (n >> sh) in keys:
                return True
        return False

    return contains
