"""What every protocol instance can reach: tables, interfaces, the router id.

The daemon builds one :class:`DaemonContext`; protocols get it at
construction. Interfaces are filled in by the device protocol and watched
by direct, static (``check link``) and BGP (next-hop resolution).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from bgplab.rib.protocol import Interface
from bgplab.rib.table import Table

if TYPE_CHECKING:
    from bgplab.rib.protocol import Protocol

log = logging.getLogger("bgplab")

IfaceListener = Callable[[str, Interface | None], None]


class DaemonContext:
    def __init__(self, router_id: IPv4Address, tables: dict[str, Table] | None = None) -> None:
        self.router_id = router_id
        self.tables: dict[str, Table] = tables or {"master": Table("master")}
        self.ifaces: dict[str, Interface] = {}
        self._iface_listeners: list[IfaceListener] = []
        self._state_listeners: list[Callable[[Protocol], None]] = []
        self._limit_handler: Callable[[Protocol, str, str], None] | None = None
        self.started = time.time()
        self.netns: str | None = None  # where the daemon's netlink sockets live
        self.graceful_recovery = False  # -R: kernel waits for BGP peers
        self.extra: dict[str, Any] = {}

    def table(self, name: str) -> Table:
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = Table(name)
        return t

    # ---- interfaces --------------------------------------------------
    def on_iface_change(self, listener: IfaceListener) -> None:
        self._iface_listeners.append(listener)

    def remove_iface_listener(self, listener: IfaceListener) -> None:
        if listener in self._iface_listeners:
            self._iface_listeners.remove(listener)

    def set_iface(self, name: str, iface: Interface | None) -> None:
        """Called by the device protocol when an interface appears, changes
        or (``None``) disappears."""
        if iface is None:
            self.ifaces.pop(name, None)
        else:
            self.ifaces[name] = iface
        for listener in list(self._iface_listeners):
            try:
                listener(name, iface)
            except Exception:  # a protocol bug must not stop the others
                log.exception("interface listener failed for %s", name)

    def iface_for(self, addr: int, v6: bool = False) -> Interface | None:
        """The up interface with a connected prefix containing ``addr``."""
        from bgplab import net as netmod

        for iface in self.ifaces.values():
            if not iface.up:
                continue
            for a in iface.addrs:
                if a.v6 == v6 and netmod.addr_in(a.prefix, addr, v6):
                    return iface
        return None

    def is_local_address(self, text: str) -> bool:
        return any(a.address == text for i in self.ifaces.values() for a in i.addrs)

    # ---- protocol events ---------------------------------------------
    def on_protocol_state(self, listener: Callable[[Protocol], None]) -> None:
        self._state_listeners.append(listener)

    def protocol_state_changed(self, proto: Protocol) -> None:
        for listener in list(self._state_listeners):
            listener(proto)

    def set_limit_handler(self, handler: Callable[[Protocol, str, str], None]) -> None:
        self._limit_handler = handler

    def limit_action(self, proto: Protocol, which: str, action: str) -> None:
        """A route limit with action restart/disable was hit."""
        if self._limit_handler is not None:
            self._limit_handler(proto, which, action)
