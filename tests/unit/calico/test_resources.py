from __future__ import annotations

from pathlib import Path

import pytest

from bgplab.calico.resources import (
    BGPConfiguration,
    BGPPeer,
    IPPool,
    Node,
    ResourceError,
    Secret,
    load_resources,
    parse_asn,
    parse_peer_ip,
)

from .conftest import FIXTURES

PEER = """apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: rack1-tor
spec:
  peerIP: {ip}
  asNumber: 63400
  nodeSelector: {sel}
"""


def test_seed_manifests_load_unchanged() -> None:
    (cfg,) = load_resources(FIXTURES / "seed" / "bgpconfiguration.yaml")
    assert isinstance(cfg, BGPConfiguration) and cfg.is_default
    assert cfg.spec == {
        "logSeverityScreen": "Info",
        "nodeToNodeMeshEnabled": False,
        "asNumber": 63400,
    }
    for name, ip, rack in (
        ("rack1-tor", "192.168.2.16", "rack-1"),
        ("rack2-tor", "192.168.0.40", "rack-2"),
    ):
        (peer,) = load_resources(str(FIXTURES / "seed" / f"{name}.yaml"))
        assert isinstance(peer, BGPPeer)
        assert (peer.name, peer.peer_ip, peer.as_number) == (name, ip, 63400)
        assert peer.node_selector == f"rack == '{rack}'" and not peer.is_global


def test_several_documents_and_lists() -> None:
    text = (
        PEER.format(ip="10.0.0.1", sel="all()")
        + "---\n"
        + (FIXTURES / "cluster" / "seed-nodes.yaml").read_text()
    )
    res = load_resources(text)
    assert [r.kind for r in res] == ["BGPPeer", "Node", "Node", "Node", "Node", "IPPool"]
    node = res[1]
    assert isinstance(node, Node)
    assert (node.ipv4_address, node.ipv4_network) == ("192.168.0.7", "192.168.0.0/24")
    assert node.pinned_blocks == ["10.41.113.192/26"]
    pool = res[-1]
    assert isinstance(pool, IPPool)
    assert (pool.cidr, pool.block_size, pool.ipip_mode, pool.node_selector) == (
        "10.41.0.0/16",
        26,
        "Never",
        "all()",
    )


def test_secret_values() -> None:
    (sec,) = load_resources(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
        "data: {a: c2VjcmV0}\nstringData: {b: plain}\n"
    )
    assert isinstance(sec, Secret)
    assert sec.values() == {"a": "secret", "b": "plain"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            PEER.format(ip="192.168.2.999", sel="all()"),
            "BGPPeer(rack1-tor): error with field peerIP = '192.168.2.999' (invalid IP)",
        ),
        (
            PEER.format(ip="10.0.0.1", sel="rack =="),
            "error with field nodeSelector = 'rack ==' (invalid selector",
        ),
        (
            PEER.format(ip="10.0.0.1", sel="all()").replace("63400", "99999999999"),
            "error with field asNumber = '99999999999' (invalid AS number)",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: Frobnicator\nmetadata: {name: x}\n",
            "resource type 'Frobnicator' is not supported",
        ),
        (
            "apiVersion: projectcalico.org/v2\nkind: BGPPeer\nmetadata: {name: x}\n",
            "error with field apiVersion = 'projectcalico.org/v2'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\n"
            "spec: {cidr: 10.0.0.0/33}\n",
            "error with field cidr = '10.0.0.0/33' (invalid CIDR)",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\n"
            "spec: {cidr: 10.0.0.0/16, blockSize: 12}\n",
            "error with field blockSize = '12'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\n"
            "spec: {cidr: 10.0.0.0/16, ipipMode: Sometimes}\n",
            "field ipipMode = 'Sometimes'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n}\n"
            "spec: {bgp: {ipv4Address: 'fd00::1/64'}}\n",
            "field ipv4Address = 'fd00::1/64'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n}\n"
            "spec: {bgp: {routeReflectorClusterID: nope}}\n",
            "field routeReflectorClusterID",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: other}\n",
            "field name = 'other'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\n"
            "spec: {serviceClusterIPs: [{cidr: 10.43.0.0/99}]}\n",
            "field serviceClusterIPs.cidr = '10.43.0.0/99'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\n"
            "spec: {nodeToNodeMeshEnabled: 'no'}\n",
            "field nodeToNodeMeshEnabled = 'no'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: Bad_Name}\n",
            "field metadata.name = 'Bad_Name'",
        ),
        ("kind: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "a resource must be a mapping"),
        ("", "no resources found"),
    ],
)
def test_invalid_input_gives_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ResourceError) as info:
        load_resources(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="cannot read"):
        load_resources(tmp_path / "nope.yaml")


def test_asn_and_peer_ip_parsing() -> None:
    assert parse_asn(63400) == 63400
    assert parse_asn("1.10") == 65546
    with pytest.raises(ValueError):
        parse_asn(0)
    assert parse_peer_ip("192.168.0.40") == ("192.168.0.40", 0)
    assert parse_peer_ip("192.168.0.40:1179") == ("192.168.0.40", 1179)
    assert parse_peer_ip("[fd00::1]:179") == ("fd00::1", 179)
    assert parse_peer_ip("fd00::1") == ("fd00::1", 0)
