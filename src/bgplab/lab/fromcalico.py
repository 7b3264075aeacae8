"""A lab topology from a cluster's own resources (``bgplab lab up --from-calico FILE``).

FILE is what ``calicoctl get nodes,bgppeers,bgpconfigurations,ippools -o yaml`` and
``kubectl get blockaffinities -o yaml`` print (one file, several documents or Lists):

- nodes, their addresses, labels, AS and route-reflector cluster id from ``Node``;
- subnets from the prefixes of the nodes' addresses (``ipv4Address: 10.0.1.5/24``);
- routers from the BGPPeers whose ``peerIP`` is no node (with the AS the BGPPeer
  names): each such address is one router, unless ``--router-at NAME=IP,IP`` says
  several addresses are one machine (the seed's soft router has one per subnet);
- each node's block from its ``BlockAffinity``;
- the BGPConfiguration, BGPPeers, IPPools and Secrets as the topology's ``calico:``.

What the resources do not say is asked for, never guessed: an address without a
prefix (``--subnet-prefix``), a node without a block (``--assign-blocks``), subnets no
router joins (``--router-at``). Each problem is one line naming the resource.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bgplab.calico.resources import (
    BGPPeer,
    BlockAffinity,
    IPPool,
    Node,
    load_resources,
    parse_peer_ip,
)
from bgplab.errors import UserError

KEEP = ("BGPConfiguration", "BGPPeer", "IPPool", "Secret")
_NOT_IN_DUMP = (
    "calicoctl get nodes,bgppeers,bgpconfigurations,ippools -o yaml; "
    "kubectl get blockaffinities -o yaml"
)


class FromCalicoError(UserError):
    """The resources do not describe a lab, or leave out something it needs."""


@dataclass
class Options:
    routers: dict[str, list[ipaddress.IPv4Address]] = field(default_factory=dict)
    subnet_prefix: int | None = None  # for node addresses given without one (/32)
    assign_blocks: bool = False  # give a node without a BlockAffinity a free block
    pods: int = 2


def parse_router_option(text: str) -> tuple[str, list[ipaddress.IPv4Address]]:
    """``NAME=IP[,IP…]`` (``--router-at``)."""
    name, sep, ips = text.partition("=")
    if not sep or not name or not ips:
        raise FromCalicoError(f"--router-at {text!r}: expected NAME=IP[,IP…]")
    try:
        return name, [ipaddress.IPv4Address(x.strip()) for x in ips.split(",")]
    except ValueError:
        raise FromCalicoError(
            f"--router-at {text!r}: {ips!r} is not a list of IPv4 addresses"
        ) from None


def topology_doc(path: str | Path, opts: Options) -> dict[str, Any]:
    """The topology (as a YAML-ready mapping) the resources in ``path`` describe."""
    resources = load_resources(Path(path))
    nodes = [r for r in resources if isinstance(r, Node)]
    if not nodes:
        raise FromCalicoError(f"{path}: no Calico Node resources (dump them with: {_NOT_IN_DUMP})")
    addrs = {n.name: _node_interface(n, opts) for n in nodes}
    subnets = _subnets(list(addrs.values()))
    node_ips = {i.ip for i in addrs.values()}
    peers = [r for r in resources if isinstance(r, BGPPeer) and r.peer_ip]
    routers = _routers(peers, node_ips, subnets, opts)
    _check_joined(subnets, routers)
    blocks = _blocks(resources, nodes, opts)
    cluster_as = next(
        (
            int(r.spec["asNumber"])
            for r in resources
            if r.kind == "BGPConfiguration" and r.name == "default" and "asNumber" in r.spec
        ),
        64512,
    )
    doc: dict[str, Any] = {
        "name": "from-calico",
        "subnets": [{"name": name, "cidr": str(net)} for net, name in subnets.items()],
        "routers": [],
        "nodes": [],
        "calico": [r.doc for r in resources if r.kind in KEEP],
    }
    for name, (ips, asn) in routers.items():
        router: dict[str, Any] = {
            "name": name,
            "router_id": str(ips[0]),
            "interfaces": [
                {"interface": f"eth{j}", "address": str(ip)} for j, ip in enumerate(ips)
            ],
        }
        if asn is not None and asn != cluster_as:
            router["asn"] = asn
        doc["routers"].append(router)
    for n in nodes:
        entry: dict[str, Any] = {
            "name": n.name,
            "address": str(addrs[n.name].ip),
            "labels": dict(n.labels),
            "block": blocks[n.name],
            "pods": opts.pods,
        }
        if n.as_number is not None:
            entry["asn"] = n.as_number
        if n.rr_cluster_id:
            entry["rr_cluster_id"] = n.rr_cluster_id
        doc["nodes"].append(entry)
    return doc


def topology_text(path: str | Path, opts: Options) -> str:
    doc = topology_doc(path, opts)
    head = f"# Built by bgplab lab up --from-calico {path} (docs/lab.md); edit freely.\n"
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)


def _node_interface(n: Node, opts: Options) -> ipaddress.IPv4Interface:
    raw = n.bgp.get("ipv4Address")
    if not raw:
        raise FromCalicoError(
            f"Node({n.name}): spec.bgp.ipv4Address is missing: the lab needs every node's "
            "address (a node without BGP cannot be built)"
        )
    iface = ipaddress.IPv4Interface(str(raw))
    if iface.network.prefixlen >= 31:
        if opts.subnet_prefix is None:
            raise FromCalicoError(
                f"Node({n.name}): spec.bgp.ipv4Address = {raw} gives no subnet prefix; "
                "say the subnets' prefix length with --subnet-prefix LEN (e.g. 24)"
            )
        iface = ipaddress.IPv4Interface(f"{iface.ip}/{opts.subnet_prefix}")
    return iface


def _subnets(ifaces: list[ipaddress.IPv4Interface]) -> dict[ipaddress.IPv4Network, str]:
    nets = sorted({i.network for i in ifaces})
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            if a.overlaps(b):
                raise FromCalicoError(
                    f"node addresses give overlapping subnets {a} and {b}: "
                    "give one prefix length with --subnet-prefix LEN"
                )
    return {net: f"net{i + 1}" for i, net in enumerate(nets)}


def _routers(
    peers: list[BGPPeer],
    node_ips: set[ipaddress.IPv4Address],
    subnets: dict[ipaddress.IPv4Network, str],
    opts: Options,
) -> dict[str, tuple[list[ipaddress.IPv4Address], int | None]]:
    named = {ip: name for name, ips in opts.routers.items() for ip in ips}
    out: dict[str, tuple[list[ipaddress.IPv4Address], int | None]] = {
        name: (list(ips), None) for name, ips in opts.routers.items()
    }
    for addr in named:
        if not any(addr in net for net in subnets):
            raise FromCalicoError(
                f"--router-at {named[addr]}={addr}: {addr} is in none of the nodes' subnets "
                f"({', '.join(map(str, subnets))})"
            )
    for p in sorted(peers, key=lambda p: p.name):
        ip_text, port = parse_peer_ip(p.peer_ip)
        ip = ipaddress.ip_address(ip_text)
        if not isinstance(ip, ipaddress.IPv4Address) or ip in node_ips:
            continue  # an IPv6 peer (not in an IPv4 lab) or a node: not a router
        if port:
            raise FromCalicoError(
                f"BGPPeer({p.name}): peerIP = {p.peer_ip}: a peer on another port than 179 "
                "cannot be a lab router"
            )
        if not any(ip in net for net in subnets):
            raise FromCalicoError(
                f"BGPPeer({p.name}): peerIP = {ip} is in none of the nodes' subnets "
                f"({', '.join(map(str, subnets))}), so nothing in the lab can reach it; "
                "a router there needs an address in a node subnet (--router-at NAME=IP,…)"
            )
        name = named.get(ip) or "peer-" + str(ip).replace(".", "-")
        ips, asn = out.get(name, ([ip], None))
        peer_as = p.as_number
        if asn is not None and peer_as and asn != peer_as:
            raise FromCalicoError(
                f"BGPPeer({p.name}): asNumber = {peer_as}, but another BGPPeer gives router "
                f"{name} AS {asn}"
            )
        out[name] = (ips, asn or peer_as or None)
    for name, (ips, _asn) in out.items():
        seen: dict[ipaddress.IPv4Network, ipaddress.IPv4Address] = {}
        for ip in ips:
            net = next(n for n in subnets if ip in n)
            if net in seen:
                raise FromCalicoError(
                    f"router {name}: {seen[net]} and {ip} are both in {net}: one address "
                    "per subnet (--router-at NAME=IP,IP)"
                )
            seen[net] = ip
    return out


def _check_joined(
    subnets: dict[ipaddress.IPv4Network, str],
    routers: dict[str, tuple[list[ipaddress.IPv4Address], int | None]],
) -> None:
    """Nodes reach another subnet through a router of their own subnet that joins it."""
    joins = [{n for n in subnets for ip in ips if ip in n} for ips, _ in routers.values()]
    nets = list(subnets)
    for i, a in enumerate(nets):
        if not any(a in j for j in joins):
            raise FromCalicoError(
                f"no BGPPeer names a router in subnet {a}: give its router with "
                "--router-at NAME=IP,… (the router's address in each subnet it joins)"
            )
        for b in nets[i + 1 :]:
            if not any(a in j and b in j for j in joins):
                raise FromCalicoError(
                    f"no router joins subnets {a} and {b}, so their pods cannot reach each "
                    "other: say which BGPPeer addresses are one router with "
                    "--router-at NAME=IP,IP (one address per subnet it joins)"
                )


def _blocks(resources: list[Any], nodes: list[Node], opts: Options) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in resources:
        if isinstance(r, BlockAffinity) and not r.deleted and r.state in ("", "confirmed"):
            net = ipaddress.ip_network(r.cidr)
            if net.version == 4 and r.node not in out:
                out[r.node] = str(net)
    for n in nodes:  # bgplab's own pinning annotation counts as an affinity
        for b in n.pinned_blocks:
            if ipaddress.ip_network(b).version == 4:
                out.setdefault(n.name, b)
    missing = [n.name for n in nodes if n.name not in out]
    if missing and not opts.assign_blocks:
        raise FromCalicoError(
            f"Node({missing[0]}): no BlockAffinity gives its pods' block; "
            f"add the affinities ({_NOT_IN_DUMP.split('; ')[1]}) or let the lab choose "
            "free blocks from the IPPool with --assign-blocks"
        )
    if missing:
        pools = [r for r in resources if isinstance(r, IPPool) and r.version == 4]
        if not pools:
            raise FromCalicoError(
                f"Node({missing[0]}): --assign-blocks needs an IPv4 IPPool in the resources"
            )
        taken = [ipaddress.ip_network(b) for b in out.values()]
        free = (
            b
            for pool in pools
            for b in ipaddress.ip_network(pool.cidr).subnets(new_prefix=pool.block_size)
            if not any(b.overlaps(t) for t in taken)
        )
        for name in missing:
            out[name] = str(next(free))
    return out
