"""``protocol static``: configured routes, alive while their next hop is.

Route forms: ``via IP`` (the gateway must be on a connected prefix of an
up interface; our own address is fine, BIRD treats it as a neighbour of
host scope), ``via "ifname"`` (device route), ``blackhole``,
``unreachable``, ``prohibit``, ``multipath`` (``via A weight 2 via B``:
the live gateways) and ``recursive IP`` (resolved through a table).
``check link`` also requires the interface's carrier. Interface changes
re-evaluate every route.
"""

from __future__ import annotations

import time
from typing import Any

from bgplab import net as netmod
from bgplab.rib.channel import ACCEPT, Channel
from bgplab.rib.protocol import Interface, Protocol, ProtoState
from bgplab.rib.route import Dest, NextHop, Route, Source

_FIXED = (Dest.BLACKHOLE, Dest.UNREACHABLE, Dest.PROHIBIT)


def _signature(r: Route | None) -> tuple[Any, ...] | None:
    if r is None:
        return None
    return (r.dest, r.gw, r.iface, r.nexthops, r.igp_metric, r.ext and tuple(sorted(r.ext.items())))


class StaticProtocol(Protocol):
    channel: Channel
    proto_name = "Static"
    source_type = Source.STATIC
    default_preference = 200

    def __init__(self, config: Any, ctx: Any) -> None:
        super().__init__(config, ctx)
        self.table = ctx.table(getattr(config, "table", "master") or "master")
        self.channel = Channel(
            self,
            self.table,
            getattr(config, "import_filter", None) or ACCEPT,
            export_to_proto=False,
        )
        self.channel.apply_options(config)
        self.check_link = bool(getattr(config, "check_link", False))
        self.routes: tuple[Any, ...] = tuple(getattr(config, "routes", ()) or ())
        self.current: dict[int, tuple[Any, ...]] = {}  # net -> signature of what we imported

    async def start(self) -> None:
        self.ctx.on_iface_change(self._on_iface)
        self.set_state(ProtoState.UP)
        self.refresh()

    async def stop(self, reason: str = "") -> None:
        self.set_state(ProtoState.STOP)
        self.ctx.remove_iface_listener(self._on_iface)
        self._release_hosts()
        self.channel.flush()
        self.current.clear()
        self.set_state(ProtoState.DOWN)

    def reconfigure(self, new_config: Any) -> bool:
        if getattr(new_config, "table", "master") != getattr(self.config, "table", "master"):
            return False
        self.config = new_config
        self.check_link = bool(getattr(new_config, "check_link", False))
        self.channel.import_filter = getattr(new_config, "import_filter", None) or ACCEPT
        self._release_hosts()
        self.routes = tuple(getattr(new_config, "routes", ()) or ())
        if self.state is ProtoState.UP:
            self.refresh(force=True)  # re-import all: filters or attributes may differ
        return True

    def _on_iface(self, name: str, iface: Interface | None) -> None:
        if self.state is ProtoState.UP:
            self.refresh()

    def refresh(self, force: bool = False) -> None:
        """Re-evaluate every route against the current interfaces."""
        seen: set[int] = set()
        for sr in self.routes:
            net = sr.net
            if net in seen:
                continue  # BIRD rejects duplicates in the config; keep the first
            seen.add(net)
            route = self._compute(sr)
            sig = _signature(route)
            if sig == self.current.get(net) and not (force and route is not None):
                continue
            if route is None:
                if self.current.pop(net, None) is not None:
                    self.channel.import_withdraw(net)
            else:
                self.current[net] = sig  # type: ignore[assignment]
                route.since = time.time()
                self.channel.import_route(net, route)
        for net in [n for n in self.current if n not in seen]:
            del self.current[net]
            self.channel.import_withdraw(net)

    # ---- one route ---------------------------------------------------------
    def _iface_ok(self, iface: Interface | None) -> bool:
        return iface is not None and iface.up and (iface.link_up or not self.check_link)

    def _gw_iface(self, gw: str, ifname: str | None) -> Interface | None:
        """The interface a gateway is reached on (BIRD's neighbor lookup)."""
        try:
            addr, v6 = netmod.ip_to_int(gw)
        except netmod.PrefixError:
            return None
        if ifname is not None:
            iface = self.ctx.ifaces.get(ifname)
            if iface is None:
                return None
            if v6 and netmod.addr_in(netmod.parse("fe80::/10"), addr, True):
                return iface  # link-local gateway needs only the interface
            on_link = any(a.v6 == v6 and netmod.addr_in(a.prefix, addr, v6) for a in iface.addrs)
            return iface if on_link else None
        return self.ctx.iface_for(addr, v6)

    def _compute(self, sr: Any) -> Route | None:
        net = sr.net
        dest = sr.dest
        route: Route | None = None
        if dest in _FIXED:
            route = Route(net, None, self, dest=dest)
        elif dest == Dest.MULTIPATH or sr.nexthops:
            hops = []
            for nh in sr.nexthops:
                iface = self._gw_iface(nh.gw, nh.iface) if nh.gw else self.ctx.ifaces.get(nh.iface)
                if self._iface_ok(iface):
                    hops.append(NextHop(nh.gw, iface.name, nh.weight))  # type: ignore[union-attr]
            if hops:
                # BIRD 1.6 keeps next hops sorted: heavier first, then by address
                hops.sort(key=lambda h: (-h.weight, netmod.ip_to_int(h.gw)[0] if h.gw else 0))
                route = Route(net, None, self, dest=Dest.MULTIPATH, nexthops=tuple(hops))
        elif getattr(sr, "recursive", False) and sr.gw:
            route = self._recursive(sr)
        elif sr.gw:
            iface = self._gw_iface(sr.gw, sr.iface)
            if self._iface_ok(iface):
                route = Route(net, None, self, dest=Dest.ROUTER, gw=sr.gw, iface=iface.name)  # type: ignore[union-attr]
        elif sr.iface:
            iface = self.ctx.ifaces.get(sr.iface)
            if self._iface_ok(iface):
                route = Route(net, None, self, dest=Dest.DEVICE, iface=sr.iface)
        if route is not None and getattr(sr, "filter", None) is not None:
            route = sr.filter.run(route)
        return route

    def _recursive(self, sr: Any) -> Route | None:
        addr, v6 = netmod.ip_to_int(sr.gw)
        igp = getattr(self.config, "igp_table", None)
        table = self.ctx.table(igp) if igp else self.table
        he = table.resolve(addr, v6, (self.channel, sr.net, 0))
        if he.dest == Dest.UNREACHABLE and he.gw is None:
            return Route(sr.net, None, self, dest=Dest.NONE, gw=sr.gw)
        return Route(
            sr.net,
            None,
            self,
            dest=he.dest,
            gw=he.gw,
            iface=he.iface,
            nexthops=he.nexthops,
            igp_metric=he.metric,
        )

    def _release_hosts(self) -> None:
        igp = getattr(self.config, "igp_table", None)
        table = self.ctx.table(igp) if igp else self.table
        for sr in self.routes:
            if getattr(sr, "recursive", False) and sr.gw:
                addr, v6 = netmod.ip_to_int(sr.gw)
                table.release(addr, v6, (self.channel, sr.net, 0))
