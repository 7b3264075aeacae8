"""Scenario names, prefix generation and the results table."""

from __future__ import annotations

import pytest

from bgplab import net
from bgplab.bench import report, scenarios
from bgplab.errors import UserError


def test_parse_names() -> None:
    s = scenarios.parse("calico-rr-2500")
    assert (s.kind, s.peers) == ("rr", 2500)
    s = scenarios.parse("fulltable")
    assert (s.prefixes, s.clients, s.peers) == (500_000, 10, 11)
    s = scenarios.parse("fulltable-2k-3")
    assert (s.prefixes, s.clients) == (2000, 3)
    assert scenarios.parse("kernel-fib-100k").fib_routes == 100_000
    assert scenarios.parse("churn").peers == 300
    assert scenarios.parse("calico-pods-100").pods == 60
    for bad in ("calico-rr-1", "calico-rr-x", "nonsense", "fulltable-0", "calico-pods-3-99", ""):
        with pytest.raises(UserError):
            scenarios.parse(bad)


def test_catalog_names_parse() -> None:
    for name, _ in scenarios.CATALOG:
        assert scenarios.parse(name).name == name


def test_fulltable_prefixes_distinct_and_in_range() -> None:
    pre = scenarios.fulltable_prefixes(50_000)
    assert len(set(pre)) == 50_000
    lengths = {plen for _, plen in pre}
    assert lengths <= set(range(16, 25)) and 16 in lengths and 24 in lengths
    assert sum(1 for _, p in pre if p == 24) > len(pre) / 2  # mostly /24 like the DFZ
    forbidden = [
        net.parse(x)
        for x in ("127.0.0.0/8", "198.18.0.0/15", "10.0.0.0/8", "224.0.0.0/3", "0.0.0.0/8")
    ]
    for a, plen in pre[::97]:
        key = net.make(a, plen)
        assert key == (a << 8) | plen  # host bits clear
        assert not any(net.contains(f, key) for f in forbidden)


def test_peer_addrs_skip_network_and_broadcast() -> None:
    addrs = scenarios.peer_addrs("127.11.0.250", 10)
    assert addrs[:5] == [
        "127.11.0.250",
        "127.11.0.251",
        "127.11.0.252",
        "127.11.0.253",
        "127.11.0.254",
    ]
    assert addrs[5] == "127.11.1.1"
    assert len(set(scenarios.peer_addrs("127.11.0.1", 2500))) == 2500


def test_rr_plans_announce_one_block_each() -> None:
    spec = scenarios.parse("calico-rr-5")
    plans = scenarios.build_plans(spec, scenarios.peer_addrs("127.11.0.1", 5))
    blocks = [p.routes for p in plans]
    assert all(len(b) == 1 and b[0][1] == 26 for b in blocks)
    assert len({b[0] for b in blocks}) == 5
    assert all(p.expect == 4 for p in plans)


def test_table_ratios_against_bird2() -> None:
    rs = [
        scenarios.RunResult("calico-rr-3", "bird2", ok=True, wall_s=2.0, cpu_s=1.0, rss_mb=10.0),
        scenarios.RunResult("calico-rr-3", "bird2", ok=True, wall_s=4.0, cpu_s=1.0, rss_mb=10.0),
        scenarios.RunResult("calico-rr-3", "bgplabd", ok=True, wall_s=6.0, cpu_s=3.0, rss_mb=15.0),
        scenarios.RunResult("calico-rr-3", "frr", error="start failed: x|y"),
    ]
    sums = report.summarize(rs)
    table = report.markdown_table(sums)
    row = next(line for line in table.splitlines() if "| bgplabd |" in line)
    assert "| 2.00x | 3.00x | 1.50x |" in row  # median BIRD 2 wall is 3.0
    frr = next(line for line in table.splitlines() if "| frr |" in line)
    assert "0/1" in frr and "x/y" in frr


def test_kernel_fib_ratio_is_to_bird1() -> None:
    rs = [
        scenarios.RunResult("kernel-fib-10", "bird1", ok=True, wall_s=2.0, cpu_s=1.0, rss_mb=10.0),
        scenarios.RunResult(
            "kernel-fib-10",
            "bgplabd",
            ok=True,
            wall_s=8.0,
            cpu_s=2.0,
            rss_mb=5.0,
            extra={"remove_s": 3.0},
        ),
    ]
    table = report.markdown_table(report.summarize(rs))
    row = next(line for line in table.splitlines() if "| bgplabd |" in line)
    assert "| 4.00x | 2.00x | 0.50x |" in row and "kernel removal 3.00 s" in row
