"""Render a node's BIRD configuration as calico-node's confd (v3.17) does.

Each function below follows one of Calico v3.17's confd templates
(``bird.cfg``, ``bird_aggr.cfg``, ``bird_ipam.cfg``, and with ``version=6``
their IPv6 twins ``bird6.cfg``, ``bird6_aggr.cfg``, ``bird6_ipam.cfg``) over
the key space of :mod:`bgplab.calico.keyspace`, step by step, and emits the
same text, blank lines included: calico-node reloads BIRD whenever the file
changes, and a user diffing our output against a real node should see no
difference. Where a template trims whitespace (``{{-``/``-}}``) the emitted
pieces here simply do not contain it.

``per_pod_routes=True`` renders the seed's edited ``bird_aggr`` template: the
blackhole route for the node's own blocks is commented out and routes inside
a block are accepted, so /32 pod routes are exported instead of the /26.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from bgplab.calico.datastore import Datastore
from bgplab.calico.keyspace import KeySpace, build_keyspace

# Every file confd renders for a node, IPv4 then IPv6.
FILES = (
    "bird.cfg",
    "bird_aggr.cfg",
    "bird_ipam.cfg",
    "bird6.cfg",
    "bird6_aggr.cfg",
    "bird6_ipam.cfg",
)
FILES_V4 = FILES[:3]
FILES_V6 = FILES[3:]


class Store:
    """confd's in-memory store for one template: keys under ``prefix``,
    addressed relative to it, with confd's ``ls``/``lsdir``/``gets``."""

    def __init__(self, ks: KeySpace, prefix: str = "", keys: Iterable[str] = ("/",)):
        self.m: dict[str, str] = {}
        wanted = [prefix + k if k != "/" else prefix for k in keys]
        for k, v in ks.items():
            if any(k.startswith(w) for w in wanted):
                rel = posixpath.join("/", k[len(prefix) :]) if prefix else k
                self.m[rel] = v

    @staticmethod
    def _terms(p: str) -> list[str]:
        return [t for t in p.split("/") if t]

    def exists(self, key: str) -> bool:
        return key in self.m

    def getv(self, key: str) -> str:
        return self.m[key]

    def _below(self, path: str) -> Iterable[list[str]]:
        pt = self._terms(path)
        for k in self.m:
            kt = self._terms(k)
            if len(kt) > len(pt) and kt[: len(pt)] == pt:
                yield kt[len(pt) :]

    def ls(self, path: str) -> list[str]:
        names = {rest[0] for rest in self._below(path)}
        if path in self.m:
            names.add(posixpath.basename(path))
        return sorted(names)

    def lsdir(self, path: str) -> list[str]:
        return sorted({rest[0] for rest in self._below(path) if len(rest) > 1})

    def gets(self, pattern: str) -> list[tuple[str, str]]:
        # path.Match: '*' does not cross '/'.
        return sorted(
            (k, v)
            for k, v in self.m.items()
            if fnmatchcase(k, pattern) and k.count("/") == pattern.count("/")
        )


def _logging(st: Store, node: str) -> str:
    key = f"/host/{node}/loglevel"
    if st.exists(key):
        level: str | None = st.getv(key)
    elif st.exists("/global/loglevel"):
        level = st.getv("/global/loglevel")
    else:
        level = None
    if level == "debug":
        return "\n  debug all;"
    if level == "none":
        return ""
    return "\n  debug { states };"


def _communities(st: Store, node: str, v: int) -> str:
    key = ""
    if st.exists(f"/host/{node}/prefix_advertisements/ip_v{v}"):
        key = f"/host/{node}/prefix_advertisements/ip_v{v}"
    elif st.exists(f"/global/prefix_advertisements/ip_v{v}"):
        key = f"/global/prefix_advertisements/ip_v{v}"
    out = []
    if key:
        for _k, value in st.gets(key):
            for data in json.loads(value) or []:
                out.append(f"\n      if ( net ~ {data['cidr']} ) then {{")
                for dt in data.get("communities") or []:
                    parts = dt.split(":")
                    if len(parts) == 2:
                        out.append(f"\n          bgp_community.add(({parts[0]}, {parts[1]}));")
                    else:
                        out.append(
                            f"\n          bgp_large_community.add(({parts[0]}, {parts[1]}, "
                            f"{parts[2]}));"
                        )
                out.append("\n      }")
    return "".join(out)


