"""BFD control packets (RFC 5880 4.1) and the receive checks of 6.8.6 that
need nothing but the packet itself."""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

VERSION = 1
HEADER_LEN = 24
_FMT = struct.Struct("!BBBBIIIII")


class State(enum.IntEnum):
    """Session states as on the wire (RFC 5880 4.1)."""

    ADMIN_DOWN = 0
    DOWN = 1
    INIT = 2
    UP = 3

    @property
    def text(self) -> str:
        """As BIRD's ``show bfd sessions`` prints it."""
        return ("AdminDown", "Down", "Init", "Up")[self]


class Diag(enum.IntEnum):
    """Why the local session last left Up (RFC 5880 4.1)."""

    NONE = 0
    EXPIRED = 1  # control detection time expired
    ECHO_FAILED = 2
    NEIGHBOR_DOWN = 3  # neighbor signaled session down
    FWD_RESET = 4
    PATH_DOWN = 5
    CONCAT_DOWN = 6
    ADMIN_DOWN = 7
    REV_CONCAT_DOWN = 8


class PacketError(ValueError):
    """A packet that RFC 5880 6.8.6 says to discard; the text says why."""


@dataclass(frozen=True, slots=True)
class Packet:
    """One control packet. Intervals are in microseconds, as on the wire."""

    state: State
    my_disc: int
    your_disc: int
    desired_min_tx: int
    required_min_rx: int
    detect_mult: int
    diag: Diag = Diag.NONE
    poll: bool = False
    final: bool = False
    required_min_echo_rx: int = 0
    cpi: bool = False  # control plane independent
    demand: bool = False

    def encode(self) -> bytes:
        flags = (
            (self.state << 6)
            | (0x20 if self.poll else 0)
            | (0x10 if self.final else 0)
            | (0x08 if self.cpi else 0)
            | (0x02 if self.demand else 0)
        )
        return _FMT.pack(
            (VERSION << 5) | self.diag,
            flags,
            self.detect_mult,
            HEADER_LEN,
            self.my_disc,
            self.your_disc,
            self.desired_min_tx,
            self.required_min_rx,
            self.required_min_echo_rx,
        )


def decode(data: bytes) -> Packet:
    """Parse and check one packet (RFC 5880 6.8.6, the checks that need no
    session). Authentication is not supported: a packet with the A bit is
    discarded, as the RFC asks when no authentication is configured."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"packet of {len(data)} bytes is shorter than {HEADER_LEN}")
    b0, b1, mult, length, my, your, tx, rx, echo = _FMT.unpack_from(data)
    if b0 >> 5 != VERSION:
        raise PacketError(f"version {b0 >> 5}")
    if b1 & 0x04:
        raise PacketError("authentication is not configured")
    if length < HEADER_LEN or length > len(data):
        raise PacketError(f"length field {length} for {len(data)} bytes")
    if mult == 0:
        raise PacketError("detect multiplier 0")
    if b1 & 0x01:
        raise PacketError("multipoint bit set")
    if my == 0:
        raise PacketError("my discriminator 0")
    state = State(b1 >> 6)
    if your == 0 and state not in (State.DOWN, State.ADMIN_DOWN):
        raise PacketError(f"your discriminator 0 in state {state.text}")
    diag = b0 & 0x1F
    return Packet(
        state=state,
        my_disc=my,
        your_disc=your,
        desired_min_tx=tx,
        required_min_rx=rx,
        detect_mult=mult,
        diag=Diag(diag) if diag <= Diag.REV_CONCAT_DOWN else Diag.NONE,
        poll=bool(b1 & 0x20),
        final=bool(b1 & 0x10),
        required_min_echo_rx=echo,
        cpi=bool(b1 & 0x08),
        demand=bool(b1 & 0x02),
    )
