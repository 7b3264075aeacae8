"""Each Calico node's BIRD config files, as Calico v3.17's confd renders them.

The Calico emulator renders them (``bgplab.calico.confd.render_node``) from
the topology's calicoctl resources, the scenario's patch of the
BGPConfiguration, and one Node resource per lab node (address, labels and
the block pinned with the emulator's IPAM annotation).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from bgplab.calico.confd import render_node
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
    return "bgplab.calico.confd"


def render_node_configs(
    topo: Topology, node: Node, service_cidrs: list[str], per_pod_routes: bool
) -> dict[str, str]:
    """``{"bird.cfg": …, "bird_aggr.cfg": …, "bird_ipam.cfg": …}`` for one node."""
    resources = scenario_resources(topo, service_cidrs) + node_resources(topo)
    ds = Datastore()
    ds.apply(load_resources(yaml.safe_dump_all(resources)))
    files = render_node(ds, node.name, per_pod_routes=per_pod_routes)
    return {k: v for k, v in files.items() if not k.startswith("bird6")}


def for_speaker(files: dict[str, str], speaker: str) -> dict[str, str]:
    """Adapt Calico's files to a speaker: upstream BIRD 1.6 lacks ``krt_tunnel``
    (an attribute of Calico's BIRD fork), so those assignments are dropped for it."""
    if speaker != "bird":
        return dict(files)
    drop = re.compile(r"^\s*krt_tunnel\s*=.*;\s*$", re.M)
    return {k: drop.sub("", v) for k, v in files.items()}
