"""Several routers in a topology: validation, generated configs, the session graph and the
expected tables (no root: nothing is built)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bgplab.lab.builtin import builtin_names
from bgplab.lab.expect import expected_tables, route
from bgplab.lab.generate import generate
from bgplab.lab.netns import host_static_routes
from bgplab.lab.peering import node_peers, router_clients, router_sessions
from bgplab.lab.routerconf import generate_router_config, router_config
from bgplab.lab.scenarios import SCENARIOS
from bgplab.lab.topology import TopologyError, load_topology, parse_topology


def test_builtins_by_name() -> None:
    assert builtin_names()[0] == "seed"
    assert {"seed-redundant", "racks"} <= set(builtin_names())
    assert [r.name for r in load_topology("seed-redundant").routers] == ["rr1", "rr2"]
    assert len(load_topology("racks").routers) == 4


def test_redundant_reflectors_config() -> None:
    t = load_topology("seed-redundant")
    rr2 = t.router_named("rr2")
    text = generate_router_config(t, "rr", rr2)
    assert text.startswith("router id 192.168.0.41;\n")
    # each node once, sourced from rr2's address in the node's subnet, one cluster id
    assert text.count("rr cluster id 244.0.0.1;") == 4
    assert "source address 192.168.2.17;\nneighbor 192.168.2.14 as 63400;" in text
    assert "source address 192.168.0.41;\nneighbor 192.168.0.7 as 63400;" in text
    assert [n.name for n in router_clients(t, rr2)] == [n.name for n in t.nodes]
    assert {str(p.ip) for p in node_peers(t)["rke-node6"]} == {"192.168.2.16", "192.168.2.17"}


def test_redundant_data_path_is_one_ecmp_route() -> None:
    t = load_topology("seed-redundant")
    assert host_static_routes(t, "rke-node3")[-1] == [
        "192.168.2.0/24",
        *("nexthop", "via", "192.168.0.40", "dev", "ens3"),
        *("nexthop", "via", "192.168.0.41", "dev", "ens3"),
    ]
    tables = expected_tables(t, SCENARIOS["rr"])
    # a block in the other subnet: both reflectors, as BIRD resolves the kernel's ECMP route
    assert route("10.41.210.128/26", "192.168.0.40", "192.168.0.41") in tables["rke-node3"]
    assert route("10.41.57.192/26", "192.168.0.25") in tables["rke-node3"]
    assert tables["rr1"] == tables["rr2"]
    agg = expected_tables(t, SCENARIOS["aggregate"])
    assert route("10.41.0.0/16", "192.168.2.16", "192.168.2.17") in agg["rke-node6"]
    assert route("10.41.0.0/16", "192.168.0.41") in agg["rr2"]


def test_racks_sessions_and_tables() -> None:
    t = load_topology("racks")
    tor1, spine = t.router_named("tor1"), t.router_named("spine")
    assert [s.name for s in router_sessions(t, spine)] == [
        "Router_tor1",
        "Router_tor2",
        "Router_tor3",
    ]
    conf = generate_router_config(t, "rr", tor1)
    assert "local as 65001;" in conf
    assert "protocol bgp Router_spine from bgp_template {\nsource address 172.16.0.1;\n" in conf
    assert "next hop self;\nneighbor 172.16.0.254 as 65000;" in conf
    assert "rr cluster id" not in conf
    assert "local as 65000;" in generate_router_config(t, "rr", spine)
    tables = expected_tables(t, SCENARIOS["rr"])
    assert route("10.41.2.0/26", "172.16.0.2") in tables["spine"]
    assert route("10.41.2.0/26", "172.16.0.254") in tables["tor1"]
    # a node: its rack mates directly, other racks through its ToR (static route to the fabric)
    assert route("10.41.1.64/26", "192.168.1.12") in tables["r1-node1"]
    assert route("10.41.3.0/26", "192.168.1.254") in tables["r1-node1"]
    assert len(tables["r1-node1"]) == 6


def test_generated_topology() -> None:
    t = parse_topology(generate(50, 4))
    assert len(t.nodes) == 50 and len(t.subnets) == 4 and len(t.routers) == 1
    assert sum(1 for n in t.nodes if n.subnet.name == "sw3") == 12
    assert len(router_clients(t, t.router)) == 50
    tables = expected_tables(t, SCENARIOS["rr"])
    assert all(len(tables[n.name]) == 50 for n in t.nodes)  # 49 blocks + own blackhole
    with pytest.raises(TopologyError, match="--nodes = 3 must be 4"):
        generate(3, 4)


ROUTERS = """
subnets: [{name: a, cidr: 10.0.0.0/24}, {name: b, cidr: 10.0.1.0/24}]
routers:
  - name: r1
    interfaces: [{address: 10.0.0.1}]
    PEERS
  - name: r2
    interfaces: [{address: 10.0.1.1}]
nodes: [{name: n1, address: 10.0.0.5, block: 10.9.0.0/26}]
"""


@pytest.mark.parametrize(
    ("peers", "message"),
    [
        ("peers: [{router: r3}]", "routers[0].peers[0].router = 'r3' is not a router"),
        ("peers: [{router: r2}]", "routers[0].peers[0].router = 'r2' shares no subnet with r1"),
        ("peers: [{router: r1}]", "is the router itself"),
        ("peers: [{address: 10.0.0.9}]", "routers[0].peers[0].asn is required with address"),
        ("peers: [{router: r2, address: 10.0.0.9}]", "needs either router: NAME or address"),
        ("asn: 0", "routers[0].asn = 0 is not an AS number"),
        ("bfd: 1", "routers[0].bfd = 1 must be true or false"),
        ("rr_cluster_id: x", "routers[0].rr_cluster_id = 'x' is not an IPv4 address"),
    ],
)
def test_router_fields_are_validated(peers: str, message: str) -> None:
    with pytest.raises(TopologyError, match=re.escape(message)):
        parse_topology(ROUTERS.replace("PEERS", peers))


def test_a_routers_own_bird_config_still_works(tmp_path: Path) -> None:
    """In a several-router topology one router may run the user's own file."""
    (tmp_path / "mine.conf").write_text("router id 10.0.0.2;\n")
    (tmp_path / "topo.yaml").write_text(
        "subnets: [{name: a, cidr: 10.0.0.0/24}]\n"
        "routers:\n"
        "  - {name: r1, interfaces: [{address: 10.0.0.1}]}\n"
        "  - {name: r2, interfaces: [{address: 10.0.0.2}], config: mine.conf}\n"
        "nodes: [{name: n1, address: 10.0.0.5, block: 10.9.0.0/26}]\n"
        "calico:\n"
        "  - {apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: p},"
        " spec: {cidr: 10.9.0.0/16}}\n"
    )
    t = load_topology(tmp_path / "topo.yaml")
    assert router_config(t, "rr", t.router_named("r2")) == "router id 10.0.0.2;\n"
    assert router_config(t, "rr", t.router_named("r1")).startswith("router id 10.0.0.1;\n")
