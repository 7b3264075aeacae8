"""The seed's router configurations and the Calico-rendered node
configurations load unchanged and mean what BIRD 1.6 makes of them."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from bgplab import net
from bgplab.config import (
    BgpConfig,
    DeviceConfig,
    DirectConfig,
    KernelConfig,
    StaticConfig,
    parse_file,
)
from bgplab.rib.route import Dest
from tests.unit.config.helpers import FIXTURES, bgp_route, static_route

NODES = {
    "rke-node3": ("192.168.0.7", "10.41.113.192/26", "192.168.0.40"),
    "rke-node4": ("192.168.0.25", "10.41.57.192/26", "192.168.0.40"),
    "rke-node6": ("192.168.2.14", "10.41.210.128/26", "192.168.2.16"),
    "rke-node7": ("192.168.2.15", "10.41.210.0/26", "192.168.2.16"),
}
SEED_PEERS = ("192.168.0.25", "192.168.0.7", "192.168.2.14", "192.168.2.15")


@pytest.mark.parametrize("variant", ["seed_rr", "seed_aggregate"])
def test_seed_router_config(variant: str) -> None:
    cfg = parse_file(FIXTURES / f"{variant}.conf")
    assert cfg.router_id == IPv4Address("192.168.0.40")
    assert set(cfg.filters) == {"calico_export_to_bgp_peers", "calico_kernel_programming"}
    kinds = [p.kind for p in cfg.protocols]
    bgps = [p for p in cfg.protocols if isinstance(p, BgpConfig)]
    assert [b.name for b in bgps] == [f"Node_{a.replace('.', '_')}" for a in SEED_PEERS]
    assert [b.neighbor_address for b in bgps] == list(SEED_PEERS)

    kernel = cfg.protocol("kernel1")
    assert isinstance(kernel, KernelConfig)
    assert kernel.learn and kernel.persist and kernel.graceful_restart and kernel.merge_paths
    assert kernel.scan_time == 2 and kernel.merge_paths_limit == 16
    assert kernel.import_filter.name == "ACCEPT"
    assert kernel.export_filter is cfg.filters["calico_kernel_programming"]

    device = cfg.protocol("device1")
    assert isinstance(device, DeviceConfig)
    assert device.scan_time == 2 and device.debug == frozenset({"states"})

    direct = cfg.protocol("direct1")
    assert isinstance(direct, DirectConfig)
    assert direct.matches("eth0") and direct.matches("ens3") and direct.matches("tunl0")
    assert not direct.matches("cali12345") and not direct.matches("kube-ipvs0")

    for b in bgps:
        assert b.local_as == 63400 and b.neighbor_as == 63400 and b.is_ibgp
        assert b.multihop == 64 and b.is_multihop
        assert b.gateway == "recursive" and b.effective_gateway == "recursive"
        assert b.source_address == "192.168.0.40"
        assert b.add_paths == "on" and b.graceful_restart == "on"
        assert (b.connect_delay_time, b.connect_retry_time) == (2, 5)
        assert b.error_wait_time == (5, 30)
        assert b.hold_time == 240 and b.effective_keepalive == 80
        assert b.description == "Connection to BGP peer"
        assert b.debug == frozenset({"states"})
        assert b.import_filter.name == "ACCEPT"
        assert b.export_filter.name == "calico_export_to_bgp_peers"
        assert b.rr_client is (variant == "seed_rr")
        assert b.template is False

    if variant == "seed_aggregate":
        assert kinds[0] == "static"
        static = cfg.protocol("static1")
        assert isinstance(static, StaticConfig)
        assert [(net.to_str(r.net), r.dest, r.gw) for r in static.routes] == [
            ("10.41.0.0/16", Dest.ROUTER, "192.168.0.40"),
            ("10.42.0.0/16", Dest.ROUTER, "192.168.0.40"),
        ]
    else:
        assert "static" not in kinds
    assert cfg.templates["bgp_template"].template is True


def test_seed_filters_behave() -> None:
    cfg = parse_file(FIXTURES / "seed_rr.conf")
    export = cfg.filters["calico_export_to_bgp_peers"]
    kernel = cfg.filters["calico_kernel_programming"]
    for p in ("10.41.113.192/26", "10.42.57.192/26", "10.41.0.0/16", "10.41.57.199/32"):
        r = bgp_route(p)
        assert export.run(r) is r  # accepted unmodified: the same object
        assert kernel.run(r) is r
    for p in ("10.43.0.0/16", "10.0.0.0/8", "192.168.0.0/24", "0.0.0.0/0"):
        assert export.run(bgp_route(p)) is None
        assert kernel.run(bgp_route(p)) is not None  # the kernel filter ends in accept


@pytest.mark.parametrize("node", sorted(NODES))
def test_calico_node_config(node: str) -> None:
    ip, block, peer = NODES[node]
    cfg = parse_file(FIXTURES / "calico" / node / "bird.cfg")
    assert cfg.router_id == IPv4Address(ip)
    assert set(cfg.functions) == {"apply_communities", "calico_aggr"}
    assert set(cfg.filters) == {"calico_export_to_bgp_peers", "calico_kernel_programming"}
    # bird_aggr.cfg comes first through its include: its static protocol is static1
    assert [p.name for p in cfg.protocols] == [
        "static1", "kernel1", "device1", "direct1", f"Node_{peer.replace('.', '_')}",
    ]  # fmt: skip
    static = cfg.protocol("static1")
    assert isinstance(static, StaticConfig)
    assert [(net.to_str(r.net), r.dest) for r in static.routes] == [(block, Dest.BLACKHOLE)]
    b = cfg.protocol(f"Node_{peer.replace('.', '_')}")
    assert isinstance(b, BgpConfig)
    assert (b.neighbor_address, b.neighbor_as, b.local_as) == (peer, 63400, 63400)
    assert b.source_address == ip and not b.rr_client and not b.passive

    export = cfg.filters["calico_export_to_bgp_peers"]
    # the block itself is exported, anything inside it is not (calico_aggr)
    assert export.run(static_route(block)) is not None
    inner = net.to_str(net.make(net.address(net.parse(block)) + 5, 32))
    assert export.run(static_route(inner)) is None
    # other nodes' blocks are in the pool and pass; outside the pool: rejected
    others = [b for n, (_i, b, _p) in NODES.items() if n != node]
    for other in others:
        assert export.run(bgp_route(other)) is not None
    assert export.run(bgp_route("10.43.0.0/16")) is None

    kernel = cfg.filters["calico_kernel_programming"]
    got = kernel.run(bgp_route(others[0]))
    assert got is not None and got.ext == {"krt_tunnel": ""}
    plain = bgp_route("192.168.5.0/24")
    assert kernel.run(plain) is plain


def test_per_pod_routes_variant(tmp_path) -> None:
    """The seed's edited bird_aggr: no blackhole, everything in the block exported."""
    src = FIXTURES / "calico" / "rke-node3"
    for f in ("bird.cfg", "bird_ipam.cfg"):
        (tmp_path / f).write_text((src / f).read_text())
    (tmp_path / "bird_aggr.cfg").write_text(
        "# Generated by confd\n"
        "# No IP blocks or static routes for this host.\n"
        "function calico_aggr ()\n{\n"
        "      # Block 10.41.113.192/26 is confirmed\n"
        "      if ( net = 10.41.113.192/26 ) then { accept; }\n"
        "      if ( net ~ 10.41.113.192/26 ) then { accept; }\n}\n"
    )
    cfg = parse_file(tmp_path / "bird.cfg")
    assert "static" not in [p.kind for p in cfg.protocols]
    export = cfg.filters["calico_export_to_bgp_peers"]
    assert export.run(static_route("10.41.113.197/32", Dest.DEVICE)) is not None
