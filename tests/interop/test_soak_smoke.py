"""The soak of issue 9 at small scale, and its checker.

The smoke run starts a real bgplabd as route reflector for 20 scripted peers
that churn routes and flap sessions for 20 seconds; at the end every peer must
hold exactly the other peers' current routes. The checker tests (no
privileges) show that lost, duplicated and stale routes are really caught.
"""

from __future__ import annotations

import os

import pytest

from bgplab import net
from bgplab.bench.soak.model import (
    SoakOptions,
    check_peer,
    peer_addrs,
    peer_nets,
    reflector_config,
)
from bgplab.bench.soak.run import run_soak
from bgplab.errors import UserError

# ---------------------------------------------------------------- the checker

A, B = net.parse("10.64.0.0/26"), net.parse("10.64.0.64/26")
C = net.parse("10.64.0.129/32")


def test_check_exact_state_is_clean() -> None:
    current = {A: (1, 3), B: (2, 0), C: (0, 5)}  # C is peer 0's own route
    rib = {A: {1: (1, 3)}, B: {7: (2, 0)}}
    c = check_peer(0, current, rib)
    assert (c.expected, c.held, c.lost, c.duplicated, c.stale) == (2, 2, 0, 0, 0)


def test_check_counts_lost_duplicated_and_stale() -> None:
    current = {A: (1, 3), B: (2, 0), C: (0, 5)}
    rib = {
        # A held twice under two path ids
        A: {1: (1, 3), 2: (1, 3)},
        # B missing; C is our own route reflected back: stale
        C: {1: (0, 5)},
        # withdrawn long ago, still held
        net.parse("10.64.1.0/26"): {1: (4, 1)},
    }
    c = check_peer(0, current, rib, "p0")
    assert c.lost == 1 and c.duplicated == 1 and c.stale == 2
    assert any("lost 10.64.0.64/26" in e for e in c.examples)


def test_check_outdated_attributes_are_stale() -> None:
    current = {A: (1, 4)}
    # an old version that was replaced but not updated, and a bad owner tag
    assert check_peer(0, current, {A: {1: (1, 3)}}).stale == 1
    assert check_peer(0, current, {A: {1: (-1, -1)}}).stale == 1
    # an old path beside the new one is stale, not a duplicate
    c = check_peer(0, current, {A: {1: (1, 4), 2: (1, 3)}})
    assert (c.lost, c.duplicated, c.stale) == (0, 0, 1)


def test_plan_and_config() -> None:
    addrs = peer_addrs("127.30.1.250", 10)
    assert addrs[:5] == [
        "127.30.1.250",
        "127.30.1.251",
        "127.30.1.252",
        "127.30.1.253",
        "127.30.1.254",
    ]
    assert addrs[5] == "127.30.2.1" and len(set(addrs)) == 10
    nets = peer_nets(3, 4)
    assert net.to_str(nets[0]) == "10.64.0.192/26" and len(nets) == 5
    assert all(net.contains(nets[0], n) for n in nets[1:])
    cfg = reflector_config(SoakOptions(peers=2), addrs[:2])
    assert "listen bgp address 127.30.0.1 port 179;" in cfg and "add paths on;" in cfg
    assert cfg.count("protocol bgp peer") == 2 and "rr client;" in cfg


@pytest.mark.parametrize(
    "bad",
    [
        {"peers": 1},
        {"addr": "192.168.0.40"},
        {"peer_base": "not-an-address"},
        {"pods": 63},
        {"minutes": 0},
        {"peer_base": "127.255.255.250", "peers": 20},
    ],
)
def test_bad_options_are_user_errors(bad: dict[str, object]) -> None:
    with pytest.raises(UserError):
        SoakOptions(**bad).validate()  # type: ignore[arg-type]


# ---------------------------------------------------------------- the smoke run


@pytest.mark.root
@pytest.mark.interop
def test_soak_smoke_20_peers() -> None:
    k = 100 + os.getpid() % 150  # own /24 inside 127.30.0.0/16, per test process
    opts = SoakOptions(
        peers=20,
        minutes=20 / 60,
        rate=20.0,
        flap_every=2.0,
        addr=f"127.30.{k}.1",
        peer_base=f"127.30.{k}.10",
        settle=60.0,
    )
    res = run_soak(opts)
    assert res.error == ""
    assert res.ok
    # the churn really happened: routes moved and sessions flapped
    assert res.stats["withdraws"] > 0 and res.stats["replaces"] > 0
    assert res.stats["flaps"] > 0
    assert res.expected == 20 * 19 * 5
    assert res.lost == 0
    assert res.duplicated == 0
    assert res.stale == 0