_KERNEL = """
# Configure synchronization between routing tables and kernel.
protocol kernel {
  learn;             # Learn all alien routes from the kernel
  persist;           # Don't remove routes on bird shutdown
  scan time 2;       # Scan kernel routing table every 2 seconds
  import all;
  export filter calico_kernel_programming; # Default is export none
  graceful restart;  # Turn on graceful restart to reduce potential flaps in
                     # routes when reloading BIRD configuration.  With a full
                     # automatic mesh, there is no way to prevent BGP from
                     # flapping since multiple nodes update their BGP
                     # configuration at the same time, GR is not guaranteed to
                     # work correctly in this scenario.
  merge paths on;    # Allow export multipath routes (ECMP)
}

# Watch interface up/down events.
protocol device {"""

_DIRECT = """
  interface -"cali*", -"kube-ipvs*", "*"; # Exclude cali* and kube-ipvs* but
                                          # include everything else.  In
                                          # IPVS-mode, kube-proxy creates a
                                          # kube-ipvs0 interface. We exclude
                                          # kube-ipvs0 because this interface
                                          # gets an address for every in use
                                          # cluster IP. We use static routes
                                          # for when we legitimately want to
                                          # export cluster IPs.
}

"""

_TEMPLATE_BODY = """
  description "Connection to BGP peer";
  local as {asn};
  multihop;
  gateway recursive; # This should be the default, but just in case.
  import all;        # Import all routes, since we don't know what the upstream
                     # topology is and therefore have to trust the ToR/RR.
  export filter calico_export_to_bgp_peers;  # Only want to export routes for workloads.
  source address {ip};  # The local address we use for the TCP connection
  add paths on;
  graceful restart;  # See comment in kernel section about graceful restart.
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}}

# ------------- Node-to-node mesh -------------"""


def _go_float(value: Any) -> str:
    # A JSON number prints as Go's %v of a float64: integral values without ".0".
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)


def _explicit_peers(
    st: Store,
    pairs: list[tuple[str, str]],
    kind: str,
    node_ip: str,
    node_as: str,
    cid: str,
    sep: str,
) -> str:
    out = ["\n"]
    for key, value in pairs:
        data = json.loads(value)
        ident = "_".join(data["ip"].split(sep))
        if data.get("port"):
            ident = f"{ident}_port_{round(float(data['port']))}"
        out.append("\n")
        out.append(f"\n# For peer {key}")
        if data["ip"] == node_ip:
            out.append(f"\n# Skipping ourselves ({node_ip})")
        else:
            port = f"port {_go_float(data['port'])} " if data.get("port") else ""
            out.append(f"\nprotocol bgp {kind}_{ident} from bgp_template {{")
            out.append(f"\n  neighbor {data['ip']} {port}as {data['as_num']};")
            if data["as_num"] == node_as and cid != "" and data["rr_cluster_id"] != cid:
                out.append(f"\n  rr client;\n  rr cluster id {cid};")
            if data.get("password"):
                out.append(f'\n  password "{data["password"]}";')
            if data["as_num"] != node_as and data.get("keep_next_hop"):
                out.append("\n  next hop keep;")
            out.append("\n}")
        out.append("\n")
    out.append("\n")
    return "".join(out)


