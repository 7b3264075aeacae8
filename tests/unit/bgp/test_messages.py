from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address as A4
from ipaddress import IPv6Address as A6

import pytest

from bgplab import net
from bgplab.bgp.attr_codec import encode_attributes, mp_next_hop
from bgplab.bgp.attrs import AS_SEQUENCE, PathAttrs
from bgplab.bgp.capabilities import (
    AddPathCap,
    As4Cap,
    GracefulRestartCap,
    LocalConfig,
    MultiProtocol,
    Negotiated,
    UnknownCap,
)
from bgplab.bgp.errors import BgpError
from bgplab.bgp.framer import Framer
from bgplab.bgp.messages import (
    KEEPALIVE_WIRE,
    Keepalive,
    Notification,
    Open,
    RouteRefresh,
    Update,
    decode_message,
    encode_message,
    pack_eor,
    pack_updates,
    pack_withdraws,
)

NEG = Negotiated.default()
NEG_AP = Negotiated.default(add_path=[(1, 1), (2, 1)])
ATTRS = PathAttrs(
    origin=0,
    as_path=((AS_SEQUENCE, (63400,)),),
    next_hop=A4("192.168.0.7"),
    local_pref=100,
    communities=((63400, 100),),
)
ATTRS6 = ATTRS.replace(next_hop=A6("2001:db8::7"), next_hop_ll=A6("fe80::7"))


def P(s: str) -> int:
    return net.parse(s)


def roundtrip(msg, neg=NEG):
    wire = encode_message(msg, neg)
    frames = Framer(neg.max_message_size).feed(wire)
    assert len(frames) == 1
    return decode_message(frames[0][0], frames[0][1], neg)


def test_keepalive() -> None:
    assert encode_message(Keepalive()) == b"\xff" * 16 + b"\x00\x13\x04" == KEEPALIVE_WIRE
    assert isinstance(roundtrip(Keepalive()), Keepalive)


def test_open_round_trip_with_all_capabilities() -> None:
    local = LocalConfig(
        4200000000,
        A4("192.168.0.40"),
        families=((1, 1), (2, 1)),
        add_path={(1, 1): 3, (2, 1): 1},
        graceful_restart=True,
        gr_restarting=True,
        gr_forwarding=True,
        llgr=True,
        extended_message=True,
    )
    msg = Open.make(local.asn, 240, local.router_id, local.open_capabilities())
    assert msg.asn == 23456  # AS_TRANS in the 2-octet field
    got = roundtrip(msg)
    assert got == msg
    assert As4Cap(4200000000) in got.capabilities
    assert AddPathCap(((1, 1, 3), (2, 1, 1))) in got.capabilities
    assert GracefulRestartCap(120, True, False, ((1, 1, True), (2, 1, True))) in got.capabilities


def test_open_golden_by_hand() -> None:
    # OPEN, AS 63400, hold 240, id 192.168.0.40, one Capabilities parameter
    # with MP IPv4 unicast, route refresh, AS4 63400, enhanced route refresh
    # (written by hand from RFC 4271 4.2, RFC 5492, RFC 6793, RFC 7313).
    wire = bytes.fromhex(
        "ffffffffffffffffffffffffffffffff"
        "002f"
        "01"
        "04"
        "f7a8"
        "00f0"
        "c0a80028"
        "12"
        "02"
        "10"
        "010400010001"
        "0200"
        "41040000f7a8"
        "4600"
    )
    local = LocalConfig(63400, A4("192.168.0.40"))
    msg = Open.make(63400, 240, local.router_id, local.open_capabilities())
    assert encode_message(msg) == wire
    assert decode_message(1, wire[19:]) == msg


def test_open_unknown_capability_kept_raw() -> None:
    msg = Open(4, 65000, 90, A4("1.2.3.4"), (UnknownCap(73, b"\x03abc"),))
    assert roundtrip(msg) == msg


