"""Channels: the link between one protocol and one table (BIRD's announce hook).

A channel owns the protocol's import and export filters, its route counters
and the "route change stats" that ``show protocols all`` prints. Imports go
protocol -> channel -> table; exports go table -> exporter -> protocol.

An *exporter* is anything the table notifies of changes
(:class:`Exporter`). A plain channel is one; BGP peers that share an
export policy share one exporter (an update group), so the table does the
work once per group, not once per peer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

from bgplab.rib.own_routes import OwnRoutes
from bgplab.rib.protocol import ProtoState
from bgplab.rib.route import Route

if TYPE_CHECKING:
    from bgplab.rib.protocol import Protocol as RibProtocol
    from bgplab.rib.table import Table

log = logging.getLogger("bgplab.channel")

MODE_OPTIMAL = "optimal"  # only the best route (RA_OPTIMAL)
MODE_ANY = "any"  # every route change (RA_ANY; ADD-PATH tx)
MODE_MERGED = "merged"  # the equal-best set (RA_MERGED; kernel merge paths)
_UP = ProtoState.UP


class FilterLike(Protocol):
    name: str | None

    def run(self, route: Route, trace: list[Any] | None = None) -> Route | None: ...


class AcceptAll:
    """``import all`` / ``export all``."""

    name: str | None = "ACCEPT"

    def run(self, route: Route, trace: list[Any] | None = None) -> Route | None:
        if trace is not None:
            trace.append((0, "accepted: all"))
        return route

    def same(self, other: object) -> bool:
        return isinstance(other, AcceptAll)


class RejectAll:
    """``import none`` / ``export none``."""

    name: str | None = "REJECT"

    def run(self, route: Route, trace: list[Any] | None = None) -> Route | None:
        if trace is not None:
            trace.append((0, "rejected: none"))
        return None

    def same(self, other: object) -> bool:
        return isinstance(other, RejectAll)


ACCEPT = AcceptAll()
REJECT = RejectAll()
AcceptAll.accepts_all = True  # type: ignore[attr-defined]


@dataclass(slots=True)
class ChangeStats:
    """One direction of BIRD's "Route change stats" table."""

    updates_received: int = 0
    updates_rejected: int = 0
    updates_filtered: int = 0
    updates_ignored: int = 0
    updates_accepted: int = 0
    withdraws_received: int = 0
    withdraws_rejected: int = 0
    withdraws_ignored: int = 0
    withdraws_accepted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Exporter(Protocol):
    """What the table notifies. ``mode`` selects which changes it wants."""

    mode: str

    def notify(
        self,
        net: int,
        routes: list[Route],
        old_best: Route | None,
        new: Route | None,
        old: Route | None,
    ) -> None: ...


