"""Each Calico node's BIRD config files, as Calico v3.17's confd renders them.

The Calico emulator renders them (``bgplab.calico.confd.render_node``) from
the topology's calicoctl resources, the scenario's patch of the
BGPConfiguration, and one Node resource per lab node (address, labels and
the block pinned with the emulator's IPAM annotation). The lab seeds a
persistent datastore with them at ``up`` (see ``Lab.calico``), which
``bgplab calico`` then changes.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from bgplab.calico.agent import node_files
from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import load_resources
from bgplab.lab.topology import Node, Topology

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
        blocks = [str(n.block)]
        bgp = {"ipv4Address": f"{n.address}/{n.subnet.cidr.prefixlen}"}
        if n.address6 is not None and n.subnet.cidr6 is not None:  # dual stack
            bgp["ipv6Address"] = f"{n.address6}/{n.subnet.cidr6.prefixlen}"
        if n.block6 is not None:
            blocks.append(str(n.block6))
        if n.asn is not None:  # AS per rack (multi-router topologies)
            bgp["asNumber"] = n.asn  # type: ignore[assignment]
        if n.rr_cluster_id is not None:  # a route reflector node
            bgp["routeReflectorClusterID"] = str(n.rr_cluster_id)
        out.append(
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "Node",
                # The Calico emulator's pinning annotation reproduces the topology's blocks.
                "metadata": {
                    "name": n.name,
                    "labels": dict(n.labels),
                    "annotations": {"bgplab.io/ipam-blocks": ",".join(blocks)},
                },
                "spec": {"bgp": bgp},
            }
        )
    return out


def renderer_name() -> str:
    return "bgplab.calico.confd"


def seed_datastore(ds: Datastore, topo: Topology, service_cidrs: list[str]) -> None:
    """Load the topology's resources (with the scenario's patch) and its nodes into ``ds``."""
    resources = scenario_resources(topo, service_cidrs) + node_resources(topo)
    ds.apply(load_resources(yaml.safe_dump_all(resources)))


def render_node_configs(
    topo: Topology,
    node: Node,
    service_cidrs: list[str],
    per_pod_routes: bool,
    speaker: str = "bgplabd",
    ds: Datastore | None = None,
) -> dict[str, str]:
    """``{"bird.cfg": …, "bird_aggr.cfg": …, …}`` for one node and its speaker.

    ``ds`` is the lab's datastore (which ``bgplab calico`` may have changed
    since ``up``); without it, a fresh one seeded from the topology.
    """
    if ds is None:
        ds = Datastore()
        seed_datastore(ds, topo, service_cidrs)
    # Dual stack: Calico's six files (bird6.cfg and its includes for the IPv6 daemon).
    families = (4, 6) if topo.dual_stack else (4,)
    return node_files(ds, node.name, speaker, per_pod_routes=per_pod_routes, families=families)