def render_bird_cfg(ks: KeySpace, node: str, router_id: str = "", version: int = 4) -> str:
    """``bird.cfg`` (``version=6``: ``bird6.cfg``), prefix /calico/bgp/v1."""
    v6 = version == 6
    sep = ":" if v6 else "."
    st = Store(ks, "/calico/bgp/v1", ("/host", "/global"))
    six = "6" if v6 else ""
    out = ["function apply_communities ()\n{", _communities(st, node, version)]
    out.append(
        f'\n}}\n\n# Generated by confd\ninclude "bird{six}_aggr.cfg";\ninclude "bird{six}_ipam.cfg";'
    )
    node_ip = st.getv(f"/host/{node}/ip_addr_v4")
    own_ip = st.getv(f"/host/{node}/ip_addr_v6") if v6 else node_ip
    out.append("\n\nrouter id ")
    if router_id == "hash":
        out.append(f"{hash_to_ipv4(node)};")
        if v6:
            out.append("  # Use IP address generated by nodename's hash")
    else:
        out.append(f"{router_id or node_ip};")
        if v6:
            out.append("  # Use IPv4 address since router id is 4 octets, even in MP-BGP")
    if st.exists(f"/host/{node}/listen_port"):
        out.append(
            f"\n# Set node listen_port\nlisten bgp port {st.getv(f'/host/{node}/listen_port')};"
        )
    elif st.exists("/global/listen_port"):
        out.append(f"\n# Set global listen_port\nlisten bgp port {st.getv('/global/listen_port')};")
    log = _logging(st, node)
    out.append("\n" + _KERNEL + log + "\n  scan time 2;    # Scan interfaces every 2 seconds\n}\n")
    out.append("\nprotocol direct {" + log + _DIRECT)
    if own_ip == "":
        out.append(f"# IPv{version} disabled on this node.\n")
        return "".join(out) + "\n"
    as_key = f"/host/{node}/as_num" if st.exists(f"/host/{node}/as_num") else "/global/as_num"
    node_as = st.getv(as_key)
    out.append("\n# Template for all BGP clients\ntemplate bgp bgp_template {" + log)
    out.append(_TEMPLATE_BODY.format(asn=node_as, ip=own_ip))
    cid = st.getv(f"/host/{node}/rr_cluster_id")
    if v6 and cid != "":
        # The IPv6 template (only) leaves a route reflector out of the mesh.
        out.append(
            f"\n# This node is configured as a route reflector with cluster ID {cid};"
            "\n# ignore node-to-node mesh setting."
        )
    else:
        out.append("\n")
        out.append(_mesh(st, own_ip, version))
    out.append("\n\n\n# ------------- Global peers -------------\n")
    if st.ls(f"/global/peer_v{version}"):
        pairs = st.gets(f"/global/peer_v{version}/*")
        out.append(_explicit_peers(st, pairs, "Global", own_ip, node_as, cid, sep))
    else:
        out.append("# No global peers configured.")
    out.append("\n\n\n# ------------- Node-specific peers -------------\n")
    node_peers_key = f"/host/{node}/peer_v{version}"
    out.append("\n")
    if st.ls(node_peers_key):
        pairs = st.gets(f"{node_peers_key}/*")
        out.append(_explicit_peers(st, pairs, "Node", own_ip, node_as, cid, sep))
    else:
        out.append("# No node-specific peers configured.")
    out.append("\n\n")
    return "".join(out)


def _mesh(st: Store, own_ip: str, version: int) -> str:
    """The node-to-node mesh section (from ``{{if ...node_mesh...}}`` to its ``{{end}}``)."""
    if not json.loads(st.getv("/global/node_mesh")).get("enabled"):
        return "\n# Node-to-node mesh disabled\n"
    sep = ":" if version == 6 else "."
    out = ["\n"]
    for host in st.lsdir("/host"):
        out.append("\n\n")
        ip_key = f"/host/{host}/ip_addr_v{version}"
        if not st.exists(ip_key):
            continue
        onode_ip = st.getv(ip_key)
        listen_port = ""
        if st.exists(f"/host/{host}/listen_port"):
            listen_port = st.getv(f"/host/{host}/listen_port")
        elif st.exists("/global/listen_port"):
            listen_port = st.getv("/global/listen_port")
        ident = "_".join(onode_ip.split(sep))
        out.append(f"\n\n# For peer {ip_key}\n")
        if onode_ip == own_ip:
            out.append(f"# Skipping ourselves ({own_ip})\n")
        elif onode_ip == "":
            if version == 6:
                out.append("# No IPv6 address configured for this node\n")
        else:
            oas_key = f"/host/{host}/as_num"
            oas = st.getv(oas_key) if st.exists(oas_key) else st.getv("/global/as_num")
            port = f"port {listen_port} " if listen_port else ""
            out.append(f"protocol bgp Mesh_{ident} from bgp_template {{")
            out.append(f"\n  neighbor {onode_ip} {port}as {oas};")
            # Go's `gt` on strings: byte order, as Python compares str.
            if onode_ip > own_ip:
                out.append("\n  passive on; # Mesh is unidirectional, peer will connect to us.")
            out.append("\n}")
    out.append("\n")
    return "".join(out)


