from __future__ import annotations

from ipaddress import IPv4Address as A4
from ipaddress import IPv6Address as A6

import pytest

from bgplab.bgp.attr_codec import (
    ATTR_TABLE,
    decode_attributes,
    encode_attributes,
    merge_as4_path,
)
from bgplab.bgp.attrs import AS_CONFED_SEQUENCE, AS_SEQUENCE, AS_SET, PathAttrs
from bgplab.bgp.capabilities import Negotiated
from bgplab.bgp.constants import AS_TRANS, AttrCode
from bgplab.bgp.errors import ErrorAction

NEG4 = Negotiated.default(as4=True)
NEG2 = Negotiated.default(as4=False)

FULL = PathAttrs(
    origin=1,
    as_path=((AS_SEQUENCE, (65001, 65002)), (AS_SET, (65010, 65011))),
    next_hop=A4("192.0.2.1"),
    med=50,
    local_pref=200,
    atomic_aggregate=True,
    aggregator=(65001, A4("192.0.2.9")),
    communities=((63400, 1), (65535, 65281)),
    ext_communities=(0x0002FDE800000064,),
    large_communities=((63400, 1, 2), (4200000000, 0, 4294967295)),
    originator_id=A4("192.168.0.7"),
    cluster_list=(A4("192.168.0.40"), A4("10.0.0.1")),
)


@pytest.mark.parametrize("neg", [NEG4, NEG2], ids=["as4", "as2"])
def test_round_trip_every_attribute(neg: Negotiated) -> None:
    block = encode_attributes(FULL, neg)
    dec = decode_attributes(block, neg, has_nlri=True)
    assert dec.problems == [] and not dec.treat_as_withdraw
    assert dec.attrs == FULL


def test_decoded_attrs_are_interned() -> None:
    block = encode_attributes(FULL, NEG4)
    a = decode_attributes(block, NEG4).attrs
    b = decode_attributes(bytes(block), NEG4).attrs
    assert a is b


def test_golden_ibgp_block_4octet() -> None:
    # Written by hand from RFC 4271 4.3 / RFC 6793: flags, type, length, value.
    want = bytes.fromhex(
        "40010100"  # ORIGIN IGP
        "4002060201"
        "0000fde8"  # AS_PATH: one AS_SEQUENCE of 1 ASN, 65000
        "400304c0000201"  # NEXT_HOP 192.0.2.1
        "40050400000064"  # LOCAL_PREF 100
    )
    attrs = PathAttrs(
        origin=0, as_path=((AS_SEQUENCE, (65000,)),), next_hop=A4("192.0.2.1"), local_pref=100
    )
    assert encode_attributes(attrs, NEG4) == want
    assert decode_attributes(want, NEG4, has_nlri=True).attrs == attrs


def test_golden_as_trans_and_as4_path() -> None:
    attrs = PathAttrs(
        origin=0, as_path=((AS_SEQUENCE, (65001, 4200000000)),), next_hop=A4("192.0.2.1")
    )
    block = encode_attributes(attrs, NEG2)
    # 2-octet AS_PATH with AS_TRANS (23456 = 0x5ba0), then AS4_PATH (17),
    # optional transitive, with the real 4-octet path.
    assert bytes.fromhex("4002060202fde95ba0") in block
    assert bytes.fromhex("c0110a02020000fde9fa56ea00") in block
    # ... and the receiver merges them back (RFC 6793 4.2.3).
    assert decode_attributes(block, NEG2, has_nlri=True).attrs == attrs


def test_as4_aggregator() -> None:
    attrs = PathAttrs(
        origin=0,
        as_path=((AS_SEQUENCE, (4200000000,)),),
        next_hop=A4("192.0.2.1"),
        aggregator=(4200000000, A4("1.2.3.4")),
    )
    block = encode_attributes(attrs, NEG2)
    assert bytes.fromhex("c007065ba001020304") in block  # AGGREGATOR AS_TRANS
    assert bytes.fromhex("c01208fa56ea0001020304") in block  # AS4_AGGREGATOR
    assert decode_attributes(block, NEG2, has_nlri=True).attrs == attrs


