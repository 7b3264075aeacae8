"""The lab's topology picture: sessions read from protocol names, labels
never struck through by a wire, everything escaped (no root needed)."""

from __future__ import annotations

from importlib import resources

import pytest

from bgplab.lab import diagram
from bgplab.lab.topology import Topology, load_topology

TOPOLOGIES = sorted(
    p.name
    for p in resources.files("bgplab.data").joinpath("topologies").iterdir()
    if p.name.endswith(".yaml")
)


def full_sessions(topo: Topology, state: str = "Established") -> dict[str, dict[str, str]]:
    """What every host's `show protocols` would list, named as the lab names them."""
    out: dict[str, dict[str, str]] = {}
    for n in topo.nodes:
        for r in topo.routers_in(n.subnet):
            a = r.address_in(n.subnet)
            out.setdefault(n.name, {})[f"Node_{str(a).replace('.', '_')}"] = state
            out.setdefault(r.name, {})[f"Node_{str(n.address).replace('.', '_')}"] = state
    for r in topo.routers:
        for p in r.peers:
            if p.router:
                out.setdefault(r.name, {})[f"Router_{p.router}"] = state
    return out


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_no_wire_crosses_a_label(name: str) -> None:
    topo = load_topology(str(resources.files("bgplab.data").joinpath("topologies").joinpath(name)))
    lay = diagram.layout(topo, full_sessions(topo))
    assert diagram.crossings(lay) == []
    assert [w for w in lay.wires if w.kind == "session"]


def test_sessions_from_both_ends() -> None:
    topo = load_topology()
    ss = full_sessions(topo)
    ss["rke-node4"] = {"Node_192_168_0_40": "Active"}
    edges = {e.id: e for e in diagram.edges(topo, ss)}
    assert len(edges) == 4
    e = edges["router--rke-node4"]
    assert (e.state_a, e.state_b, e.state) == ("Established", "Active", "Active")
    assert edges["router--rke-node3"].state == "Established"
    assert diagram.colour("Active") == diagram.AMBER
    assert diagram.colour("not") == diagram.RED


def test_crossing_detection_finds_a_strike_through() -> None:
    rect = (0.0, 0.0, 10.0, 10.0)
    assert diagram.crosses(((-5, 5), (15, 5)), rect)
    assert not diagram.crosses(((-5, 15), (15, 15)), rect)
    assert diagram.crosses(((5, -5), (5, 1)), rect)


def test_svg_escapes_protocol_names() -> None:
    topo = load_topology()
    ss = full_sessions(topo)
    ss["rke-node3"]["Node_192_168_0_40"] = "<script>x</script>"
    out = diagram.svg(diagram.layout(topo, ss))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_ipv6_session_names() -> None:
    """Dual stack: Calico names IPv6 peers with ':' as '_' (Node_fd00_192_168__40)."""
    from bgplab.lab.routerconf6 import peer_name6

    topo = load_topology()
    assert topo.dual_stack
    node, router = topo.nodes[0], topo.router
    ss = {
        node.name: {peer_name6(str(router.address6_in(node.subnet))): "Established"},
        router.name: {peer_name6(str(node.address6)): "Active"},
    }
    edges = diagram.edges(topo, ss)
    assert [(e.id, e.state_a, e.state_b) for e in edges] == [
        (f"{router.name}--{node.name}", "Active", "Established")
    ]