class Channel:
    """Protocol <-> table, with filters, counters and stats."""

    def __init__(
        self,
        proto: RibProtocol,
        table: Table,
        import_filter: Any = ACCEPT,
        export_filter: Any = REJECT,
        mode: str = MODE_OPTIMAL,
        merge_limit: int = 16,
        export_to_proto: bool = True,
    ) -> None:
        self.proto = proto
        self.table = table
        self.import_filter = import_filter
        self.export_filter = export_filter
        self.mode = mode
        self.merge_limit = merge_limit
        self.import_stats = ChangeStats()
        self.export_stats = ChangeStats()
        # `import keep filtered`: routes the import filter rejected, kept
        # (never best, never exported) for `show route filtered` and so that
        # `receive limit` counts everything the peer sent, as in BIRD
        self.keep_filtered = False
        self._kept_filtered: dict[tuple[int, int], Route] = {}
        # optimal/merged: net -> exported route (the kernel's: its wanted routes)
        self.exported: MutableMapping[int, Any] = {}
        self.exported_any: dict[tuple[int, int], Route] = {}  # any: (net, id(route src)) -> route
        self.limit_hit: str | None = None
        self.import_limit: Any = None
        self.receive_limit: Any = None
        self.export_limit: Any = None
        # (net, path_id) -> route: found in the table, no index of our own
        self._own = OwnRoutes(proto, table)
        if export_to_proto:
            table.attach(self)

    def apply_options(self, config: Any) -> None:
        """The protocol options that live on the channel: limits, keep filtered."""
        self.import_limit = getattr(config, "import_limit", None)
        self.receive_limit = getattr(config, "receive_limit", None)
        self.export_limit = getattr(config, "export_limit", None)
        self.keep_filtered = bool(getattr(config, "import_keep_filtered", False))

    @property
    def imported(self) -> int:
        """Routes of this channel in the table."""
        return self._own.held

    @property
    def filtered(self) -> int:
        """Rejected routes held (BIRD's ``filt_routes``): 0 unless keep filtered."""
        return len(self._kept_filtered)

    def filtered_routes(self) -> dict[tuple[int, int], Route]:
        """The kept filtered routes, by (net, path_id)."""
        return self._kept_filtered

    def forget_filtered(self) -> None:
        """The session that sent them is gone (a graceful restart keeps only
        the valid routes, stale): the peer sends the rest again."""
        self._kept_filtered.clear()

    @property
    def import_filter(self) -> Any:
        return self._import_filter

    @import_filter.setter
    def import_filter(self, flt: Any) -> None:
        self._import_filter = flt
        self._import_all = bool(getattr(flt, "accepts_all", False))

    # ---- import side -------------------------------------------------
    def import_route(self, net: int, route: Route, path_id: int = 0) -> None:
        """A route from the protocol (announce or implicit replace)."""
        st = self.import_stats
        st.updates_received += 1
        key = (net, path_id)
        kept = self._kept_filtered
        own = self._own
        old = own.find(net, path_id)
        lim = self.receive_limit
        if (lim is not None and old is None and key not in kept
                and own.held + len(kept) >= lim.count
                and self._limit_exceeded("receive", lim)):
            st.updates_ignored += 1
            return
        accepted = route if self._import_all else self._import_filter.run(route)
        if accepted is None:
            # BIRD books a rejected update as a withdraw of what was there
            st.updates_filtered += 1
            if old is not None:
                st.withdraws_accepted += 1
                self._remove(key)
            else:
                st.withdraws_ignored += 1
            if self.keep_filtered:
                kept[key] = route
            return
        if kept:
            kept.pop(key, None)
        if old is not None and old.same_as(accepted):
            # BIRD keeps the route it has (and its age): "ignored"
            st.updates_ignored += 1
            return
        lim = self.import_limit
        if (lim is not None and old is None
                and self.imported >= lim.count and self._limit_exceeded("import", lim)):
            st.updates_ignored += 1
            return
        st.updates_accepted += 1
        self.table.update(self, net, path_id, accepted)
        if old is None:
            own.held += 1
            own.added(net)

    def import_routes(self, nlri: list[tuple[int, int]],
                      make: Callable[[int, int], Route]) -> None:
        """Every (net, path_id) of one UPDATE, with routes built by ``make``:
        one pass, one table call. Only ``import all`` without limits or kept
        routes takes the fast path; the rest is :meth:`import_route` per
        route, so counters, limits and ``keep filtered`` behave the same."""
        if (len(nlri) < 4 or not self._import_all or self.receive_limit is not None
                or self.import_limit is not None or self._kept_filtered
                or len(set(nlri)) < len(nlri)):
            # (a Calico node's UPDATE has one prefix: batching would only add
            # calls; a key twice in one UPDATE sees its first route per route)
            for net, pid in nlri:
                self.import_route(net, make(net, pid), pid)
            return
        find = self._own.find
        batch = []
        fresh: list[int] = []
        for net, pid in nlri:
            r = make(net, pid)
            prev = find(net, pid)
            if prev is None:
                fresh.append(net)
            elif prev.same_as(r):
                continue  # sent again unchanged: ignored, as in import_route
            batch.append((net, pid, r))
        st = self.import_stats
        st.updates_received += len(nlri)
        st.updates_accepted += len(batch)
        st.updates_ignored += len(nlri) - len(batch)
        if batch:
            self.table.update_batch(self, batch)
        if fresh:
            self._own.held += len(fresh)
            self._own.added_all(fresh)

    def import_withdraw(self, net: int, path_id: int = 0) -> None:
        st = self.import_stats
        st.withdraws_received += 1
        key = (net, path_id)
        if self._own.find(net, path_id) is None:
            self._kept_filtered.pop(key, None)  # was not valid: ignored, as in BIRD
            st.withdraws_ignored += 1
            return
        st.withdraws_accepted += 1
        self._remove(key)

    def withdraw_routes(self, keys: list[tuple[int, int]]) -> int:
        """Every withdrawn (net, path_id) of one UPDATE: counters as
        :meth:`import_withdraw` books them, one table call. Returns how many
        of them this channel held."""
        find = self._own.find
        if len(keys) < 4 or len(set(keys)) < len(keys):
            held = 0
            for net, pid in keys:
                held += find(net, pid) is not None
                self.import_withdraw(net, pid)
            return held
        st = self.import_stats
        st.withdraws_received += len(keys)
        kept = self._kept_filtered
        gone = []
        for net, pid in keys:
            if find(net, pid) is not None:
                gone.append((net, pid))
            elif kept:
                kept.pop((net, pid), None)  # was not valid: ignored, as in BIRD
        st.withdraws_ignored += len(keys) - len(gone)
        st.withdraws_accepted += len(gone)
        self._own.held -= len(gone)
        self.table.withdraw_batch(self, gone)
        return len(gone)

    def _remove(self, key: tuple[int, int]) -> None:
        self._own.held -= 1
        self.table.update(self, key[0], key[1], None)

    def own_routes(self) -> OwnRoutes:
        """The routes this channel has in the table, by (net, path_id), to
        read (``Table.update`` changes one)."""
        return self._own

    def flush(self) -> None:
        """Remove every route this channel imported (protocol went down)."""
        chunks = self._own.key_chunks()
        self._own.forget()
        for keys in chunks:
            self.table.withdraw_batch(self, keys)
        self.forget_filtered()
        self.exported.clear()
        self.exported_any.clear()

    def _limit_exceeded(self, which: str, lim: Any) -> bool:
        """Apply a limit action; True if the route must be dropped."""
        action = getattr(lim, "action", "warn")
        if self.limit_hit != which:
            log.warning("%s: %s limit exceeded (%d), action %s", self.proto.name, which,
                        lim.count, action)
            self.limit_hit = which
        if action == "warn":
            return False
        if action == "block":
            return True
        self.proto.ctx.limit_action(self.proto, which, action)
        return True

    # ---- export side -------------------------------------------------
    def notify(
        self,
        net: int,
        routes: list[Route],
        old_best: Route | None,
        new: Route | None,
        old: Route | None,
    ) -> None:
        if self.proto.state is not _UP:  # (an enum's .value is slow in 3.11)
            return
        if self.mode == MODE_MERGED:
            self._notify_merged(net, routes)
        elif self.mode == MODE_ANY:
            self._notify_any(net, new, old)
        else:
            best = routes[0] if routes else None
            if best is old_best and not (best is not None and best is new):
                return
            self._notify_optimal(net, best)

    def notify_batch(self, changes: list[tuple[int, list[Route], Route | None, Route | None,
                                               Route | None]]) -> None:
        """A batch from the table: nets that lost their only route go out as
        :meth:`notify` would send them (a kernel removing a table), without
        its call layers; anything else is :meth:`notify`."""
        if (self.mode != MODE_OPTIMAL or self.proto.state is not _UP
                or not changes or changes[0][3] is not None):
            for c in changes:
                self.notify(*c)
            return
        exported = self.exported
        rt_notify = self.proto.rt_notify
        st = self.export_stats
        for c in changes:
            net, routes = c[0], c[1]
            if routes or c[3] is not None:
                self.notify(*c)
                continue
            prev = exported.pop(net, None)
            if prev is not None:
                st.withdraws_accepted += 1
                rt_notify(net, None, prev)

    def _run_export(self, route: Route) -> Route | None:
        st = self.export_stats
        st.updates_received += 1
        if route.origin is self.proto:
            st.updates_rejected += 1
            return None
        out = self.export_filter.run(route)
        if out is None:
            st.updates_filtered += 1
            return None
        st.updates_accepted += 1
        return out

    def _notify_optimal(self, net: int, best: Route | None) -> None:
        new = self._run_export(best) if best is not None else None
        old = self.exported.get(net)
        if new is None:
            if old is None:
                return
            del self.exported[net]
            self.export_stats.withdraws_accepted += 1
        else:
            self.exported[net] = new
        self.proto.rt_notify(net, new, old)

    def _notify_any(self, net: int, new: Route | None, old: Route | None) -> None:
        if old is not None:
            key = (net, id(old.origin) ^ old.path_id)
            prev = self.exported_any.pop(key, None)
            if prev is not None and new is None:
                self.export_stats.withdraws_accepted += 1
                self.proto.rt_notify(net, None, prev)
        if new is not None:
            out = self._run_export(new)
            key = (net, id(new.origin) ^ new.path_id)
            prev = self.exported_any.get(key)
            if out is None:
                if prev is not None:
                    del self.exported_any[key]
                    self.proto.rt_notify(net, None, prev)
                return
            self.exported_any[key] = out
            self.proto.rt_notify(net, out, prev)

    def _notify_merged(self, net: int, routes: list[Route]) -> None:
        from bgplab.rib.decision import mergeable

        chosen: list[Route] = []
        if routes:
            best = routes[0]
            for r in routes:
                if r is not best and not mergeable(best, r):
                    continue
                out = self._run_export(r)
                if out is not None:
                    chosen.append(out)
                if len(chosen) >= self.merge_limit:
                    break
        if chosen:
            self.exported[net] = chosen[0]
        elif self.exported.pop(net, None) is None:
            return
        self.proto.rt_notify_merged(net, chosen)

    def feed(self) -> None:
        """Export the whole table to the protocol (it just came up)."""
        self.exported.clear()
        self.exported_any.clear()
        self.table.feed(self)

    # ---- counts for `show protocols all` ------------------------------
    def preferred(self) -> int:
        """Routes of this channel that are the best for their net."""
        return self.table.count_preferred(self)

    def exported_count(self) -> int:
        return len(self.exported) if self.mode != MODE_ANY else len(self.exported_any)

    def describe(self) -> dict[str, Any]:
        return {
            "table": self.table.name,
            "import_filter": self.import_filter.name,
            "export_filter": self.export_filter.name,
            "imported": self.imported,
            "filtered": self.filtered,
            "exported": self.exported_count(),
            "preferred": self.preferred(),
            "import_stats": self.import_stats.as_dict(),
            "export_stats": self.export_stats.as_dict(),
        }

    def __repr__(self) -> str:
        return f"Channel({self.proto.name} <-> {self.table.name})"

