"""Each Calico node's BIRD config files, as Calico v3.17's confd renders them.

The Calico emulator (``bgplab.calico.confd.render_node``) is the real
renderer. Until it is importable the lab uses the small private renderer
below, which covers what the lab's topologies use: node-specific and global
peers chosen by selector, pinned blocks, IP pools, service cluster IPs and
the seed's per-pod-routes edit of ``bird_aggr``. ``renderer_name()`` says
which one ran, and the lab records it in its state.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

from bgplab.lab.topology import Node, Topology, TopologyError

SERVICE_CIDR_KEY = "serviceClusterIPs"


def scenario_resources(topo: Topology, service_cidrs: list[str]) -> list[dict[str, Any]]:
    """The topology's calicoctl resources, with the scenario's service CIDRs patched in
    (the seed's ``calicoctl patch BGPConfig default --patch '{"spec": {"serviceClusterIPs": …}}'``)."""
    docs = [copy.deepcopy(d) for d in topo.calico]
    if service_cidrs:
        cfg = next(
            (
                d
                for d in docs
                if d.get("kind") == "BGPConfiguration"
                and (d.get("metadata") or {}).get("name") == "default"
            ),
            None,
        )
        if cfg is None:
            cfg = {
                "apiVersion": "projectcalico.org/v3",
                "kind": "BGPConfiguration",
                "metadata": {"name": "default"},
                "spec": {},
            }
            docs.append(cfg)
        cfg.setdefault("spec", {})[SERVICE_CIDR_KEY] = [{"cidr": c} for c in service_cidrs]
    return docs


def node_resources(topo: Topology) -> list[dict[str, Any]]:
    """Calico Node resources for the topology's nodes (address, labels)."""
    out = []
    for n in topo.nodes:
        out.append(
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "Node",
                # The Calico emulator's pinning annotation reproduces the topology's blocks.
                "metadata": {
                    "name": n.name,
                    "labels": dict(n.labels),
                    "annotations": {"bgplab.io/ipam-blocks": str(n.block)},
                },
                "spec": {"bgp": {"ipv4Address": f"{n.address}/{n.subnet.cidr.prefixlen}"}},
            }
        )
    return out


def renderer_name() -> str:
    try:
        from bgplab.calico import confd  # noqa: F401
    except ImportError:
        return "lab-builtin"
    return "bgplab.calico.confd"


def render_node_configs(
    topo: Topology, node: Node, service_cidrs: list[str], per_pod_routes: bool
) -> dict[str, str]:
    """``{"bird.cfg": …, "bird_aggr.cfg": …, "bird_ipam.cfg": …}`` for one node."""
    resources = scenario_resources(topo, service_cidrs)
    if renderer_name() == "bgplab.calico.confd":
        return _render_with_calico(topo, node, resources, per_pod_routes)
    return _Renderer(topo, node, resources, per_pod_routes).render()


def _render_with_calico(
    topo: Topology, node: Node, resources: list[dict[str, Any]], per_pod_routes: bool
) -> dict[str, str]:
    import yaml

    from bgplab.calico.confd import render_node
    from bgplab.calico.datastore import Datastore
    from bgplab.calico.resources import load_resources

    ds = Datastore()
    ds.apply(load_resources(yaml.safe_dump_all(resources + node_resources(topo))))
    files = render_node(ds, node.name, per_pod_routes=per_pod_routes)
    return {k: v for k, v in files.items() if not k.startswith("bird6")}


def for_speaker(files: dict[str, str], speaker: str) -> dict[str, str]:
    """Adapt Calico's files to a speaker: upstream BIRD 1.6 lacks ``krt_tunnel``
    (an attribute of Calico's BIRD fork), so those assignments are dropped for it."""
    if speaker != "bird":
        return dict(files)
    drop = re.compile(r"^\s*krt_tunnel\s*=.*;\s*$", re.M)
    return {k: drop.sub("", v) for k, v in files.items()}


# --------------------------------------------------------------------------- private renderer


