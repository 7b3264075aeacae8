"""Explicit peering, route reflectors, keepOriginalNextHop, listen ports and
passwords: our own confd-style cases (tests/fixtures/calico/explicit), whose
golden files are Calico's v3.17 templates run by Go over our key space, plus the
peerings each case must produce (the key space itself), line by line, as
Calico v3.17's confd computes them."""

from __future__ import annotations

import pytest

from bgplab.calico import confdtests
from bgplab.calico.confd import render_node
from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import load_resources

from .conftest import FIXTURES

ROOT = confdtests.suite_root(FIXTURES / "explicit")
MOCK = ROOT / "mock_data" / "calicoctl" / "explicit_peering"


@pytest.mark.parametrize("case", confdtests.cases(ROOT))
def test_case_renders_as_calicos_templates(case: str) -> None:
    results = confdtests.run_case(ROOT, case)
    assert len(results) in (6, 12)
    assert [r.diff for r in results if not r.identical] == []


def _files(case: str, step2: bool = False) -> dict[str, str]:
    ds = Datastore()
    for name in ("input.yaml", "kubectl-input.yaml"):
        if (MOCK / case / name).is_file():
            ds.apply(load_resources(MOCK / case / name))
    if step2:
        for name in ("input.yaml", "kubectl-input.yaml"):
            if (MOCK / case / "step2" / name).is_file():
                ds.apply(load_resources(MOCK / case / "step2" / name))
    return render_node(ds, "kube-master", router_id="")


def _peers(text: str) -> list[str]:
    """The protocol headers and their option lines, in order."""
    keep = (
        "protocol bgp ",
        "  neighbor ",
        "  rr client",
        "  password ",
        "  next hop",
        "# Skipping",
    )
    return [line for line in text.splitlines() if line.startswith(keep)]


def test_global_peers_with_port_and_ourselves() -> None:
    files = _files("global")
    assert _peers(files["bird.cfg"]) == [
        "# Skipping ourselves (10.192.0.2)",  # to-myself (10.192.0.2:179)
        "protocol bgp Global_10_192_0_250 from bgp_template {",
        "  neighbor 10.192.0.250 as 64567;",
        "protocol bgp Global_10_192_0_3 from bgp_template {",  # a Calico node by address
        "  neighbor 10.192.0.3 as 64512;",
        # The reverse of to-myself (kube-master's address): every node peers with us,
        # but the global peering to 10.192.0.3 already covers kube-node-1.
        "# Skipping ourselves (10.192.0.2)",
    ]
    assert "# For peer /global/peer_v4/10.192.0.2-179\n" in files["bird.cfg"]
    assert _peers(files["bird6.cfg"]) == [
        "protocol bgp Global_fd00_10__250_port_1790 from bgp_template {",
        "  neighbor fd00:10::250 port 1790 as 64567;",
        # v3.17 reverses a peering by address over both families.
        "# Skipping ourselves (fd00:10::2)",
        "protocol bgp Node_fd00_10__3 from bgp_template {",
        "  neighbor fd00:10::3 as 64512;",
    ]
    assert "  debug all;\n" in files["bird.cfg"]  # logSeverityScreen: Debug


def test_node_specific_peers_and_the_global_one_wins() -> None:
    cfg = _files("specific-node")["bird.cfg"]
    assert "  local as 64600;\n" in cfg  # the node's own AS number
    assert _peers(cfg) == [
        "protocol bgp Global_10_192_0_254 from bgp_template {",
        "  neighbor 10.192.0.254 as 64570;",
        "protocol bgp Node_10_192_0_251 from bgp_template {",
        "  neighbor 10.192.0.251 as 64567;",
        "protocol bgp Node_10_192_0_252_port_1179 from bgp_template {",
        "  neighbor 10.192.0.252 port 1179 as 64568;",
    ]


