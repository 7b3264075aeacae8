from __future__ import annotations

import pytest

from bgplab.bgp.errors import BgpError
from bgplab.bgp.framer import Framer
from bgplab.bgp.messages import KEEPALIVE_WIRE, Notification, encode_message

MARK = b"\xff" * 16


def test_byte_by_byte() -> None:
    stream = KEEPALIVE_WIRE + encode_message(Notification(6, 2)) + KEEPALIVE_WIRE
    f = Framer()
    got = []
    for b in stream:
        got += f.feed(bytes([b]))
    assert got == [(4, b""), (3, b"\x06\x02"), (4, b"")]
    assert f.buffered == 0


@pytest.mark.parametrize(
    "wire,want",
    [
        (b"\x00" * 16 + b"\x00\x13\x04", (1, 1, b"")),  # bad marker
        (MARK + b"\x00\x12\x04", (1, 2, b"\x00\x12")),  # length < 19
        (MARK + b"\x10\x01\x02", (1, 2, b"\x10\x01")),  # length > 4096
        (MARK + b"\x00\x14\x04", (1, 2, b"\x00\x14")),  # keepalive with a body
        (MARK + b"\x00\x1c\x01", (1, 2, b"\x00\x1c")),  # OPEN shorter than 29
        (MARK + b"\x00\x16\x02", (1, 2, b"\x00\x16")),  # UPDATE shorter than 23
        (MARK + b"\x00\x13\x09", (1, 3, b"\x09")),  # unknown type
        (MARK + b"\x00\x18\x05", (7, 1, b"")),  # ROUTE-REFRESH length (RFC 7313)
    ],
)
def test_header_errors(wire: bytes, want: tuple[int, int, bytes]) -> None:
    f = Framer()
    with pytest.raises(BgpError) as ei:
        f.feed(wire)
    e = ei.value
    assert (e.code, e.subcode, e.data) == want
    with pytest.raises(BgpError):  # stays broken
        f.feed(KEEPALIVE_WIRE)


def test_good_messages_before_error_are_returned() -> None:
    f = Framer()
    assert f.feed(KEEPALIVE_WIRE + b"\x00" * 19) == [(4, b"")]
    assert f.error is not None
    with pytest.raises(BgpError):
        f.feed(b"")


def test_extended_message_size() -> None:
    big = MARK + (5000).to_bytes(2) + b"\x02" + b"\x00\x00\x00\x00" + bytes(5000 - 23)
    with pytest.raises(BgpError):
        Framer().feed(big)
    f = Framer()
    f.set_max_size(65535)
    assert f.feed(big)[0][0] == 2
    # OPEN stays limited to 4096 even then (RFC 8654 4)
    with pytest.raises(BgpError):
        f.feed(MARK + (5000).to_bytes(2) + b"\x01")