def test_open_rfc9072_extended_parameters() -> None:
    caps = bytes.fromhex("010400010001")
    params = b"\x02" + len(caps).to_bytes(2) + caps
    body = bytes.fromhex("04fde800b401020304") + b"\xff\xff" + len(params).to_bytes(2) + params
    msg = decode_message(1, body)
    assert isinstance(msg, Open) and msg.capabilities == (MultiProtocol(1, 1),)


def test_open_unsupported_optional_parameter() -> None:
    body = bytes.fromhex("04fde800b40102030403010100")
    with pytest.raises(BgpError) as ei:
        decode_message(1, body)
    assert (ei.value.code, ei.value.subcode) == (2, 4)


def test_open_bad_version() -> None:
    body = bytes.fromhex("03fde800b40102030400")
    with pytest.raises(BgpError) as ei:
        decode_message(1, body)
    assert (ei.value.code, ei.value.subcode, ei.value.data) == (2, 1, b"\x00\x04")


@pytest.mark.parametrize("neg", [NEG, NEG_AP], ids=["plain", "add-path"])
def test_update_ipv4_round_trip(neg: Negotiated) -> None:
    ap = bool(neg.add_path_rx)
    msg = Update(
        withdrawn=[(P("10.41.57.192/26"), 2 if ap else 0)],
        nlri=[(P("10.41.113.192/26"), 1 if ap else 0), (P("10.43.0.0/16"), 3 if ap else 0)],
        attrs=ATTRS,
    )
    assert roundtrip(msg, neg) == msg


@pytest.mark.parametrize("neg", [NEG, NEG_AP], ids=["plain", "add-path"])
def test_update_ipv6_mp_reach_round_trip(neg: Negotiated) -> None:
    ap = bool(neg.add_path_rx)
    msg = Update(nlri=[(P("2001:db8:1::/48"), 9 if ap else 0)], attrs=ATTRS6)
    got = roundtrip(msg, neg)
    assert got.nlri == msg.nlri
    assert got.attrs == ATTRS6  # next hop + link-local came from MP_REACH


def test_update_ipv6_mp_unreach_round_trip() -> None:
    msg = Update(withdrawn=[(P("2001:db8:1::/48"), 0), (P("::/0"), 0)])
    got = roundtrip(msg)
    assert got.withdrawn == msg.withdrawn and got.nlri == [] and got.eor is None


@pytest.mark.parametrize("afi", [1, 2])
def test_end_of_rib(afi: int) -> None:
    wire = pack_eor(afi, 1)
    got = decode_message(2, wire[19:], NEG)
    assert got == Update(eor=(afi, 1))
    assert encode_message(Update(eor=(afi, 1))) == wire
    if afi == 1:
        assert wire == b"\xff" * 16 + b"\x00\x17\x02\x00\x00\x00\x00"
    else:
        assert wire[19:] == bytes.fromhex("00000006800f03000201")


def test_notification_and_shutdown_communication() -> None:
    n = Notification.cease(2, "maintenance until 14:00")
    assert n.data == bytes([23]) + b"maintenance until 14:00"
    got = roundtrip(n)
    assert got == n
    assert got.shutdown_message == "maintenance until 14:00"
    assert got.describe() == 'Administrative shutdown: "maintenance until 14:00"'
    assert Notification(4, 0).describe() == "Hold timer expired"
    assert Notification(6, 4).describe() == "Administrative reset"
    assert Notification(9, 9).describe() == "Unknown error 9.9"


def test_shutdown_communication_truncated_is_ignored() -> None:
    n = Notification(6, 2, b"\x10abc")
    assert n.shutdown_message is None
    assert n.describe() == "Administrative shutdown"


@pytest.mark.parametrize("subtype", [0, 1, 2])
def test_route_refresh(subtype: int) -> None:
    msg = RouteRefresh(2, 1, subtype)
    assert roundtrip(msg) == msg
    assert encode_message(msg)[19:] == bytes([0, 2, subtype, 1])


