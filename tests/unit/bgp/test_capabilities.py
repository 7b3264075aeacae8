from __future__ import annotations

from ipaddress import IPv4Address as A4

import pytest

from bgplab.bgp.capabilities import (
    AddPathCap,
    As4Cap,
    EnhancedRouteRefreshCap,
    ExtendedMessageCap,
    GracefulRestartCap,
    LlgrCap,
    LocalConfig,
    MultiProtocol,
    RouteRefreshCap,
    UnknownCap,
    check_peer_open,
    decode_capabilities,
    encode_capability,
    negotiate,
)
from bgplab.bgp.errors import BgpError

LOCAL = LocalConfig(
    63400,
    A4("192.168.0.40"),
    families=((1, 1),),
    add_path={(1, 1): 3},
    graceful_restart=True,
)

# What a Calico node's BIRD 1.6 offers (add paths on, graceful restart).
CALICO = (
    MultiProtocol(1, 1),
    RouteRefreshCap(),
    GracefulRestartCap(120, False, False, ((1, 1, True),)),
    As4Cap(63400),
    AddPathCap(((1, 1, 3),)),
    EnhancedRouteRefreshCap(),
    LlgrCap(),
)


def test_every_capability_round_trips() -> None:
    caps = [
        MultiProtocol(2, 1),
        RouteRefreshCap(),
        RouteRefreshCap(128),
        EnhancedRouteRefreshCap(),
        ExtendedMessageCap(),
        As4Cap(4200000000),
        AddPathCap(((1, 1, 1), (2, 1, 2))),
        GracefulRestartCap(300, True, True, ((1, 1, False), (2, 1, True))),
        LlgrCap(((1, 1, 0x80, 3600),)),
        UnknownCap(73, b"\x01x"),
    ]
    wire = b"".join(encode_capability(c) for c in caps)
    assert decode_capabilities(wire) == caps


def test_gr_golden() -> None:
    # RFC 4724 3: R bit, 12-bit time; per family AFI, SAFI, F bit.
    assert GracefulRestartCap(120, True, False, ((1, 1, True),)).encode() == bytes.fromhex(
        "807800010180"
    )


@pytest.mark.parametrize(
    "wire",
    [
        b"\x01\x03\x00\x01\x00",
        b"\x41\x02\x00\x01",
        b"\x45\x03\x00\x01\x01",
        b"\x40\x01\x00",
        b"\x01",
    ],
)
def test_malformed_capability(wire: bytes) -> None:
    with pytest.raises(BgpError) as ei:
        decode_capabilities(wire)
    assert ei.value.code == 2


def test_negotiate_with_calico_node() -> None:
    neg = negotiate(LOCAL, 63400, 240, A4("192.168.0.7"), CALICO)
    assert neg.peer_asn == 63400 and neg.ibgp and neg.as4
    assert neg.families == {(1, 1)}
    assert neg.add_path_rx == {(1, 1)} and neg.add_path_tx == {(1, 1)}
    assert neg.hold_time == 240 and neg.keepalive_time == 80
    assert neg.route_refresh and neg.enhanced_route_refresh
    assert neg.peer_gr is not None and neg.peer_gr.restart_time == 120
    assert neg.peer_gr.forwarding == {(1, 1): True}
    assert neg.peer_caps == (
        "refresh",
        "enhanced-refresh",
        "restart-able",
        "llgr-aware",
        "AS4",
        "add-path-rx",
        "add-path-tx",
    )
    assert neg.max_message_size == 4096


def test_add_path_directions() -> None:
    # We only receive; the peer only sends -> rx only.
    local = LocalConfig(1, A4("1.1.1.1"), add_path={(1, 1): 1})
    neg = negotiate(local, 1, 90, A4("2.2.2.2"), (AddPathCap(((1, 1, 2),)),))
    assert neg.add_path_rx == {(1, 1)} and neg.add_path_tx == frozenset()
    neg = negotiate(local, 1, 90, A4("2.2.2.2"), (AddPathCap(((1, 1, 1),)),))
    assert neg.add_path_rx == frozenset() and neg.add_path_tx == frozenset()


def test_hold_and_keepalive() -> None:
    local = LocalConfig(1, A4("1.1.1.1"), hold_time=90)
    assert negotiate(local, 1, 30, A4("2.2.2.2"), ()).keepalive_time == 10
    assert negotiate(local, 1, 0, A4("2.2.2.2"), ()).hold_time == 0
    assert negotiate(local, 1, 0, A4("2.2.2.2"), ()).keepalive_time == 0
    local = LocalConfig(1, A4("1.1.1.1"), hold_time=90, keepalive_time=5)
    assert negotiate(local, 1, 240, A4("2.2.2.2"), ()).keepalive_time == 5


