"""The session machine's data: per-neighbor options, one connection's state,
and what each received message and timer expiry does (as tables of method
names on :class:`~bgplab.bgp.fsm.PeerFsm`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bgplab.bgp.capabilities import Capability, LocalConfig, Negotiated
from bgplab.bgp.constants import FsmSubcode, MsgType
from bgplab.bgp.events import ConnId, State, Timer
from bgplab.bgp.framer import Framer
from bgplab.bgp.messages import Open

# For this long after a session we dialed came up, a new connection from a
# graceful-restart capable peer is its own dial crossing ours (begun before its
# end of the session came up), not its restart. A peer whose machine went away
# without closing the session cannot be back within seconds; one that is gets
# a collision Cease and retries after its connect delay.
CROSSING_WINDOW = 5.0


@dataclass(frozen=True)
class PeerConfig:
    """Per-neighbor session options (BIRD's names, BIRD 1.6 defaults)."""

    local: LocalConfig
    peer_asn: int | None  # None: accept any (BIRD requires one; tools may not)
    passive: bool = False
    connect_delay_time: int = 5
    connect_retry_time: int = 120
    error_wait_time: tuple[int, int] = (60, 300)
    error_forget_time: int = 300
    initial_hold_time: int = 240  # hold time while in OpenSent
    reject_same_router_id: bool = True  # BIRD 1.6 refuses a peer with our id
    # RFC 4271 10: connect timers get a random factor in [0.75, 1] so two
    # speakers that both dial do not collide again and again. A function
    # returning the factor (the machine itself has no randomness: tests stay
    # deterministic with None).
    jitter: Callable[[], float] | None = None


@dataclass(eq=False)
class Connection:
    """One TCP connection to the peer (or a dial in progress)."""

    conn_id: ConnId
    incoming: bool
    state: State = State.CONNECT
    framer: Framer = field(default_factory=Framer)
    sent_caps: tuple[Capability, ...] = ()
    negotiated: Negotiated | None = None
    peer_open: Open | None = None
    hold_dirty: bool = False  # restart HOLD once after this batch of input

    @property
    def alive(self) -> bool:
        return self.state >= State.OPENSENT


# What a message does in each state: method name on PeerFsm. A missing
# key is "unexpected message" (FSM error, subcode per RFC 6608).
MESSAGE_TRANSITIONS: dict[tuple[State, int], str] = {
    (State.OPENSENT, MsgType.OPEN): "_rx_open",
    (State.OPENSENT, MsgType.NOTIFICATION): "_rx_notification",
    (State.OPENCONFIRM, MsgType.KEEPALIVE): "_rx_keepalive_confirm",
    (State.OPENCONFIRM, MsgType.NOTIFICATION): "_rx_notification",
    (State.ESTABLISHED, MsgType.UPDATE): "_rx_update",
    (State.ESTABLISHED, MsgType.KEEPALIVE): "_rx_keepalive",
    (State.ESTABLISHED, MsgType.ROUTE_REFRESH): "_rx_route_refresh",
    (State.ESTABLISHED, MsgType.NOTIFICATION): "_rx_notification",
}

FSM_SUBCODE = {
    State.OPENSENT: FsmSubcode.UNEXPECTED_IN_OPENSENT,
    State.OPENCONFIRM: FsmSubcode.UNEXPECTED_IN_OPENCONFIRM,
    State.ESTABLISHED: FsmSubcode.UNEXPECTED_IN_ESTABLISHED,
}

# Timer expiries: method name on PeerFsm.
TIMER_TRANSITIONS: dict[Timer, str] = {
    Timer.CONNECT_DELAY: "_on_connect_delay",
    Timer.CONNECT_RETRY: "_on_connect_retry",
    Timer.ERROR_WAIT: "_on_error_wait",
    Timer.ERROR_FORGET: "_on_error_forget",
    Timer.HOLD: "_on_hold",
    Timer.KEEPALIVE: "_on_keepalive",
    Timer.CROSSING: "_on_crossing",
}
