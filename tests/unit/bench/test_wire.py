"""The load generator's wire encoding and fast counting, checked against an
independent reading of the bytes (struct/ipaddress), not against BIRD."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from bgplab.bench import scenarios, wire
from bgplab.bench.peerplan import PeerPlan, build_index, mark_update


def _walk_nlri(field: bytes, addpath: bool) -> list[tuple[int | None, str]]:
    """Reference decoder: the obvious, slow reading of RFC 4271 / RFC 7911."""
    out = []
    i = 0
    while i < len(field):
        pid = None
        if addpath:
            (pid,) = struct.unpack("!I", field[i : i + 4])
            i += 4
        plen = field[i]
        nb = (plen + 7) // 8
        addr = field[i + 1 : i + 1 + nb] + bytes(4 - nb)
        out.append((pid, f"{ipaddress.IPv4Address(addr)}/{plen}"))
        i += 1 + nb
    return out


def _split(body: bytes) -> tuple[bytes, bytes, bytes]:
    (wlen,) = struct.unpack("!H", body[:2])
    withdrawn = body[2 : 2 + wlen]
    (alen,) = struct.unpack("!H", body[2 + wlen : 4 + wlen])
    attrs = body[4 + wlen : 4 + wlen + alen]
    return withdrawn, attrs, body[4 + wlen + alen :]


def test_open_roundtrip_and_addpath_negotiation() -> None:
    msg = wire.encode_open(4200000001, 240, 0x7F0B0001, addpath=True)
    assert msg[:16] == b"\xff" * 16
    assert struct.unpack("!H", msg[16:18])[0] == len(msg)
    assert msg[18] == wire.OPEN
    info = wire.decode_open(msg[19:])
    assert info.version == 4
    assert info.asn == 4200000001  # from the AS4 capability
    assert struct.unpack("!H", msg[20:22])[0] == wire.AS_TRANS
    assert info.hold == 240
    assert info.router_id == 0x7F0B0001
    assert info.addpath_mode == 3
    assert {wire.CAP_MP, wire.CAP_RR, wire.CAP_AS4, wire.CAP_ADDPATH} <= set(info.caps)
    no_ap = wire.decode_open(wire.encode_open(63400, 90, 1, addpath=False)[19:])
    assert no_ap.addpath_mode == 0 and no_ap.asn == 63400
    # we say send+receive; the peer's bits decide each direction
    assert wire.negotiated_addpath(3, 3) == (True, True)
    assert wire.negotiated_addpath(3, 2) == (True, False)  # peer only sends
    assert wire.negotiated_addpath(3, 1) == (False, True)  # peer only receives
    assert wire.negotiated_addpath(3, 0) == (False, False)


@pytest.mark.parametrize("addpath", [False, True])
def test_packed_announces_decode_back(addpath: bool) -> None:
    prefixes = scenarios.fulltable_prefixes(3000)
    entries = [wire.nlri_entry(a, plen, 7 if addpath else None) for a, plen in prefixes]
    attrs = wire.ibgp_attributes(0xC6120005, local_pref=150, as_path=(65001, 4200000000))
    msgs = list(wire.pack_announces(entries, attrs))
    assert len(msgs) > 1  # many prefixes per UPDATE, several UPDATEs
    got = []
    for m in msgs:
        assert len(m) <= wire.MAX_MSG
        assert struct.unpack("!H", m[16:18])[0] == len(m) and m[18] == wire.UPDATE
        body = m[19:]
        withdrawn, raw_attrs, nlri = _split(body)
        assert withdrawn == b"" and raw_attrs == attrs
        got += _walk_nlri(nlri, addpath)
        assert wire.count_update(body, addpath) == (len(_walk_nlri(nlri, addpath)), 0)
    want = [(7 if addpath else None, f"{ipaddress.IPv4Address(a)}/{plen}") for a, plen in prefixes]
    assert got == want
    # attributes read back independently
    d = wire.decode_update(msgs[0][19:], addpath)
    assert d.attrs[wire.ATTR_ORIGIN] == b"\x00"
    assert d.attrs[wire.ATTR_NEXT_HOP] == ipaddress.IPv4Address("198.18.0.5").packed
    assert struct.unpack("!I", d.attrs[wire.ATTR_LOCAL_PREF])[0] == 150
    assert d.attrs[wire.ATTR_AS_PATH] == bytes((2, 2)) + struct.pack("!II", 65001, 4200000000)


def test_withdraws_and_end_of_rib() -> None:
    entries = [wire.nlri_entry((10 << 24) | (i << 6), 26) for i in range(900)]
    msgs = list(wire.pack_withdraws(entries))
    total = 0
    for m in msgs:
        withdrawn, attrs, nlri = _split(m[19:])
        assert attrs == b"" and nlri == b""
        total += len(_walk_nlri(withdrawn, False))
        assert wire.count_update(m[19:], False) == (0, len(_walk_nlri(withdrawn, False)))
    assert total == 900
    assert wire.END_OF_RIB[19:] == b"\x00\x00\x00\x00"
    assert wire.count_update(wire.END_OF_RIB[19:], True) == (0, 0)


def test_counts_mp_reach_ipv4() -> None:
    # some speakers carry IPv4 unicast in MP_REACH/MP_UNREACH
    nlri = wire.nlri_entry(0x0A000000, 24) + wire.nlri_entry(0x0B000000, 8)
    mp = struct.pack("!HBB", 1, 1, 4) + bytes(4) + b"\x00" + nlri
    unreach = struct.pack("!HB", 1, 1) + wire.nlri_entry(0x0C000000, 16)
    attrs = (
        bytes((0x80, wire.ATTR_MP_REACH, len(mp)))
        + mp
        + bytes((0x80, wire.ATTR_MP_UNREACH, len(unreach)))
        + unreach
    )
    body = struct.pack("!H", 0) + struct.pack("!H", len(attrs)) + attrs
    assert wire.count_update(body, False) == (2, 1)
    wd, ann = wire.update_ranges(body, 0, len(body))
    assert len(ann) == 1 and len(wd) == 1


def test_malformed_input_is_an_error_not_a_crash() -> None:
    with pytest.raises(wire.WireError):
        wire.count_update(b"\x00", False)
    with pytest.raises(wire.WireError):
        wire.count_update(b"\x00\x00\x00\x00" + bytes((26, 10)), False)  # truncated prefix
    with pytest.raises(wire.WireError):
        wire.split_messages(b"\x00" * 19)  # bad marker/length
    msgs, used = wire.split_messages(wire.KEEPALIVE_MSG + wire.KEEPALIVE_MSG[:10])
    assert msgs == [(wire.KEEPALIVE, b"")] and used == 19


def test_mark_update_is_exact_with_repeats_own_routes_and_withdraws() -> None:
    mine = PeerPlan("127.0.0.1", routes=[(0x0A000000, 26)], attr_sets=[b""])
    other = PeerPlan("127.0.0.2", routes=[(0x0A000040, 26), (0x0A000080, 26)], attr_sets=[b""])
    index = build_index([mine, other])
    bm = bytearray(len(index))
    bm[index[wire.prefix_bytes(0x0A000000, 26)]] = 2  # own prefix never counts
    attrs = wire.ibgp_attributes(1)
    ann = b"".join(
        wire.pack_announces(
            [wire.nlri_entry(a, 26, 1) for a in (0x0A000000, 0x0A000040, 0x0A000040, 0x0A000080)],
            attrs,
        )
    )[19:]
    n_ann, n_wd, delta, unknown = mark_update(ann, 0, len(ann), index, bm, True)
    assert (n_ann, n_wd, delta, unknown) == (4, 0, 2, 0)
    wd = b"".join(
        wire.pack_withdraws(
            [wire.nlri_entry(0x0A000040, 26, 1), wire.nlri_entry(0x0B000000, 26, 1)]
        )
    )[19:]
    assert mark_update(wd, 0, len(wd), index, bm, True) == (0, 2, -1, 0)


def test_plan_stream_both_addpath_variants() -> None:
    spec = scenarios.parse("calico-pods-4-5")
    plans = scenarios.build_plans(spec, scenarios.peer_addrs("127.10.0.1", 4))
    assert [p.expect for p in plans] == [18] * 4
    for p in plans:
        for ap in (False, True):
            msgs, used = wire.split_messages(p.stream(ap))
            assert used == len(p.stream(ap))
            counted = sum(wire.count_update(b, ap)[0] for t, b in msgs if t == wire.UPDATE)
            assert counted == 6
            assert msgs[-1] == (wire.UPDATE, b"\x00\x00\x00\x00")  # End-of-RIB
