"""A lab topology and a router config from a cluster's Calico resources (no root)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bgplab.lab.expect import expected_tables, route
from bgplab.lab.fromcalico import FromCalicoError, Options, parse_router_option, topology_text
from bgplab.lab.nodeconf import node_resources
from bgplab.lab.routerconf import seed_router_config
from bgplab.lab.scenarios import SCENARIOS
from bgplab.lab.topology import load_topology, parse_topology

DUMP = Path(__file__).parents[2] / "lab" / "data" / "cluster-dump.yaml"
TOR = "tor=10.20.1.254,10.20.2.254,10.20.3.254"


def build(path: Path = DUMP, *routers: str, **kw: object) -> str:
    opts = Options(routers=dict(parse_router_option(r) for r in routers), **kw)  # type: ignore[arg-type]
    return topology_text(path, opts)


def test_a_cluster_unlike_the_seed() -> None:
    t = parse_topology(build(DUMP, TOR))
    assert [str(s.cidr) for s in t.subnets] == ["10.20.1.0/24", "10.20.2.0/24", "10.20.3.0/24"]
    assert len(t.nodes) == 7
    assert [(r.name, r.asn) for r in t.routers] == [("tor", None), ("peer-10-20-3-250", 65010)]
    assert [str(a) for a in t.router_named("tor").addresses] == [
        "10.20.1.254",
        "10.20.2.254",
        "10.20.3.254",
    ]
    ctl = t.node("ctl-1")
    assert str(ctl.rr_cluster_id) == "224.0.0.1" and str(ctl.block) == "10.60.1.0/26"
    assert ctl.labels["route-reflector"] == "true"
    tables = expected_tables(t, SCENARIOS["rr"])
    # the external peer learns every block from rack c's two nodes (eBGP, both paths)
    assert route("10.60.1.0/26", "10.20.3.31", "10.20.3.32") in tables["peer-10-20-3-250"]
    assert route("10.60.2.0/26", "10.20.1.254") in tables["wrk-a1"]


def test_what_cannot_be_inferred_is_asked_for() -> None:
    with pytest.raises(FromCalicoError, match=r"no router joins subnets 10\.20\.1\.0/24 and "):
        build(DUMP)


def _dump(tmp_path: Path, edit: dict[str, object], drop_affinity: str | None = None) -> Path:
    docs = list(yaml.safe_load_all(DUMP.read_text()))
    for item in docs[0]["items"]:
        name = item["metadata"]["name"]
        if name in edit:
            item.update(edit[name])  # type: ignore[arg-type]
    if drop_affinity:
        docs[1]["items"] = [i for i in docs[1]["items"] if i["spec"]["node"] != drop_affinity]
    p = tmp_path / "dump.yaml"
    p.write_text(yaml.safe_dump_all(docs))
    return p


@pytest.mark.parametrize(
    ("edit", "drop", "message"),
    [
        (
            {"wrk-b2": {"spec": {"bgp": {}}}},
            None,
            "Node(wrk-b2): spec.bgp.ipv4Address is missing",
        ),
        (
            {"upstream": {"spec": {"peerIP": "172.31.0.1", "asNumber": 65010}}},
            None,
            "BGPPeer(upstream): peerIP = 172.31.0.1 is in none of the nodes' subnets",
        ),
        (
            {"wrk-c1": {"spec": {"bgp": {"ipv4Address": "10.20.3.31"}}}},
            None,
            "Node(wrk-c1): spec.bgp.ipv4Address = 10.20.3.31 gives no subnet prefix; "
            "say the subnets' prefix length with --subnet-prefix",
        ),
        ({}, "wrk-a2", "Node(wrk-a2): no BlockAffinity gives its pods' block"),
    ],
)
def test_bad_dumps_name_the_resource(
    tmp_path: Path, edit: dict[str, object], drop: str | None, message: str
) -> None:
    with pytest.raises(FromCalicoError) as err:
        build(_dump(tmp_path, edit, drop), TOR)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_what_was_asked_for_fixes_it(tmp_path: Path) -> None:
    no_prefix = _dump(tmp_path, {"wrk-c1": {"spec": {"bgp": {"ipv4Address": "10.20.3.31"}}}})
    assert parse_topology(build(no_prefix, TOR, subnet_prefix=24)).node("wrk-c1")
    no_block = _dump(tmp_path, {}, drop_affinity="wrk-a2")
    t = parse_topology(build(no_block, TOR, assign_blocks=True))
    assert str(t.node("wrk-a2").block) == "10.60.0.0/26"  # the pool's first free block


def _seed_dump(tmp_path: Path) -> Path:
    seed = load_topology().without_ipv6()
    p = tmp_path / "seed-dump.yaml"
    p.write_text(yaml.safe_dump_all([*seed.calico, *node_resources(seed)]))
    return p


@pytest.mark.parametrize("mode", ["rr", "aggregate"])
def test_router_config_from_the_seeds_resources_is_the_seeds_file(
    tmp_path: Path, mode: str
) -> None:
    """The seed's cluster read back from its resources gives the report's bird.conf."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "bgplab.app",
            "router",
            "config",
            "--from-calico",
            str(_seed_dump(tmp_path)),
            "--router-at",
            "router=192.168.0.40,192.168.2.16",
            "--mode",
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == seed_router_config(mode)


def test_router_config_bad_dump_is_one_line(tmp_path: Path) -> None:
    bad = _dump(tmp_path, {"wrk-b2": {"spec": {"bgp": {}}}})
    res = subprocess.run(
        [sys.executable, "-m", "bgplab.app", "router", "config", "--from-calico", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "Node(wrk-b2)" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