def test_no_mp_capability_means_ipv4_unicast() -> None:
    local = LocalConfig(1, A4("1.1.1.1"), families=((1, 1), (2, 1)))
    neg = negotiate(local, 1, 90, A4("2.2.2.2"), ())
    assert neg.families == {(1, 1)} and not neg.as4


def test_extended_message_both_sides() -> None:
    local = LocalConfig(1, A4("1.1.1.1"), extended_message=True)
    assert negotiate(local, 1, 90, A4("2.2.2.2"), (ExtendedMessageCap(),)).max_message_size == 65535
    assert negotiate(local, 1, 90, A4("2.2.2.2"), ()).max_message_size == 4096


def test_no_capabilities_sent() -> None:
    local = LocalConfig(1, A4("1.1.1.1"), capabilities=False)
    assert local.open_capabilities() == ()
    neg = negotiate(local, 1, 90, A4("2.2.2.2"), CALICO, sent_caps=())
    assert not neg.as4 and not neg.route_refresh and neg.add_path_rx == frozenset()


def test_check_open() -> None:
    ok = dict(version=4, asn_field=63400, hold_time=90, router_id=A4("192.168.0.7"), caps=())
    check_peer_open(LOCAL, 63400, **ok)
    cases = [
        ({"version": 3}, (2, 1)),
        ({"asn_field": 65001}, (2, 2)),
        ({"hold_time": 2}, (2, 6)),
        ({"hold_time": 1}, (2, 6)),
        ({"router_id": A4("0.0.0.0")}, (2, 3)),
        ({"router_id": A4("192.168.0.40")}, (2, 3)),  # same as ours (BIRD 1.6)
    ]
    for change, want in cases:
        with pytest.raises(BgpError) as ei:
            check_peer_open(LOCAL, 63400, **{**ok, **change})
        assert (ei.value.code, ei.value.subcode) == want, change
    # equal id allowed when configured so
    check_peer_open(LOCAL, 63400, **{**ok, "router_id": A4("192.168.0.40")}, reject_same_id=False)
    # a 4-octet peer: AS_TRANS in the field, real AS in the capability
    check_peer_open(LOCAL, 4200000000, **{**ok, "asn_field": 23456, "caps": (As4Cap(4200000000),)})
    with pytest.raises(BgpError):
        check_peer_open(LOCAL, 4200000000, **{**ok, "asn_field": 23456})


# FRR 8.4.4's OPEN with its default configuration (GR helper), as captured on
# loopback: GR with R and N bits and no family, LLGR for IPv4 with stale time 0.
FRR_OPEN = bytes.fromhex(
    "ffffffffffffffffffffffffffffffff005f0104fc0000b47f6a00024202060104000100010202800002"
    "02020002024600020641040000fc0002020600020645040001010102074905036672720002044002c078"
    "0209470700010180000000"
)


def _frr_negotiated(local: LocalConfig):
    from bgplab.bgp.messages import decode_message

    msg = decode_message(FRR_OPEN[18], FRR_OPEN[19:])
    return negotiate(local, msg.asn, msg.hold_time, msg.router_id, msg.capabilities)


def test_frr_default_is_helped_through_llgr_as_bird() -> None:
    """BIRD 1.6.8 and 2 keep FRR's routes for its GR restart time: the GR
    capability lists no family, but the LLGR one lists IPv4 (gr_ready)."""
    neg = _frr_negotiated(LOCAL)
    assert neg.peer_gr is not None and neg.peer_gr.restart_time == 120
    assert not neg.peer_gr_able and neg.peer_gr_ready
    assert not neg.peer_kept_forwarding
    assert neg.peer_caps[2:4] == ("restart-aware", "llgr-able")
    # `long lived graceful restart off`, or no GR offered: not helped
    import dataclasses

    assert not _frr_negotiated(dataclasses.replace(LOCAL, llgr_aware=False)).peer_gr_ready
    assert not _frr_negotiated(dataclasses.replace(LOCAL, graceful_restart=False)).peer_gr_ready


def test_gr_family_with_and_without_forwarding_bit() -> None:
    def neg(fams: tuple) -> object:
        return negotiate(LOCAL, 63400, 240, A4("10.0.0.9"),
                         (MultiProtocol(1, 1), GracefulRestartCap(90, True, False, fams)))

    aware = neg(())  # BIRD's "graceful restart aware" and empty LLGR: not helped
    assert not aware.peer_gr_ready
    kept = neg(((1, 1, True),))
    assert kept.peer_gr_ready and kept.peer_kept_forwarding
    lost = neg(((1, 1, False),))
    assert lost.peer_gr_ready and not lost.peer_kept_forwarding
