"""What BIRD 1.6 will install on every lab host: BGP propagation worked out on paper.

The lab's expected route tables must hold for any topology (several reflectors,
racks of ToRs under a spine, generated labs), so they are computed by walking the
session graph (:mod:`bgplab.lab.peering`) with BIRD 1.6's rules instead of being
written per topology:

- every session negotiates ADD-PATH (Calico's template and the router's both say
  ``add paths on``), so a speaker offers every path it holds, not only its best;
- a path is never offered back to the session it came from; iBGP-learned paths go
  to iBGP peers only when the sender reflects (from or to an ``rr client``), which
  prepends the sender's cluster id and sets ORIGINATOR_ID (RFC 4456); a receiver
  drops a path carrying its own router id as originator, one carrying its own
  cluster id when it came from an rr client (BIRD 1.6 checks the cluster list only
  there; BIRD 2 and bgplabd everywhere, which changes no kernel route here), and an
  eBGP path with its own AS in the AS path;
- next hops: iBGP keeps them (a locally originated static keeps its gateway, a
  device route gets the session's address); eBGP (``next hop self`` on eBGP
  router-router sessions) puts the sender's session address;
- the kernel gets the best path (static beats BGP; then shorter AS path, eBGP over
  iBGP, shorter cluster list, lower router id) merged with every path equal to it
  up to the tie-breaks (``merge paths on``), each next hop resolved as the host's
  own kernel would: directly when it is in an attached subnet, else through the
  node's static route to the routers of its subnet.

Every speaker exports what it originates (a node: its block, or its pods' /32s,
and the service ranges; a router in the ``aggregate`` kind: the pools) and what it
learned inside the pools (``calico_export_to_bgp_peers``), under the rules above;
so a plain node passes nothing on, and a route reflector node (``rr_cluster_id``)
reflects. Node-to-node sessions (mesh, or BGPPeers between nodes) come from the
same session graph.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from bgplab.lab.peering import node_peers, router_clients, router_sessions
from bgplab.lab.scenarios import Scenario
from bgplab.lab.topology import Topology

IP = ipaddress.IPv4Address


@dataclass(frozen=True)
class Path:
    prefix: ipaddress.IPv4Network
    nexthop: IP | None  # None: a blackhole (a node's own block or service range)
    as_path: tuple[int, ...] = ()
    ibgp: bool = True
    local: bool = False  # originated by this speaker (a static route)
    originator: IP | None = None
    clusters: tuple[IP, ...] = ()
    from_id: IP | None = None  # router id of the neighbour it came from
    via: str = ""  # the session it came from ("" for local)
    client: bool = False  # came from an rr client


@dataclass
class Session:
    peer: str  # host name of the other end
    local: IP
    remote: IP
    ibgp: bool
    client: bool  # the other end is my rr client
    next_hop_self: bool


@dataclass
class Speaker:
    name: str
    router_id: IP
    asn: int
    cluster_id: IP
    subnets: list[ipaddress.IPv4Network]
    is_router: bool
    pools: list[ipaddress.IPv4Network] = field(default_factory=list)  # a router's export filter
    sessions: list[Session] = field(default_factory=list)
    origin: list[Path] = field(default_factory=list)
    kernel_reject: set[ipaddress.IPv4Network] = field(default_factory=set)
    rib_in: dict[str, list[Path]] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        return self.origin + [p for ps in self.rib_in.values() for p in ps]


def speakers(topo: Topology, scenario: Scenario) -> dict[str, Speaker]:
    out: dict[str, Speaker] = {}
    pools = topo.pools()
    services = [ipaddress.IPv4Network(c) for c in scenario.service_cidrs]
    rr = scenario.router_kind == "rr"
    for r in topo.routers:
        sp = Speaker(
            r.name,
            r.router_id,
            topo.router_asn(r),
            r.rr_cluster_id or r.router_id,
            [i.subnet.cidr for i in r.interfaces],
            True,
            pools,
        )
        if not rr:
            sp.origin = [Path(p, r.router_id, local=True) for p in pools]
        out[r.name] = sp
    for n in topo.nodes:
        cid = n.rr_cluster_id or n.address
        sp = Speaker(n.name, n.address, topo.node_asn(n), cid, [n.subnet.cidr], False, pools)
        if scenario.per_pod_routes:
            sp.origin = [
                Path(ipaddress.IPv4Network(f"{n.pod_address(i)}/32"), n.address, local=True)
                for i in range(n.pods)
            ]
        else:
            sp.origin = [Path(n.block, None, local=True)]
        sp.origin += [Path(s, None, local=True) for s in services]
        sp.kernel_reject = set(services)  # Calico's rejectcidrs
        out[n.name] = sp
    _sessions(topo, rr, out)
    return out


def _sessions(topo: Topology, rr: bool, out: dict[str, Speaker]) -> None:
    peers = node_peers(topo)
    by_addr = {n.address: n for n in topo.nodes}
    for n in topo.nodes:
        # node to node (a route reflector node, or its clients): confd makes a peer an
        # rr client when the node has a cluster id and the peer another (or none)
        for p in peers[n.name]:
            m = by_addr.get(p.ip)
            if m is None:
                continue
            ibgp = topo.node_asn(m) == topo.node_asn(n)
            client = ibgp and n.rr_cluster_id is not None and m.rr_cluster_id != n.rr_cluster_id
            out[n.name].sessions.append(Session(m.name, n.address, m.address, ibgp, client, False))
    for r in topo.routers:
        mine = set(r.addresses)
        for n in router_clients(topo, r):
            ip = next((p.ip for p in peers[n.name] if p.ip in mine), r.address_in(n.subnet))
            assert ip is not None
            ibgp = topo.node_asn(n) == topo.router_asn(r)
            local = r.address_in(n.subnet) or ip
            out[r.name].sessions.append(Session(n.name, local, n.address, ibgp, rr and ibgp, False))
            # a route reflector node makes the router its client too (confd's rule)
            node_rr = ibgp and n.rr_cluster_id is not None
            out[n.name].sessions.append(Session(r.name, n.address, ip, ibgp, node_rr, False))
        for s in router_sessions(topo, r):
            if s.peer is None:
                continue  # an outside speaker: nothing in the lab answers it
            ibgp = s.peer_asn == topo.router_asn(r)
            out[r.name].sessions.append(
                Session(s.peer.name, s.local_address, s.peer_address, ibgp, False, not ibgp)
            )


def _export(src: Speaker, sess: Session, dst: Speaker, back: Session) -> list[Path]:
    """What ``src`` offers ``dst`` over ``sess`` (``back`` is the same session seen
    from ``dst``), after ``dst``'s import checks."""
    out = []
    for p in src.paths():
        if p.via == sess.peer:
            continue
        if not p.local and not any(p.prefix.subnet_of(x) for x in src.pools):
            continue  # calico_export_to_bgp_peers: the pools and what lies inside them
        reflect = False
        if p.ibgp and not p.local and sess.ibgp:
            if not (p.client or sess.client):
                continue
            reflect = True
        q = replace(p, via=src.name, from_id=src.router_id, local=False, ibgp=sess.ibgp)
        q = replace(q, client=back.client)
        if reflect:
            q = replace(
                q,
                originator=p.originator or p.from_id,
                clusters=(src.cluster_id, *p.clusters),
            )
        elif not sess.ibgp:
            q = replace(q, originator=None, clusters=(), as_path=(src.asn, *p.as_path))
        if sess.next_hop_self or not sess.ibgp or p.nexthop is None:
            q = replace(q, nexthop=sess.local)
        if not sess.ibgp and dst.asn in q.as_path:
            continue
        # BIRD 1.6 checks the cluster list only on sessions to its rr clients
        if (back.client and dst.cluster_id in q.clusters) or q.originator == dst.router_id:
            continue
        out.append(q)
    return out


