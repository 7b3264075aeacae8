"""Calico's own rendered bird6.cfg (with its bird6_aggr.cfg and
bird6_ipam.cfg) runs unchanged under bgplabd6, as under real bird6.

The node is Calico's confd test case ``mesh/static-routes`` (node
kube-master at fdf5:10::2, mesh peers fdf5:10::3 and ::4 that dial it);
a real bird6 plays kube-node-1 (fdf5:10::3) with a pod block. The same
files run once under bird6 and once under bgplabd6; the node's kernel
table, its ``show route all`` and what the peer receives must be the same.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available
from bgplab.launch import BgplabDaemon

from .ipv6net import established, ip, pair, shown_routes
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop]

CASE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "calico"
    / "confd-tests"
    / "tests"
    / "compiled_templates"
    / "mesh"
    / "static-routes"
)
NODE, PEER, BLOCK = "fdf5:10::2", "fdf5:10::3", "fd00:96:1::/122"

PEER_CONF = f"""
router id 10.192.0.3;
listen bgp address {PEER};
protocol device {{ scan time 2; }}
protocol static {{ route {BLOCK} blackhole; }}
protocol bgp Mesh_fdf5_10__2 {{
  local {PEER} as 64512; neighbor {NODE} as 64512; multihop; import all; export all;
  connect delay time 1; connect retry time 2;
}}
"""


def _run(kind: str, tmp: Path) -> tuple[str, str, str]:
    with pair(peers=1) as net:
        ip(net.r, "addr", "add", f"{NODE}/64", "dev", "eth0", "nodad")
        ip(net.p, "addr", "add", f"{PEER}/64", "dev", "eth0", "nodad")
        wd = tmp / kind
        wd.mkdir()
        for name in ("bird6_aggr.cfg", "bird6_ipam.cfg"):
            shutil.copy(CASE / name, wd / name)
        text = (CASE / "bird6.cfg").read_text()
        node: ExternalDaemon = (
            BgplabDaemon(text, netns=net.r, workdir=wd, ipv6=True)
            if kind == "bgplabd6"
            else BirdDaemon(1, text, netns=net.r, workdir=wd, ipv6=True)
        )
        peer = BirdDaemon(1, PEER_CONF, netns=net.p, ipv6=True)
        try:
            node.start()  # type: ignore[attr-defined]
            peer.start()
            wait_for(f"{kind}: the mesh session", lambda: established(node, "Mesh_fdf5_10__3"))
            wait_for(
                f"{kind}: the peer's block in the kernel", lambda: BLOCK in ip(net.r, "-6", "route")
            )
            wait_for(
                f"{kind}: the node's routes at the peer",
                lambda: "fd00:96::28/128" in peer.birdc("show route"),
            )
            return ip(net.r, "-6", "route"), shown_routes(node), shown_routes(peer)
        finally:
            peer.stop()
            node.stop()


def test_calicos_bird6_files_run_as_under_bird6(tmp_path: Path) -> None:
    if not available("bird1") or not CASE.exists():
        pytest.skip("BIRD 1.6 and Calico's confd test case are needed")
    table, shown, at_peer = _run("bgplabd6", tmp_path)
    # the peer's block, through calico_kernel_programming; the node's own
    # blackholes stay out of the kernel (the filter rejects them)
    assert f"{BLOCK} via {PEER} dev eth0 proto bird" in table, table
    assert "fd00:96::/112" not in table
    assert "fd00:96::28/128" in at_peer and "fd00:96::/112" in at_peer, at_peer
    assert (table, shown, at_peer) == _run("bird6", tmp_path)
