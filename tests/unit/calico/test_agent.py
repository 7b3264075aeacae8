from __future__ import annotations

from pathlib import Path

import pytest

from bgplab.calico.agent import AgentError, NodeAgent, for_stock_bird, reconfigure_running
from bgplab.calico.confd import render_node
from bgplab.calico.datastore import DatastoreError

from .conftest import load_case


def test_stock_bird_variant_only_neutralises_krt_tunnel() -> None:
    ds, _ = load_case("mesh")  # an IPIP pool: krt_tunnel = "tunl0"
    ipam = render_node(ds, "worker-1")["bird_ipam.cfg"]
    assert 'krt_tunnel = "tunl0";' in ipam
    stock = for_stock_bird(ipam)
    assert "krt_tunnel =" not in stock
    assert 'if false then print "krt_tunnel tunl0";' in stock
    assert [line for line in stock.splitlines() if "krt_tunnel" not in line] == [
        line for line in ipam.splitlines() if "krt_tunnel" not in line
    ]


def test_agent_writes_the_rendered_files(tmp_path: Path) -> None:
    ds, _ = load_case("seed")
    agent = NodeAgent(ds, "rke-node3", tmp_path, speaker="bgplabd")
    assert agent.write_files() is True
    assert agent.write_files() is False  # unchanged: no reconfigure needed
    files = render_node(ds, "rke-node3", families=(4,))
    for name, text in files.items():
        assert (tmp_path / "etc" / "bird" / name).read_text() == text
    # The agent runs one IPv4 speaker: it writes only the files bird.cfg includes.
    assert sorted(p.name for p in (tmp_path / "etc" / "bird").iterdir()) == sorted(files)
    ds.label("rke-node3", "rack", "rack-1")
    assert agent.write_files() is True
    assert "Node_192_168_2_16" in (tmp_path / "etc/bird/bird.cfg").read_text()


def test_agent_argument_errors(tmp_path: Path) -> None:
    ds, _ = load_case("seed")
    with pytest.raises(AgentError, match="unknown speaker"):
        NodeAgent(ds, "rke-node3", tmp_path, speaker="quagga")
    with pytest.raises(DatastoreError, match='nodes "rke-node9" not found'):
        NodeAgent(ds, "rke-node9", tmp_path)
    with pytest.raises(AgentError, match="too long"):
        NodeAgent(ds, "rke-node3", tmp_path / ("x" * 120))


def test_nothing_running_nothing_reconfigured() -> None:
    ds, _ = load_case("seed")
    ds.runtime["rke-node3"] = {"pid": 2**22 + 12345, "socket": "/nonexistent", "workdir": "/x"}
    assert reconfigure_running(ds) == []


def test_router_id_variants() -> None:
    ds, _ = load_case("mesh")
    # Values checked against Calico's template run by Go's text/template.
    assert (
        "\nrouter id 19.2.159.158;\n" in render_node(ds, "worker-1", router_id="hash")["bird.cfg"]
    )
    assert "\nrouter id 1.2.3.4;\n" in render_node(ds, "worker-1", router_id="1.2.3.4")["bird.cfg"]
    assert "\nrouter id 172.18.0.11;\n" in render_node(ds, "worker-1", router_id="")["bird.cfg"]
