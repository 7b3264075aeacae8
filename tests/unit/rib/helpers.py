"""Small real objects for RIB tests: route origins and a recording protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from bgplab.rib.route import Route, Source


@dataclass(eq=False)
class Origin:
    """A route source with the fields the decision process reads."""

    name: str
    source_type: Source = Source.BGP
    preference: int = 100
    peer_address: str | None = None
    peer_router_id: int | None = None
    peer_as: int | None = 63400
    local_as: int | None = 63400
    is_ibgp: bool = True
    is_rr_client: bool = True


def bgp_origin(name: str, addr: str, **kw: Any) -> Origin:
    return Origin(name, peer_address=addr, peer_router_id=int(IPv4Address(addr)), **kw)


@dataclass(eq=False)
class Member(Origin):
    """A BGP peer as an update group sees it: a route source that also
    records the bytes it is sent."""

    negotiated: Any = None
    sent: list[bytes] = field(default_factory=list)

    def send_wire(self, chunks: list[bytes]) -> None:
        self.sent.append(b"".join(chunks))


def member(name: str, addr: str, neg: Any) -> Member:
    return Member(name, peer_address=addr, peer_router_id=int(IPv4Address(addr)), negotiated=neg)


def route(net: int, origin: Any, attrs: Any = None, **kw: Any) -> Route:
    return Route(net, attrs, origin, **kw)


def bgp_protocol(ctx: Any, **config: Any) -> Any:
    """A real BgpProtocol (iBGP rr client 192.168.0.1, AS 63400) without a
    session or runtime: for feeding it UPDATEs and input directly."""
    from types import SimpleNamespace

    from bgplab.protocols.bgp import BgpProtocol

    ctx.extra["bgp_runtime"] = SimpleNamespace(register=lambda p: None)
    cfg = SimpleNamespace(name="p1", neighbor_address="192.168.0.1", neighbor_as=63400,
                          local_as=63400, import_filter=None, export_filter=None,
                          rr_client=True, multihop=64)
    cfg.__dict__.update(config)
    return BgpProtocol(cfg, ctx)
