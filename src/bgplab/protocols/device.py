"""``protocol device``: interfaces and their addresses, from netlink.

A dump at start and every ``scan time``, plus the netlink monitor for
changes in between. Every change is published with ``ctx.set_iface`` so
that direct, static and BGP follow it. The device protocol has no routes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from bgplab.io.netlink import AddrInfo, EventStream, FibEvent, LinkInfo, open_port, release_port
from bgplab.rib.protocol import Interface, InterfaceAddr, Protocol, ProtoState


def build_interface(link: LinkInfo, addrs: list[AddrInfo]) -> Interface:
    """Our view of one interface; ``up`` is BIRD's IF_UP (administratively up)."""
    ordered = sorted(addrs, key=lambda a: (a.v6, a.secondary))
    return Interface(
        name=link.name,
        index=link.index,
        up=link.admin_up,
        link_up=link.link_up,
        mtu=link.mtu or 1500,
        flags=link.flag_names(),
        addrs=[InterfaceAddr(a.address, a.prefix, a.v6) for a in ordered],
    )


class DeviceProtocol(Protocol):
    proto_name = "Device"

    def __init__(self, config: Any, ctx: Any, port: Any | None = None) -> None:
        super().__init__(config, ctx)
        self.scan_time: float = float(getattr(config, "scan_time", 60) or 60)
        self._port_given = port
        self.port: Any = port
        self.links: dict[int, LinkInfo] = {}
        self.addrs: dict[int, list[AddrInfo]] = {}
        self.published: dict[str, Interface] = {}
        self._events: EventStream | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.set_state(ProtoState.START)
        try:
            if self._port_given is None:
                self.port = await open_port(getattr(self.ctx, "netns", None))
            self._events = await self.port.monitor(["link", "addr"])
            await self.scan()
        except OSError as exc:
            self.message = f"Netlink: {exc.strerror or exc}"
            self.log.error("%s: cannot read interfaces: %s", self.name, exc)
            self._release()
            self.set_state(ProtoState.DOWN)
            return
        self.set_state(ProtoState.UP)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._scanner(), name=f"{self.name}-scan"),
            loop.create_task(self._watch(), name=f"{self.name}-events"),
        ]

    async def stop(self, reason: str = "") -> None:
        self.set_state(ProtoState.STOP)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        # like BIRD's kif shutdown: every interface goes away with us
        for name in list(self.published):
            del self.published[name]
            self.ctx.set_iface(name, None)
        self.links.clear()
        self.addrs.clear()
        self._release()
        self.set_state(ProtoState.DOWN)

    def _release(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._port_given is None and self.port is not None:
            release_port(self.port)
            self.port = None

    def reconfigure(self, new_config: Any) -> bool:
        self.config = new_config
        self.scan_time = float(getattr(new_config, "scan_time", 60) or 60)
        return True

    # ---- state -----------------------------------------------------------
    async def scan(self) -> None:
        """Full dump: catches whatever the monitor missed."""
        links = await self.port.dump_links()
        addrs = await self.port.dump_addrs()
        self.links = {lk.index: lk for lk in links}
        self.addrs = {}
        for a in addrs:
            self.addrs.setdefault(a.index, []).append(a)
        self._publish_all()

    def _publish_all(self) -> None:
        current: dict[str, Interface] = {}
        for index, link in self.links.items():
            current[link.name] = build_interface(link, self.addrs.get(index, []))
        for name in [n for n in self.published if n not in current]:
            del self.published[name]
            self.ctx.set_iface(name, None)
        for name, iface in current.items():
            if self.published.get(name) != iface:
                self.published[name] = iface
                self.ctx.set_iface(name, iface)

    async def _scanner(self) -> None:
        while True:
            await asyncio.sleep(self.scan_time)
            try:
                await self.scan()
            except OSError as exc:
                self.log.error("%s: interface scan failed: %s", self.name, exc)

    async def _watch(self) -> None:
        assert self._events is not None
        async for ev in self._events:
            try:
                await self._on_event(ev)
            except OSError as exc:
                self.log.error("%s: interface update failed: %s", self.name, exc)

    async def _on_event(self, ev: FibEvent) -> None:
        if ev.what == "resync":
            await self.scan()
        elif ev.link is not None:
            if ev.deleted:
                self.links.pop(ev.link.index, None)
                self.addrs.pop(ev.link.index, None)
            else:
                self.links[ev.link.index] = ev.link
            self._publish_all()
        elif ev.addr is not None:
            a = ev.addr
            lst = [
                x
                for x in self.addrs.get(a.index, [])
                if (x.address, x.prefixlen) != (a.address, a.prefixlen)
            ]
            if not ev.deleted:
                lst.append(a)
            self.addrs[a.index] = lst
            self._publish_all()

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["interfaces"] = len(self.published)
        return d