def test_route_refresh_bad_length() -> None:
    with pytest.raises(BgpError) as ei:
        decode_message(5, b"\x00\x01\x00")
    assert (ei.value.code, ei.value.subcode) == (7, 1)


@pytest.mark.parametrize("neg", [NEG, NEG_AP], ids=["plain", "add-path"])
def test_pack_updates_splits_at_4096(neg: Negotiated) -> None:
    items = [(net.make(0x0A000000 + (i << 8), 24), i) for i in range(3000)]
    block = encode_attributes(ATTRS, neg)
    wires = pack_updates(block, items, neg)
    assert len(wires) > 1
    assert all(len(w) <= 4096 for w in wires)
    got = []
    for w in wires:
        for t, body in Framer().feed(w):
            u = decode_message(t, body, neg)
            assert u.attrs == ATTRS
            got += u.nlri
    want = items if neg.add_path_tx else [(n, 0) for n, _ in items]
    assert got == want


def test_pack_updates_ipv6_and_extended_message() -> None:
    neg = replace(NEG, extended_message=True, max_message_size=65535)
    items = [(net.make((0x20010DB8 << 96) + (i << 64), 64, v6=True), 0) for i in range(5000)]
    block = encode_attributes(ATTRS6, neg)
    wires = pack_updates(block, items, neg, afi=2, next_hop=mp_next_hop(ATTRS6))
    assert all(len(w) <= 65535 for w in wires)
    assert any(len(w) > 4096 for w in wires)
    framer = Framer(65535)
    got = []
    for t, body in framer.feed(b"".join(wires)):
        u = decode_message(t, body, neg)
        assert u.attrs == ATTRS6
        got += u.nlri
    assert got == items


@pytest.mark.parametrize("afi", [1, 2])
def test_pack_withdraws(afi: int) -> None:
    if afi == 1:
        items = [(net.make(0x0A000000 + (i << 8), 24), 0) for i in range(2000)]
    else:
        items = [(net.make((0x20010DB8 << 96) + (i << 64), 64, v6=True), 0) for i in range(2000)]
    wires = pack_withdraws(items, NEG, afi)
    assert len(wires) > 1 and all(len(w) <= 4096 for w in wires)
    got = []
    for w in wires:
        u = decode_message(2, w[19:], NEG)
        assert u.nlri == [] and u.attrs is None
        got += u.withdrawn
    assert got == items


def test_mp_reach_comes_first() -> None:
    # RFC 7606 5.1: MP_REACH_NLRI is the first attribute.
    block = encode_attributes(ATTRS6, NEG)
    w = pack_updates(block, [(P("2001:db8::/32"), 0)], NEG, afi=2, next_hop=mp_next_hop(ATTRS6))[0]
    assert w[23:25] == b"\x90\x0e"


def test_open_with_many_capabilities_uses_several_parameters() -> None:
    caps = tuple(UnknownCap(200 + i, bytes(40)) for i in range(5))
    msg = Open(4, 65000, 90, A4("1.2.3.4"), caps)
    wire = encode_message(msg)
    assert wire[28] == len(wire) - 29  # optional parameters length
    assert decode_message(1, wire[19:]) == msg


def test_big_update_is_split_by_encode_message() -> None:
    v4 = [(net.make(0x0A000000 + (i << 8), 24), 0) for i in range(1500)]
    v6 = [(net.make((0x20010DB8 << 96) + (i << 64), 64, v6=True), 0) for i in range(300)]
    msg = Update(withdrawn=v4[:700] + v6, nlri=v4[700:], attrs=ATTRS)
    wire = encode_message(msg, NEG)
    frames = Framer().feed(wire)
    assert len(frames) > 2
    wd, nl = [], []
    for t, body in frames:
        u = decode_message(t, body, NEG)
        wd += u.withdrawn
        nl += u.nlri
    assert wd == msg.withdrawn and nl == msg.nlri
