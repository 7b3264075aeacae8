"""The routing table (BIRD's ``rtable``): every route per net, best first.

One route per (channel, path id) and net. :meth:`Table.update` replaces a
channel's route, re-sorts, and tells every attached exporter what changed.
A net with one route (nearly all of a full table) holds the route itself, not
a one-element list: 64 bytes less per net. Exporters always get a list.

The routes of one UPDATE differ only in their net, so a run of them is kept as
one route (the run's first, its *template*): a net may hold a route whose
``net`` is another net. Every reader goes through the methods here (and
:class:`~bgplab.rib.own_routes.OwnRoutes`), which hand out ``route.at(net)``;
within one :meth:`Table.update` a net's route is made once, so identity
between ``old``, ``old_best`` and ``routes`` means what it always did. Lists
(several routes at a net) hold real routes.
The table also resolves recursive next hops (``gateway recursive``) and keeps
them current when the routes they depend on change (BIRD's host entries).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bgplab import net as netmod
from bgplab.rib.decision import compare
from bgplab.rib.intmap import IntMap
from bgplab.rib.route import Dest, Route, Source

if TYPE_CHECKING:
    from bgplab.rib.channel import Channel, Exporter

log = logging.getLogger("bgplab.table")


@dataclass(slots=True)
class HostEntry:
    """Resolution state of one recursive next-hop address."""

    addr: int
    v6: bool
    dest: Dest = Dest.UNREACHABLE
    gw: str | None = None
    iface: str | None = None
    metric: int = 0
    # through a multipath route: every gateway of it (BIRD 1.6 resolves to them all)
    nexthops: tuple[Any, ...] = ()
    # (channel, net, path_id) for one route, or a channel for all of its
    # routes whose BGP next hop is this address (BGP: no per-route cost)
    dependents: set[Any] = field(default_factory=set)


def link_gateway(he: HostEntry, link_local: Any) -> str | None:
    """The gateway of a recursively resolved next hop: BIRD 1.6 reaches a
    next hop on a connected network through the link-local address the peer
    sent with it (its hostentry's ``link``), else through the address."""
    if link_local is not None and he.dest == Dest.ROUTER and he.gw == netmod.addr_str(he.addr, he.v6):
        return str(link_local)
    return he.gw


class Table:
    def __init__(self, name: str = "master") -> None:
        self.name = name
        # net -> its route (maybe the template of its run: read through
        # route.at(net)), or its routes best first when there are several.
        # (The readers test `type(cur) is list`, the fast test; mypy narrows
        # only its true branch, hence their `type: ignore[union-attr]`: a
        # value that is not a list is a Route.)
        self.nets: dict[int, Route | list[Route]] = IntMap()  # rib.intmap: compiled or dict
        # the template of the run being stored: a new route that differs
        # from it only in the net is kept as it (no Route object per prefix)
        self._run: Route | None = None
        self.exporters: list[Exporter] = []
        # nets per prefix length, keyed length | 256 for IPv6 (an int: no
        # tuple per route)
        self._len_count: dict[int, int] = {}
        self.hosts: dict[tuple[int, bool], HostEntry] = {}
        self.route_count = 0
        # protocol -> nets whose best route is its (`show protocols all`'s
        # "preferred"), kept as routes change rather than counted by a walk
        self._preferred: dict[Any, int] = {}

    # ---- attachment --------------------------------------------------
    def attach(self, exporter: Exporter) -> None:
        if exporter not in self.exporters:
            self.exporters.append(exporter)

    def detach(self, exporter: Exporter) -> None:
        if exporter in self.exporters:
            self.exporters.remove(exporter)

    # ---- updates -----------------------------------------------------
    def update(self, channel: Channel, net: int, path_id: int, route: Route | None) -> None:
        """Replace (or with ``None`` remove) the route of (channel, path_id).

        A route belongs to the channel of the protocol in its ``origin``, so
        the table needs no owner list beside the routes (memory: this is
        per route, and a full table has half a million).
        """
        cur = self.nets.get(net)
        if cur is None:
            # fast path: a new net (most updates of a full table or a new node)
            if route is None:
                return
            self.nets[net] = self._share(route)
            lk = (net & 0xFF) | (256 if net >= netmod.V6_FLAG else 0)
            self._len_count[lk] = self._len_count.get(lk, 0) + 1
            self.route_count += 1
            pc = self._preferred
            pc[route.origin] = pc.get(route.origin, 0) + 1
            routes = [route]
            for exp in self.exporters:
                exp.notify(net, routes, None, route, None)
            if self.hosts and route.origin.source_type != Source.BGP:
                self._recheck_hosts(net)
            return
        routes = cur if type(cur) is list else [cur if cur.net == net else cur.at(net)]  # type: ignore[list-item, union-attr]
        proto = channel.proto
        old: Route | None = None
        old_best = routes[0]
        for i, r in enumerate(routes):
            if r.origin is proto and r.path_id == path_id:
                old = routes.pop(i)
                break
        if route is None and old is None:
            return
        if route is not None:
            i = 0
            n = len(routes)
            while i < n and compare(routes[i], route)[0] <= 0:
                i += 1
            routes.insert(i, route)
            if old is None:
                self.route_count += 1
        else:
            self.route_count -= 1
        if not routes:
            del self.nets[net]
            lk = (net & 0xFF) | (256 if net >= netmod.V6_FLAG else 0)
            self._len_count[lk] -= 1
        elif len(routes) == 1:
            self.nets[net] = self._share(routes[0])
        elif routes is not cur:
            self.nets[net] = routes
        new_src = routes[0].origin if routes else None
        if new_src is not old_best.origin:
            self._move_preferred(old_best.origin, new_src)
        for exp in self.exporters:
            exp.notify(net, routes, old_best, route, old)
        # next hops resolve through non-BGP routes only: BGP changes (most of
        # them) cannot move a host entry
        if self.hosts and (route is not None and route.origin.source_type != Source.BGP
                           or old is not None and old.origin.source_type != Source.BGP):
            self._recheck_hosts(net)

    def _share(self, route: Route) -> Route:
        """What to store for ``route``: the current run's template if the
        route differs from it only in the net, else the route (a new run)."""
        t = self._run
        if t is not None and t.same_run(route):
            return t
        self._run = route
        return route

    def restamp(self, channel: Channel, stored: list[tuple[int, Route]], **changes: Any) -> None:
        """Replace each of a channel's routes with a copy that has
        ``changes`` (graceful restart's stale mark, a new recursive next
        hop), one :meth:`update` each. ``stored`` is (net, route) as the
        table keeps them (:meth:`OwnRoutes.stored`): routes that shared their
        fields share the changed ones, so a run stays one Route."""
        tails: dict[int, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        shared = Route.shared
        for net, cur in stored:
            t = cur._t
            ent = tails.get(id(t))
            if ent is None:  # (the old tail is kept in ent: its id stays its own)
                ent = tails[id(t)] = (t, cur.copy(**changes)._t)
            self.update(channel, net, cur.path_id,
                        shared(net, cur.attrs, cur.origin, cur.path_id, ent[1]))

    def _move_preferred(self, old: Any, new: Any) -> None:
        pc = self._preferred
        left = pc[old] - 1
        if left:
            pc[old] = left
        else:
            del pc[old]
        if new is not None:
            pc[new] = pc.get(new, 0) + 1

    def update_batch(self, channel: Channel, batch: list[tuple[int, int, Route]]) -> None:
        """:meth:`update` for many BGP routes of one channel (one UPDATE).

        New nets (a table or node coming up) are inserted in one pass and
        handed to each exporter together (``notify_batch`` where it has
        one); anything else goes through :meth:`update`, after what came
        before it was delivered, so every exporter sees the changes in
        their order. BGP routes never move a recursive next hop, so there
        is no host entry to recheck.
        """
        nets = self.nets
        lens = self._len_count
        changes: list[tuple[int, list[Route], Route | None, Route | None, Route | None]] = []
        t = self._run  # (Table._share, inline: this is a full table's loop)
        for net, pid, route in batch:
            if net in nets or route.origin.source_type != Source.BGP:
                if changes:
                    self._deliver(changes)
                    changes = []
                self._run = t
                self.update(channel, net, pid, route)
                t = self._run
                continue
            if t is None or not (route._t is t._t and route.attrs is t.attrs
                                 and route.origin is t.origin and route.path_id == t.path_id):
                t = route
            nets[net] = t
            lk = (net & 0xFF) | (256 if net >= netmod.V6_FLAG else 0)
            lens[lk] = lens.get(lk, 0) + 1
            changes.append((net, [route], None, route, None))
        self._run = t
        if changes:
            self._deliver(changes)

    def withdraw_batch(self, channel: Channel, keys: list[tuple[int, int]]) -> None:
        """:meth:`update` with ``None`` for many (net, path_id) of one
        channel (an UPDATE's withdrawals, a protocol going down). A net
        whose only route goes is removed in one pass and handed to the
        exporters with the others; anything else goes through
        :meth:`update`, in order, as in :meth:`update_batch`."""
        proto = channel.proto
        if proto.source_type != Source.BGP:
            for net, pid in keys:  # may move recursive next hops: one by one
                self.update(channel, net, pid, None)
            return
        nets = self.nets
        lens = self._len_count
        changes: list[tuple[int, list[Route], Route | None, Route | None, Route | None]] = []
        for net, pid in keys:
            cur = nets.get(net)
            if cur is None or type(cur) is list or cur.origin is not proto or cur.path_id != pid:  # type: ignore[union-attr]
                if changes:
                    self._deliver(changes, -1, proto)
                    changes = []
                self.update(channel, net, pid, None)
                continue
            del nets[net]
            lens[(net & 0xFF) | (256 if net >= netmod.V6_FLAG else 0)] -= 1
            if cur.net != net:  # type: ignore[union-attr]
                cur = cur.at(net)  # type: ignore[union-attr]
            changes.append((net, [], cur, None, cur))  # type: ignore[arg-type]
        if changes:
            self._deliver(changes, -1, proto)

    def _deliver(
        self,
        changes: list[tuple[int, list[Route], Route | None, Route | None, Route | None]],
        sign: int = 1,
        src: Any = None,
    ) -> None:
        """Book and hand out a batch of one channel's new nets (``sign`` 1)
        or of nets it alone had and withdrew (-1): each one's best route
        was or becomes that channel's."""
        n = len(changes) * sign
        self.route_count += n
        if src is None:
            src = changes[0][3].origin  # type: ignore[union-attr]
        left = self._preferred.get(src, 0) + n
        if left:
            self._preferred[src] = left
        else:
            self._preferred.pop(src, None)
        for exp in self.exporters:
            batch = getattr(exp, "notify_batch", None)
            if batch is not None:
                batch(changes)
            else:
                for c in changes:
                    exp.notify(*c)

    def feed(self, exporter: Exporter) -> None:
        """Announce every net to one exporter, as if each were new."""
        for net, cur in list(self.nets.items()):
            routes = cur if type(cur) is list else [cur.at(net)]  # type: ignore[union-attr]
            if getattr(exporter, "mode", "optimal") == "any":
                for r in list(routes):
                    exporter.notify(net, routes, None, r, None)
            else:
                exporter.notify(net, routes, None, routes[0], None)

    # ---- queries -----------------------------------------------------
    def best(self, net: int) -> Route | None:
        cur = self.nets.get(net)
        if type(cur) is list:
            return cur[0]
        return None if cur is None else cur.at(net)  # type: ignore[union-attr]

    def best_origin(self, net: int) -> Any:
        """The origin of ``net``'s best route, or None (no route made)."""
        cur = self.nets.get(net)
        if cur is None:
            return None
        return cur[0].origin if type(cur) is list else cur.origin  # type: ignore[union-attr]

    def routes(self, net: int) -> list[Route]:
        """The routes of ``net``, best first (a new list)."""
        cur = self.nets.get(net)
        if cur is None:
            return []
        return list(cur) if type(cur) is list else [cur.at(net)]  # type: ignore[union-attr]

    def longest_match(self, addr: int, v6: bool = False, *, skip_bgp: bool = False,
                      max_len: int | None = None) -> int | None:
        """The most specific net containing ``addr``, at most ``max_len`` long
        (``show route for PREFIX``); optionally ignoring nets whose best route
        is BGP, for recursive next hops."""
        width = (128 if v6 else 32) if max_len is None else max_len
        for plen in range(width, -1, -1):
            if not self._len_count.get(plen | (256 if v6 else 0)):
                continue
            key = netmod.make(addr, plen, v6)
            src = self.best_origin(key)
            if src is not None:
                if skip_bgp and src.source_type == Source.BGP:
                    continue
                return key
        return None

    def count_preferred(self, channel: Any) -> int:
        """Nets whose best route is the channel's protocol's."""
        return self._preferred.get(channel.proto, 0)

    def __iter__(self) -> Iterator[tuple[int, list[Route]]]:
        for net, cur in sorted(self.nets.items(), key=lambda item: item[0]):
            yield net, (cur if type(cur) is list else [cur.at(net)])  # type: ignore[union-attr]

    def __len__(self) -> int:
        return len(self.nets)

    # ---- recursive next hops -----------------------------------------
    def resolve(self, addr: int, v6: bool, dependent: tuple[Any, int, int] | None) -> HostEntry:
        """Resolve a BGP next hop through the table (``gateway recursive``)."""
        key = (addr, v6)
        he = self.hosts.get(key)
        if he is None:
            he = HostEntry(addr, v6)
            self._resolve_host(he)
            self.hosts[key] = he
        if dependent is not None:
            he.dependents.add(dependent)
        return he

    def release(self, addr: int, v6: bool, dependent: tuple[Any, int, int]) -> None:
        he = self.hosts.get((addr, v6))
        if he is None:
            return
        he.dependents.discard(dependent)
        if not he.dependents:
            del self.hosts[(addr, v6)]

    def _resolve_host(self, he: HostEntry) -> None:
        match = self.longest_match(he.addr, he.v6, skip_bgp=True)
        he.gw, he.iface, he.metric, he.nexthops = None, None, 0, ()
        if match is None:
            he.dest = Dest.UNREACHABLE
            return
        r = self.best(match)
        assert r is not None
        if r.dest == Dest.DEVICE:
            he.dest = Dest.ROUTER
            he.gw = netmod.addr_str(he.addr, he.v6)
            he.iface = r.iface
        elif r.dest == Dest.ROUTER:
            he.dest = Dest.ROUTER
            he.gw, he.iface = r.gw, r.iface
        else:
            he.dest = r.dest
            if r.dest == Dest.MULTIPATH and len(r.nexthops) > 1:
                he.nexthops = r.nexthops
            elif r.dest == Dest.MULTIPATH:
                he.dest = Dest.ROUTER
            if r.dest == Dest.MULTIPATH and r.nexthops:
                he.gw, he.iface = r.nexthops[0].gw, r.nexthops[0].iface
        he.metric = (r.ext or {}).get("krt_metric", 0) if r.ext else 0

    def _recheck_hosts(self, changed_net: int) -> None:
        v6 = changed_net >= netmod.V6_FLAG
        for he in list(self.hosts.values()):
            if he.v6 != v6 or not netmod.addr_in(changed_net, he.addr, v6):
                continue
            before = (he.dest, he.gw, he.iface, he.nexthops)
            self._resolve_host(he)
            if (he.dest, he.gw, he.iface, he.nexthops) == before:
                continue
            for dep in list(he.dependents):
                if isinstance(dep, tuple):
                    cur = dep[0].own_routes().get((dep[1], dep[2]))
                    self._reresolve(he, dep[0], [] if cur is None else [(dep[1], cur)])
                else:
                    stored = [(n, r) for n, r in dep.own_routes().stored()
                              if r.attrs is not None and r.attrs.next_hop is not None
                              and int(r.attrs.next_hop) == he.addr
                              and (r.attrs.next_hop.version == 6) == he.v6]
                    self._reresolve(he, dep, stored)

    def _reresolve(self, he: HostEntry, channel: Any, stored: list[tuple[int, Route]]) -> None:
        """The channel's routes through ``he`` take its new forwarding."""
        by_gw: dict[str | None, list[tuple[int, Route]]] = {}
        for net, cur in stored:
            gw = link_gateway(he, getattr(cur.attrs, "next_hop_ll", None))
            by_gw.setdefault(gw, []).append((net, cur))
        for gw, some in by_gw.items():
            self.restamp(channel, some, dest=he.dest, gw=gw, iface=he.iface,
                         nexthops=he.nexthops, igp_metric=he.metric)
