"""The soft router's BIRD 1.x configuration, per scenario kind.

The seed report gives two router configs: ``rr`` (every node an ``rr client``)
and ``aggregate`` (no reflection; a ``protocol static`` announces the pools).
Both ship verbatim as package data. For another topology the same text is
generated: the seed file supplies the kernel/device/direct/template body, and
the head (router id, pools) and the per-node ``protocol bgp`` blocks are
rebuilt from the topology. For the seed topology the result is the seed file
byte for byte (a unit test holds us to that).

With several routers (or a router with its own AS, cluster id, peers or BFD)
each router gets its own file: one ``protocol bgp Node_<ip>`` per node that
names one of its addresses in a BGPPeer (:mod:`bgplab.lab.peering`), each
sourced from the router's address in that node's subnet; ``rr client`` (and
``rr cluster id``) only towards iBGP nodes; one ``protocol bgp Router_<name>``
per router-router session, with ``next hop self`` when it is eBGP (a ToR to its
spine: a router never hands on a next hop its peer cannot reach); an iBGP pair of
reflectors keeps the nodes' next hops. ``bfd: true`` adds ``protocol bfd`` and
``direct; bfd on;`` on the router-router sessions (Calico's nodes have no BFD).
"""

from __future__ import annotations

import re
from importlib import resources as pkg_resources

from bgplab.lab.peering import router_clients, router_sessions
from bgplab.lab.topology import Router, Topology, TopologyError

KINDS = ("rr", "aggregate")


def seed_router_config(kind: str) -> str:
    """The seed report's router config, verbatim."""
    if kind not in KINDS:
        raise ValueError(kind)
    return (pkg_resources.files("bgplab") / "data" / "seed" / f"router_{kind}.conf").read_text()


def router_config(topo: Topology, kind: str, router: Router | None = None) -> str:
    """A router's config for ``kind`` (default router: the first): the topology's own
    file, or generated."""
    router = router or topo.router
    path = router.configs.get(kind)
    if path is not None:
        try:
            return path.read_text()
        except OSError as exc:
            raise TopologyError(f"cannot read router config {path}: {exc.strerror}") from None
    return generate_router_config(topo, kind, router)


def _body(source_address: str, asn: int) -> str:
    """Kernel, device, direct and bgp_template, from the seed's file."""
    text = seed_router_config("rr")
    start = text.index("# Configure synchronization")
    end = text.index("protocol bgp ")
    body = text[start:end]
    body = re.sub(r"^local as \d+;", f"local as {asn};", body, flags=re.M)
    return re.sub(
        r"^source address [0-9.]+;", f"source address {source_address};", body, flags=re.M
    )


def _filter(name: str, prefixes: list[str], last: str) -> str:
    lines = [f"filter {name} {{"]
    for p in prefixes:
        lines += [f"if ( net ~ {p} ) then {{", "accept;", "}"]
    lines += [f"{last};", "}"]
    return "\n".join(lines) + "\n"


def _seed_shaped(topo: Topology, router: Router) -> bool:
    """One plain router: the seed's layout, byte for byte."""
    return (
        len(topo.routers) == 1
        and router.asn is None
        and router.rr_cluster_id is None
        and not router.peers
        and not router.bfd
        and all(n.asn is None for n in topo.nodes)
    )


def generate_router_config(topo: Topology, kind: str, router: Router | None = None) -> str:
    if kind not in KINDS:
        raise ValueError(kind)
    router = router or topo.router
    if not _seed_shaped(topo, router):
        return _multi_router_config(topo, kind, router)
    asn = topo.as_number()
    out = _head(topo, kind, router)
    # The seed lists neighbours in string order of their address.
    for node in sorted(topo.nodes, key=lambda n: str(n.address)):
        addr = str(node.address)
        out.append(f"protocol bgp Node_{addr.replace('.', '_')} from bgp_template {{\n")
        if kind == "rr":
            out.append("rr client;\n")
        out.append(f"neighbor {addr} as {asn};\n}}\n")
    return "".join(out)


def _head(topo: Topology, kind: str, router: Router) -> list[str]:
    """Router id, the aggregate's static pools, the two filters and the seed's body."""
    rid = str(router.router_id)
    pools = [str(p) for p in topo.pools()]
    out = [f"router id {rid};\n"]
    if kind == "aggregate":
        out.append("protocol static {\n")
        out += [f"route {p} via {rid};\n" for p in pools]
        out.append("}\n")
    out.append(_filter("calico_export_to_bgp_peers", pools, "reject"))
    out.append(_filter("calico_kernel_programming", pools, "accept"))
    out.append(_body(rid, topo.router_asn(router)))
    return out


def _multi_router_config(topo: Topology, kind: str, router: Router) -> str:
    out = _head(topo, kind, router)
    asn = topo.router_asn(router)
    bfd = "bfd on;\n" if router.bfd else ""
    if router.bfd:
        out.append("protocol bfd {\n}\n")
    for node in sorted(router_clients(topo, router), key=lambda n: str(n.address)):
        addr = str(node.address)
        node_as = topo.node_asn(node)
        out.append(f"protocol bgp Node_{addr.replace('.', '_')} from bgp_template {{\n")
        if kind == "rr" and node_as == asn:
            out.append("rr client;\n")
            if router.rr_cluster_id is not None:
                out.append(f"rr cluster id {router.rr_cluster_id};\n")
        local = router.address_in(node.subnet)
        if local is not None:
            out.append(f"source address {local};\n")
        # no `bfd on` towards nodes: Calico 3.17's node config has no BFD
        out.append(f"neighbor {addr} as {node_as};\n}}\n")
    for s in router_sessions(topo, router):
        out.append(f"protocol bgp {s.name} from bgp_template {{\n")
        if router.rr_cluster_id is not None and s.peer_asn == asn:
            # the pair's own cluster id, so each drops what the other reflected (RFC 4456)
            out.append(f"rr cluster id {router.rr_cluster_id};\n")
        out.append(f"source address {s.local_address};\n")
        if s.peer_asn != asn:
            out.append("next hop self;\n")  # eBGP: never hand on a next hop the peer lacks
        if router.bfd and s.peer is not None:
            out.append("direct;\n" + bfd)  # the routers share a subnet: single-hop BFD
        out.append(f"neighbor {s.peer_address} as {s.peer_asn};\n}}\n")
    return "".join(out)
