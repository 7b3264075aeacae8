"""Topology loading and validation, router config generation, expected tables (no root)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bgplab.lab.expect import expected_tables, parse_ip_json, route
from bgplab.lab.routerconf import generate_router_config, seed_router_config
from bgplab.lab.scenarios import SCENARIOS, get_scenario
from bgplab.lab.topology import TopologyError, load_topology, parse_topology

MINIMAL = """
subnets:
  - {name: a, cidr: 10.0.0.0/24}
  - {name: b, cidr: 10.0.1.0/24}
routers:
  - name: r
    interfaces:
      - {address: 10.0.0.1}
      - {address: 10.0.1.1}
nodes:
  - {name: n1, address: 10.0.0.10, labels: {rack: a}, block: 10.99.0.0/26, pods: 1}
  - {name: n2, address: 10.0.1.10, labels: {rack: b}, block: 10.99.0.64/26, pods: 1}
"""


def test_seed_topology_is_the_reports() -> None:
    t = load_topology()
    assert [str(s.cidr) for s in t.subnets] == ["192.168.0.0/24", "192.168.2.0/24"]
    assert sorted(str(i.address) for i in t.router.interfaces) == ["192.168.0.40", "192.168.2.16"]
    nodes = {n.name: (str(n.address), str(n.block), n.labels["rack"]) for n in t.nodes}
    assert nodes == {
        "rke-node3": ("192.168.0.7", "10.41.113.192/26", "rack-2"),
        "rke-node4": ("192.168.0.25", "10.41.57.192/26", "rack-2"),
        "rke-node6": ("192.168.2.14", "10.41.210.128/26", "rack-1"),
        "rke-node7": ("192.168.2.15", "10.41.210.0/26", "rack-1"),
    }
    assert t.as_number() == 63400
    peers = {d["metadata"]["name"]: d["spec"] for d in t.calico if d["kind"] == "BGPPeer"}
    assert peers["rack1-tor"]["peerIP"] == "192.168.2.16"
    assert peers["rack2-tor"]["nodeSelector"] == "rack == 'rack-2'"


@pytest.mark.parametrize("kind", ["rr", "aggregate"])
def test_generated_router_config_is_the_seed_file(kind: str) -> None:
    assert generate_router_config(load_topology(), kind) == seed_router_config(kind)


def test_generated_router_config_follows_the_topology() -> None:
    t = parse_topology(MINIMAL)
    text = generate_router_config(t, "aggregate")
    assert "router id 10.0.0.1;" in text
    assert "route 10.99.0.0/16" not in text  # no pools given: no static aggregate
    assert "protocol bgp Node_10_0_1_10 from bgp_template {\nneighbor 10.0.1.10 as 64512;" in text
    assert "source address 10.0.0.1;" in text
    assert "rr client" not in text


def _err(text: str) -> str:
    with pytest.raises(TopologyError) as exc:
        parse_topology(textwrap.dedent(text))
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("cidr: 10.0.0.0/24", "cidr: 10.0.0.0/33", "subnets[0].cidr = '10.0.0.0/33'"),
        ("cidr: 10.0.0.0/24", "cidr: 10.0.0.1/24", "subnets[0].cidr"),
        ("cidr: 10.0.1.0/24", "cidr: 10.0.0.0/23", "overlaps"),
        (
            "{address: 10.0.1.1}",
            "{address: 10.0.9.1}",
            "routers[0].interfaces[1].address = 10.0.9.1 is in none",
        ),
        ("{address: 10.0.1.1}", "{address: 10.0.1.300}", "not an IPv4 address"),
        ("address: 10.0.1.10,", "address: 10.0.0.10,", "duplicate address"),
        ("block: 10.99.0.64/26", "block: 10.99.0.0/25", "overlaps n1's block"),
        ("block: 10.99.0.64/26", "block: 10.99.0.65/26", "nodes[1].block"),
        ("pods: 1}\n  - {name: n2", "pods: 99}\n  - {name: n2", "nodes[0].pods = 99 does not fit"),
        ("pods: 1}\n  - {name: n2", "pods: -1}\n  - {name: n2", "nodes[0].pods"),
        ("name: n2", "name: N_2", "nodes[1].name"),
        ("name: n2", "name: a", "duplicate name"),
        ("labels: {rack: a}, block", "labelz: {rack: a}, block", "unknown field 'labelz'"),
        ("- name: r", "- name: r\n    config: /nonexistent/bird.conf", "routers[0].config"),
    ],
)
def test_validation_names_the_field(old: str, new: str, needle: str) -> None:
    assert old in MINIMAL
    msg = _err(MINIMAL.replace(old, new, 1))
    assert needle in msg


def test_validation_of_shape() -> None:
    assert "not valid YAML" in _err("subnets: [\n")
    assert "must be a YAML mapping" in _err("- a\n- b\n")
    assert "subnets is required" in _err("routers: []\nnodes: []\n")
    no_routers = MINIMAL.split("routers:")[0] + "routers: []\nnodes:" + MINIMAL.split("nodes:")[1]
    assert "at least one router is required" in _err(no_routers)
    no_router_subnet = MINIMAL.replace("      - {address: 10.0.1.1}\n", "")
    assert "which no router is attached to" in _err(no_router_subnet)
    bad_pool = MINIMAL + (
        "calico:\n  - {apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: p},"
        " spec: {cidr: 10.50.0.0/16}}\n"
    )
    assert "nodes[0].block = 10.99.0.0/26 is in none of the IPPools" in _err(bad_pool)


def test_calico_resources_are_validated_by_the_emulator() -> None:
    seed = load_topology().source
    assert seed is not None
    text = seed.read_text().replace("peerIP: 192.168.2.16", "peerIP: 192.168.2.999")
    msg = _err(text)
    # numbered as the topology's own checks number the resources (issue 18)
    assert msg.startswith("calico[1]: ") and "peerIP = '192.168.2.999' (invalid IP)" in msg


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read topology"):
        load_topology(tmp_path / "nope.yaml")


def test_cli_reports_bad_topology_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text(MINIMAL.replace("10.0.0.0/24", "10.0.0.0/99"))
    res = subprocess.run(
        [sys.executable, "-m", "bgplab.app", "lab", "up", str(bad)],
        capture_output=True,
        text=True,
        env={"BGPLAB_LAB_RUNDIR": str(tmp_path / "run"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "bgplab: subnets[0].cidr = '10.0.0.0/99' is not an IPv4 CIDR (like 192.168.0.0/24)"
    ]
    assert "Traceback" not in res.stderr


def test_unknown_scenario() -> None:
    with pytest.raises(Exception, match="unknown scenario 'mesh'"):
        get_scenario("mesh")


# --------------------------------------------------------------------------- expected tables


def _seed_tables(scenario: str) -> dict[str, set]:
    return expected_tables(load_topology(), SCENARIOS[scenario])


def test_rr_tables_are_the_reports() -> None:
    tables = _seed_tables("rr")
    # The report's `ip route` on rke-node3 (192.168.0.7), 10.41.x lines.
    assert tables["rke-node3"] == {
        route("10.41.57.192/26", "192.168.0.25"),
        route("10.41.113.192/26", kind="blackhole"),
        route("10.41.210.0/26", "192.168.0.40"),
        route("10.41.210.128/26", "192.168.0.40"),
    }
    # The report's router table.
    assert tables["router"] == {
        route("10.41.210.0/26", "192.168.2.15"),
        route("10.41.57.192/26", "192.168.0.25"),
        route("10.41.113.192/26", "192.168.0.7"),
        route("10.41.210.128/26", "192.168.2.14"),
    }


def test_aggregate_tables_are_the_reports() -> None:
    tables = _seed_tables("aggregate")
    assert tables["rke-node6"] == {
        route("10.41.0.0/16", "192.168.2.16"),
        route("10.42.0.0/16", "192.168.2.16"),
        route("10.41.210.128/26", kind="blackhole"),
    }
    assert route("10.41.0.0/16", "192.168.0.40") in tables["rke-node3"]


def test_pod_routes_and_service_ecmp() -> None:
    pods = _seed_tables("pod-routes")
    assert route("10.41.113.193/32", "192.168.0.7") in pods["router"]
    assert route("10.41.210.2/32", "192.168.2.15") in pods["router"]
    assert len([r for r in pods["router"] if r.dst.endswith("/32")]) == 8
    assert not any(r.kind == "blackhole" for r in pods["rke-node3"])
    ecmp = _seed_tables("service-ecmp")["router"]
    svc = [r for r in ecmp if r.dst == "10.43.0.0/16"]
    assert svc == [
        route("10.43.0.0/16", "192.168.0.7", "192.168.0.25", "192.168.2.14", "192.168.2.15")
    ]


def test_parse_ip_json() -> None:
    entries = [
        {"type": "blackhole", "dst": "10.41.113.192/26", "protocol": "bird", "flags": []},
        {"dst": "10.41.57.199", "gateway": "192.168.0.25", "dev": "eth1", "protocol": "bird"},
        {
            "dst": "10.43.0.0/16",
            "protocol": "bird",
            "nexthops": [
                {"gateway": "192.168.2.15", "dev": "eth0", "weight": 1},
                {"gateway": "192.168.0.7", "dev": "eth1", "weight": 1},
            ],
        },
    ]
    assert parse_ip_json(entries) == {
        route("10.41.113.192/26", kind="blackhole"),
        route("10.41.57.199/32", "192.168.0.25"),
        route("10.43.0.0/16", "192.168.0.7", "192.168.2.15"),
    }