def render_bird_aggr(
    ks: KeySpace, node: str, *, per_pod_routes: bool = False, version: int = 4
) -> str:
    """``bird_aggr.cfg`` (``version=6``: ``bird6_aggr.cfg``), full keys."""
    block_key = f"/calico/ipam/v2/host/{node}/ipv{version}/block"
    static_key = "/calico/staticroutes" + ("v6" if version == 6 else "")
    st = Store(ks, "", (block_key, static_key))
    blocks = st.ls(block_key)
    statics = st.ls(static_key)
    out = ["# Generated by confd\n"]
    if blocks or statics:
        out.append("\nprotocol static {")
        if blocks:
            out.append("\n   # IP blocks for this host.")
            for b in blocks:
                cidr = "/".join(b.split("-"))
                # The seed's edit comments the node's own blackhole out.
                hole = "# route" if per_pod_routes else "route"
                out.append(f"\n   {hole} {cidr} blackhole;")
        if statics:
            out.append("\n   # Static routes.")
            for s in statics:
                out.append(f"\n   route {'/'.join(s.split('-'))} blackhole;")
        out.append("\n}\n")
    else:
        out.append("# No IP blocks or static routes for this host.")
    out.append(
        "\n\n# Aggregation of routes on this host; export the block, nothing beneath it."
        "\nfunction calico_aggr ()\n{"
    )
    inner = "accept" if per_pod_routes else "reject"
    for b in blocks:
        cidr = "/".join(b.split("-"))
        affinity = json.loads(st.getv(f"{block_key}/{b}")) or {}
        state = affinity.get("state")
        if state:
            out.append(f"\n      # Block {cidr} is {state}")
            if state == "confirmed":
                out.append(f"\n      if ( net = {cidr} ) then {{ accept; }}")
                out.append(f"\n      if ( net ~ {cidr} ) then {{ {inner}; }}")
        else:
            out.append(f"\n      # Block {cidr} is implicitly confirmed.")
            out.append(f"\n      if ( net = {cidr} ) then {{ accept; }}")
            out.append(f"\n      if ( net ~ {cidr} ) then {{ {inner}; }}")
    out.append("\n}\n")
    return "".join(out)