def test_merge_as4_path_rfc6793_example() -> None:
    # An old speaker prepended 65010 after the AS4_PATH was made.
    as_path = ((AS_SEQUENCE, (65010, AS_TRANS, 65001)),)
    as4_path = ((AS_SEQUENCE, (4200000000, 65001)),)
    assert merge_as4_path(as_path, as4_path) == ((AS_SEQUENCE, (65010, 4200000000, 65001)),)


def test_merge_as4_path_longer_is_ignored() -> None:
    as_path = ((AS_SEQUENCE, (AS_TRANS,)),)
    as4_path = ((AS_SEQUENCE, (1, 2)),)
    assert merge_as4_path(as_path, as4_path) == as_path


def test_merge_keeps_confed_and_sets() -> None:
    as_path = ((AS_CONFED_SEQUENCE, (64512,)), (AS_SEQUENCE, (65010, AS_TRANS)), (AS_SET, (1, 2)))
    as4_path = ((AS_SEQUENCE, (4200000000,)), (AS_SET, (1, 2)))
    assert merge_as4_path(as_path, as4_path) == (
        (AS_CONFED_SEQUENCE, (64512,)),
        (AS_SEQUENCE, (65010, 4200000000)),
        (AS_SET, (1, 2)),
    )


def test_aggregator_from_old_speaker_disables_as4_path() -> None:
    # RFC 6793 4.2.3: AGGREGATOR not AS_TRANS -> ignore AS4_PATH/AS4_AGGREGATOR.
    block = (
        bytes.fromhex("40010100")
        + bytes.fromhex("40020402015ba0")
        + bytes.fromhex("400304c0000201")
        + bytes.fromhex("c00706fde901020304")
        + bytes.fromhex("c0110602010000fde9")
    )
    attrs = decode_attributes(block, NEG2, has_nlri=True).attrs
    assert attrs is not None
    assert attrs.as_path == ((AS_SEQUENCE, (AS_TRANS,)),)
    assert attrs.aggregator == (65001, A4("1.2.3.4"))


def test_long_as_path_is_split_into_255_segments() -> None:
    path = ((AS_SEQUENCE, tuple(range(1, 601))),)
    attrs = PathAttrs(origin=0, as_path=path, next_hop=A4("192.0.2.1"))
    block = encode_attributes(attrs, NEG4)
    # extended length flag set on AS_PATH: > 255 bytes
    assert block[4] & 0x10 and block[5] == AttrCode.AS_PATH
    assert decode_attributes(block, NEG4).attrs == attrs


def test_unknown_optional_transitive_passed_with_partial() -> None:
    block = encode_attributes(PathAttrs(origin=0), NEG4) + bytes.fromhex("c0630201ff")
    attrs = decode_attributes(block, NEG4).attrs
    assert attrs is not None and attrs.unknown == ((0xE0, 0x63, b"\x01\xff"),)
    out = encode_attributes(attrs, NEG4)
    assert out.endswith(bytes.fromhex("e0630201ff"))


def test_unknown_optional_non_transitive_dropped() -> None:
    block = encode_attributes(PathAttrs(origin=0), NEG4) + bytes.fromhex("80630201ff")
    attrs = decode_attributes(block, NEG4).attrs
    assert attrs is not None and attrs.unknown == ()
    # and never sent on, even if present in the value
    out = encode_attributes(PathAttrs(origin=0, unknown=((0x80, 0x63, b"x"),)), NEG4)
    assert b"\x63" not in out[4:]


def test_ipv6_next_hop_not_in_block() -> None:
    attrs = PathAttrs(origin=0, next_hop=A6("2001:db8::1"), next_hop_ll=A6("fe80::1"))
    block = encode_attributes(attrs, NEG4)
    assert block == bytes.fromhex("40010100") + bytes.fromhex("40020000")[:3]


def test_ebgp_drops_local_pref_originator_cluster() -> None:
    neg = Negotiated.default()
    from dataclasses import replace

    ebgp = replace(neg, ibgp=False)
    block = encode_attributes(FULL, ebgp)
    attrs = decode_attributes(block, ebgp).attrs
    assert attrs is not None
    assert attrs.local_pref is None and attrs.originator_id is None and attrs.cluster_list == ()


def test_table_is_complete() -> None:
    for code in AttrCode:
        assert code in ATTR_TABLE
    assert ATTR_TABLE[AttrCode.ORIGIN].on_error is ErrorAction.TREAT_AS_WITHDRAW