def selector_matches(expr: str, labels: dict[str, str]) -> bool:
    """Calico selectors joined by ``&&``: ``k == 'v'``, ``k != 'v'``, ``has(k)``, ``!has(k)``,
    ``all()``. (The Calico emulator has the full grammar.)"""
    expr = expr.strip()
    if not expr:
        return True
    for term in expr.split("&&"):
        t = term.strip()
        if t == "all()":
            continue
        if m := re.fullmatch(r"(!?)has\(\s*([\w./-]+)\s*\)", t):
            if (m.group(2) in labels) == bool(m.group(1)):
                return False
            continue
        if m := re.fullmatch(r"([\w./-]+)\s*(==|!=)\s*(['\"])(.*)\3", t):
            equal = labels.get(m.group(1)) == m.group(4)
            if equal != (m.group(2) == "=="):
                return False
            continue
        raise TopologyError(
            f"calico: selector {expr!r} is not supported by the lab's built-in renderer"
        )
    return True


_LOGGING = "  debug { states };"

_KERNEL_DEVICE_DIRECT = """\
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
protocol device {
LOGGING
  scan time 2;    # Scan interfaces every 2 seconds
}

protocol direct {
LOGGING
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

_TEMPLATE = """\
# Template for all BGP clients
template bgp bgp_template {
LOGGING
  description "Connection to BGP peer";
  local as ASN;
  multihop;
  gateway recursive; # This should be the default, but just in case.
  import all;        # Import all routes, since we don't know what the upstream
                     # topology is and therefore have to trust the ToR/RR.
  export filter calico_export_to_bgp_peers;  # Only want to export routes for workloads.
  source address NODEIP;  # The local address we use for the TCP connection
  add paths on;
  graceful restart;  # See comment in kernel section about graceful restart.
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}
"""


class _Renderer:
    def __init__(
        self, topo: Topology, node: Node, resources: list[dict[str, Any]], per_pod_routes: bool
    ):
        self.topo = topo
        self.node = node
        self.per_pod = per_pod_routes
        self.spec: dict[str, Any] = {}
        self.peers: list[dict[str, Any]] = []
        self.pools: list[dict[str, Any]] = []
        for r in resources:
            kind, spec = r.get("kind"), r.get("spec") or {}
            if kind == "BGPConfiguration" and (r.get("metadata") or {}).get("name") == "default":
                self.spec = spec
            elif kind == "BGPPeer":
                self.peers.append(spec)
            elif kind == "IPPool" and not spec.get("disabled"):
                self.pools.append(spec)
        self.asn = int(self.spec.get("asNumber", 64512))
        self.ip = str(node.address)
        self.statics = sorted(
            (str(ipaddress.ip_network(c["cidr"])) for c in self.spec.get(SERVICE_CIDR_KEY) or []),
            key=lambda c: c.replace("/", "-"),
        )

    def render(self) -> dict[str, str]:
        return {
            "bird.cfg": self.bird_cfg(),
            "bird_aggr.cfg": self.aggr_cfg(),
            "bird_ipam.cfg": self.ipam_cfg(),
        }

    def _peer_entries(self, scope: str) -> list[tuple[str, int]]:
        out = []
        for p in self.peers:
            has_node = bool(p.get("node") or p.get("nodeSelector"))
            if scope == "global" and has_node:
                continue
            if scope == "node":
                if not has_node:
                    continue
                if p.get("node") and p["node"] != self.node.name:
                    continue
                if p.get("nodeSelector") and not selector_matches(
                    p["nodeSelector"], self.node.labels
                ):
                    continue
            ip = str(p.get("peerIP", "")).split(":")[0]
            out.append((ip, int(p.get("asNumber", self.asn))))
        return sorted(set(out))

    def _peer_blocks(self, kind: str, scope: str) -> list[str]:
        lines = []
        for ip, asn in self._peer_entries(scope):
            lines.append("")
            lines.append(
                f"# For peer /host/{self.node.name}/peer_v4/{ip}"
                if scope == "node"
                else f"# For peer /global/peer_v4/{ip}"
            )
            if ip == self.ip:
                lines.append(f"# Skipping ourselves ({self.ip})")
                continue
            lines.append(f"protocol bgp {kind}_{ip.replace('.', '_')} from bgp_template {{")
            lines.append(f"  neighbor {ip} as {asn};")
            lines.append("}")
        return lines

    def bird_cfg(self) -> str:
        if self.spec.get("nodeToNodeMeshEnabled", True) is not False:
            raise TopologyError(
                "calico: node-to-node mesh needs the Calico emulator "
                "(the lab's built-in renderer covers nodeToNodeMeshEnabled: false)"
            )
        out = [
            "function apply_communities ()",
            "{",
            "}",
            "",
            "# Generated by confd",
            'include "bird_aggr.cfg";',
            'include "bird_ipam.cfg";',
            "",
            f"router id {self.ip};",
            "",
        ]
        out.append(_KERNEL_DEVICE_DIRECT.replace("LOGGING", _LOGGING))
        out.append(
            _TEMPLATE.replace("LOGGING", _LOGGING)
            .replace("ASN", str(self.asn))
            .replace("NODEIP", self.ip)
        )
        out += [
            "# ------------- Node-to-node mesh -------------",
            "",
            "# Node-to-node mesh disabled",
            "",
            "",
            "",
            "# ------------- Global peers -------------",
        ]
        glob = self._peer_blocks("Global", "global")
        out += glob if glob else ["# No global peers configured."]
        out += ["", "", "# ------------- Node-specific peers -------------"]
        node = self._peer_blocks("Node", "node")
        out += node if node else ["# No node-specific peers configured."]
        return "\n".join(out) + "\n"

    def aggr_cfg(self) -> str:
        block = str(self.node.block)
        out = ["# Generated by confd", "protocol static {", "   # IP blocks for this host."]
        # The seed's per-pod edit comments out the block's blackhole route.
        out.append(
            f"   # route {block} blackhole;" if self.per_pod else f"   route {block} blackhole;"
        )
        if self.statics:
            out.append("   # Static routes.")
            out += [f"   route {c} blackhole;" for c in self.statics]
        out += [
            "}",
            "",
            "# Aggregation of routes on this host; export the block, nothing beneath it.",
            "function calico_aggr ()",
            "{",
            f"      # Block {block} is confirmed.",
            f"      if ( net = {block} ) then {{ accept; }}",
            f"      if ( net ~ {block} ) then {{ {'accept' if self.per_pod else 'reject'}; }}",
            "}",
        ]
        return "\n".join(out) + "\n"

    def ipam_cfg(self) -> str:
        pools = sorted(
            (str(ipaddress.ip_network(p["cidr"])) for p in self.pools),
            key=lambda c: c.replace("/", "-"),
        )
        out = [
            "# Generated by confd",
            "filter calico_export_to_bgp_peers {",
            "  # filter code terminates when it calls `accept;` or `reject;`, "
            "call apply_communities() before calico_aggr()",
            "  apply_communities();",
            "  calico_aggr();",
        ]
        if self.statics:
            out += ["", "  # Export static routes."]
            out += [f"  if ( net ~ {c} ) then {{ accept; }}" for c in self.statics]
        out.append("")
        for c in pools:
            out += [f"  if ( net ~ {c} ) then {{", "    accept;", "  }"]
        out += ["  reject;", "}", "", "", "filter calico_kernel_programming {"]
        if self.statics:
            out += ["", "  # Don't program static routes into kernel."]
            out += [f"  if ( net ~ {c} ) then {{ reject; }}" for c in self.statics]
        out.append("")
        for c in pools:
            out += [f"  if ( net ~ {c} ) then {{", '    krt_tunnel = "";', "    accept;", "  }"]
        out += ["  accept;", "}"]
        return "\n".join(out) + "\n"
