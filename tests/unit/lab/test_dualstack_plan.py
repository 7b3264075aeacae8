"""The dual-stack lab's plan, without root: the topology's IPv6 fields and their
validation, that the IPv4 scenarios leave the plan out entirely, the router's
bird6.conf, the computed IPv6 tables, the hand-made IPv6 routes and the drill's
per-family verdict."""

from __future__ import annotations

import copy
import ipaddress
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgplab.errors import UserError
from bgplab.lab.expect import route
from bgplab.lab.expect6 import expected_tables6
from bgplab.lab.fault import DrillResult, PingCount
from bgplab.lab.lab import Lab
from bgplab.lab.netns import host_static_routes
from bgplab.lab.nodeconf import render_node_configs
from bgplab.lab.routerconf import router_config
from bgplab.lab.routerconf6 import router_config6
from bgplab.lab.scenarios import SCENARIOS, get_scenario
from bgplab.lab.topology import TopologyError, load_topology, parse_topology, seed_path

PLAN_KEYS = ("cidr6", "gateway6", "address6", "block6")


def seed_doc() -> dict[str, Any]:
    return yaml.safe_load(seed_path().read_text())


def without_plan(doc: dict[str, Any]) -> dict[str, Any]:
    """The seed as it was before it had an IPv6 plan: every IPv6 field and resource gone."""
    doc = copy.deepcopy(doc)
    for item in doc["subnets"] + doc["nodes"] + doc["routers"][0]["interfaces"]:
        for key in PLAN_KEYS:
            item.pop(key, None)

    def v6(res: dict[str, Any]) -> bool:
        value = res["spec"].get("cidr") or res["spec"].get("peerIP") or ""
        return ":" in value

    doc["calico"] = [r for r in doc["calico"] if not v6(r)]
    return doc


