"""Rendered BIRD files equal, line for line, what Calico v3.17's confd renders.

The expected files in tests/fixtures/calico/golden/<case>/<node>/ were produced
by running Calico's own v3.17 templates (see each file's first line) through
Go's text/template over the same key space; the renderer is independent
Python code, so any drift in whitespace or logic shows up here.
"""

from __future__ import annotations

import pytest

from bgplab.calico.confd import render_node

from .conftest import CASES, GOLDEN, load_case

FILES = ("bird.cfg", "bird_aggr.cfg", "bird_ipam.cfg")


def _expected(case: str, node: str, name: str) -> str:
    text = (GOLDEN / case / node / name).read_text()
    head, _, body = text.partition("\n")
    assert head.startswith("# bgplab golden file: Calico v3.17 confd template")
    return body


def _params() -> list[tuple[str, str]]:
    out = []
    for case in CASES:
        for d in sorted((GOLDEN / case).iterdir()):
            if d.is_dir():
                out.append((case, d.name))
    return out


@pytest.mark.parametrize(("case", "node"), _params())
def test_render_matches_golden(case: str, node: str) -> None:
    ds, opts = load_case(case)
    rendered = render_node(ds, node, **opts)
    for name in FILES:
        assert rendered[name].splitlines() == _expected(case, node, name).splitlines(), name
        assert rendered[name] == _expected(case, node, name), f"{name}: trailing newlines"


def test_every_node_of_each_case_has_golden_files() -> None:
    for case in CASES:
        ds, _ = load_case(case)
        assert sorted(n.name for n in ds.nodes()) == sorted(
            d.name for d in (GOLDEN / case).iterdir() if d.is_dir()
        )


def test_seed_nodes_peer_with_their_racks_router() -> None:
    ds, _ = load_case("seed")
    want = {
        "rke-node3": "192.168.0.40",
        "rke-node4": "192.168.0.40",
        "rke-node6": "192.168.2.16",
        "rke-node7": "192.168.2.16",
    }
    for node, router in want.items():
        cfg = render_node(ds, node)["bird.cfg"]
        assert f"protocol bgp Node_{router.replace('.', '_')} from bgp_template {{" in cfg
        other = ({"192.168.0.40", "192.168.2.16"} - {router}).pop()
        assert other not in cfg
        assert "# Node-to-node mesh disabled" in cfg


def test_per_pod_routes_drop_the_blackhole_and_accept_pod_routes() -> None:
    ds, _ = load_case("seed")
    normal = render_node(ds, "rke-node3")["bird_aggr.cfg"]
    per_pod = render_node(ds, "rke-node3", per_pod_routes=True)["bird_aggr.cfg"]
    assert "   route 10.41.113.192/26 blackhole;" in normal
    assert "   # route 10.41.113.192/26 blackhole;" in per_pod
    assert "if ( net ~ 10.41.113.192/26 ) then { reject; }" in normal
    assert "if ( net ~ 10.41.113.192/26 ) then { accept; }" in per_pod