def test_selectors_peer_at_each_nodes_listen_port_and_as() -> None:
    files = _files("selectors")
    assert _peers(files["bird.cfg"]) == [
        "protocol bgp Node_10_192_0_3_port_500 from bgp_template {",
        "  neighbor 10.192.0.3 port 500 as 64512;",
        "protocol bgp Node_10_192_0_4 from bgp_template {",
        "  neighbor 10.192.0.4 as 64513;",
    ]
    assert _peers(files["bird6.cfg"]) == [
        "protocol bgp Node_fd00_10__3_port_500 from bgp_template {",
        "  neighbor fd00:10::3 port 500 as 64512;",
    ]
    # Relabelled: kube-master is now only the far end of kube-node-1's peering.
    step2 = _files("selectors", step2=True)
    assert _peers(step2["bird.cfg"]) == [
        "protocol bgp Node_10_192_0_3_port_500 from bgp_template {",
        "  neighbor 10.192.0.3 port 500 as 64512;",
    ]


def test_route_reflector_clients_and_its_peers() -> None:
    files = _files("route-reflector")
    node_peers = files["bird.cfg"].partition("Node-specific peers")[2]
    assert _peers(node_peers) == [
        "# Skipping ourselves (10.192.0.2)",
        "protocol bgp Node_10_192_0_3 from bgp_template {",
        "  neighbor 10.192.0.3 as 64532;",
        "  rr client;",
        "protocol bgp Node_10_192_0_4 from bgp_template {",
        "  neighbor 10.192.0.4 as 64532;",
        "  rr client;",
        "protocol bgp Node_10_192_0_9 from bgp_template {",  # same cluster: not a client
        "  neighbor 10.192.0.9 as 64532;",
        "protocol bgp Node_172_19_4_87 from bgp_template {",  # eBGP: not a client
        "  neighbor 172.19.4.87 as 64533;",
    ]
    assert node_peers.count("  rr cluster id 10.0.0.1;\n") == 2
    # The IPv4 template of v3.17 keeps the mesh on a reflector; the IPv6 one does not.
    assert "protocol bgp Mesh_10_192_0_3 " in files["bird.cfg"]
    assert "ignore node-to-node mesh setting." in files["bird6.cfg"]
    assert "protocol bgp Node_ac13__57_port_50 " in files["bird6.cfg"]


def test_keep_original_next_hop_only_for_ebgp() -> None:
    files = _files("keepnexthop")
    assert _peers(files["bird.cfg"]) == [
        "protocol bgp Global_10_192_0_250 from bgp_template {",
        "  neighbor 10.192.0.250 as 64567;",
        "  next hop keep;",
        "protocol bgp Global_10_192_0_251 from bgp_template {",  # iBGP: never
        "  neighbor 10.192.0.251 as 64512;",
        "protocol bgp Node_10_192_0_252 from bgp_template {",
        "  neighbor 10.192.0.252 as 64568;",
    ]
    assert _peers(files["bird6.cfg"])[-1] == "  next hop keep;"


def test_passwords_from_secrets_follow_the_secrets() -> None:
    assert _peers(_files("passwords")["bird.cfg"]) == [
        "protocol bgp Global_10_24_0_2 from bgp_template {",
        "  neighbor 10.24.0.2 as 64512;",
        '  password "password-a";',  # stringData
        "protocol bgp Global_10_24_0_3 from bgp_template {",
        "  neighbor 10.24.0.3 as 64512;",
        '  password "password-b";',  # data, base64
        "protocol bgp Node_10_24_10_10 from bgp_template {",  # no such secret yet
        "  neighbor 10.24.10.10 as 64512;",
        "protocol bgp Node_10_24_10_11 from bgp_template {",  # no such key
        "  neighbor 10.24.10.11 as 64512;",
    ]
    passwords = [
        line for line in _peers(_files("passwords", step2=True)["bird.cfg"]) if "password" in line
    ]
    assert passwords == [
        '  password "new-password-a";',
        '  password "new-password-b";',
        '  password "password-c";',
    ]


