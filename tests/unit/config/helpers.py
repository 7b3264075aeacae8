"""Small real values for config/filter tests: a route origin and routes."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from bgplab import net
from bgplab.bgp.attrs import AS_SEQUENCE, PathAttrs
from bgplab.rib.route import Dest, Route, Source

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "config"


@dataclass(eq=False)
class Origin:
    name: str = "bgp1"
    source_type: Source = Source.BGP
    preference: int = 100
    peer_address: str | None = "192.168.0.25"
    peer_router_id: int | None = None
    peer_as: int | None = 63400
    local_as: int | None = 63400
    is_ibgp: bool = True
    is_rr_client: bool = False


def bgp_route(
    prefix: str,
    path: tuple[int, ...] = (),
    communities: tuple[tuple[int, int], ...] = (),
    **attrs: Any,
) -> Route:
    a = PathAttrs(
        origin=attrs.pop("origin", 0),
        as_path=((AS_SEQUENCE, path),) if path else (),
        next_hop=IPv4Address(attrs.pop("next_hop", "192.168.0.25")),
        local_pref=attrs.pop("local_pref", 100),
        communities=communities,
        **attrs,
    )
    return Route(net.parse(prefix), a, Origin(), from_addr="192.168.0.25", gw="192.168.0.25",
                 iface="eth1")  # fmt: skip


def static_route(prefix: str, dest: Dest = Dest.BLACKHOLE) -> Route:
    return Route(net.parse(prefix), None, Origin("static1", Source.STATIC, 200), dest=dest)
