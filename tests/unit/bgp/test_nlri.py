from __future__ import annotations

import pytest

from bgplab import net
from bgplab.bgp.errors import BgpError
from bgplab.bgp.nlri import decode_nlri, encode_nlri, encode_prefix


def P(s: str) -> int:
    return net.parse(s)


V4 = ["0.0.0.0/0", "10.0.0.0/8", "10.41.113.192/26", "192.0.2.1/32", "128.0.0.0/1", "10.41.0.0/16"]
V6 = ["::/0", "2001:db8::/32", "2001:db8::1/128", "fd00:1:2:3::/64", "8000::/1"]


def test_ipv4_golden_bytes() -> None:
    # RFC 4271 4.3: length octet, then just enough octets for the prefix.
    assert encode_prefix(P("10.41.113.192/26")) == bytes([26, 10, 41, 113, 192])
    assert encode_prefix(P("0.0.0.0/0")) == b"\x00"
    assert encode_prefix(P("10.0.0.0/8")) == b"\x08\x0a"
    assert encode_prefix(P("192.0.2.1/32")) == bytes([32, 192, 0, 2, 1])


@pytest.mark.parametrize("add_path", [False, True])
def test_ipv4_round_trip(add_path: bool) -> None:
    items = [(P(s), (i * 7919) if add_path else 0) for i, s in enumerate(V4)]
    wire = encode_nlri(items, add_path)
    assert decode_nlri(wire, 1, add_path) == items


@pytest.mark.parametrize("add_path", [False, True])
def test_ipv6_round_trip(add_path: bool) -> None:
    items = [(P(s), (i + 1) if add_path else 0) for i, s in enumerate(V6)]
    wire = encode_nlri(items, add_path)
    assert decode_nlri(wire, 2, add_path) == items
    assert all(net.is_v6(n) for n, _ in decode_nlri(wire, 2, add_path))


def test_add_path_golden() -> None:
    # RFC 7911 3: a 4-octet path identifier before each prefix.
    wire = encode_nlri([(P("10.0.0.0/8"), 5)], add_path=True)
    assert wire == b"\x00\x00\x00\x05\x08\x0a"


def test_host_bits_are_cleared() -> None:
    # 10.1.2.3/8 on the wire: trailing bits beyond the length are ignored.
    assert decode_nlri(bytes([8, 10]), 1) == [(P("10.0.0.0/8"), 0)]
    assert decode_nlri(bytes([12, 10, 0xFF]), 1) == [(P("10.240.0.0/12"), 0)]


@pytest.mark.parametrize(
    "wire,afi,add_path",
    [
        (bytes([33, 1, 2, 3, 4, 5]), 1, False),  # length > 32
        (bytes([24, 10, 0]), 1, False),  # truncated
        (bytes([129]) + bytes(17), 2, False),  # length > 128
        (b"\x00\x00\x00", 1, True),  # truncated path id
        (b"\x00\x00\x00\x01\x18\x0a", 1, True),  # truncated prefix after path id
    ],
)
def test_malformed_raises_invalid_network_field(wire: bytes, afi: int, add_path: bool) -> None:
    with pytest.raises(BgpError) as ei:
        decode_nlri(wire, afi, add_path)
    assert (ei.value.code, ei.value.subcode) == (3, 10)


def test_unknown_afi() -> None:
    with pytest.raises(BgpError):
        decode_nlri(b"\x00", 25)