def parse(doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    return parse_topology(yaml.safe_dump(doc), source=seed_path())


def test_the_seed_has_a_complete_ipv6_plan() -> None:
    topo = load_topology()
    assert topo.dual_stack
    assert [str(s.cidr6) for s in topo.subnets] == ["fd00:192:168::/64", "fd00:192:168:2::/64"]
    assert [str(p) for p in topo.pools6()] == ["fd00:10:41::/48"]
    assert [str(p) for p in topo.pools()] == ["10.41.0.0/16", "10.42.0.0/16"]
    n3 = topo.node("rke-node3")
    assert (str(n3.address6), str(n3.block6)) == ("fd00:192:168::7", "fd00:10:41:113::c0/122")
    assert str(n3.pod_address6(0)) == "fd00:10:41:113::c1"
    assert str(topo.router.address6_in(n3.subnet)) == "fd00:192:168::40"


def test_ipv4_scenarios_leave_the_plan_out_entirely() -> None:
    """What the four IPv4 scenarios build and render is what the seed gave before."""
    topo = load_topology()
    before = parse(without_plan(seed_doc()))
    v4 = topo.without_ipv6()
    assert not v4.dual_stack
    assert (v4.subnets, v4.routers, v4.nodes, v4.calico) == (
        before.subnets,
        before.routers,
        before.nodes,
        before.calico,
    )
    for kind in ("rr", "aggregate"):
        assert router_config(v4, kind) == router_config(before, kind)
    for node in before.nodes:
        assert render_node_configs(v4, v4.node(node.name), [], False) == render_node_configs(
            before, node, [], False
        )
        assert host_static_routes(v4, node.name) == host_static_routes(before, node.name)
    for name, scenario in SCENARIOS.items():
        lab = Lab(topo, scenario, "bird", "bird", "bgplab-tunit-", Path("/nonexistent"))
        assert lab.topo.dual_stack == scenario.dual_stack, name
        assert all((p.address6 is None) != scenario.dual_stack for p in lab.pods())


def test_dual_stack_needs_a_plan() -> None:
    plain = parse(without_plan(seed_doc()))
    with pytest.raises(UserError, match="needs an IPv6 plan"):
        Lab(plain, get_scenario("dual-stack"), "bird", "bird", "bgplab-tunit-", Path("/x"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["nodes"][2].pop("address6"),
            r"nodes\[2\]\.address6 is required \(the topology has an IPv6 plan",
        ),
        (
            lambda d: d["subnets"][1].pop("cidr6") and d["subnets"][1].pop("gateway6"),
            r"address6 = fd00:192:168:2::16: subnet sw2 has no cidr6",
        ),
        (
            lambda d: d["nodes"][0].update(address6="fd00:192:168:2::7"),
            r"nodes\[0\]\.address6 = fd00:192:168:2::7 is not a host address of sw0",
        ),
        (
            lambda d: d["nodes"][0].update(block6="10.99.0.0/26"),
            r"nodes\[0\]\.block6 = '10.99.0.0/26' is not an IPv6 CIDR",
        ),
        (
            lambda d: d["nodes"][1].update(block6="fd00:10:41:113::c0/122"),
            r"nodes\[1\]\.block6 = fd00:10:41:113::c0/122 overlaps rke-node3's block6",
        ),
        (
            lambda d: d["nodes"][1].update(block6="fd00:99::/122"),
            r"nodes\[1\]\.block6 = fd00:99::/122 is in none of the IPv6 IPPools",
        ),
        (
            lambda d: d["subnets"][0].update(gateway6="fd00:1::1"),
            r"subnets\[0\]\.gateway6 = fd00:1::1 is not inside fd00:192:168::/64",
        ),
        (
            lambda d: d["subnets"][1].update(cidr6="fd00:192:168::/48"),
            r"subnets\[1\]\.cidr6 = fd00:192:168::/48 overlaps fd00:192:168::/64",
        ),
        (
            lambda d: d["routers"][0]["interfaces"][0].update(address6="fd00:192:168:2::14"),
            r"duplicate address6: 'fd00:192:168:2::14'",
        ),
        (
            lambda d: d["nodes"][3].update(pods=70),
            r"nodes\[3\]\.pods = 70 does not fit in block",
        ),
    ],
)
def test_a_bad_plan_is_one_line_naming_the_field(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = seed_doc()
    edit(doc)
    with pytest.raises(TopologyError, match=message) as err:
        parse(doc)
    assert "\n" not in str(err.value)


def test_router_bird6_conf_in_the_seed_style() -> None:
    text = router_config6(load_topology())
    assert text.startswith("router id 192.168.0.40;\n")
    assert "if ( net ~ fd00:10:41::/48 ) then {" in text
    assert "source address fd00:192:168::40;" in text
    blocks = [ln for ln in text.splitlines() if ln.startswith("protocol bgp ")]
    assert blocks == [
        "protocol bgp Node_fd00_192_168_2__14 from bgp_template {",
        "protocol bgp Node_fd00_192_168_2__15 from bgp_template {",
        "protocol bgp Node_fd00_192_168__25 from bgp_template {",
        "protocol bgp Node_fd00_192_168__7 from bgp_template {",
    ]
    assert text.count("rr client;") == 4
    assert "neighbor fd00:192:168::7 as 63400;" in text


def test_router_bird6_conf_parses_in_bird6_and_bgplabd6(tmp_path: Path) -> None:
    conf = tmp_path / "bird6.conf"
    conf.write_text(router_config6(load_topology()))
    bird6 = Path("/opt/bird1/usr/sbin/bird6")
    for argv in ([str(bird6)], ["bgplabd6"]):
        if argv[0] == str(bird6) and not bird6.exists():
            continue
        res = subprocess.run([*argv, "-p", "-c", str(conf)], capture_output=True, text=True)
        assert res.returncode == 0, (argv, res.stderr)


def test_expected_ipv6_tables() -> None:
    topo = load_topology()
    tables = expected_tables6(topo)
    assert tables["router"] == {
        route("fd00:10:41:113::c0/122", "fd00:192:168::7"),
        route("fd00:10:41:57::c0/122", "fd00:192:168::25"),
        route("fd00:10:41:210::80/122", "fd00:192:168:2::14"),
        route("fd00:10:41:210::/122", "fd00:192:168:2::15"),
    }
    assert tables["rke-node3"] == {
        route("fd00:10:41:113::c0/122", kind="blackhole"),
        route("fd00:10:41:57::c0/122", "fd00:192:168::25"),  # same subnet: direct
        route("fd00:10:41:210::80/122", "fd00:192:168::40"),  # other subnet: the router
        route("fd00:10:41:210::/122", "fd00:192:168::40"),
    }
    assert expected_tables6(topo.without_ipv6()) == {}


def test_hand_made_ipv6_routes() -> None:
    topo = load_topology()
    assert host_static_routes(topo, "rke-node6")[-2:] == [
        ["default", "via", "fd00:192:168:2::1", "dev", "ens3"],
        ["fd00:192:168::/64", "via", "fd00:192:168:2::16", "dev", "ens3"],
    ]
    assert ["default", "via", "fd00:192:168:2::1", "dev", "eth0"] in host_static_routes(
        topo, "router"
    )
    for route_words in host_static_routes(topo.without_ipv6(), "rke-node6"):
        assert all(":" not in w for w in route_words)


def test_drill_verdict_per_family() -> None:
    zero, three = PingCount(40, 40), PingCount(40, 37, [20, 21, 22])
    res = DrillResult("swap-router", "router", ("a", "b"), True, True, zero, pings6=three)
    assert not res.ok
    assert res.verdict().startswith("FAIL: 0 IPv4 + 3 IPv6 pings lost;")
    res.pings6 = PingCount(40, 40)
    assert res.ok and res.verdict() == "PASS: the lab healed and 0 IPv4 + 0 IPv6 pings were lost"
    ipv4_only = DrillResult("swap-router", "router", ("a", "b"), True, True, zero)
    assert ipv4_only.verdict() == "PASS: the lab healed and 0 pings were lost"
    assert [f for f, _ in ipv4_only.per_family] == ["IPv4"]
    assert ipaddress.ip_address("fe80::ecee:eeff:feee:eeee")  # the pods' IPv6 gateway
