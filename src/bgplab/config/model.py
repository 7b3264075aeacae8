"""The typed, frozen configuration model (what a BIRD 1.x file means).

Defaults are BIRD 1.6's. Protocol classes differ only in their specific
options; everything a channel needs (table, filters, limits) is in
:class:`ProtoConfig`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, fields
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from bgplab import net as netmod
from bgplab.filters.filter import ACCEPT_ALL, REJECT_ALL, Filter, Function
from bgplab.rib.route import Dest, NextHop


@dataclass(frozen=True)
class Limit:
    count: int
    action: str = "disable"  # warn | block | restart | disable


@dataclass(frozen=True)
class IfacePattern:
    """One clause of ``interface -"cali*", "eth0" 10.0.0.0/8, "*"``."""

    negated: bool
    mask: str | None  # shell pattern on the name
    prefix: int | None = None  # net key the interface address must be in

    def matches(self, ifname: str, addr: int | None = None) -> bool:
        if self.mask is not None and not fnmatch.fnmatchcase(ifname, self.mask):
            return False
        return self.prefix is None or (addr is not None and netmod.addr_in(self.prefix, addr))


def match_interfaces(
    patterns: tuple[IfacePattern, ...], ifname: str, addr: int | None = None
) -> bool:
    """BIRD's first-match rule: the first clause that matches decides; a
    ``-`` clause excludes. No clause matching means excluded; an empty
    pattern list means every interface."""
    if not patterns:
        return True
    for p in patterns:
        if p.matches(ifname, addr):
            return not p.negated
    return False


@dataclass(frozen=True)
class ListenBgp:
    address: str | None = None
    port: int = 179
    v6only: bool = False
    dual: bool = False


@dataclass(frozen=True)
class LogTarget:
    target: str  # "syslog" | "stderr" | a file name
    classes: frozenset[str]  # {"all"} or e.g. {"info", "warning"}
    name: str | None = None  # syslog name


@dataclass(frozen=True)
class ProtoConfig:
    name: str
    kind: str
    table: str = "master"
    import_filter: Filter = ACCEPT_ALL
    export_filter: Filter = REJECT_ALL
    description: str | None = None
    debug: frozenset[str] = frozenset()
    disabled: bool = False
    preference: int = 0
    router_id: IPv4Address | None = None
    import_limit: Limit | None = None
    receive_limit: Limit | None = None
    export_limit: Limit | None = None
    import_keep_filtered: bool = False
    template: bool = False
    source_line: int = field(default=0, compare=False)

    def options(self) -> dict[str, Any]:
        """Every option except filters (for diff: what forces a restart)."""
        skip = {"import_filter", "export_filter", "source_line"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


@dataclass(frozen=True)
class KernelConfig(ProtoConfig):
    learn: bool = False
    persist: bool = False
    scan_time: int = 60
    graceful_restart: bool = False
    merge_paths: bool = False
    merge_paths_limit: int = 16
    device_routes: bool = False
    kernel_table: int = 254
    metric: int | None = None


@dataclass(frozen=True)
class DeviceConfig(ProtoConfig):
    scan_time: int = 60
    primary: tuple[tuple[str | None, int], ...] = ()


@dataclass(frozen=True)
class DirectConfig(ProtoConfig):
    interfaces: tuple[IfacePattern, ...] = ()
    check_link: bool = False

    def matches(self, ifname: str, addr: int | None = None) -> bool:
        return match_interfaces(self.interfaces, ifname, addr)


@dataclass(frozen=True)
class StaticRoute:
    net: int
    dest: Dest
    gw: str | None = None
    iface: str | None = None
    nexthops: tuple[NextHop, ...] = ()
    recursive: bool = False  # ``recursive IP``: gw is looked up in igp_table
    filter: Filter | None = None  # per-route ``{ attr = value; }`` block


@dataclass(frozen=True)
class StaticConfig(ProtoConfig):
    routes: tuple[StaticRoute, ...] = ()
    check_link: bool = False
    igp_table: str | None = None


@dataclass(frozen=True)
class PipeConfig(ProtoConfig):
    peer_table: str = ""
    mode: str = "transparent"


@dataclass(frozen=True)
class BgpConfig(ProtoConfig):
    local_address: str | None = None
    local_as: int = 0
    neighbor_address: str | None = None
    neighbor_port: int = 179
    neighbor_as: int = 0
    interface: str | None = None
    multihop: int | None = None  # None: not set; 0 = direct
    gateway: str | None = None  # "direct" | "recursive" | None (BIRD default)
    source_address: str | None = None
    add_paths: str = "off"  # off | rx | tx | on
    graceful_restart: str = "aware"  # on | off | aware
    graceful_restart_time: int = 120
    long_lived_graceful_restart: str | None = None
    connect_delay_time: int = 5
    connect_retry_time: int = 120
    error_wait_time: tuple[int, int] = (60, 300)
    error_forget_time: int = 300
    hold_time: int = 240
    keepalive_time: int | None = None
    startup_hold_time: int = 240
    rr_client: bool = False
    rr_cluster_id: IPv4Address | None = None
    rs_client: bool = False
    next_hop_self: bool = False
    next_hop_keep: bool = False
    missing_lladdr: str = "self"
    password: str | None = None
    passive: bool = False
    ttl_security: bool = False
    direct: bool = False
    allow_local_as: int | None = None
    allow_local_pref: bool = False
    default_local_pref: int = 100
    default_med: int = 0
    igp_table: str | None = None
    enable_route_refresh: bool = True
    enable_as4: bool = True
    enable_extended_messages: bool = False
    capabilities: bool = True
    advertise_ipv4: bool = True
    interpret_communities: bool = True
    route_limit: int | None = None
    disable_after_error: bool = False
    path_metric: bool = True
    med_metric: bool = False
    deterministic_med: bool = False
    igp_metric: bool = True
    prefer_older: bool = False
    check_link: bool = False
    bfd: bool | str = False  # True, or "graceful" (BIRD 1.6.8's `bfd graceful`)
    secondary: bool = False

    @property
    def is_ibgp(self) -> bool:
        return self.local_as == self.neighbor_as

    @property
    def is_multihop(self) -> bool:
        """BIRD: multihop if set, else iBGP is multihop and eBGP direct."""
        if self.multihop is not None:
            return self.multihop != 0
        if self.direct:
            return False
        return self.is_ibgp

    @property
    def effective_gateway(self) -> str:
        if self.gateway is not None:
            return self.gateway
        return "recursive" if self.is_multihop else "direct"

    @property
    def effective_keepalive(self) -> int:
        return self.keepalive_time if self.keepalive_time is not None else self.hold_time // 3


# BIRD 1.6: "iso short" for route and protocol times, "iso long" for base and log.
DEFAULT_TIMEFORMAT: dict[str, tuple[str, ...]] = {
    "route": ("%T", "72000", "%F"),
    "protocol": ("%T", "72000", "%F"),
    "base": ("%F %T",),
    "log": ("%F %T",),
}


@dataclass(frozen=True)
class Config:
    router_id: IPv4Address | None = None
    router_id_from: tuple[IfacePattern, ...] | None = None
    listen_bgp: ListenBgp = ListenBgp()
    tables: tuple[str, ...] = ("master",)
    timeformat: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_TIMEFORMAT))
    log: tuple[LogTarget, ...] = ()
    debug_protocols: frozenset[str] = frozenset()
    debug_commands: int = 0
    graceful_restart_wait: int = 240
    filters: dict[str, Filter] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    protocols: tuple[ProtoConfig, ...] = ()
    templates: dict[str, ProtoConfig] = field(default_factory=dict)
    source_path: Path | None = None
    text: str = ""
    family: int | None = None  # 4: read as bird does, 6: as bird6, None: either

    def protocol(self, name: str) -> ProtoConfig:
        for p in self.protocols:
            if p.name == name:
                return p
        raise KeyError(name)

    def timeformat_for(self, what: str) -> tuple[str, ...]:
        """The (format, limit, format2) BIRD uses for route/protocol/base/log."""
        return self.timeformat.get(what, DEFAULT_TIMEFORMAT[what])
