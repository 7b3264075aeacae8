from __future__ import annotations

import json
from pathlib import Path

import pytest

from bgplab.calico import ipam
from bgplab.calico.datastore import Datastore, DatastoreError
from bgplab.calico.keyspace import build_keyspace
from bgplab.calico.resources import ResourceError, load_resources

from .conftest import FIXTURES, load_case

POOL = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {{name: {n}}}\nspec: {{cidr: {c}{x}}}\n"
NODE = (
    "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: {n}{a}}}\n"
    "spec: {{bgp: {{ipv4Address: {ip}}}}}\n"
)


def node(name: str, ip: str = "10.0.0.1/24", blocks: str = "") -> str:
    ann = f", annotations: {{bgplab.io/ipam-blocks: '{blocks}'}}" if blocks else ""
    return NODE.format(n=name, ip=ip, a=ann)


def test_state_survives_across_instances(tmp_path: Path) -> None:
    ds = Datastore(tmp_path)
    ds.apply(load_resources(FIXTURES / "cluster" / "seed-nodes.yaml"))
    ds.apply(load_resources(FIXTURES / "seed" / "rack1-tor.yaml"))
    ds.label("rke-node6", "rack", "rack-1")
    again = Datastore(tmp_path)
    assert [p.name for p in again.peers()] == ["rack1-tor"]
    assert again.node("rke-node6").labels == {"rack": "rack-1"}
    assert again.blocks_for("rke-node7") == ["10.41.210.0/26"]
    assert json.loads((tmp_path / "state.json").read_text())["blocks"]["rke-node3"] == [
        "10.41.113.192/26"
    ]


def test_a_file_with_one_bad_resource_changes_nothing(tmp_path: Path) -> None:
    ds = Datastore(tmp_path)
    ds.apply(load_resources(FIXTURES / "cluster" / "seed-nodes.yaml"))
    before = (tmp_path / "state.json").read_text()
    text = (
        (FIXTURES / "seed" / "rack1-tor.yaml").read_text()
        + "---\n"
        + (FIXTURES / "seed" / "rack2-tor.yaml")
        .read_text()
        .replace("192.168.0.40", "192.168.0.400")
    )
    with pytest.raises(ResourceError):
        ds.apply(load_resources(text))
    assert ds.peers() == []
    # An IPAM conflict is found before anything changes, too.
    with pytest.raises(ipam.IpamError, match="overlaps"):
        ds.apply(load_resources(node("extra", blocks="10.41.113.192/27")))
    with pytest.raises(DatastoreError, match="does not exist"):
        ds.delete(load_resources(FIXTURES / "seed" / "rack1-tor.yaml"))
    assert (tmp_path / "state.json").read_text() == before
    assert Datastore(tmp_path).peers() == []


def test_label_like_kubectl() -> None:
    ds, _ = load_case("seed")
    with pytest.raises(DatastoreError, match='nodes "rke-node5" not found'):
        ds.label("rke-node5", "rack", "rack-1")
    with pytest.raises(DatastoreError, match="already has a value"):
        ds.label("rke-node3", "rack", "rack-1", overwrite=False)
    with pytest.raises(ResourceError, match="invalid label value"):
        ds.label("rke-node3", "rack", "bad value!")
    ds.label("rke-node3", "rack", None)
    assert "rack" not in ds.node("rke-node3").labels


def test_relabelling_moves_a_node_to_the_other_rack() -> None:
    ds, _ = load_case("seed")
    ks = build_keyspace(ds)
    assert "/calico/bgp/v1/host/rke-node3/peer_v4/192.168.0.40" in ks
    ds.label("rke-node3", "rack", "rack-1")
    ks = build_keyspace(ds)
    assert "/calico/bgp/v1/host/rke-node3/peer_v4/192.168.0.40" not in ks
    assert json.loads(ks["/calico/bgp/v1/host/rke-node3/peer_v4/192.168.2.16"]) == {
        "ip": "192.168.2.16",
        "as_num": "63400",
        "rr_cluster_id": "",
        "password": None,
        "port": 0,
        "keep_next_hop": False,
    }


