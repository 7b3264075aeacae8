"""What every host's IPv6 kernel table should hold in the dual-stack lab (computed).

The dual-stack scenario reflects the IPv6 blocks as ``rr`` reflects the IPv4
ones (:mod:`bgplab.lab.expect`), with each host's IPv6 addresses: a node
blackholes its own ``block6`` (Calico's ``bird6_aggr.cfg``), reaches a node
of its own subnet directly and any other through the router's IPv6 address
in its subnet (``gateway recursive`` over the lab's IPv6 static route); the
router reaches every block via its node's IPv6 address.
"""

from __future__ import annotations

import ipaddress

from bgplab.lab.expect import KRoute, route
from bgplab.lab.topology import Node, Topology


def resolve6_from_node(topo: Topology, node: Node, nexthop: ipaddress.IPv6Address) -> str:
    """The IPv6 gateway ``node``'s kernel uses to reach ``nexthop``."""
    assert node.subnet.cidr6 is not None
    if nexthop in node.subnet.cidr6:
        return str(nexthop)
    return str(topo.router.address6_in(node.subnet))


def node_routes6(topo: Topology, node: Node) -> set[KRoute]:
    out = {route(str(node.block6), kind="blackhole")}
    for other in topo.nodes:
        if other is not node and other.address6 is not None:
            out.add(route(str(other.block6), resolve6_from_node(topo, node, other.address6)))
    return out


def router_routes6(topo: Topology) -> set[KRoute]:
    return {route(str(n.block6), str(n.address6)) for n in topo.nodes}


def expected_tables6(topo: Topology) -> dict[str, set[KRoute]]:
    """Host name -> the IPv6 ``proto bird`` routes its main table must hold, exactly;
    empty without an IPv6 plan (the IPv4 scenarios)."""
    if not topo.dual_stack:
        return {}
    tables = {topo.router.name: router_routes6(topo)}
    for n in topo.nodes:
        tables[n.name] = node_routes6(topo, n)
    return tables
