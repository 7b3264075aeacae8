"""A small daemon object made of REAL rib parts, for the CLI tests.

It has exactly the attributes the control server reads (``ctx``,
``protocols``, ``config``, ``started`` …) and implements the control
actions on real :class:`~bgplab.rib.protocol.Protocol` objects. The
renderer and the server are under test, not this.
"""

from __future__ import annotations

import asyncio
import fnmatch
import threading
import time
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

from bgplab import net as netmod
from bgplab.bgp.attrs import PathAttrs, intern
from bgplab.cli import client
from bgplab.io.control import ControlServer
from bgplab.rib.channel import ACCEPT, REJECT, Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.protocol import Protocol, ProtoState
from bgplab.rib.route import Dest, NextHop, Route, Source


class StaticProto(Protocol):
    proto_name = "Static"
    source_type = Source.STATIC
    default_preference = 200


class DeviceProto(Protocol):
    proto_name = "Device"
    default_preference = 240


class KernelProto(Protocol):
    proto_name = "Kernel"
    source_type = Source.INHERIT
    default_preference = 10


class BgpProto(Protocol):
    proto_name = "BGP"
    source_type = Source.BGP
    default_preference = 100

    def __init__(self, config: Any, ctx: DaemonContext) -> None:
        super().__init__(config, ctx)
        self.bgp_state = "Idle"
        self.neighbor_address = config.neighbor_address
        self.neighbor_as = config.neighbor_as
        self.peer_address = config.neighbor_address
        self.peer_as = config.neighbor_as
        self.local_as = config.local_as
        self.is_ibgp = config.neighbor_as == config.local_as
        self.neighbor_id: str | None = None
        self.neighbor_caps: list[str] = []
        self.session_flags: list[str] = []
        self.source_address: str | None = None
        self.hold_timer: tuple[int, int] | None = None
        self.keepalive_timer: tuple[int, int] | None = None
        self.last_error = ""
        self.description = getattr(config, "description", None)
        self.error_wait: tuple[int, int] | None = None
        self.connect_delay: tuple[int, int] | None = None

    def export_view(self, route: Route) -> Route | None:
        """Export filter plus the plain eBGP rewrite (prepend own AS, next
        hop self, no LOCAL_PREF/MED); iBGP routes are not passed to iBGP."""
        assert self.channel is not None
        out = self.channel.export_filter.run(route)
        if out is None:
            return None
        src_bgp = route.origin.source_type == Source.BGP
        if self.is_ibgp:
            return None if src_bgp and route.origin.is_ibgp else out
        a = out.attrs if out.attrs is not None else PathAttrs(origin=0)
        path = a.as_path
        if path and path[0][0] == 2:
            path = ((2, (self.local_as, *path[0][1])), *path[1:])
        else:
            path = ((2, (self.local_as,)), *path)
        nh = IPv4Address(self.source_address) if self.source_address else None
        a = a.replace(
            as_path=path, next_hop=nh, local_pref=None, med=a.med if not src_bgp else None
        )
        return out.copy(attrs=a)


def proto_config(name: str, **kw: Any) -> SimpleNamespace:
    return SimpleNamespace(name=name, table="master", debug=(), disabled=False, **kw)