def test_keyspace_of_the_seed() -> None:
    ds, _ = load_case("seed-service")
    ks = build_keyspace(ds)
    assert ks["/calico/bgp/v1/global/as_num"] == "63400"
    assert ks["/calico/bgp/v1/global/node_mesh"] == '{"enabled":false}'
    assert ks["/calico/bgp/v1/global/loglevel"] == "info"
    assert ks["/calico/bgp/v1/host/rke-node4/ip_addr_v4"] == "192.168.0.25"
    assert ks["/calico/bgp/v1/host/rke-node4/network_v4"] == "192.168.0.0/24"
    assert ks["/calico/bgp/v1/host/rke-node4/rr_cluster_id"] == ""
    assert json.loads(ks["/calico/ipam/v2/host/rke-node4/ipv4/block/10.41.57.192-26"]) == {
        "state": "confirmed"
    }
    assert ks["/calico/staticroutes/10.43.0.0-16"] == "10.43.0.0/16"
    assert ks["/calico/rejectcidrs/10.43.0.0-16"] == "10.43.0.0/16"
    peers = sorted(k for k in ks if "/peer_v4/" in k)
    assert peers == [
        "/calico/bgp/v1/host/rke-node3/peer_v4/192.168.0.40",
        "/calico/bgp/v1/host/rke-node4/peer_v4/192.168.0.40",
        "/calico/bgp/v1/host/rke-node6/peer_v4/192.168.2.16",
        "/calico/bgp/v1/host/rke-node7/peer_v4/192.168.2.16",
    ]


def test_route_reflector_peerings_are_symmetric() -> None:
    ds, _ = load_case("rr")
    ks = build_keyspace(ds)
    for client in ("client-a", "client-b"):
        for rr in ("10.1.0.1", "10.1.0.2"):
            data = json.loads(ks[f"/calico/bgp/v1/host/{client}/peer_v4/{rr}"])
            assert data["rr_cluster_id"] == "244.0.0.1"
    # The reflectors got the reverse peerings to the clients.
    assert json.loads(ks["/calico/bgp/v1/host/rr-1/peer_v4/10.1.1.10"])["rr_cluster_id"] == ""


def test_ipam_is_deterministic_and_stable() -> None:
    text = POOL.format(n="p", c="10.70.0.0/16", x="") + "".join(
        "---\n" + node(f"n{i}", f"10.0.0.{i}/24") for i in range(1, 6)
    )
    a, b = Datastore(), Datastore()
    a.apply(load_resources(text))
    b.apply(load_resources(text))
    blocks = {n.name: a.blocks_for(n.name) for n in a.nodes()}
    assert blocks == {n.name: b.blocks_for(n.name) for n in b.nodes()}
    flat = [x for v in blocks.values() for x in v]
    assert len(set(flat)) == 5 and all(x.endswith("/26") and x.startswith("10.70.") for x in flat)
    # Adding a node keeps everybody's block.
    a.apply(load_resources(node("n0", "10.0.0.9/24")))
    assert all(a.blocks_for(k) == v for k, v in blocks.items())
    assert ipam.pod_addresses(blocks["n1"][0], 2)[0].startswith("10.70.")


def test_ipam_pins_and_pool_limits() -> None:
    ds = Datastore()
    ds.apply(load_resources(POOL.format(n="tiny", c="10.80.0.0/25", x="")))
    ds.apply(load_resources(node("a", blocks="10.80.0.64/26")))
    ds.apply(load_resources(node("b")))
    assert ds.blocks_for("a") == ["10.80.0.64/26"] and ds.blocks_for("b") == ["10.80.0.0/26"]
    with pytest.raises(ipam.IpamError, match="no free block"):
        ds.apply(load_resources(node("c")))
    with pytest.raises(ipam.IpamError, match="in no IPPool"):
        ds.apply(load_resources(node("d", blocks="10.99.0.0/26")))
    assert ipam.pod_addresses("10.41.113.192/26", 3) == [
        "10.41.113.193",
        "10.41.113.194",
        "10.41.113.195",
    ]


def test_peer_password_from_a_secret() -> None:
    ds, _ = load_case("seed")
    peer = (FIXTURES / "seed/rack2-tor.yaml").read_text() + (
        "  password:\n    secretKeyRef: {name: tor-secrets, key: rack2}\n"
    )
    ds.apply(load_resources(peer))
    ks = build_keyspace(ds)
    key = "/calico/bgp/v1/host/rke-node3/peer_v4/192.168.0.40"
    assert json.loads(ks[key])["password"] is None  # secret not there yet
    ds.set_secret("tor-secrets", "rack2", "s3cr3t")
    assert json.loads(build_keyspace(ds)[key])["password"] == "s3cr3t"
