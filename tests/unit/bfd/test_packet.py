"""The BFD control packet codec and RFC 5880 6.8.6's session-free checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgplab.bfd.packet import Diag, Packet, PacketError, State, decode

UP = Packet(State.UP, 0x11223344, 0x55667788, 100_000, 10_000, 3, Diag.NONE)


def test_encode_layout() -> None:
    data = UP.encode()
    assert len(data) == 24
    assert data[0] == 0x20  # version 1, diag 0
    assert data[1] == 0xC0  # state Up, no flags
    assert data[2] == 3 and data[3] == 24
    assert data[4:8] == bytes.fromhex("11223344")
    assert int.from_bytes(data[12:16]) == 100_000


def test_round_trip_with_flags() -> None:
    p = Packet(State.INIT, 7, 9, 1_000_000, 50_000, 5, Diag.EXPIRED, poll=True)
    assert decode(p.encode()) == p
    f = Packet(State.DOWN, 7, 0, 1_000_000, 50_000, 5, Diag.NEIGHBOR_DOWN, final=True)
    assert decode(f.encode()) == f


def _patch(data: bytes, i: int, value: int) -> bytes:
    b = bytearray(data)
    b[i] = value
    return bytes(b)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (UP.encode()[:23], "shorter"),
        (_patch(UP.encode(), 0, 0x40), "version 2"),
        (_patch(UP.encode(), 1, 0xC4), "authentication"),
        (_patch(UP.encode(), 1, 0xC1), "multipoint"),
        (_patch(UP.encode(), 2, 0), "multiplier 0"),
        (_patch(UP.encode(), 3, 23), "length field 23"),
        (_patch(UP.encode(), 3, 40), "length field 40"),
        (Packet(State.UP, 0, 1, 1, 1, 3).encode(), "my discriminator 0"),
        (Packet(State.UP, 1, 0, 1, 1, 3).encode(), "your discriminator 0 in state Up"),
    ],
)
def test_discarded(data: bytes, why: str) -> None:
    with pytest.raises(PacketError, match=why):
        decode(data)


def test_your_discriminator_zero_is_fine_while_down() -> None:
    p = Packet(State.DOWN, 1, 0, 1_000_000, 10_000, 5)
    assert decode(p.encode()).your_disc == 0


@given(st.binary(max_size=64))
def test_decoder_takes_any_bytes(data: bytes) -> None:
    """Whatever arrives on port 3784: a Packet or a PacketError, nothing else."""
    try:
        p = decode(data)
    except PacketError:
        return
    assert p.detect_mult > 0 and p.my_disc != 0
    assert decode(p.encode()) == p


packets = st.builds(
    Packet,
    state=st.sampled_from(State),
    my_disc=st.integers(1, 2**32 - 1),
    your_disc=st.integers(1, 2**32 - 1),
    desired_min_tx=st.integers(0, 2**32 - 1),
    required_min_rx=st.integers(0, 2**32 - 1),
    detect_mult=st.integers(1, 255),
    diag=st.sampled_from(Diag),
    poll=st.booleans(),
    final=st.booleans(),
    required_min_echo_rx=st.integers(0, 2**32 - 1),
    cpi=st.booleans(),
    demand=st.booleans(),
)


@given(packets)
def test_round_trip(p: Packet) -> None:
    assert decode(p.encode()) == p
