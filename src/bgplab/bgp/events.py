"""Inputs and outputs of the sans-I/O session machine (:mod:`bgplab.bgp.fsm`).

The FSM never touches a socket or a clock: the shell feeds it bytes,
connection changes and timer expiries, then drains these events and acts on
them (write bytes, dial, close, arm or cancel a timer, update the RIB).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass

from bgplab.bgp.capabilities import Negotiated
from bgplab.bgp.errors import BgpError
from bgplab.bgp.messages import Notification, RouteRefresh, Update

ConnId = Hashable


class State(enum.IntEnum):
    """BGP states in BIRD's order (the shown state is the highest one)."""

    IDLE = 0
    CONNECT = 1
    ACTIVE = 2
    OPENSENT = 3
    OPENCONFIRM = 4
    ESTABLISHED = 5

    @property
    def text(self) -> str:
        """As in ``show protocols``: Idle, Connect, Active, OpenSent, ..."""
        return _STATE_TEXT[self]


_STATE_TEXT = {
    State.IDLE: "Idle",
    State.CONNECT: "Connect",
    State.ACTIVE: "Active",
    State.OPENSENT: "OpenSent",
    State.OPENCONFIRM: "OpenConfirm",
    State.ESTABLISHED: "Established",
}


class Timer(enum.Enum):
    CONNECT_DELAY = "connect delay"  # before dialing (BIRD "connect delay time")
    CONNECT_RETRY = "connect retry"  # a dial that hangs is retried
    ERROR_WAIT = "error wait"  # back-off before restarting after an error
    ERROR_FORGET = "error forget"  # error-free this long: back-off resets
    HOLD = "hold"  # per connection
    KEEPALIVE = "keepalive"  # per connection
    CROSSING = "crossing"  # a session we dialed is new: the peer's own dial may still arrive


@dataclass(frozen=True, slots=True)
class StateChanged:
    old: State
    new: State


@dataclass(frozen=True, slots=True)
class Established:
    negotiated: Negotiated
    conn_id: ConnId


@dataclass(frozen=True, slots=True)
class UpdateReceived:
    update: Update


@dataclass(frozen=True, slots=True)
class RouteRefreshReceived:
    msg: RouteRefresh


@dataclass(frozen=True, slots=True)
class NotificationReceived:
    notification: Notification
    conn_id: ConnId = None


@dataclass(frozen=True, slots=True)
class NotificationSent:
    notification: Notification
    conn_id: ConnId = None


@dataclass(frozen=True, slots=True)
class SessionDown:
    """The Established session ended: flush the peer's routes, or keep them
    stale when ``graceful`` (the peer can restart gracefully, RFC 4724)."""

    reason: str
    error: BgpError | None = None
    notification: Notification | None = None
    graceful: bool = False


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)arm a timer; an armed one with the same key is replaced."""

    timer: Timer
    seconds: float
    conn_id: ConnId = None


@dataclass(frozen=True, slots=True)
class StopTimer:
    timer: Timer
    conn_id: ConnId = None


@dataclass(frozen=True, slots=True)
class OpenConnection:
    """Dial the peer; report with ``connection_made(conn_id, False)`` or
    ``connection_lost(conn_id, reason)``."""

    conn_id: ConnId


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Close (or stop dialing) after writing what was queued before it."""

    conn_id: ConnId


@dataclass(frozen=True, slots=True)
class Write:
    conn_id: ConnId
    data: bytes


@dataclass(frozen=True, slots=True)
class Log:
    """Something worth a log line (collisions, RFC 7606 problems, ...)."""

    text: str


Event = (
    StateChanged
    | Established
    | UpdateReceived
    | RouteRefreshReceived
    | NotificationReceived
    | NotificationSent
    | SessionDown
    | StartTimer
    | StopTimer
    | OpenConnection
    | CloseConnection
    | Write
    | Log
)
