"""What one simulated peer of the load generator announces, pre-encoded, and
how a receiving session tallies the prefixes it holds.

Every announced prefix gets a bit position (:func:`build_index`); a session
keeps a bitmap over them and :func:`mark_update` applies an UPDATE to it, so
a target that repeats a route or reflects one back is never counted twice.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from bgplab.bench import wire


def ip_int(text: str) -> int:
    return int.from_bytes(socket.inet_aton(text), "big")


def ip_str(value: int) -> str:
    return socket.inet_ntoa(value.to_bytes(4, "big"))


@dataclass
class PeerPlan:
    """What one simulated peer announces, with its bytes pre-encoded."""

    addr: str
    # NLRI entries: (address, length); each gets path id 1 with ADD-PATH
    routes: list[tuple[int, int]] = field(default_factory=list)
    # attribute sets: routes[i] uses attr_sets[attr_index[i]] (or set 0)
    attr_sets: list[bytes] = field(default_factory=list)
    attr_index: list[int] | None = None
    expect: int = 0  # prefixes this peer must hold to be converged
    watch: bool = False  # decode arrivals (churn delay measurement)
    _wire: dict[bool, bytes] = field(default_factory=dict, repr=False)

    def encode(self) -> None:
        """Build the announcement stream for both ADD-PATH outcomes."""
        for addpath in (False, True):
            pid = 1 if addpath else None
            if not self.routes:
                self._wire[addpath] = wire.END_OF_RIB
                continue
            groups: dict[int, list[bytes]] = {}
            for i, (a, plen) in enumerate(self.routes):
                k = self.attr_index[i] if self.attr_index is not None else 0
                groups.setdefault(k, []).append(wire.nlri_entry(a, plen, pid))
            parts: list[bytes] = []
            for k, entries in groups.items():
                parts.extend(wire.pack_announces(entries, self.attr_sets[k]))
            parts.append(wire.END_OF_RIB)
            self._wire[addpath] = b"".join(parts)

    def stream(self, addpath: bool) -> bytes:
        if addpath not in self._wire:
            self.encode()
        return self._wire[addpath]


def build_index(plans: list[PeerPlan]) -> dict[bytes, int]:
    """Every announced prefix (as NLRI bytes without path id) -> a bit
    position in each session's "held" bitmap."""
    index: dict[bytes, int] = {}
    for p in plans:
        for a, plen in p.routes:
            index.setdefault(wire.prefix_bytes(a, plen), len(index))
    return index


def mark_update(
    data: bytes, start: int, end: int, index: dict[bytes, int], bitmap: bytearray, addpath: bool
) -> tuple[int, int, int, int]:
    """Apply one UPDATE body to a "held" bitmap (0 not held, 1 held, 2 never
    counted); exact even when the target repeats a route. Returns
    (announced, withdrawn, change of held count, unknown prefixes)."""
    wd, ann = wire.update_ranges(data, start, end)
    skip = 4 if addpath else 0
    delta = unknown = n_ann = n_wd = 0
    for p, e in ann:
        while p < e:
            p += skip
            q = p + 1 + ((data[p] + 7) >> 3)
            idx = index.get(data[p:q])
            p = q
            n_ann += 1
            if idx is None:
                unknown += 1
            elif not bitmap[idx]:
                bitmap[idx] = 1
                delta += 1
        if p != e:
            raise wire.WireError("NLRI overruns its field")
    for p, e in wd:
        while p < e:
            p += skip
            q = p + 1 + ((data[p] + 7) >> 3)
            idx = index.get(data[p:q])
            p = q
            n_wd += 1
            if idx is not None and bitmap[idx] == 1:
                bitmap[idx] = 0
                delta -= 1
        if p != e:
            raise wire.WireError("NLRI overruns its field")
    return n_ann, n_wd, delta, unknown
