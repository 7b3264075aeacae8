"""The rtnetlink route codec, without sockets: what we pack, we read back."""

from __future__ import annotations

import socket
import struct

import pytest

from bgplab import net
from bgplab.io.netlink import (
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    RTM_DELROUTE,
    RTM_NEWROUTE,
    FibNextHop,
    FibRoute,
    decode_addr,
    decode_link,
    decode_route,
    encode_route,
    iter_messages,
)

IDX = {"eth0": 2, "eth1": 3}
NAMES = {v: k for k, v in IDX.items()}


def roundtrip(route: FibRoute) -> FibRoute | None:
    data = encode_route("replace", route, 7, IDX)
    msgs = list(iter_messages(data))
    assert len(msgs) == 1
    mtype, flags, seq, payload = msgs[0]
    assert (mtype, seq) == (RTM_NEWROUTE, 7)
    assert flags & NLM_F_REPLACE and flags & NLM_F_CREATE
    return decode_route(payload, NAMES)


@pytest.mark.parametrize(
    "route",
    [
        FibRoute(net.parse("10.41.210.0/26"), (FibNextHop("192.168.0.40", "eth1"),)),
        FibRoute(
            net.parse("10.43.0.0/16"),
            (FibNextHop("192.168.0.7", "eth1"), FibNextHop("192.168.2.14", "eth0", 3)),
        ),
        FibRoute(net.parse("10.41.113.192/26"), kind="blackhole"),
        FibRoute(net.parse("10.45.0.0/16"), kind="unreachable", metric=32, table=100),
        FibRoute(net.parse("0.0.0.0/0"), (FibNextHop("192.168.0.1", None),), table=1000),
        FibRoute(net.parse("10.9.0.0/16"), (FibNextHop(None, "eth0"),), prefsrc="192.168.2.16"),
        FibRoute(net.parse("10.8.0.0/16"), (FibNextHop("192.168.0.9", "eth1", 1, True),)),
        FibRoute(net.parse("2001:db8::/32"), (FibNextHop("fe80::1", "eth0"),)),
    ],
)
def test_route_roundtrip(route: FibRoute) -> None:
    assert roundtrip(route) == route


def test_add_is_exclusive_replace_is_not() -> None:
    r = FibRoute(net.parse("10.43.0.0/16"), kind="blackhole")
    ((_t, add_flags, _s, _p),) = iter_messages(encode_route("add", r, 1, IDX))
    ((_t, rep_flags, _s, _p),) = iter_messages(encode_route("replace", r, 1, IDX))
    assert add_flags & NLM_F_EXCL and not add_flags & NLM_F_REPLACE
    assert rep_flags & NLM_F_REPLACE and not rep_flags & NLM_F_EXCL


def test_delete_matches_our_slot_only() -> None:
    r = FibRoute(net.parse("10.43.0.0/16"), (FibNextHop("192.168.0.7", "eth1"),), metric=5)
    ((mtype, _flags, _seq, payload),) = iter_messages(encode_route("delete", r, 1, IDX))
    assert mtype == RTM_DELROUTE
    back = decode_route(payload, NAMES)
    assert back is not None
    assert (back.dst, back.metric, back.proto, back.nexthops) == (r.dst, 5, 12, ())


def test_unknown_interface_and_bad_route_raise() -> None:
    with pytest.raises(KeyError):
        encode_route(
            "replace", FibRoute(net.parse("10.0.0.0/8"), (FibNextHop("1.2.3.4", "nosuch"),)), 1, IDX
        )
    with pytest.raises(ValueError):
        encode_route("replace", FibRoute(net.parse("10.0.0.0/8")), 1, IDX)
    with pytest.raises(ValueError):
        encode_route("frobnicate", FibRoute(net.parse("10.0.0.0/8"), kind="blackhole"), 1, IDX)


def test_several_messages_per_datagram_and_truncation() -> None:
    a = encode_route("replace", FibRoute(net.parse("10.1.0.0/16"), kind="blackhole"), 1, IDX)
    b = encode_route("replace", FibRoute(net.parse("10.2.0.0/16"), kind="prohibit"), 2, IDX)
    assert [m[2] for m in iter_messages(a + b)] == [1, 2]
    assert [m[2] for m in iter_messages(a + b[:-4])] == [1]  # a cut message is dropped


def _rta(kind: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def test_link_and_addr_decoding() -> None:
    link = struct.pack("=BxHiII", 0, 1, 3, 0x1 | 0x2 | 0x1000 | 0x10000, 0)
    link += _rta(3, b"eth1\0") + _rta(4, struct.pack("=I", 9000))
    info = decode_link(memoryview(link))
    assert (info.index, info.name, info.mtu, info.admin_up, info.link_up) == (
        3,
        "eth1",
        9000,
        True,
        True,
    )
    assert info.flag_names() == {"broadcast", "multicast"}

    addr = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 3)
    addr += _rta(1, bytes([192, 168, 0, 40])) + _rta(2, bytes([192, 168, 0, 40]))
    a = decode_addr(memoryview(addr))
    assert a is not None and (a.address, a.prefixlen, a.peer) == ("192.168.0.40", 24, None)
    assert a.prefix == net.parse("192.168.0.0/24")

    ptp = struct.pack("=BBBBI", socket.AF_INET, 32, 0, 0, 4)
    ptp += _rta(1, bytes([10, 0, 0, 2])) + _rta(2, bytes([10, 0, 0, 1]))
    p = decode_addr(memoryview(ptp))
    assert p is not None and p.address == "10.0.0.1" and p.prefix == net.parse("10.0.0.2/32")
