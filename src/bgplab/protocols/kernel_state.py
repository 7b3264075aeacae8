"""What the kernel protocol wants in the FIB and what it has there.

:class:`FibState` holds the wanted route of every net (what the table
exports) and, only where they differ, the route of ours the kernel has:
once synchronised the two are the same for every net, so the installed side
costs nothing per route (100,000 routes: one dict instead of two, ~5 MB).
The values are :class:`FibAttrs`, shared by every route through the same
gateway (:class:`FibAttrsMaker` makes them from exported routes). Also
here: how a wanted route is compared with the kernel's, and learned
(alien) kernel routes as routes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from bgplab.io.netlink import RTPROT_BIRD, FibAttrs, FibNextHop, FibRoute
from bgplab.rib.intmap import IntMap
from bgplab.rib.route import Dest, NextHop, Route, Source

IPV6_DEFAULT_METRIC = 1024  # what Linux makes of metric 0 for IPv6

DEST_KIND = {
    Dest.BLACKHOLE: "blackhole",
    Dest.UNREACHABLE: "unreachable",
    Dest.PROHIBIT: "prohibit",
}
KIND_DEST = {v: k for k, v in DEST_KIND.items()}


def same_route(want: FibRoute, got: FibRoute) -> bool:
    """Does the kernel's ``got`` satisfy ``want``? The kernel fills in what
    we left open (the interface of a plain gateway), so only compare what
    we set."""
    return want.dst == got.dst and same_attrs(want.attrs, got.attrs, want.v6)


def same_attrs(want: FibAttrs, got: FibAttrs, v6: bool) -> bool:
    """:func:`same_route` for two routes of one destination."""
    if want is got:
        return True
    metric = want.metric or (IPV6_DEFAULT_METRIC if v6 else 0)
    if (want.kind, want.table, metric) != (got.kind, got.table, got.metric):
        return False
    if want.prefsrc is not None and want.prefsrc != got.prefsrc:
        return False
    if want.kind != "unicast":
        return True  # IPv6 reports blackholes etc. as "dev lo"
    if len(want.nexthops) != len(got.nexthops):
        return False
    multi = len(want.nexthops) > 1
    for w, g in zip(want.nexthops, got.nexthops):
        if w.gw != g.gw or w.onlink != g.onlink:
            return False
        if w.ifname is not None and w.ifname != g.ifname:
            return False
        if multi and w.weight != g.weight:
            return False
    return True


def kernel_slot(a: FibAttrs, v6: bool) -> tuple[int, int]:
    """The kernel's slot of a route of a given destination, (table, metric)
    as Linux sees it: metric 0 is 1024 for IPv6, so such a route bird6 left
    (metric 1024) is the slot we write with metric 0."""
    return (a.table, a.metric or (IPV6_DEFAULT_METRIC if v6 else 0))


def route_hops(r: Route) -> list[FibNextHop]:
    """The kernel next hops of one exported route."""
    tunnel = (r.ext or {}).get("krt_tunnel")  # Calico's BIRD fork: IPIP via tunl0
    if r.dest == Dest.ROUTER:
        if not r.gw:
            return []
        if tunnel:
            return [FibNextHop(r.gw, str(tunnel), 1, True)]
        return [FibNextHop(r.gw, r.iface or None)]
    if r.dest == Dest.DEVICE:
        return [FibNextHop(None, r.iface)] if r.iface else []
    if r.dest == Dest.MULTIPATH:
        return [FibNextHop(nh.gw, nh.iface, nh.weight) for nh in r.nexthops]
    return []


def learned_route(net: int, r: FibRoute, origin: Any) -> Route | None:
    """An alien kernel route as a route of ours to import (``learn``)."""
    ext: dict[str, Any] = {"krt_source": r.proto, "krt_metric": r.metric}
    if r.prefsrc:
        ext["krt_prefsrc"] = r.prefsrc
    kw: dict[str, Any] = {}
    if r.kind in KIND_DEST:
        kw["dest"] = KIND_DEST[r.kind]
    elif len(r.nexthops) > 1:
        kw["dest"] = Dest.MULTIPATH
        kw["nexthops"] = tuple(NextHop(h.gw, h.ifname, h.weight) for h in r.nexthops)
    elif len(r.nexthops) == 1:
        h = r.nexthops[0]
        kw["dest"] = Dest.ROUTER if h.gw else Dest.DEVICE
        kw["gw"], kw["iface"] = h.gw, h.ifname
    else:
        return None
    return Route(net, None, origin, since=time.time(), ext=ext, **kw)


class FibAttrsMaker:
    """Exported routes -> the FibAttrs to write, one shared object per
    distinct value (interned; bounded by the gateway sets, metrics, ...
    seen). ``one_hop`` holds the common case, one gateway and nothing from
    the filter, by (gateway, interface): the kernel protocol reads it first.
    """

    def __init__(
        self, table: int, metric: int, merge_paths: bool, merge_limit: int, device_routes: bool
    ) -> None:
        self.table = table
        self.metric = metric
        self.merge_paths = merge_paths
        self.merge_limit = merge_limit
        self.device_routes = device_routes
        self.one_hop: dict[tuple[str | None, str | None], FibAttrs] = {}
        self._interned: dict[FibAttrs, FibAttrs] = {}

    def intern(self, a: FibAttrs) -> FibAttrs:
        return self._interned.setdefault(a, a)

    def capable(self, r: Route) -> bool:
        """BIRD's krt_capable: what may go to the kernel at all."""
        if r.dest == Dest.NONE:
            return False
        return not (r.origin.source_type == Source.DEVICE and not self.device_routes)

    def make(self, routes: list[Route]) -> FibAttrs | None:
        """The kernel route of a net from its exported route(s) (merged
        ECMP: the best first), or None if none may go to the kernel."""
        best = routes[0]
        if not self.capable(best):
            return None
        ext = best.ext
        if not ext and len(routes) == 1 and best.dest == Dest.ROUTER and best.gw:
            hkey = (best.gw, best.iface)
            one = self.one_hop.get(hkey)
            if one is None:
                hop = (FibNextHop(best.gw, best.iface or None),)
                one = self.one_hop[hkey] = self.intern(
                    FibAttrs(hop, "unicast", self.table, self.metric, RTPROT_BIRD)
                )
            return one
        ext = ext or {}
        metric = self.metric or int(ext.get("krt_metric", 0) or 0)
        prefsrc = ext.get("krt_prefsrc") or None
        if best.dest in DEST_KIND:
            kind = DEST_KIND[best.dest]
            return self.intern(FibAttrs((), kind, self.table, metric, RTPROT_BIRD, prefsrc))
        hops: list[FibNextHop] = []
        for r in routes:
            if r is not best and (not self.capable(r) or r.dest in DEST_KIND):
                continue
            for h in route_hops(r):
                if h not in hops:
                    hops.append(h)
        if not hops:
            return None
        hops = hops[: self.merge_limit] if self.merge_paths else hops
        if len(hops) == 1 and hops[0].weight != 1:
            hops = [FibNextHop(hops[0].gw, hops[0].ifname, 1, hops[0].onlink)]
        src = str(prefsrc) if prefsrc else None
        return self.intern(FibAttrs(tuple(hops), "unicast", self.table, metric, RTPROT_BIRD, src))