PASSWORD_NODES = "".join(
    f"""
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {{name: node{i}, labels: {{node: "yes"}}}}
spec: {{bgp: {{ipv4Address: 10.24.0.{i}/24}}}}
"""
    for i in range(1, 5)
)
PASSWORD_PEERS = """
---
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: bgppeer-1}
spec:
  nodeSelector: has(node)
  peerIP: 10.24.0.2
  asNumber: 64512
  password: {secretKeyRef: {name: my-secrets-1, key: a}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: bgppeer-2}
spec:
  nodeSelector: has(node)
  peerIP: 10.24.0.3
  asNumber: 64512
  password: {secretKeyRef: {name: my-secrets-1, key: b}}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: bgppeer-3}
spec:
  node: node1
  peerIP: 10.24.10.10
  asNumber: 64512
  password: {secretKeyRef: {name: my-secrets-2, key: c}}
"""


def _secret(name: str, **values: str) -> str:
    data = ", ".join(f"{k}: {v}" for k, v in values.items())
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: kube-system}}\n"
        f"type: Opaque\nstringData: {{{data}}}\n"
    )


def test_calicos_password_sequence_on_node1() -> None:
    """The steps of Calico's test_bgp_password (test_suite_common.sh), rendered for
    node1: the peerings and their password lines after each step."""
    ds = Datastore()
    ds.apply(load_resources(PASSWORD_NODES + PASSWORD_PEERS))

    def passwords() -> list[tuple[str, str]]:
        cfg = render_node(ds, "node1", router_id="")["bird.cfg"]
        out, name = [], ""
        for line in cfg.splitlines():
            if line.startswith("protocol bgp "):
                name = line.split()[2]
                out.append((name, ""))
            elif line.startswith("  password "):
                out[-1] = (name, line.split('"')[1])
        return out

    peers = ("Node_10_24_0_2", "Node_10_24_0_3", "Node_10_24_10_10")
    assert passwords() == [(p, "") for p in peers]  # step 1: no secrets yet
    ds.apply(load_resources(_secret("my-secrets-1", b="password-b")))
    assert passwords() == [(peers[0], ""), (peers[1], "password-b"), (peers[2], "")]
    ds.apply(load_resources(_secret("my-secrets-1", b="password-b", a="password-a")))
    ds.apply(load_resources(_secret("my-secrets-2", c="password-c")))
    # Step 3, as Calico's golden password/step3/bird.cfg has it.
    assert passwords() == list(zip(peers, ("password-a", "password-b", "password-c"), strict=True))
    ds.delete(load_resources(_secret("my-secrets-2"), validate=False))
    assert passwords()[2] == (peers[2], "")
    ds.apply(load_resources(_secret("my-secrets-1", b="new-password-b", a="new-password-a")))
    assert [p for _, p in passwords()] == ["new-password-a", "new-password-b", ""]
    ds.apply(load_resources(_secret("my-secrets-1", b="new-password-b")))
    assert [p for _, p in passwords()] == ["", "new-password-b", ""]


def _count_peerings(ds: Datastore, node: str) -> int:
    return render_node(ds, node, router_id="")["bird.cfg"].count("protocol bgp ")


def test_calicos_node_deletion_and_idle_peers() -> None:
    """Calico's test_node_deletion and test_idle_peers (test_suite_common.sh):
    the number of BGP protocols in node1's bird.cfg."""
    mesh_off = (
        "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\n"
        "metadata: {name: default}\nspec: {nodeToNodeMeshEnabled: false}\n"
    )
    ds = Datastore()
    ds.apply(
        load_resources(
            mesh_off + PASSWORD_NODES + "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
            "metadata: {name: bgppeer-1}\nspec: {nodeSelector: has(node), peerSelector: has(node)}\n"
        )
    )
    assert _count_peerings(ds, "node1") == 3
    ds.delete([ds.node("node3")])
    assert _count_peerings(ds, "node1") == 2

    ds = Datastore()
    ds.apply(
        load_resources(
            mesh_off
            + "---".join(PASSWORD_NODES.split("---")[:3])  # node1, node2
            + "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
            "metadata: {name: node-specific}\nspec: {node: node1, peerSelector: has(node)}\n"
            "---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\n"
            "metadata: {name: global}\nspec: {peerSelector: has(node)}\n"
        )
    )
    assert [n.name for n in ds.nodes()] == ["node1", "node2"]
    assert _count_peerings(ds, "node1") == 1
