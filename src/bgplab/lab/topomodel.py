"""The lab's topology as data: subnets, routers, Calico nodes and their pods.

Frozen dataclasses made by :mod:`bgplab.lab.topoload` from a validated YAML
file; everything else in the lab (namespaces, configs, expected tables,
checks, pictures) reads these and never the YAML.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bgplab.errors import UserError


class TopologyError(UserError):
    """A topology file with a missing or invalid field."""


@dataclass(frozen=True)
class Subnet:
    name: str  # also the switch namespace suffix: bgplab-<name>
    cidr: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None = None  # the upstream gateway hosts default to
    # Dual stack: the subnet's IPv6 prefix and IPv6 default gateway (need not exist).
    cidr6: ipaddress.IPv6Network | None = None
    gateway6: ipaddress.IPv6Address | None = None


@dataclass(frozen=True)
class Interface:
    name: str
    address: ipaddress.IPv4Address
    subnet: Subnet
    address6: ipaddress.IPv6Address | None = None  # dual stack: inside subnet.cidr6


@dataclass(frozen=True)
class RouterPeer:
    """A router's BGP session to another lab router (by name) or an outside address."""

    router: str | None = None
    address: ipaddress.IPv4Address | None = None
    asn: int | None = None


@dataclass(frozen=True)
class Router:
    name: str
    interfaces: tuple[Interface, ...]
    router_id: ipaddress.IPv4Address
    # "generated" (the seed's config, rendered for this topology) or a path per scenario kind
    configs: dict[str, Path | None] = field(default_factory=dict)
    config6: Path | None = None  # a bird6 config file; None: generated (dual stack)
    # Multi-router (issue 14): own AS (None: the cluster's), RR cluster id (routers that
    # share one form a redundant reflector pair), router-router sessions, BFD on its sessions.
    asn: int | None = None
    rr_cluster_id: ipaddress.IPv4Address | None = None
    peers: tuple[RouterPeer, ...] = ()
    bfd: bool = False

    @property
    def addresses(self) -> list[ipaddress.IPv4Address]:
        return [i.address for i in self.interfaces]

    def address_in(self, subnet: Subnet) -> ipaddress.IPv4Address | None:
        for iface in self.interfaces:
            if iface.subnet == subnet:
                return iface.address
        return None

    def address6_in(self, subnet: Subnet) -> ipaddress.IPv6Address | None:
        for iface in self.interfaces:
            if iface.subnet == subnet:
                return iface.address6
        return None


@dataclass(frozen=True)
class Node:
    name: str
    interface: Interface
    labels: dict[str, str]
    block: ipaddress.IPv4Network
    pods: int
    block6: ipaddress.IPv6Network | None = None  # dual stack: from an IPv6 IPPool
    asn: int | None = None  # Calico Node spec.bgp.asNumber (AS per rack); None: the cluster's
    # Calico Node spec.bgp.routeReflectorClusterID: a route reflector node
    rr_cluster_id: ipaddress.IPv4Address | None = None

    @property
    def address(self) -> ipaddress.IPv4Address:
        return self.interface.address

    @property
    def subnet(self) -> Subnet:
        return self.interface.subnet

    def pod_names(self) -> list[str]:
        return [f"{self.name}-pod{i}" for i in range(self.pods)]

    def pod_address(self, index: int) -> ipaddress.IPv4Address:
        # Skip the block's first address (Calico may hand it out; the seed's pods start at +1).
        return self.block.network_address + 1 + index

    @property
    def address6(self) -> ipaddress.IPv6Address | None:
        return self.interface.address6

    def pod_address6(self, index: int) -> ipaddress.IPv6Address:
        assert self.block6 is not None
        return self.block6.network_address + 1 + index