class FakeDaemon:
    def __init__(self, router_id: str = "127.4.0.1") -> None:
        self.ctx = DaemonContext(IPv4Address(router_id))
        self.protocols: dict[str, Protocol] = {}
        self.filters: dict[str, Any] = {}
        self.config = SimpleNamespace(
            filters=self.filters, timeformat_for=self._tf, constants={}, functions={}, templates={}
        )
        self.timeformats: dict[str, tuple[str, ...]] = {}
        self.config_path = "/etc/bird/bird.conf"
        self.started = time.time()
        self.last_reconfig = self.started
        self.graceful_recovery = False
        self.actions: list[tuple[str, Any]] = []
        self.down_requested = False

    def _tf(self, what: str) -> tuple[str, ...]:
        default = ("%T", "72000", "%F") if what in ("route", "protocol") else ("%F %T",)
        return self.timeformats.get(what, default)

    def gr_wait_info(self) -> str | None:
        return None

    # ---- building ----------------------------------------------------
    def add(
        self,
        cls: type[Protocol],
        name: str,
        import_filter: Any = ACCEPT,
        export_filter: Any = REJECT,
        channel: bool = True,
        **cfg: Any,
    ) -> Any:
        p = cls(proto_config(name, **cfg), self.ctx)
        if channel:
            p.channel = Channel(p, self.ctx.table("master"), import_filter, export_filter)
        p.set_state(ProtoState.UP)
        self.protocols[name] = p
        return p

    def route(
        self,
        proto: Any,
        prefix: str,
        *,
        dest: Dest = Dest.ROUTER,
        gw: str | None = None,
        iface: str | None = None,
        attrs: PathAttrs | None = None,
        path_id: int = 0,
        nexthops: tuple[NextHop, ...] = (),
        since: float | None = None,
        from_addr: str | None = None,
        igp_metric: int = 0,
    ) -> Route:
        net = netmod.parse(prefix)
        r = Route(
            net,
            intern(attrs) if attrs is not None else None,
            proto,
            path_id=path_id,
            dest=dest,
            gw=gw,
            iface=iface,
            nexthops=nexthops,
            igp_metric=igp_metric,
            since=time.time() if since is None else since,
            from_addr=from_addr,
        )
        proto.channel.import_route(net, r, path_id)
        return r

    # ---- control actions ---------------------------------------------
    def _match(self, pattern: str) -> list[Protocol]:
        if pattern == "all":
            return list(self.protocols.values())
        return [p for n, p in self.protocols.items() if fnmatch.fnmatchcase(n, pattern)]

    async def _each(self, pattern: str, fn: Any) -> tuple[bool, str]:
        protos = self._match(pattern)
        if not protos:
            return False, "No protocols match"
        return True, "\n".join(fn(p) for p in protos)

    async def enable(self, name: str) -> tuple[bool, str]:
        def one(p: Protocol) -> str:
            if not p.disabled:
                return f"{p.name}: already enabled"
            p.disabled = False
            p.set_state(ProtoState.UP)
            return f"{p.name}: enabled"

        return await self._each(name, one)

    async def disable(self, name: str) -> tuple[bool, str]:
        def one(p: Protocol) -> str:
            if p.disabled:
                return f"{p.name}: already disabled"
            p.disabled = True
            p.set_state(ProtoState.DOWN)
            return f"{p.name}: disabled"

        return await self._each(name, one)

    async def restart(self, name: str) -> tuple[bool, str]:
        def one(p: Protocol) -> str:
            if p.disabled:
                return f"{p.name}: already disabled"
            return f"{p.name}: restarted"

        return await self._each(name, one)

    async def reload(self, name: str, direction: str = "both") -> tuple[bool, str]:
        self.actions.append(("reload", (name, direction)))
        return await self._each(name, lambda p: f"{p.name}: reloading")

    def set_debug(self, name: str, flags: set[str]) -> tuple[bool, str]:
        protos = self._match(name)
        if not protos:
            return False, "No protocols match"
        for p in protos:
            p.debug = frozenset() if "off" in flags else frozenset(flags)
        return True, ""

    async def configure(
        self, path: str | None = None, check_only: bool = False, soft: bool = False
    ) -> tuple[bool, str]:
        path = path or self.config_path
        self.actions.append(("configure", (path, check_only, soft)))
        try:
            open(path).close()
        except OSError as exc:
            return False, f"{path}: {exc.strerror}"
        if check_only:
            return True, "Configuration OK"
        self.last_reconfig = time.time()
        return True, "Reconfigured"

    async def shutdown(self) -> tuple[bool, str]:
        self.down_requested = True
        return True, "Shutdown requested"


def small_daemon() -> FakeDaemon:
    """Device, a static protocol with three routes, an up BGP session with
    two routes, a down one, and a kernel protocol."""
    d = FakeDaemon()
    d.add(DeviceProto, "device1", channel=False)
    st = d.add(StaticProto, "static1")
    d.route(st, "10.41.113.192/26", dest=Dest.BLACKHOLE)
    d.route(st, "10.99.0.0/16", dest=Dest.UNREACHABLE)
    d.route(st, "192.0.2.0/24", dest=Dest.ROUTER, gw="198.51.100.1", iface="eth1")
    b = d.add(
        BgpProto,
        "peer_b",
        neighbor_address="127.4.0.2",
        neighbor_as=65002,
        local_as=65001,
        multihop=None,
        gateway=None,
        description="the b side",
    )
    b.bgp_state = "Established"
    b.neighbor_id = "127.4.0.2"
    b.neighbor_caps = ["refresh", "enhanced-refresh", "restart-aware", "llgr-aware", "AS4"]
    b.session_flags = ["external", "AS4"]
    b.source_address = "127.4.0.1"
    b.hold_timer = (203, 240)
    b.keepalive_timer = (76, 80)
    a1 = PathAttrs(
        origin=0, as_path=((2, (65002,)),), next_hop=IPv4Address("198.51.100.2"), local_pref=100
    )
    a2 = PathAttrs(
        origin=0,
        as_path=((2, (65010, 65002)),),
        next_hop=IPv4Address("198.51.100.2"),
        med=50,
        local_pref=100,
        communities=((65002, 100), (65002, 200)),
        large_communities=((65002, 1, 2),),
    )
    d.route(b, "10.50.0.0/24", gw="198.51.100.2", iface="eth1", attrs=a1, from_addr="127.4.0.2")
    d.route(b, "10.50.1.0/24", gw="198.51.100.2", iface="eth1", attrs=a2, from_addr="127.4.0.2")
    c = d.add(
        BgpProto,
        "peer_c",
        neighbor_address="127.4.0.3",
        neighbor_as=65001,
        local_as=65001,
        multihop=None,
        gateway=None,
    )
    c.set_state(ProtoState.START)
    c.bgp_state = "Active"
    c.last_error = "Socket: Connection refused"
    c.connect_delay = (3, 5)
    d.add(KernelProto, "kernel1")
    return d


class ServedDaemon:
    """A ControlServer on a private event loop thread."""

    def __init__(self, daemon: object, path: str) -> None:
        self.path = path
        self.loop = asyncio.new_event_loop()
        self.server = ControlServer(daemon, path)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def raw(self, command: str) -> list[str]:
        conn = client.Connection(self.path, timeout=10)
        try:
            conn.read_reply()
            return conn.command(command)
        finally:
            conn.close()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