def propagate(sp: dict[str, Speaker], rounds: int = 32) -> None:
    for _ in range(rounds):
        changed = False
        for dst in sp.values():
            for back in dst.sessions:
                src = sp[back.peer]
                sess = next((s for s in src.sessions if s.peer == dst.name), None)
                if sess is None:
                    continue
                got = _export(src, sess, dst, back)
                if dst.rib_in.get(src.name) != got:
                    dst.rib_in[src.name] = got
                    changed = True
        if not changed:
            return
    raise RuntimeError("BGP propagation did not settle")


def _rank(p: Path) -> tuple[object, ...]:
    return (
        not p.local,
        len(p.as_path),
        p.ibgp,
        len(p.clusters),
        int(p.originator or p.from_id or 0),
    )


def _mergeable(a: Path, b: Path) -> bool:
    return (a.local, len(a.as_path), a.ibgp) == (b.local, len(b.as_path), b.ibgp)


def kernel_tables(topo: Topology, scenario: Scenario) -> dict[str, dict[str, tuple[str, ...]]]:
    """Host -> prefix -> kernel gateways (empty tuple: a blackhole)."""
    sp = speakers(topo, scenario)
    propagate(sp)
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, s in sp.items():
        table: dict[str, tuple[str, ...]] = {}
        by_prefix: dict[ipaddress.IPv4Network, list[Path]] = {}
        for p in s.paths():
            by_prefix.setdefault(p.prefix, []).append(p)
        for prefix, paths in by_prefix.items():
            if prefix in s.kernel_reject:
                continue
            best = min(paths, key=_rank)
            if best.local and not s.is_router and best.nexthop is not None:
                continue  # a pod's /32: the node's own device route, not BIRD's
            if best.nexthop is None:
                table[str(prefix)] = ()
                continue
            gws: set[str] = set()
            for p in paths:
                if p is best or _mergeable(p, best):
                    gws |= _resolve(topo, s, p.nexthop)  # type: ignore[arg-type]
            if gws:
                table[str(prefix)] = tuple(sorted(gws, key=IP))
        out[name] = table
    return out


def _resolve(topo: Topology, s: Speaker, nexthop: IP) -> set[str]:
    """The gateways ``s``'s kernel uses for ``nexthop`` (BIRD's ``gateway recursive``)."""
    if any(nexthop in net for net in s.subnets):
        return {str(nexthop)}
    if s.is_router:
        return set()  # unreachable: router sessions set next hop self, so this is not met
    node = topo.node(s.name)
    target = topo.subnet_of(nexthop)
    routers = topo.gateways(node.subnet, target) if target else topo.routers_in(node.subnet)
    return {str(r.address_in(node.subnet)) for r in routers}
