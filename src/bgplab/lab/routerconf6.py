"""The soft router's bird6 configuration (dual stack), in the seed's style.

BIRD 1.x serves IPv6 with a second daemon, ``bird6``, on its own file. The
seed gives no bird6.conf, so the router's is the seed's ``rr`` bird.conf
carried over to IPv6: the same router id (BIRD's router id is 32 bits in
both daemons), the same filters over the IPv6 pools, the same kernel,
device, direct and template body with the router's IPv6 source address, and
one ``rr client`` ``protocol bgp`` per node's IPv6 address, named as Calico
names IPv6 peers (``Node_fd00_192_168__7``). A topology may bring its own
file instead (``routers[].config6``).
"""

from __future__ import annotations

from bgplab.lab.routerconf import _body, _filter
from bgplab.lab.topology import Router, Topology, TopologyError


def router_config6(topo: Topology, router: Router | None = None) -> str:
    """The router's bird6.conf: the topology's own file, or generated."""
    router = router or topo.router
    if router.config6 is not None:
        try:
            return router.config6.read_text()
        except OSError as exc:
            raise TopologyError(
                f"cannot read router config6 {router.config6}: {exc.strerror}"
            ) from None
    return generate_router_config6(topo, router)


def source_address6(router: Router) -> str:
    """The IPv6 address on the interface that carries the router id (the seed sources
    every IPv4 session from its router id, 192.168.0.40), else the first interface's."""
    for iface in router.interfaces:
        if iface.address == router.router_id and iface.address6 is not None:
            return str(iface.address6)
    first = router.interfaces[0].address6
    if first is None:
        raise TopologyError(f"router {router.name} has no address6 (no IPv6 plan)")
    return str(first)


def peer_name6(address: str) -> str:
    """Calico's protocol name for an IPv6 peer: the address with ':' as '_'."""
    return "Node_" + address.replace(":", "_")


def generate_router_config6(topo: Topology, router: Router | None = None) -> str:
    router = router or topo.router
    pools = [str(p) for p in topo.pools6()]
    asn = topo.as_number()
    out = [f"router id {router.router_id};\n"]
    out.append(_filter("calico_export_to_bgp_peers", pools, "reject"))
    out.append(_filter("calico_kernel_programming", pools, "accept"))
    out.append(_body(source_address6(router), asn))
    for node in sorted(topo.nodes, key=lambda n: str(n.address6)):
        if node.address6 is None:
            continue
        addr = str(node.address6)
        out.append(f"protocol bgp {peer_name6(addr)} from bgp_template {{\n")
        out.append("rr client;\n")
        out.append(f"neighbor {addr} as {asn};\n}}\n")
    return "".join(out)
