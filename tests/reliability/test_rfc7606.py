"""RFC 7606 (revised UPDATE error handling): one test per malformation class.

Each case builds an UPDATE by hand and checks the action the RFC prescribes:
treat-as-withdraw (the announced prefixes become withdrawals, the session
stays), attribute-discard (the route stays, the attribute goes) or session
reset (a NOTIFICATION with the given code/subcode). The last tests run the
same bytes through the session FSM to show what reaches the wire.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address as A4

import pytest

from bgplab import net
from bgplab.bgp import events as ev
from bgplab.bgp.capabilities import LocalConfig, Negotiated
from bgplab.bgp.errors import BgpError, ErrorAction
from bgplab.bgp.fsm import PeerConfig, PeerFsm
from bgplab.bgp.messages import KEEPALIVE_WIRE, Open, Update, decode_message, encode_message

NEG = Negotiated.default()
TAW = ErrorAction.TREAT_AS_WITHDRAW
DISCARD = ErrorAction.ATTRIBUTE_DISCARD

PREFIX = net.parse("10.41.113.192/26")
NLRI = bytes([26, 10, 41, 113, 192])


def attr(flags: int, code: int, value: bytes) -> bytes:
    if flags & 0x10:
        return bytes((flags, code)) + len(value).to_bytes(2) + value
    return bytes((flags, code, len(value))) + value


ORIGIN = attr(0x40, 1, b"\x00")
AS_PATH = attr(0x40, 2, bytes.fromhex("02010000f7a8"))  # AS_SEQUENCE 63400
NEXT_HOP = attr(0x40, 3, bytes([192, 168, 0, 7]))
BASE = [ORIGIN, AS_PATH, NEXT_HOP]


def body(attrs: list[bytes], nlri: bytes = NLRI, withdrawn: bytes = b"") -> bytes:
    block = b"".join(attrs)
    return len(withdrawn).to_bytes(2) + withdrawn + len(block).to_bytes(2) + block + nlri


def decode(b: bytes, neg: Negotiated = NEG) -> Update:
    msg = decode_message(2, b, neg)
    assert isinstance(msg, Update)
    return msg


def assert_taw(u: Update, code: int) -> None:
    assert u.treat_as_withdraw
    assert u.nlri == [] and (PREFIX, 0) in u.withdrawn and u.attrs is None
    assert any(p.code == code and p.action is TAW for p in u.problems), u.problems


def assert_discard(u: Update, code: int) -> None:
    assert not u.treat_as_withdraw
    assert u.nlri == [(PREFIX, 0)] and u.attrs is not None
    assert any(p.code == code and p.action is DISCARD for p in u.problems), u.problems


def assert_reset(b: bytes, code: int, subcode: int, neg: Negotiated = NEG) -> BgpError:
    with pytest.raises(BgpError) as ei:
        decode_message(2, b, neg)
    e = ei.value
    assert (e.code, e.subcode) == (code, subcode)
    assert e.action is ErrorAction.SESSION_RESET
    return e


def test_well_formed_baseline() -> None:
    u = decode(body(BASE))
    assert u.nlri == [(PREFIX, 0)] and not u.problems and not u.treat_as_withdraw


# ---------------------------------------------------------------- bad length


@pytest.mark.parametrize(
    "code,flags,value",
    [
        (1, 0x40, b"\x00\x00"),  # ORIGIN: 1 octet
        (3, 0x40, b"\xc0\xa8\x00\x07\x00"),  # NEXT_HOP: 4 octets
        (4, 0x80, b"\x00\x00\x01"),  # MED: 4 octets
        (5, 0x40, b"\x00\x64"),  # LOCAL_PREF: 4 octets
        (8, 0xC0, b"\x00\x01\x00\x02\x03"),  # COMMUNITIES: multiple of 4
        (8, 0xC0, b""),  # COMMUNITIES: non-zero
        (9, 0x80, b"\x01\x02\x03"),  # ORIGINATOR_ID: 4 octets
        (10, 0x80, b"\x01\x02\x03\x04\x05\x06"),  # CLUSTER_LIST: multiple of 4
        (16, 0xC0, bytes(7)),  # EXTENDED_COMMUNITIES: multiple of 8
        (32, 0xC0, bytes(11)),  # LARGE_COMMUNITIES: multiple of 12 (RFC 8092)
    ],
)
def test_bad_length_treat_as_withdraw(code: int, flags: int, value: bytes) -> None:
    attrs = [a for a in BASE if a[1] != code] + [attr(flags, code, value)]
    assert_taw(decode(body(attrs)), code)


@pytest.mark.parametrize(
    "code,flags,value",
    [
        (6, 0x40, b"\x01"),  # ATOMIC_AGGREGATE: 0 octets (RFC 7606 7.6)
        (7, 0xC0, bytes(7)),  # AGGREGATOR: 8 octets on a 4-octet session (7.7)
        (18, 0xC0, bytes(5)),  # AS4_AGGREGATOR (RFC 6793 6)
    ],
)
def test_bad_length_attribute_discard(code: int, flags: int, value: bytes) -> None:
    neg = NEG if code != 18 else replace(NEG, as4=False)
    as_path = AS_PATH if code != 18 else attr(0x40, 2, bytes.fromhex("0201f7a8"))
    u = decode(body([ORIGIN, as_path, NEXT_HOP, attr(flags, code, value)]), neg)
    assert_discard(u, code)
    assert u.attrs.aggregator is None and not u.attrs.atomic_aggregate


def test_attribute_overruns_the_block_is_treat_as_withdraw() -> None:
    # RFC 7606 4: the last attribute claims more octets than the block has.
    block = ORIGIN + AS_PATH + NEXT_HOP + bytes([0x40, 5, 10, 0, 0])
    b = b"\x00\x00" + len(block).to_bytes(2) + block + NLRI
    assert_taw(decode(b), 5)


def test_total_attribute_length_too_large_is_session_reset() -> None:
    block = b"".join(BASE)
    b = b"\x00\x00" + (len(block) + 50).to_bytes(2) + block
    assert_reset(b, 3, 1)


def test_withdrawn_length_too_large_is_session_reset() -> None:
    assert_reset(b"\x00\x40\x00\x00", 3, 1)


# ---------------------------------------------------------------- bad flags


@pytest.mark.parametrize(
    "code,flags,value",
    [
        (1, 0xC0, b"\x00"),  # ORIGIN marked optional
        (3, 0x00, bytes([192, 168, 0, 7])),  # NEXT_HOP not transitive
        (2, 0x60, bytes.fromhex("02010000f7a8")),  # well-known with PARTIAL set
        (8, 0x80, bytes(4)),  # COMMUNITIES not transitive
        (4, 0xC0, bytes(4)),  # MED marked transitive
    ],
)
def test_bad_flags_treat_as_withdraw(code: int, flags: int, value: bytes) -> None:
    attrs = [a for a in BASE if a[1] != code] + [attr(flags, code, value)]
    assert_taw(decode(body(attrs)), code)


def test_bad_flags_on_aggregator_is_attribute_discard() -> None:
    u = decode(body(BASE + [attr(0x80, 7, bytes.fromhex("0000fde801020304"))]))
    assert_discard(u, 7)


# ---------------------------------------------------------------- missing mandatory


@pytest.mark.parametrize("missing", [1, 2, 3])
def test_missing_mandatory_is_treat_as_withdraw(missing: int) -> None:
    u = decode(body([a for a in BASE if a[1] != missing]))
    assert u.treat_as_withdraw and u.withdrawn == [(PREFIX, 0)] and u.nlri == []
    assert any("missing mandatory" in p.reason for p in u.problems)


def test_no_attributes_at_all_with_nlri_is_treat_as_withdraw() -> None:
    u = decode(body([]))
    assert u.treat_as_withdraw and u.withdrawn == [(PREFIX, 0)]


def test_next_hop_not_needed_for_mp_reach_only() -> None:
    mp = attr(0x90, 14, bytes.fromhex("0002011020010db8000000000000000000000001002020010db8"))
    u = decode(body([mp, ORIGIN, AS_PATH], nlri=b""))
    assert not u.treat_as_withdraw and u.nlri == [(net.parse("2001:db8::/32"), 0)]


def test_missing_attributes_without_nlri_is_harmless() -> None:
    u = decode(body([attr(0x80, 4, bytes(4))], nlri=b"", withdrawn=NLRI))
    assert not u.treat_as_withdraw and u.withdrawn == [(PREFIX, 0)]


# ---------------------------------------------------------------- duplicates


def test_duplicate_attribute_keeps_the_first() -> None:
    # RFC 7606 3.g: discard all but the first occurrence.
    u = decode(body(BASE + [attr(0x40, 1, b"\x02")]))
    assert_discard(u, 1)
    assert u.attrs.origin == 0


def test_duplicate_mp_reach_is_session_reset() -> None:
    mp = attr(0x90, 14, bytes.fromhex("0002011020010db8000000000000000000000001002020010db8"))
    assert_reset(body([mp, mp, ORIGIN, AS_PATH], nlri=b""), 3, 1)


# ---------------------------------------------------------------- ORIGIN value


@pytest.mark.parametrize("value", [3, 7, 255])
def test_bad_origin_value(value: int) -> None:
    u = decode(body([attr(0x40, 1, bytes([value])), AS_PATH, NEXT_HOP]))
    assert_taw(u, 1)


# ---------------------------------------------------------------- AS_PATH


@pytest.mark.parametrize(
    "value",
    [
        bytes.fromhex("05010000f7a8"),  # unknown segment type
        bytes.fromhex("02020000f7a8"),  # segment overruns the attribute
        bytes.fromhex("0200"),  # zero-length segment
        bytes.fromhex("02010000f7a802"),  # trailing octet
    ],
)
def test_malformed_as_path_is_treat_as_withdraw(value: bytes) -> None:
    u = decode(body([ORIGIN, attr(0x40, 2, value), NEXT_HOP]))
    assert_taw(u, 2)


def test_malformed_as4_path_is_attribute_discard() -> None:
    neg = replace(NEG, as4=False)
    as_path = attr(0x40, 2, bytes.fromhex("02015ba0"))
    as4 = attr(0xC0, 17, bytes.fromhex("0203fa56ea00"))  # claims 3 ASNs, has 1
    u = decode(body([ORIGIN, as_path, NEXT_HOP, as4]), neg)
    assert_discard(u, 17)
    assert u.attrs.as_path == ((2, (23456,)),)


# ---------------------------------------------------------------- NEXT_HOP


@pytest.mark.parametrize("nh", ["0.0.0.0", "224.0.0.5", "255.255.255.255"])
def test_bad_next_hop_is_treat_as_withdraw(nh: str) -> None:
    u = decode(body([ORIGIN, AS_PATH, attr(0x40, 3, A4(nh).packed)]))
    assert_taw(u, 3)


# ---------------------------------------------------------------- MP_REACH / MP_UNREACH


@pytest.mark.parametrize(
    "value",
    [
        bytes.fromhex("0002"),  # too short for AFI/SAFI/next hop length
        bytes.fromhex("00020120" + "00" * 8),  # next hop overruns the attribute
        bytes.fromhex("00020105" + "0102030405" + "00" + "2020010db8"),  # next hop length 5
    ],
)
def test_bad_mp_reach_is_session_reset(value: bytes) -> None:
    # RFC 7606 7.11: the NLRI cannot be located -> session reset.
    assert_reset(body([attr(0x90, 14, value), ORIGIN, AS_PATH], nlri=b""), 3, 9)


def test_bad_nlri_inside_mp_reach_is_session_reset() -> None:
    mp = attr(0x90, 14, bytes.fromhex("00020110" + "20010db8" + "00" * 12 + "00" + "8120010db8"))
    assert_reset(body([mp, ORIGIN, AS_PATH], nlri=b""), 3, 10)


def test_bad_mp_unreach_is_session_reset() -> None:
    assert_reset(body([attr(0x90, 15, b"\x00\x02")], nlri=b""), 3, 9)


def test_mp_reach_for_family_not_negotiated_is_ignored() -> None:
    neg = replace(NEG, families=frozenset({(1, 1)}))
    mp = attr(0x90, 14, bytes.fromhex("0002011020010db8000000000000000000000001002020010db8"))
    u = decode(body([mp] + BASE), neg)
    assert u.nlri == [(PREFIX, 0)] and u.attrs is not None
    assert any(p.code == 14 and p.action is DISCARD for p in u.problems)


# ---------------------------------------------------------------- NLRI length


@pytest.mark.parametrize(
    "nlri,withdrawn",
    [
        (bytes([33, 10, 0, 0, 0, 0]), b""),  # prefix length > 32
        (bytes([24, 10, 0]), b""),  # truncated prefix
        (b"", bytes([40, 1, 2, 3, 4, 5])),  # bad withdrawn prefix
    ],
)
def test_bad_nlri_length_is_session_reset(nlri: bytes, withdrawn: bytes) -> None:
    assert_reset(body(BASE, nlri=nlri, withdrawn=withdrawn), 3, 10)


def test_bad_add_path_nlri_is_session_reset() -> None:
    neg = Negotiated.default(add_path=[(1, 1)])
    assert_reset(body(BASE, nlri=b"\x00\x00\x00\x01\x1a\x0a"), 3, 10, neg)


# ---------------------------------------------------------------- unknown well-known


def test_unknown_well_known_is_session_reset_with_data() -> None:
    unknown = attr(0x40, 99, b"\x01\x02")
    e = assert_reset(body(BASE + [unknown]), 3, 2)
    assert e.data == unknown  # RFC 4271 6.3: the attribute is the data


def test_unknown_optional_is_not_an_error() -> None:
    u = decode(body(BASE + [attr(0xC0, 99, b"\x01\x02"), attr(0x80, 98, b"\x03")]))
    assert not u.problems and u.attrs.unknown == ((0xE0, 99, b"\x01\x02"),)


# ---------------------------------------------------------------- through the FSM


def _established() -> tuple[PeerFsm, object]:
    cfg = PeerConfig(LocalConfig(63400, A4("192.168.0.40")), 63400, passive=True)
    fsm = PeerFsm(cfg)
    fsm.start()
    fsm.connection_made("c", incoming=True)
    peer = LocalConfig(63400, A4("192.168.0.7"))
    fsm.data_received(
        "c",
        encode_message(Open.make(63400, 240, peer.router_id, peer.open_capabilities()))
        + KEEPALIVE_WIRE,
    )
    fsm.events()
    assert fsm.established
    return fsm, "c"


def _wire(b: bytes) -> bytes:
    return b"\xff" * 16 + (19 + len(b)).to_bytes(2) + b"\x02" + b


def test_fsm_treat_as_withdraw_keeps_session() -> None:
    fsm, cid = _established()
    fsm.data_received(cid, _wire(body([attr(0x40, 1, b"\x09"), AS_PATH, NEXT_HOP])))
    out = fsm.events()
    ups = [e.update for e in out if isinstance(e, ev.UpdateReceived)]
    assert ups and ups[0].treat_as_withdraw and ups[0].withdrawn == [(PREFIX, 0)]
    assert not [e for e in out if isinstance(e, ev.NotificationSent)]
    logs = [e.text for e in out if isinstance(e, ev.Log)]
    assert any("ORIGIN" in t and "treat-as-withdraw" in t for t in logs)
    assert fsm.established


@pytest.mark.parametrize(
    "b,code,subcode",
    [
        (body(BASE + [attr(0x40, 99, b"")]), 3, 2),
        (body(BASE, nlri=bytes([33, 1, 2, 3, 4, 5])), 3, 10),
        (body([attr(0x90, 14, b"\x00\x02"), ORIGIN, AS_PATH], nlri=b""), 3, 9),
    ],
)
def test_fsm_session_reset_sends_notification(b: bytes, code: int, subcode: int) -> None:
    fsm, cid = _established()
    fsm.data_received(cid, _wire(b))
    out = fsm.events()
    sent = [e.notification for e in out if isinstance(e, ev.NotificationSent)]
    assert [(n.code, n.subcode) for n in sent] == [(code, subcode)]
    down = [e for e in out if isinstance(e, ev.SessionDown)]
    assert (
        down
        and down[0].error is not None
        and (down[0].error.code, down[0].error.subcode) == (code, subcode)
    )
    assert not fsm.established and ev.CloseConnection(cid) in out


def test_attribute_overrun_without_locatable_nlri_is_session_reset() -> None:
    # No classic NLRI and no MP attribute parsed before the broken one: an
    # MP_REACH may hide in the rest, so the NLRI cannot be withdrawn.
    block = ORIGIN + AS_PATH + bytes([0x90, 14, 0x01, 0x00, 0x00, 0x02])
    b = b"\x00\x00" + len(block).to_bytes(2) + block
    assert_reset(b, 3, 1)
