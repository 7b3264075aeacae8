"""The Kubernetes and CRD objects confd reads: Service + Endpoints (per-node
service routes), Kubernetes Node labels, BlockAffinity blocks and states."""

from __future__ import annotations

from bgplab.calico.confd import render_node
from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import load_resources

BASE = """
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  serviceClusterIPs: [{cidr: 10.96.0.0/12}, {cidr: "fd00:96::/112"}]
  serviceExternalIPs: [{cidr: 203.0.113.0/24}]
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24, ipv6Address: "fd00::1/64"}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
"""


def _svc(name: str, ip: str, node: str, ep_ip: str, policy: str = "Local", extra: str = "") -> str:
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec: {{type: LoadBalancer, clusterIP: "{ip}", externalTrafficPolicy: {policy}{extra}}}
---
apiVersion: v1
kind: Endpoints
metadata: {{name: {name}}}
subsets: [{{addresses: [{{ip: "{ep_ip}", nodeName: {node}}}]}}]
"""


def _statics(ds: Datastore, node: str) -> list[str]:
    files = render_node(ds, node)
    text = files["bird_aggr.cfg"] + files["bird6_aggr.cfg"]
    return [line.split()[1] for line in text.splitlines() if line.endswith("blackhole;")]


def test_service_routes_on_the_node_with_a_local_endpoint_only() -> None:
    ds = Datastore()
    ds.apply(
        load_resources(
            BASE
            + _svc(
                "local",
                "10.96.0.10",
                "n1",
                "10.41.0.5",
                extra=", externalIPs: [203.0.113.7, 198.51.100.1]",
            )
            + _svc("cluster", "10.96.0.11", "n1", "10.41.0.6", policy="Cluster")
            + _svc("elsewhere", "10.96.0.12", "n2", "10.41.0.7")
            + _svc("v6", "fd00:96::28", "n1", "fd00:41::5")
            + _svc("v6-v4-endpoint", "fd00:96::29", "n1", "10.41.0.8")
        )
    )
    assert _statics(ds, "n1") == [
        "10.96.0.0/12",
        "10.96.0.10/32",
        "203.0.113.0/24",
        "203.0.113.7/32",  # within serviceExternalIPs; 198.51.100.1 is not
        "fd00:96::/112",
        "fd00:96::28/128",
    ]
    assert _statics(ds, "n2") == [
        "10.96.0.0/12",
        "10.96.0.12/32",
        "203.0.113.0/24",
        "fd00:96::/112",
    ]
    # Only the ranges are kept out of the kernel, not the /32s.
    ipam = render_node(ds, "n1")["bird_ipam.cfg"]
    assert "if ( net ~ 10.96.0.10/32 ) then { accept; }" in ipam
    assert "10.96.0.10/32 ) then { reject; }" not in ipam
    # Deleting the Service takes its Endpoints and its route away.
    ds.delete(load_resources(_svc("local", "10.96.0.10", "n1", "10.41.0.5"))[:1])
    assert sorted(r.name for r in ds.get("Endpoints")) == [
        "cluster",
        "elsewhere",
        "v6",
        "v6-v4-endpoint",
    ]
    assert "10.96.0.10/32" not in _statics(ds, "n1")


def test_cluster_ips_need_service_cluster_ips() -> None:
    ds = Datastore()
    text = BASE.replace(
        '  serviceClusterIPs: [{cidr: 10.96.0.0/12}, {cidr: "fd00:96::/112"}]\n', ""
    )
    ds.apply(load_resources(text + _svc("local", "10.96.0.10", "n1", "10.41.0.5")))
    assert _statics(ds, "n1") == ["203.0.113.0/24"]  # the external range only


def test_kubernetes_node_labels_select_calico_nodes() -> None:
    ds = Datastore()
    ds.apply(
        load_resources(
            BASE
            + """
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {rack: r2}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {nodeSelector: rack == 'r2', peerIP: 10.0.0.254, asNumber: 65000}
"""
        )
    )
    assert "protocol bgp Node_10_0_0_254 " in render_node(ds, "n2")["bird.cfg"]
    assert "10.0.0.254" not in render_node(ds, "n1")["bird.cfg"]
    assert ds.node("n2").labels == {"rack": "r2"}


def test_block_affinities_are_the_blocks_with_their_states() -> None:
    ds = Datastore()
    ds.apply(
        load_resources(
            BASE
            + """
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p}
spec: {cidr: 10.41.0.0/16}
---
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: a}
spec: {node: n1, cidr: 10.41.1.0/26, state: pending}
---
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: b}
spec: {node: n1, cidr: 10.41.2.0/26, state: ""}
---
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: c}
spec: {node: n1, cidr: 10.41.3.0/26, state: confirmed, deleted: "true"}
"""
        )
    )
    aggr = render_node(ds, "n1")["bird_aggr.cfg"]
    assert "      # Block 10.41.1.0/26 is pending\n      # Block 10.41.2.0/26 is implicitly" in aggr
    assert "10.41.3.0" not in aggr  # being deleted
    # With affinities present the datastore hands out no blocks of its own.
    assert ds.blocks_for("n2") == []
