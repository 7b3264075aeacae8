"""What every host's kernel routing table should hold, computed from the topology.

Only routes BIRD (or bgplabd) installs are predicted: those with ``proto
bird``. The prediction follows the seed's semantics: next hops are the
originating node's address, resolved one level through the host's own
kernel routes (``gateway recursive``): a next hop in a directly attached
subnet is used as is, anything else goes via the node's static route, i.e.
the router's address in the node's subnet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bgplab.lab.scenarios import Scenario
from bgplab.lab.topology import Node, Topology


@dataclass(frozen=True, order=True)
class KRoute:
    """One kernel route: destination, type and the set of gateways (ECMP when several)."""

    dst: str
    kind: str = "unicast"  # unicast | blackhole
    gateways: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "blackhole":
            return f"blackhole {self.dst}"
        if len(self.gateways) == 1:
            return f"{self.dst} via {self.gateways[0]}"
        return f"{self.dst} multipath " + " ".join(f"via {g}" for g in self.gateways)


def route(dst: str, *gateways: str, kind: str = "unicast") -> KRoute:
    net = ipaddress.ip_network(dst)  # IPv4, or IPv6 for the dual-stack tables (expect6)
    return KRoute(str(net), kind, tuple(sorted(gateways, key=ipaddress.ip_address)))


def resolve_from_node(topo: Topology, node: Node, nexthop: ipaddress.IPv4Address) -> str:
    """The gateway ``node``'s kernel uses to reach ``nexthop``."""
    if nexthop in node.subnet.cidr:
        return str(nexthop)
    # Other subnets are reached through the seed's static route via the router.
    gw = topo.router.address_in(node.subnet)
    return str(gw)


def node_routes(topo: Topology, scenario: Scenario, node: Node) -> set[KRoute]:
    out: set[KRoute] = set()
    if not scenario.per_pod_routes:
        out.add(route(str(node.block), kind="blackhole"))
    if scenario.router_kind == "rr":
        for other in topo.nodes:
            if other is node:
                continue
            gw = resolve_from_node(topo, node, other.address)
            if scenario.per_pod_routes:
                out |= {route(f"{other.pod_address(i)}/32", gw) for i in range(other.pods)}
            else:
                out.add(route(str(other.block), gw))
    else:
        gw = resolve_from_node(topo, node, topo.router.router_id)
        out |= {route(str(p), gw) for p in topo.pools()}
    # Service CIDRs are rejected by calico_kernel_programming on the nodes.
    return out


def router_routes(topo: Topology, scenario: Scenario) -> set[KRoute]:
    out: set[KRoute] = set()
    for n in topo.nodes:
        if scenario.per_pod_routes:
            out |= {route(f"{n.pod_address(i)}/32", str(n.address)) for i in range(n.pods)}
        else:
            out.add(route(str(n.block), str(n.address)))
    if scenario.router_kind == "aggregate":
        # The seed's `route <pool> via <router id>` lands in the router's own table too.
        out |= {route(str(p), str(topo.router.router_id)) for p in topo.pools()}
    for cidr in scenario.service_cidrs:
        out.add(route(cidr, *(str(n.address) for n in topo.nodes)))
    return out


def expected_tables(topo: Topology, scenario: Scenario) -> dict[str, set[KRoute]]:
    """Host name -> the ``proto bird`` routes its main table must hold, exactly."""
    tables = {topo.router.name: router_routes(topo, scenario)}
    for n in topo.nodes:
        tables[n.name] = node_routes(topo, scenario, n)
    return tables


def parse_ip_json(entries: list[dict[str, object]], family: int = 4) -> set[KRoute]:
    """``ip [-6] -j route show proto bird`` output -> routes."""
    out: set[KRoute] = set()
    for e in entries:
        dst = str(e.get("dst", ""))
        if dst == "default":
            dst = "::/0" if family == 6 else "0.0.0.0/0"
        kind = "blackhole" if e.get("type") == "blackhole" else "unicast"
        gws: list[str] = []
        if isinstance(e.get("gateway"), str):
            gws.append(str(e["gateway"]))
        for nh in e.get("nexthops") or []:  # type: ignore[union-attr]
            if isinstance(nh, dict) and "gateway" in nh:
                gws.append(str(nh["gateway"]))
        out.add(route(dst, *gws, kind=kind))
    return out
