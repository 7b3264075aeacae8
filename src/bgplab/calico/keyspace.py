"""confd's key space, computed from the datastore.

calico-node's confd does not read resources directly: its Calico backend
turns them into a flat map of keys (``/calico/bgp/v1/host/<node>/ip_addr_v4``,
``/calico/bgp/v1/global/peer_v4/<ip>``, ``/calico/ipam/v2/host/<node>/ipv4/
block/<cidr>``, ``/calico/staticroutes/<cidr>`` ...) and the templates read
that map. We compute the same map (v3.17 semantics), so the renderer can
follow the templates step by step and tests can compare key by key.

Peerings follow confd's ``updatePeersV1``: global peers first, then
node-specific ones (skipped where a global peering to the same address
exists), then reverse peerings for BGPPeers whose remote side is a Calico node,
so both ends of a node-to-node peering are configured. The first emitted
value for a key wins.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable

from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import BGPConfiguration, BGPPeer, Node, parse_asn, parse_peer_ip
from bgplab.calico.selector import parse_selector

KeySpace = dict[str, str]
BGP = "/calico/bgp/v1"
DEFAULT_AS = "64512"
_STD_COMMUNITY = re.compile(r"^\d+:\d+(:\d+)?$")


def _cidr_key(cidr: str) -> str:
    return cidr.replace("/", "-", 1)


def _peer_json(ip: str, asn: str, rr: str, password: str | None, port: int, keep: bool) -> str:
    # Field order and names of confd's bgpPeer struct (as_num is a string).
    return json.dumps(
        {
            "ip": ip,
            "as_num": asn,
            "rr_cluster_id": rr,
            "password": password,
            "port": port,
            "keep_next_hop": keep,
        },
        separators=(",", ":"),
    )


def _loglevel(cfg: BGPConfiguration) -> str | None:
    level = cfg.spec.get("logSeverityScreen")
    if not level:
        return None
    level = str(level).lower()
    # BIRD only distinguishes debug, info and none; confd maps the rest to none.
    return level if level in ("debug", "info") else "none"


def _prefix_advertisements(cfg: BGPConfiguration, version: int) -> str | None:
    ads = cfg.spec.get("prefixAdvertisements")
    if not ads:
        return None
    named = {c["name"]: str(c["value"]) for c in cfg.spec.get("communities") or []}
    out = []
    for ad in ads:
        if ipaddress.ip_network(ad["cidr"], strict=False).version != version:
            continue
        # Each value once, sorted: confd keeps them in a Go map, whose order
        # varies (which is why Calico's suite compares this case as sorted lines).
        values = set()
        for c in ad.get("communities") or []:
            c = str(c)
            if _STD_COMMUNITY.match(c):
                values.add(c)
            elif c in named:
                values.add(named[c])
        out.append({"cidr": ad["cidr"], "communities": sorted(values)})
    if not out:
        return None
    return json.dumps(out, separators=(",", ":"))


def _bgp_config_keys(ks: KeySpace, cfg: BGPConfiguration, base: str) -> None:
    level = _loglevel(cfg)
    if level is not None:
        ks[f"{base}/loglevel"] = level
    port = cfg.spec.get("listenPort")
    if port:
        ks[f"{base}/listen_port"] = str(port)
    for version in (4, 6):
        pa = _prefix_advertisements(cfg, version)
        if pa is not None:
            ks[f"{base}/prefix_advertisements/ip_v{version}"] = pa


def build_keyspace(ds: Datastore, here: str | None = None) -> KeySpace:
    """The whole key space confd would hold for this datastore; ``here`` is the
    node confd runs on (its service routes: see :func:`_local_service_routes`)."""
    ks: KeySpace = {
        f"{BGP}/global/as_num": DEFAULT_AS,
        f"{BGP}/global/node_mesh": '{"enabled": true}',
        f"{BGP}/global/loglevel": "info",
    }
    cfg = ds.config()
    if cfg is not None:
        if "asNumber" in cfg.spec:
            ks[f"{BGP}/global/as_num"] = str(parse_asn(cfg.spec["asNumber"]))
        mesh = cfg.spec.get("nodeToNodeMeshEnabled")
        if mesh is not None:
            ks[f"{BGP}/global/node_mesh"] = '{"enabled":true}' if mesh else '{"enabled":false}'
        ks.pop(f"{BGP}/global/loglevel")
        _bgp_config_keys(ks, cfg, f"{BGP}/global")
        _service_routes(ks, cfg)
    nodes = ds.nodes()
    for n in nodes:
        base = f"{BGP}/host/{n.name}"
        ks[f"{base}/ip_addr_v4"] = n.ipv4_address
        ks[f"{base}/ip_addr_v6"] = n.ipv6_address
        if n.ipv4_network:
            ks[f"{base}/network_v4"] = n.ipv4_network
        if n.ipv6_network:
            ks[f"{base}/network_v6"] = n.ipv6_network
        if n.as_number is not None:
            ks[f"{base}/as_num"] = str(n.as_number)
        ks[f"{base}/rr_cluster_id"] = n.rr_cluster_id
        ncfg = ds.node_config(n.name)
        if ncfg is not None:
            _bgp_config_keys(ks, ncfg, base)
        for block, state in _blocks(ds, n.name):
            v = ipaddress.ip_network(block).version
            ks[f"/calico/ipam/v2/host/{n.name}/ipv{v}/block/{_cidr_key(block)}"] = state
    for pool in ds.pools():
        ks[f"/calico/v1/ipam/v{pool.version}/pool/{_cidr_key(pool.cidr)}"] = json.dumps(
            {
                "cidr": pool.cidr,
                "ipip": "tunl0" if pool.ipip_mode != "Never" else "",
                "ipip_mode": {"Always": "always", "CrossSubnet": "cross-subnet"}.get(
                    pool.ipip_mode, ""
                ),
                "vxlan_mode": {"Always": "always", "CrossSubnet": "cross-subnet"}.get(
                    pool.vxlan_mode, ""
                ),
                "masquerade": bool(pool.spec.get("natOutgoing")),
                "ipam": not pool.disabled,
                "disabled": pool.disabled,
            },
            separators=(",", ":"),
        )
    _peerings(ks, ds, nodes)
    if here is not None and cfg is not None:
        _local_service_routes(ks, ds, cfg, here)
    return ks


def _blocks(ds: Datastore, node: str) -> list[tuple[str, str]]:
    """(block, affinity JSON) per block of ``node``: the BlockAffinity's state
    (empty: ``{}``, which the template calls implicitly confirmed), or confirmed
    for a block the datastore handed out itself."""
    affinities = ds.affinities()
    if not affinities:
        return [(b, '{"state":"confirmed"}') for b in ds.blocks_for(node)]
    out = []
    for a in affinities:
        if a.node == node and not a.deleted:
            out.append((a.cidr, json.dumps({"state": a.state}) if a.state else "{}"))
    return out


def _local_service_routes(ks: KeySpace, ds: Datastore, cfg: BGPConfiguration, node: str) -> None:
    """A /32 (/128) static route for each Service with ``externalTrafficPolicy:
    Local`` that has a ready endpoint of its own IP family on ``node`` (Calico
    v3.17's route generator): its cluster IP when service cluster IPs are
    advertised at all, and its external and load-balancer IPs that fall within
    the advertised ranges. Unlike the ranges, these are not in rejectcidrs."""

    def nets(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(i["cidr"], strict=False) for i in cfg.spec.get(name) or []]

    clusters, externals, lbs = (
        nets("serviceClusterIPs"),
        nets("serviceExternalIPs"),
        nets("serviceLoadBalancerIPs"),
    )
    for svc, eps in ds.services():
        if svc.spec.get("type", "ClusterIP") == "ExternalName" or svc.cluster_ip in ("", "None"):
            continue
        if not svc.local_traffic or eps is None:
            continue
        v6 = ":" in svc.cluster_ip
        if not any(n == node and (":" in ip) == v6 for ip, n in eps.addresses()):
            continue
        ips = [svc.cluster_ip] if clusters else []
        for ip in svc.external_ips:
            if any(ipaddress.ip_address(ip) in net for net in externals):
                ips.append(ip)
        for ip in svc.ingress_ips:
            if any(ipaddress.ip_address(ip) in net for net in lbs):
                ips.append(ip)
        for ip in ips:
            addr = ipaddress.ip_address(ip)
            suffix = "v6" if addr.version == 6 else ""
            ks[f"/calico/staticroutes{suffix}/{addr}-{addr.max_prefixlen}"] = (
                f"{addr}/{addr.max_prefixlen}"
            )


def _service_routes(ks: KeySpace, cfg: BGPConfiguration) -> None:
    # Cluster, external and load-balancer service ranges are advertised from
    # every node: a static blackhole route (exported) plus a "reject" entry so
    # the kernel is not programmed with them.
    for name in ("serviceClusterIPs", "serviceExternalIPs", "serviceLoadBalancerIPs"):
        for item in cfg.spec.get(name) or []:
            net = ipaddress.ip_network(item["cidr"], strict=False)
            suffix = "" if net.version == 4 else "v6"
            key = _cidr_key(str(net))
            ks[f"/calico/staticroutes{suffix}/{key}"] = str(net)
            ks[f"/calico/rejectcidrs{suffix}/{key}"] = str(net)


def _peerings(ks: KeySpace, ds: Datastore, nodes: list[Node]) -> None:
    global_as = ks[f"{BGP}/global/as_num"]
    by_name = {n.name: n for n in nodes}
    emitted: dict[str, str] = {}

    def matching(selector: str) -> list[str]:
        pred: Callable[[dict[str, str]], bool] = parse_selector(selector)
        return sorted(n.name for n in nodes if pred(n.labels))

    def password(peer: BGPPeer) -> str | None:
        ref = (peer.spec.get("password") or {}).get("secretKeyRef")
        if not ref:
            return None
        return ds.secret(ref["name"], ref["key"])

    def node_as(name: str) -> str:
        n = by_name[name]
        return str(n.as_number) if n.as_number is not None else global_as

    cfg = ds.config()
    global_port = int(cfg.spec.get("listenPort") or 0) if cfg is not None else 0

    def listen_port(name: str) -> int:
        """The port a Calico node listens on (its own BGPConfiguration's, else the
        global one; 0: BGP's 179)."""
        ncfg = ds.node_config(name)
        own = int(ncfg.spec.get("listenPort") or 0) if ncfg is not None else 0
        return own or global_port

    def nodes_at(ip: str, asn: int, port: int) -> list[str]:
        """The Calico nodes a peerIP (and port, if given) and AS number point at."""
        want_as = str(asn) if asn else global_as
        return sorted(
            n.name
            for n in nodes
            if ip in (n.ipv4_address, n.ipv6_address)
            and node_as(n.name) == want_as
            and (not port or (listen_port(n.name) or 179) == port)
        )

    def node_peers(name: str, peer: BGPPeer) -> list[tuple[str, str]]:
        """A Calico node as peer: (key suffix, value) per IP version, at the
        port it listens on."""
        n = by_name[name]
        port = listen_port(name)
        out = []
        for version, ip in ((4, n.ipv4_address), (6, n.ipv6_address)):
            if ip:
                value = _peer_json(
                    ip,
                    node_as(name),
                    n.rr_cluster_id,
                    password(peer),
                    port,
                    bool(peer.spec.get("keepOriginalNextHop")),
                )
                out.append((f"peer_v{version}/{ip}" + (f"-{port}" if port else ""), value))
        return out

    def emit(key: str, value: str, node_specific_ip: str | None = None) -> None:
        if key in emitted:
            return
        if node_specific_ip is not None and f"{BGP}/global/{node_specific_ip}" in emitted:
            return
        emitted[key] = value

    peers = sorted(ds.peers(), key=lambda p: p.name)
    for global_pass in (True, False):
        for peer in peers:
            if global_pass != peer.is_global:
                continue
            if peer.node_selector:
                local = matching(peer.node_selector)
            elif peer.node:
                local = [peer.node]
            else:
                local = []
            remote: list[tuple[str, str]] = []
            if peer.peer_selector:
                for name in matching(peer.peer_selector):
                    remote.extend(node_peers(name, peer))
            else:
                ip, port = parse_peer_ip(peer.peer_ip)
                if not port:
                    # A Calico node as peer, named by its address: dial its listen port.
                    at = nodes_at(ip, peer.as_number, 0)
                    port = listen_port(at[0]) if at else 0
                version = ipaddress.ip_address(ip).version
                suffix = f"peer_v{version}/{ip}" + (f"-{port}" if port else "")
                remote.append(
                    (
                        suffix,
                        _peer_json(
                            ip,
                            str(peer.as_number),
                            "",
                            password(peer),
                            port,
                            bool(peer.spec.get("keepOriginalNextHop")),
                        ),
                    )
                )
            for suffix, value in remote:
                if global_pass:
                    emit(f"{BGP}/global/{suffix}", value)
                else:
                    for name in local:
                        emit(f"{BGP}/host/{name}/{suffix}", value, node_specific_ip=suffix)
    # Reverse peerings: the BGPPeer's remote side is a Calico node.
    for peer in peers:
        if peer.peer_selector:
            local = matching(peer.peer_selector)
        else:
            ip, port = parse_peer_ip(peer.peer_ip)
            local = nodes_at(ip, peer.as_number, port)
        if not local:
            continue
        if peer.node_selector:
            remote_nodes = matching(peer.node_selector)
        elif peer.node:
            remote_nodes = [peer.node] if peer.node in by_name else []
        else:
            remote_nodes = matching("all()")
        for name in remote_nodes:
            for suffix, value in node_peers(name, peer):
                for lname in local:
                    emit(f"{BGP}/host/{lname}/{suffix}", value, node_specific_ip=suffix)
    ks.update(emitted)