FRESH = 2  # FibState.set_want: a first install


class Unwritten:
    """``FibState.want``'s value for a net whose wanted route (``attrs``)
    the kernel does not have yet, with nothing of ours there: the usual
    first install. One per FibAttrs, shared by every such net, so a full
    table waiting for the writer costs no entry in ``diff`` (52 B a net at
    100,000)."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: FibAttrs) -> None:
        self.attrs = attrs

    def __repr__(self) -> str:
        return f"Unwritten({self.attrs!r})"


class FibState:
    """Wanted routes, and installed ones stored as their difference.

    ``want[net]`` is the wanted route: a FibAttrs the kernel has (unless
    ``diff`` says otherwise), or an :class:`Unwritten` one with nothing of
    ours there. ``diff[net]``, present only where the kernel has another
    route of ours than ``want`` says, is that route (never None, never for
    an Unwritten net). A net in neither is neither wanted nor installed.
    """

    __slots__ = ("want", "diff", "unwritten", "_tags")

    def __init__(self) -> None:
        # an int-keyed map (rib.intmap: compiled, the net inline, ~26 B a
        # net instead of a 52 B dict slot and the net's int; or a dict)
        self.want: MutableMapping[int, FibAttrs | Unwritten] = IntMap()
        self.diff: dict[int, FibAttrs] = {}
        self.unwritten = 0  # Unwritten values in want
        self._tags: dict[int, Unwritten] = {}  # id(FibAttrs) -> its Unwritten

    def tag(self, fa: FibAttrs) -> Unwritten:
        """The shared Unwritten of ``fa`` (it keeps ``fa``, so its id stays)."""
        t = self._tags.get(id(fa))
        if t is None:
            t = self._tags[id(fa)] = Unwritten(fa)
        return t

    def wanted(self, net: int) -> FibAttrs | None:
        w = self.want.get(net)
        return w.attrs if isinstance(w, Unwritten) else w

    def installed(self, net: int) -> FibAttrs | None:
        i = self.diff.get(net)
        if i is not None:
            return i
        w = self.want.get(net)
        return None if isinstance(w, Unwritten) else w

    def set_want(self, net: int, fa: FibAttrs | None) -> int:
        """0 when nothing changed (nothing to write), :data:`FRESH` for a
        net's first wanted route with nothing of ours installed (the usual
        install), else 1."""
        want = self.want
        old = want.get(net)
        if old is fa:
            return 0
        if old is None:
            i = self.diff.get(net)  # ours, not wanted (being removed)
            if i is None:
                want[net] = self.tag(fa)  # type: ignore[arg-type]
                self.unwritten += 1
                return FRESH
            if i is fa:
                del self.diff[net]  # back to what the kernel has
            want[net] = fa  # type: ignore[assignment]
            return 1
        if isinstance(old, Unwritten):  # nothing of ours there
            if fa is None:
                del want[net]
                self.unwritten -= 1
            elif old.attrs is not fa:
                want[net] = self.tag(fa)
            else:
                return 0
            return 1
        diff = self.diff
        i = diff.get(net, old)  # type: ignore[arg-type]
        if i is fa:
            del diff[net]  # back to what the kernel has
        elif i is old:
            diff[net] = old  # type: ignore[assignment]  # the kernel keeps it until written
        if fa is None:
            del want[net]
        else:
            want[net] = fa
        return 1

    def set_installed(self, net: int, fa: FibAttrs | None) -> None:
        want = self.want
        w = want.get(net)
        tagged = isinstance(w, Unwritten)
        if isinstance(w, Unwritten):
            w = w.attrs
        if fa is None:
            self.diff.pop(net, None)
            if w is not None and not tagged:
                want[net] = self.tag(w)  # type: ignore[arg-type]
                self.unwritten += 1
            return
        if w is fa or (w is not None and w == fa):
            self.diff.pop(net, None)
        else:
            self.diff[net] = fa
        if tagged:
            want[net] = w  # type: ignore[assignment]
            self.unwritten -= 1

    def in_sync(self, net: int) -> None:
        """The kernel has what is wanted (checked by the caller)."""
        self.diff.pop(net, None)
        w = self.want.get(net)
        if isinstance(w, Unwritten):
            self.want[net] = w.attrs
            self.unwritten -= 1

    def clear_want(self) -> None:
        """Forget what is wanted (to be exported again); keep the installed."""
        diff = self.diff
        for net, fa in self.want.items():
            if not isinstance(fa, Unwritten) and net not in diff:
                diff[net] = fa
        self.want = IntMap()
        self.unwritten = 0

    def clear(self) -> None:
        self.want = IntMap()
        self.diff = {}
        self.unwritten = 0


class KernelExports(MutableMapping[int, Any]):
    """What the kernel channel exported, by net: :class:`FibState`'s wanted
    routes plus the few nets whose exported route may not go to the kernel
    (BIRD's krt_capable: unreachable by a recursive next hop, device routes
    without ``device routes``). The channel's own ``net -> route`` dict
    would repeat ``want`` slot for slot (52 bytes a route at 100,000).

    The kernel protocol keeps it (``rt_notify`` sets what is wanted and
    :meth:`not_capable`); the channel's writes are no-ops and ``pop`` only
    reads, so its bookkeeping (what to withdraw, the counters) sees what
    was exported before the change, as with a dict of its own.
    """

    __slots__ = ("fib", "other")

    def __init__(self, fib: FibState) -> None:
        self.fib = fib
        self.other: set[int] = set()  # exported, not capable: not in want

    def not_capable(self, net: int, exported: bool) -> None:
        """``net``'s exported route may not go to the kernel (``exported``),
        or there is none such any more."""
        if exported:
            self.other.add(net)
        elif self.other:
            self.other.discard(net)

    def get(self, net: int, default: Any = None) -> Any:  # type: ignore[override]
        fa = self.fib.want.get(net)
        if fa is not None:
            return fa
        return True if net in self.other else default

    def __getitem__(self, net: int) -> Any:
        v = self.get(net)
        if v is None:
            raise KeyError(net)
        return v

    def __setitem__(self, net: int, route: Any) -> None:
        pass  # rt_notify records it

    def __delitem__(self, net: int) -> None:
        pass  # rt_notify forgets it

    def pop(self, net: int, default: Any = None) -> Any:  # type: ignore[override]
        return self.get(net, default)

    def clear(self) -> None:
        """The channel forgets its exports (a flush or a refeed): the
        kernel protocol forgets what it wants itself where it must."""
        self.other.clear()

    def __iter__(self) -> Iterator[int]:
        yield from list(self.fib.want)
        yield from list(self.other)

    def __len__(self) -> int:
        return len(self.fib.want) + len(self.other)


class InstalledView(Mapping[int, FibAttrs]):
    """Read-only ``net -> FibAttrs`` of what the kernel has of ours."""

    def __init__(self, state: FibState) -> None:
        self._s = state

    def __getitem__(self, net: int) -> FibAttrs:
        fa = self._s.installed(net)
        if fa is None:
            raise KeyError(net)
        return fa

    def __iter__(self) -> Iterator[int]:
        diff = self._s.diff
        for net, w in self._s.want.items():
            if net not in diff and not isinstance(w, Unwritten):
                yield net
        yield from list(diff)

    def __len__(self) -> int:
        s = self._s
        want = s.want
        return len(want) - s.unwritten + sum(1 for net in s.diff if net not in want)