def render_bird_ipam(ks: KeySpace, node: str, version: int = 4) -> str:
    """``bird_ipam.cfg`` (``version=6``: ``bird6_ipam.cfg``), prefix /calico."""
    v6 = version == 6
    sfx = "v6" if v6 else ""
    pool_key = f"/v1/ipam/v{version}/pool"
    st = Store(
        ks,
        "/calico",
        (pool_key, f"/bgp/v1/host/{node}", f"/staticroutes{sfx}", f"/rejectcidrs{sfx}"),
    )
    out = [
        "# Generated by confd\nfilter calico_export_to_bgp_peers {\n"
        "  # filter code terminates when it calls `accept;` or `reject;`, call "
        "apply_communities() before calico_aggr()\n  apply_communities();\n  calico_aggr();"
    ]
    statics = st.ls(f"/staticroutes{sfx}")
    if statics:
        out.append("\n\n  # Export static routes.")
        for s in statics:
            out.append(f"\n  if ( net ~ {'/'.join(s.split('-'))} ) then {{ accept; }}")
    out.append("\n")
    pools = [json.loads(st.getv(f"{pool_key}/{p}")) for p in st.ls(pool_key)]
    for data in pools:
        out.append(f"\n  if ( net ~ {data['cidr']} ) then {{\n    accept;\n  }}")
        if v6:
            # The IPv6 template keeps the newline after each pool ({{end}}, not {{- end}}).
            out.append("\n")
    out.append("\n  reject;\n}\n")
    if not v6:
        out.append("\n")
    network_key = f"/bgp/v1/host/{node}/network_v4"
    out.append("\nfilter calico_kernel_programming {")
    rejects = st.ls(f"/rejectcidrs{sfx}")
    if rejects:
        out.append("\n\n  # Don't program static routes into kernel.")
        for r in rejects:
            out.append(f"\n  if ( net ~ {'/'.join(r.split('-'))} ) then {{ reject; }}")
    # Only the IPv4 template programs pool routes (IPIP/VXLAN) into the kernel.
    if not v6 and st.exists(network_key):
        network = st.getv(network_key)
        out.append("\n")
        for data in pools:
            out.append(f"\n  if ( net ~ {data['cidr']} ) then {{")
            if data.get("vxlan_mode"):
                out.append(
                    "\n    # Don't program VXLAN routes into the kernel - these are handled by "
                    "Felix.\n    reject;\n  }"
                )
            elif data.get("ipip_mode") == "cross-subnet":
                out.append(
                    f"\n    if defined(bgp_next_hop) && ( bgp_next_hop ~ {network} ) then"
                    '\n      krt_tunnel = "";'
                    f'\n    else\n      krt_tunnel = "{data["ipip"]}";\n    accept;\n  }}'
                )
            else:
                out.append(f'\n    krt_tunnel = "{data["ipip"]}";\n    accept;\n  }}')
            out.append("\n")
    out.append("\n  accept;\n}\n")
    return "".join(out)


def hash_to_ipv4(node_name: str) -> str:
    """Router id for ``CALICO_ROUTER_ID=hash``: first four bytes of a sha256 of
    the node name, as a dotted quad."""
    digest = hashlib.sha256(node_name.encode()).digest()
    return ".".join(str(b) for b in digest[:4])


def render_family(
    ks: KeySpace,
    node_name: str,
    version: int,
    *,
    per_pod_routes: bool = False,
    router_id: str = "",
) -> dict[str, str]:
    """One family's three files from a key space: ``bird.cfg``, ``bird_aggr.cfg``,
    ``bird_ipam.cfg`` (``version=6``: ``bird6.cfg``, ``bird6_aggr.cfg``, ``bird6_ipam.cfg``)."""
    six = "6" if version == 6 else ""
    return {
        f"bird{six}.cfg": render_bird_cfg(ks, node_name, router_id, version),
        f"bird{six}_aggr.cfg": render_bird_aggr(
            ks, node_name, per_pod_routes=per_pod_routes, version=version
        ),
        f"bird{six}_ipam.cfg": render_bird_ipam(ks, node_name, version),
    }


def render_node(
    ds: Datastore,
    node_name: str,
    *,
    per_pod_routes: bool = False,
    router_id: str | None = None,
    families: Iterable[int] = (4, 6),
) -> dict[str, str]:
    """A node's BIRD files by name, as confd writes them: all six by default
    (:data:`FILES`), or those of ``families`` (``(4,)``: the IPv4 three).

    ``router_id`` is ``CALICO_ROUTER_ID`` (an address, ``hash``, or empty for
    the node's IPv4 address); by default it is read from the environment.
    ``per_pod_routes`` applies the seed's edit of the aggregation template to
    both families.
    """
    ds.node(node_name)  # a clear error for an unknown node
    ks = build_keyspace(ds, node_name)
    rid = router_id if router_id is not None else os.environ.get("CALICO_ROUTER_ID", "")
    out: dict[str, str] = {}
    for version in families:
        if version not in (4, 6):
            raise ValueError(f"IP version {version}")
        out.update(
            render_family(ks, node_name, version, per_pod_routes=per_pod_routes, router_id=rid)
        )
    return out
