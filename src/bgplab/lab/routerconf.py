"""The soft router's BIRD 1.x configuration, per scenario kind.

The seed report gives two router configs: ``rr`` (every node an ``rr client``)
and ``aggregate`` (no reflection; a ``protocol static`` announces the pools).
Both ship verbatim as package data. For another topology the same text is
generated: the seed file supplies the kernel/device/direct/template body, and
the head (router id, pools) and the per-node ``protocol bgp`` blocks are
rebuilt from the topology. For the seed topology the result is the seed file
byte for byte (a unit test holds us to that).
"""

from __future__ import annotations

import re
from importlib import resources as pkg_resources

from bgplab.lab.topology import Topology, TopologyError

KINDS = ("rr", "aggregate")


def seed_router_config(kind: str) -> str:
    """The seed report's router config, verbatim."""
    if kind not in KINDS:
        raise ValueError(kind)
    return (pkg_resources.files("bgplab") / "data" / "seed" / f"router_{kind}.conf").read_text()


def router_config(topo: Topology, kind: str) -> str:
    """The router's config for ``kind``: the topology's own file, or generated."""
    path = topo.router.configs.get(kind)
    if path is not None:
        try:
            return path.read_text()
        except OSError as exc:
            raise TopologyError(f"cannot read router config {path}: {exc.strerror}") from None
    return generate_router_config(topo, kind)


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


def generate_router_config(topo: Topology, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(kind)
    router = topo.router
    rid = str(router.router_id)
    pools = [str(p) for p in topo.pools()]
    asn = topo.as_number()
    out = [f"router id {rid};\n"]
    if kind == "aggregate":
        out.append("protocol static {\n")
        out += [f"route {p} via {rid};\n" for p in pools]
        out.append("}\n")
    out.append(_filter("calico_export_to_bgp_peers", pools, "reject"))
    out.append(_filter("calico_kernel_programming", pools, "accept"))
    out.append(_body(rid, asn))
    # The seed lists neighbours in string order of their address.
    for node in sorted(topo.nodes, key=lambda n: str(n.address)):
        addr = str(node.address)
        out.append(f"protocol bgp Node_{addr.replace('.', '_')} from bgp_template {{\n")
        if kind == "rr":
            out.append("rr client;\n")
        out.append(f"neighbor {addr} as {asn};\n}}\n")
    return "".join(out)
