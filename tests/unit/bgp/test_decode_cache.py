"""The UPDATE decoder's cache of attribute blocks (bgplab.bgp.messages).

A hit must be exactly what decoding the block again returns, for every
session it can meet, and nothing that is logged or carries NLRI per UPDATE
may come from the cache.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address as A4
from ipaddress import IPv6Address as A6

import pytest

from bgplab import net
from bgplab.bgp import messages
from bgplab.bgp.attr_codec import encode_attributes
from bgplab.bgp.attrs import AS_SEQUENCE, PathAttrs
from bgplab.bgp.capabilities import Negotiated
from bgplab.bgp.messages import Update, decode_update, encode_update

NEG4 = Negotiated.default()
NEG2 = Negotiated.default(as4=False)
EBGP = replace(NEG4, ibgp=False)
SESSIONS = [None, NEG4, NEG2, EBGP, replace(NEG2, ibgp=False)]
ATTRS = PathAttrs(
    origin=0,
    as_path=((AS_SEQUENCE, (65001, 65002)),),
    next_hop=A4("198.18.0.1"),
    local_pref=200,
    originator_id=A4("10.0.0.9"),
    cluster_list=(A4("10.0.0.1"),),
)


def _body(block: bytes, nlri: bytes = b"\x18\x0a\x01\x02") -> bytes:
    return b"\x00\x00" + len(block).to_bytes(2) + block + nlri


def _fresh(body: bytes, neg: object) -> Update:
    messages._ATTR_CACHE.clear()
    return decode_update(body, neg)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    messages._ATTR_CACHE.clear()


def test_a_hit_is_what_decoding_returns_for_every_session() -> None:
    # one block, read by sessions that decode it differently: 2- and
    # 4-octet AS numbers (the AS_PATH's width), iBGP and eBGP (LOCAL_PREF,
    # ORIGINATOR_ID and CLUSTER_LIST are dropped from an eBGP peer)
    blocks = [encode_attributes(ATTRS, NEG4), encode_attributes(ATTRS, NEG2)]
    bodies = [_body(b) for b in blocks]
    want = {(i, j): _fresh(b, neg) for i, b in enumerate(bodies) for j, neg in enumerate(SESSIONS)}
    assert len({repr(u) for u in want.values()}) > 3  # the sessions do differ
    messages._ATTR_CACHE.clear()
    for _ in range(3):  # interleaved: each session meets the others' entries
        for (i, j), expected in want.items():
            got = decode_update(bodies[i], SESSIONS[j])
            assert got == expected, (i, j)
            assert got.attrs is expected.attrs  # interned either way
    assert messages._ATTR_CACHE  # and the cache was used


def test_a_route_announced_again_gets_the_same_interned_set_and_its_own_nlri() -> None:
    block = encode_attributes(ATTRS, NEG4)
    a = decode_update(_body(block, b"\x18\x0a\x01\x02"), NEG4)
    b = decode_update(_body(block, b"\x18\x0a\x01\x03\x10\x0a\x02"), NEG4)
    assert b.attrs is a.attrs
    assert [n for n, _ in a.nlri] != [n for n, _ in b.nlri] and len(b.nlri) == 2
    assert b == _fresh(_body(block, b"\x18\x0a\x01\x03\x10\x0a\x02"), NEG4)
    # withdrawals beside the announcement are the UPDATE's own too
    wd = b"\x18\x0a\x09\x09"
    c = decode_update(
        len(wd).to_bytes(2) + wd + len(block).to_bytes(2) + block + b"\x18\x0a\x01\x02", NEG4
    )
    assert [n for n, _ in c.withdrawn] and c.attrs is a.attrs


def test_blocks_with_problems_are_decoded_every_time() -> None:
    # a duplicate attribute is discarded with a problem that is logged per
    # UPDATE (RFC 7606 3.g): it must come back on every UPDATE
    block = encode_attributes(ATTRS, NEG4)
    dup = block + bytes.fromhex("40050400000064")  # LOCAL_PREF again
    for _ in range(3):
        u = decode_update(_body(dup), NEG4)
        assert u.problems and not u.treat_as_withdraw
        assert u.attrs is not None and u.attrs.local_pref == 200
    # treat-as-withdraw (NEXT_HOP missing with NLRI present) likewise
    no_nh = encode_attributes(ATTRS.replace(next_hop=None), NEG4)
    wd = b"\x18\x0a\x09\x09"
    for _ in range(3):
        # without NLRI the same block is clean (NEXT_HOP is not needed) ...
        u = decode_update(len(wd).to_bytes(2) + wd + len(no_nh).to_bytes(2) + no_nh, NEG4)
        assert not u.treat_as_withdraw and not u.problems and u.withdrawn
        # ... and with NLRI it is not
        u = decode_update(_body(no_nh), NEG4)
        assert u.treat_as_withdraw and u.attrs is None and u.nlri == []
    assert list(messages._ATTR_CACHE) == [(no_nh, False, True, True)]


def test_mp_reach_blocks_are_not_kept_and_keep_their_own_nlri() -> None:
    attrs = PathAttrs(origin=0, next_hop=A6("2001:db8::1"))
    seen = []
    for text in ("2001:db8:1::/48", "2001:db8:2::/48"):
        upd = Update(nlri=[(net.parse(text), 0)], attrs=attrs)
        wire = encode_update(upd, NEG4)
        assert len(wire) == 1
        got = decode_update(wire[0][19:], NEG4)
        assert got.attrs is not None and got.attrs.next_hop == A6("2001:db8::1")
        seen.append(got.nlri)
    assert seen == [[(net.parse("2001:db8:1::/48"), 0)], [(net.parse("2001:db8:2::/48"), 0)]]
    assert not messages._ATTR_CACHE


def test_the_cache_is_bounded() -> None:
    for k in range(messages.ATTR_CACHE_MAX + 10):
        block = encode_attributes(ATTRS.replace(local_pref=k), NEG4)
        assert decode_update(_body(block), NEG4).attrs.local_pref == k  # type: ignore[union-attr]
    assert 0 < len(messages._ATTR_CACHE) <= messages.ATTR_CACHE_MAX


def test_a_memoryview_body_decodes_as_bytes() -> None:
    body = _body(encode_attributes(ATTRS, NEG4))
    assert decode_update(memoryview(body), NEG4) == decode_update(bytearray(body), NEG4)
    assert decode_update(memoryview(body), NEG4) == _fresh(body, NEG4)