@dataclass(frozen=True)
class Topology:
    name: str
    subnets: tuple[Subnet, ...]
    routers: tuple[Router, ...]
    nodes: tuple[Node, ...]
    calico: tuple[dict[str, Any], ...]  # calicoctl resources, as YAML documents
    source: Path | None = None

    @property
    def router(self) -> Router:
        return self.routers[0]

    def router_named(self, name: str) -> Router:
        for r in self.routers:
            if r.name == name:
                return r
        raise TopologyError(f"no router named {name!r} (routers: {', '.join(self.router_names())})")

    def router_names(self) -> list[str]:
        return [r.name for r in self.routers]

    def is_router(self, host: str) -> bool:
        return host in self.router_names()

    def routers_in(self, subnet: Subnet) -> list[Router]:
        """The routers attached to ``subnet``."""
        return [r for r in self.routers if r.address_in(subnet) is not None]

    def gateways(self, subnet: Subnet, target: Subnet) -> list[Router]:
        """A host in ``subnet`` reaches ``target`` through these routers of its subnet: the
        ones attached to ``target`` too (ECMP when several), else all of them (a ToR that
        reaches the other racks through its spine)."""
        local = self.routers_in(subnet)
        return [r for r in local if r.address_in(target) is not None] or local

    def subnet_of(self, addr: ipaddress.IPv4Address) -> Subnet | None:
        return next((s for s in self.subnets if addr in s.cidr), None)

    def router_asn(self, router: Router) -> int:
        return router.asn if router.asn is not None else self.as_number()

    def node_asn(self, node: Node) -> int:
        return node.asn if node.asn is not None else self.as_number()

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise TopologyError(f"no node named {name!r} (nodes: {', '.join(self.node_names())})")

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def host_names(self) -> list[str]:
        """Every host with a BGP speaker: the router(s), then the nodes."""
        return [r.name for r in self.routers] + self.node_names()

    def as_number(self) -> int:
        for res in self.calico:
            if res.get("kind") == "BGPConfiguration":
                asn = (res.get("spec") or {}).get("asNumber")
                if asn is not None:
                    return int(asn)
        return 64512  # Calico's default AS

    def pools(self) -> list[ipaddress.IPv4Network]:
        """The IPv4 IPPools."""
        return [p for p in self._pools() if isinstance(p, ipaddress.IPv4Network)]

    def pools6(self) -> list[ipaddress.IPv6Network]:
        """The IPv6 IPPools (dual stack)."""
        return [p for p in self._pools() if isinstance(p, ipaddress.IPv6Network)]

    def _pools(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        # (ignore: an IPPool's spec.cidr is there, validated at load)
        return [
            ipaddress.ip_network((res.get("spec") or {}).get("cidr"))  # type: ignore[arg-type]
            for res in self.calico
            if res.get("kind") == "IPPool"
        ]

    @property
    def dual_stack(self) -> bool:
        """Has an IPv6 plan (validated complete at load: every subnet, address and block)."""
        return all(s.cidr6 is not None for s in self.subnets)

    def without_ipv6(self) -> Topology:
        """The IPv4 lab: the IPv6 plan (fields, IPv6 IPPools and IPv6 BGPPeers) left out,
        so a topology with a plan builds and renders exactly as one without."""
        if not any(s.cidr6 for s in self.subnets):
            return self
        subnets = {s.name: replace(s, cidr6=None, gateway6=None) for s in self.subnets}

        def iface(i: Interface) -> Interface:
            return replace(i, subnet=subnets[i.subnet.name], address6=None)

        routers = tuple(
            replace(r, interfaces=tuple(iface(i) for i in r.interfaces), config6=None)
            for r in self.routers
        )
        nodes = tuple(replace(n, interface=iface(n.interface), block6=None) for n in self.nodes)
        calico = tuple(d for d in self.calico if not _ipv6_resource(d))
        return replace(
            self, subnets=tuple(subnets.values()), routers=routers, nodes=nodes, calico=calico
        )


def _ipv6_resource(doc: dict[str, Any]) -> bool:
    """An IPPool with an IPv6 CIDR or a BGPPeer with an IPv6 peerIP."""
    from bgplab.calico.resources import parse_peer_ip

    spec = doc.get("spec") or {}
    try:
        if doc.get("kind") == "IPPool":  # (no cidr: ip_network's ValueError, caught)
            return ipaddress.ip_network(spec.get("cidr")).version == 6  # type: ignore[arg-type]
        if doc.get("kind") == "BGPPeer" and spec.get("peerIP"):
            return ipaddress.ip_address(parse_peer_ip(str(spec["peerIP"]))[0]).version == 6
    except ValueError:
        pass  # validated elsewhere
    return False


def shared_subnet(a: Router, b: Router) -> Subnet | None:
    """The first subnet both routers join: where their session runs."""
    for iface in a.interfaces:
        if b.address_in(iface.subnet) is not None:
            return iface.subnet
    return None
