"""Who peers with whom in a lab: the BGP session graph, computed from the topology.

A node's sessions come from the Calico resources exactly as confd derives them
(global BGPPeers, then those whose ``nodeSelector`` or ``node`` picks it, and the
node-to-node mesh when it is on); a router's sessions are the nodes that name one
of its addresses, plus its own ``peers:``. The router config generator and the
expected route tables both read this one graph, so they cannot disagree.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import yaml

from bgplab.calico.datastore import Datastore
from bgplab.calico.keyspace import BGP, build_keyspace
from bgplab.calico.resources import load_resources
from bgplab.lab.topology import Node, Router, Topology, shared_subnet


@dataclass(frozen=True)
class NodePeer:
    ip: ipaddress.IPv4Address
    asn: int


def node_peers(topo: Topology) -> dict[str, list[NodePeer]]:
    """Node name -> its IPv4 BGP peers (routers, other nodes, outside addresses)."""
    # Topologies are immutable but not hashable (labels are dicts): cache by identity,
    # holding the topology so its id is not reused.
    hit = _CACHE.get(id(topo))
    if hit is None or hit[0] is not topo:
        hit = _CACHE[id(topo)] = (topo, _node_peers(topo))
    return hit[1]


_CACHE: dict[int, tuple[Topology, dict[str, list[NodePeer]]]] = {}


def _node_peers(topo: Topology) -> dict[str, list[NodePeer]]:
    from bgplab.lab.nodeconf import node_resources, scenario_resources

    nodes = node_resources(topo)
    for res in nodes:  # blocks play no part in who peers with whom (and need no IPPool here)
        res["metadata"].pop("annotations", None)
    ds = Datastore()
    ds.apply(load_resources(yaml.safe_dump_all(scenario_resources(topo, []) + nodes)))
    ks = build_keyspace(ds)
    mesh = json.loads(ks.get(f"{BGP}/global/node_mesh", "{}")).get("enabled", False)
    glob = _peers_under(ks, f"{BGP}/global/peer_v4/")
    out: dict[str, list[NodePeer]] = {}
    for n in topo.nodes:
        found = dict(glob)
        found.update(_peers_under(ks, f"{BGP}/host/{n.name}/peer_v4/"))
        if mesh:
            for o in topo.nodes:
                found.setdefault(o.address, topo.node_asn(o))
        found.pop(n.address, None)
        out[n.name] = [NodePeer(ip, asn) for ip, asn in sorted(found.items())]
    return out


def _peers_under(ks: dict[str, str], prefix: str) -> dict[ipaddress.IPv4Address, int]:
    out = {}
    for key, value in ks.items():
        if key.startswith(prefix):
            data = json.loads(value)
            ip = ipaddress.ip_address(data["ip"])
            if isinstance(ip, ipaddress.IPv4Address) and not data.get("port"):
                out[ip] = int(data["as_num"])
    return out


def router_clients(topo: Topology, router: Router) -> list[Node]:
    """The nodes that open a session to one of ``router``'s addresses.

    A one-router topology whose BGPPeers name none of its addresses keeps the
    old rule (every node), so a hand-written lab from before peers were derived
    still builds the same router config.
    """
    peers = node_peers(topo)
    mine = set(router.addresses)
    out = [n for n in topo.nodes if any(p.ip in mine for p in peers[n.name])]
    if not out and len(topo.routers) == 1 and not _any_router_named(topo):
        return list(topo.nodes)
    return out


def _any_router_named(topo: Topology) -> bool:
    addrs = {a for r in topo.routers for a in r.addresses}
    return any(p.ip in addrs for ps in node_peers(topo).values() for p in ps)


def node_routers(topo: Topology, node: Node) -> list[Router]:
    """The routers ``node`` has a session with."""
    return [r for r in topo.routers if node in router_clients(topo, r)]


@dataclass(frozen=True)
class RouterSession:
    """One router-router (or router-outside) session as seen from ``local``."""

    local: Router
    local_address: ipaddress.IPv4Address
    peer_address: ipaddress.IPv4Address
    peer_asn: int
    peer: Router | None  # None: an outside address

    @property
    def name(self) -> str:
        if self.peer is not None:
            return f"Router_{self.peer.name.replace('-', '_')}"
        return "Peer_" + str(self.peer_address).replace(".", "_")


def router_sessions(topo: Topology, router: Router) -> list[RouterSession]:
    """``router``'s sessions to other routers: its own ``peers:`` and those naming it
    (a session is configured on both ends when either end lists the other)."""
    others: dict[str, Router] = {}
    out: list[RouterSession] = []
    for p in router.peers:
        if p.router is not None:
            others[p.router] = topo.router_named(p.router)
        else:
            assert p.address is not None and p.asn is not None
            addr = next(i.address for i in router.interfaces if p.address in i.subnet.cidr)
            out.append(RouterSession(router, addr, p.address, p.asn, None))
    for r in topo.routers:
        if any(p.router == router.name for p in r.peers):
            others.setdefault(r.name, r)
    for name in sorted(others):
        peer = others[name]
        subnet = shared_subnet(router, peer)
        assert subnet is not None  # validated at load
        local, remote = router.address_in(subnet), peer.address_in(subnet)
        assert local is not None and remote is not None
        out.insert(
            len([s for s in out if s.peer is not None]),
            RouterSession(router, local, remote, topo.router_asn(peer), peer),
        )
    return out
