"""A channel's routes, found through its table (BIRD's channel has no index).

The table holds every route with its origin and path id, so a channel's
route for (net, path id) is the one at that net whose origin is the
channel's protocol. What the table cannot say cheaply is *which* nets hold
one of the channel's routes (for a flush, graceful restart's stale marking,
``show static``): for that a channel keeps a list of the nets it imported
to, one pointer each to the int the table keys by (8 bytes a route, where a
dict slot per (net, path id) was 42). Withdrawals leave their net in the
list; it is compacted when it grows past twice what the channel holds.

The table may keep one route for a run of nets (its template, whose ``net``
is another net): what this mapping hands out is always ``route.at(net)``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bgplab.rib.intmap import NetList, net_list

if TYPE_CHECKING:
    from bgplab.rib.route import Route
    from bgplab.rib.table import Table


class OwnRoutes(Mapping[tuple[int, int], "Route"]):
    """The routes of one protocol in one table, by (net, path id).

    Read-only: the table is the store (``Table.update`` changes a route);
    the channel books the count (``held``) and adds each new key's net
    (:meth:`added`).
    """

    __slots__ = ("proto", "table", "nets", "held")

    def __init__(self, proto: Any, table: Table) -> None:
        self.proto = proto
        self.table = table
        # nets imported to; may repeat or be gone (packed with the compiled
        # maps: rib.intmap)
        self.nets = net_list()
        self.held = 0  # routes of proto in the table (the channel's `imported`)

    def find(self, net: int, pid: int) -> Route | None:
        """The route of (net, pid), if the table holds one of ours."""
        cur = self.table.nets.get(net)
        if cur is None:
            return None
        proto = self.proto
        if type(cur) is list:
            for r in cur:
                if r.origin is proto and r.path_id == pid:
                    return r
            return None
        if cur.origin is not proto or cur.path_id != pid:  # type: ignore[union-attr]
            return None
        return cur if cur.net == net else cur.at(net)  # type: ignore[union-attr,return-value]

    def added(self, net: int) -> None:
        """A key of ``net`` is new in the table (``held`` already counts it)."""
        nets = self.nets
        nets.append(net)
        if len(nets) > 2 * self.held + 64:
            self._compact()

    def added_all(self, nets: list[int]) -> None:
        """:meth:`added` for many nets."""
        self.nets.extend(nets)
        if len(self.nets) > 2 * self.held + 64:
            self._compact()

    def _compact(self) -> None:
        """Only the nets that hold a route of ours, once each."""
        self.nets = net_list(dict.fromkeys(n for n, _ in self._walk()))

    def forget(self) -> None:
        """Every route of ours left the table (a flush)."""
        self.nets = net_list()
        self.held = 0

    def key_chunks(self, size: int = 4096) -> Iterator[list[tuple[int, int]]]:
        """Every (net, path id) of ours, ``size`` nets at a time, each chunk
        read from the table when it is taken: the caller withdraws a chunk
        before it takes the next, so a full table going down never holds a
        key, a change and a notification per route all at once."""
        return self._chunks(self.nets.copy(), size)

    def _chunks(self, nets: list[int] | NetList, size: int) -> Iterator[list[tuple[int, int]]]:
        for i in range(0, len(nets), size):
            keys = [(net, r.path_id) for net, r in self._walk(nets[i : i + size])]
            if keys:
                yield keys

    def _walk(self, nets: list[int] | None = None) -> Iterator[tuple[int, Route]]:
        """(net, route) for every route of ours (at ``nets``), each once, as
        the table keeps it: the route's ``net`` may be another (its run's)."""
        table_nets = self.table.nets
        proto = self.proto
        for net in dict.fromkeys(self.nets if nets is None else nets):
            cur = table_nets.get(net)
            if cur is None:
                continue
            if type(cur) is list:
                for r in cur:
                    if r.origin is proto:
                        yield net, r
            elif cur.origin is proto:  # type: ignore[union-attr]
                yield net, cur  # type: ignore[misc]

    def stored(self) -> list[tuple[int, Route]]:
        """(net, route) for every route of ours as the table keeps it (the
        route's ``net`` may be its run's): for :meth:`Table.restamp`, which
        reads only what the routes of a run share."""
        return list(self._walk())

    # ---- Mapping ------------------------------------------------------
    def __getitem__(self, key: tuple[int, int]) -> Route:
        r = self.find(key[0], key[1])
        if r is None:
            raise KeyError(key)
        return r

    def get(self, key: tuple[int, int], default: Any = None) -> Any:  # type: ignore[override]
        r = self.find(key[0], key[1])
        return default if r is None else r

    def __contains__(self, key: object) -> bool:
        return self.find(key[0], key[1]) is not None  # type: ignore[index]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for net, r in list(self._walk()):
            yield net, r.path_id

    def __len__(self) -> int:
        return self.held

    def items(self) -> ItemsView[tuple[int, int], Route]:
        return _Items(self)


class _Items(ItemsView[tuple[int, int], "Route"]):
    _mapping: OwnRoutes

    def __iter__(self) -> Iterator[tuple[tuple[int, int], Route]]:
        for net, r in list(self._mapping._walk()):
            yield (net, r.path_id), r.at(net)
