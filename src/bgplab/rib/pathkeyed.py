"""A mapping keyed by (net, path id) without a tuple per key."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any, TypeVar

from bgplab.rib.intmap import IntMap

V = TypeVar("V")
_EMPTY: Mapping[int, Any] = MappingProxyType({})


class PathKeyed(MutableMapping[tuple[int, int], V]):
    """A mapping keyed by (net, path id), stored as one dict per path id.

    An ADD-PATH group's Adj-RIB-Out is keyed so.
    Nearly all keys share few path ids, so each entry is a slot in a dict
    keyed by the net (a :mod:`bgplab.rib.intmap` map: compiled, the net
    stored inline, or a dict): no (net, path id) tuple per entry (56 bytes
    each in a full table).
    """

    __slots__ = ("_by_pid", "_len")

    def __init__(self) -> None:
        self._by_pid: dict[int, dict[int, V]] = {}
        self._len = 0

    def __getitem__(self, key: tuple[int, int]) -> V:
        return self._by_pid[key[1]][key[0]]

    def get(self, key: tuple[int, int], default: Any = None) -> Any:  # type: ignore[override]
        per = self._by_pid.get(key[1])
        return default if per is None else per.get(key[0], default)

    def __contains__(self, key: object) -> bool:
        per = self._by_pid.get(key[1])  # type: ignore[index]
        return per is not None and key[0] in per  # type: ignore[index]

    def __setitem__(self, key: tuple[int, int], value: V) -> None:
        net, pid = key
        per = self._by_pid.get(pid)
        if per is None:
            per = self._by_pid[pid] = IntMap()
        if net not in per:
            self._len += 1
        per[net] = value

    def __delitem__(self, key: tuple[int, int]) -> None:
        per = self._by_pid[key[1]]
        del per[key[0]]
        self._len -= 1
        if not per:
            del self._by_pid[key[1]]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for pid, per in list(self._by_pid.items()):
            for net in per:
                yield net, pid

    def __len__(self) -> int:
        return self._len

    def items(self) -> ItemsView[tuple[int, int], V]:
        return _Items(self)

    def set_all(self, keys: list[tuple[int, int]], value: V) -> None:
        """``self[k] = value`` for every key (keys already held too)."""
        pid_now = -1
        per: dict[int, V] = {}
        fresh = 0
        for net, pid in keys:
            if pid != pid_now:
                pid_now, per = pid, self.per_path_id(pid)
            if net not in per:
                fresh += 1
            per[net] = value
        self._len += fresh

    def of_path_id(self, pid: int) -> Mapping[int, V]:
        """One path id's entries by net, to read (empty if there are none)."""
        return self._by_pid.get(pid, _EMPTY)

    def per_path_id(self, pid: int) -> dict[int, V]:
        """The dict of one path id's entries by net (created empty if new)."""
        per = self._by_pid.get(pid)
        if per is None:
            per = self._by_pid[pid] = IntMap()
        return per

    def take(self, net: int, pid: int) -> V | None:
        """Remove and return the entry of (net, pid), if there is one."""
        per = self._by_pid.get(pid)
        if per is None:
            return None
        value = per.pop(net, None)
        if value is not None:
            self._len -= 1
            if not per:
                del self._by_pid[pid]
        return value

    def clear(self) -> None:
        self._by_pid.clear()
        self._len = 0


class _Items(ItemsView[tuple[int, int], V]):
    _mapping: PathKeyed[V]

    def __iter__(self) -> Iterator[tuple[tuple[int, int], V]]:
        for pid, per in list(self._mapping._by_pid.items()):
            for net, value in per.items():
                yield (net, pid), value
