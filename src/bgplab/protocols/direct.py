"""``protocol direct``: one device route per connected prefix.

Follows the interfaces the device protocol publishes on the context. Only
interfaces matching the ``interface`` patterns count (Calico:
``-"cali*", -"kube-ipvs*", "*"``). As in BIRD, addresses of host or link
scope (127/8, ::1, fe80::/10) make no route, and a prefix on several
interfaces yields one route, via the first interface that had it.
"""

from __future__ import annotations

import time
from typing import Any

from bgplab import net as netmod
from bgplab.rib.channel import ACCEPT, Channel
from bgplab.rib.protocol import Interface, Protocol, ProtoState
from bgplab.rib.route import Dest, Route, Source

_SKIP = (netmod.parse("127.0.0.0/8"), netmod.parse("::1/128"), netmod.parse("fe80::/10"))


def connected_prefixes(config: Any, iface: Interface | None, check_link: bool = False,
                       family: int | None = None) -> list[int]:
    """The prefixes ``iface`` contributes under ``config``'s patterns (of
    one IP version with ``family``, as bird and bird6 see only theirs)."""
    if iface is None or not iface.up or (check_link and not iface.link_up):
        return []
    matches = getattr(config, "matches", None)
    out: list[int] = []
    for a in iface.addrs:
        addr, v6 = netmod.ip_to_int(a.address)
        if family is not None and v6 != (family == 6):
            continue
        if any(netmod.addr_in(s, addr, v6) for s in _SKIP):
            continue
        if matches is not None and not matches(iface.name, None if v6 else addr):
            continue
        if a.prefix not in out:
            out.append(a.prefix)
    return out


class DirectProtocol(Protocol):
    channel: Channel
    proto_name = "Direct"
    source_type = Source.DEVICE
    default_preference = 240

    def __init__(self, config: Any, ctx: Any) -> None:
        super().__init__(config, ctx)
        table = ctx.table(getattr(config, "table", "master") or "master")
        self.channel = Channel(
            self, table, getattr(config, "import_filter", None) or ACCEPT, export_to_proto=False
        )
        self.channel.apply_options(config)
        self.check_link = bool(getattr(config, "check_link", False))
        self.by_iface: dict[str, list[int]] = {}
        self.owners: dict[int, list[str]] = {}  # net -> interfaces having it, first = used

    async def start(self) -> None:
        self.ctx.on_iface_change(self._on_iface)
        self.set_state(ProtoState.UP)
        for name, iface in list(self.ctx.ifaces.items()):
            self._on_iface(name, iface)

    async def stop(self, reason: str = "") -> None:
        self.set_state(ProtoState.STOP)
        self.ctx.remove_iface_listener(self._on_iface)
        self.channel.flush()
        self.by_iface.clear()
        self.owners.clear()
        self.set_state(ProtoState.DOWN)

    def reconfigure(self, new_config: Any) -> bool:
        self.config = new_config
        self.check_link = bool(getattr(new_config, "check_link", False))
        self.channel.import_filter = getattr(new_config, "import_filter", None) or ACCEPT
        if self.state is ProtoState.UP:
            for name in list(self.by_iface):
                self._on_iface(name, None)
            for name, iface in list(self.ctx.ifaces.items()):
                self._on_iface(name, iface)
        return True

    def _on_iface(self, name: str, iface: Interface | None) -> None:
        if self.state is not ProtoState.UP:
            return
        new = connected_prefixes(self.config, iface, self.check_link,
                                 getattr(self.ctx, "extra", {}).get("family"))
        old = self.by_iface.get(name, [])
        if new == old:
            return
        if new:
            self.by_iface[name] = new
        else:
            self.by_iface.pop(name, None)
        for net in old:
            if net in new:
                continue
            owners = self.owners.get(net, [])
            was_first = bool(owners) and owners[0] == name
            if name in owners:
                owners.remove(name)
            if not owners:
                self.owners.pop(net, None)
                self.channel.import_withdraw(net)
            elif was_first:
                self._announce(net, owners[0])
        for net in new:
            if net in old:
                continue
            owners = self.owners.setdefault(net, [])
            owners.append(name)
            if len(owners) == 1:
                self._announce(net, name)

    def _announce(self, net: int, ifname: str) -> None:
        route = Route(net, None, self, dest=Dest.DEVICE, iface=ifname, since=time.time())
        self.channel.import_route(net, route)
