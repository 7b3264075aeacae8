"""One BFD session's state machine (RFC 5880 6.8), asynchronous mode.

The shell feeds it checked packets (:func:`bgplab.bfd.packet.decode`) and
timer expiries, then drains :meth:`Session.events`: bytes to send, timers to
arm or stop, state changes. Intervals are microseconds, as on the wire;
timer requests are seconds.

As BIRD 1.6: the transmit interval is ``idle tx interval`` until the session
is Up and ``min tx interval`` while it is; each change starts a Poll Sequence
(6.5), and a slower rate waits for its Final (6.8.3). A passive session sends
nothing until it has heard from its peer (6.1). Echo and demand mode are not
offered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from bgplab.bfd.packet import Diag, Packet, State

US = 1_000_000


class Timer(enum.Enum):
    TX = "tx"  # next periodic packet
    DETECT = "detect"  # nothing heard for the detection time


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes


@dataclass(frozen=True, slots=True)
class StartTimer:
    timer: Timer
    seconds: float


@dataclass(frozen=True, slots=True)
class StopTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class StateChanged:
    old: State
    new: State
    diag: Diag


Event = Send | StartTimer | StopTimer | StateChanged


@dataclass(frozen=True, slots=True)
class Options:
    """BIRD 1.6's per-interface BFD options, in microseconds; its defaults."""

    min_rx: int = 10_000
    min_tx: int = 100_000
    idle_tx: int = 1_000_000
    multiplier: int = 5
    passive: bool = False


class Session:
    def __init__(
        self,
        local_disc: int,
        options: Options,
        rand: Callable[[], float] = lambda: 0.0,
    ) -> None:
        if not 0 < local_disc < 1 << 32:
            raise ValueError(f"discriminator {local_disc}")
        self.local_disc = local_disc
        self.opts = options
        self._rand = rand  # uniform [0, 1): the transmit jitter
        self.state = State.DOWN
        self.diag = Diag.NONE
        self.remote_disc = 0
        self.remote_state = State.DOWN
        self.remote_min_rx = 1  # RFC 5880 6.8.1: initially 1
        self.remote_min_tx = 0  # last received Desired Min TX
        self.remote_detect_mult = 0
        self.remote_demand = False
        # RFC 5880 6.8.3: never faster than one per second while not Up
        self.des_min_tx = max(options.idle_tx, US)
        self._des_min_tx_new = self.des_min_tx
        self.req_min_rx = options.min_rx
        self.poll_active = False
        self._poll_scheduled = False
        self.sent = False  # a periodic packet went out since tx (re)started
        self._tx_running = False
        self._tx_armed_for = 0  # the interval the running TX timer was armed with
        self._kick = False  # send at once (state change, shorter interval)
        self._opened = False
        self._out: list[Event] = []

    # ---- inputs ------------------------------------------------------------
    def start(self) -> None:
        """The session exists (its transport is ready): start sending."""
        self._opened = True
        self._control_tx(reset=True)

    def stop(self) -> None:
        """No more packets or timers (the session is being removed)."""
        self._opened = False
        self._out.append(StopTimer(Timer.DETECT))
        self._control_tx(reset=False)

    def packet_received(self, pkt: Packet) -> None:
        """A packet demultiplexed to this session (RFC 5880 6.8.6)."""
        self.remote_disc = pkt.my_disc
        self.remote_state = pkt.state
        self.remote_demand = pkt.demand
        self.remote_min_rx = pkt.required_min_rx
        self.remote_min_tx = pkt.desired_min_tx
        self.remote_detect_mult = pkt.detect_mult
        if pkt.final and self.poll_active:
            self._terminate_poll()
        self._out.append(StartTimer(Timer.DETECT, self.detect_time / US))
        if pkt.state == State.ADMIN_DOWN:
            if self.state != State.DOWN:
                self._set_state(State.DOWN, Diag.NEIGHBOR_DOWN)
        elif self.state == State.DOWN:
            if pkt.state == State.DOWN:
                self._set_state(State.INIT, Diag.NONE)
            elif pkt.state == State.INIT:
                self._set_state(State.UP, Diag.NONE)
        elif self.state == State.INIT:
            if pkt.state in (State.INIT, State.UP):
                self._set_state(State.UP, Diag.NONE)
        elif self.state == State.UP and pkt.state == State.DOWN:
            self._set_state(State.DOWN, Diag.NEIGHBOR_DOWN)
        if pkt.poll:
            self._send(final=True)  # 6.8.7: answer a Poll at once
        # a shorter interval applies now: the peer's detection time already
        # counts on it (BIRD re-arms from its last packet, we send at once)
        if self._tx_running and self._interval() < self._tx_armed_for:
            self._kick = True
        self._control_tx(reset=self._kick)

    def timer_expired(self, timer: Timer) -> None:
        if timer is Timer.TX:
            self._tx_running = False
            if not self._may_send():
                return
            self._send(final=False)
            self.sent = True
            self._arm_tx()
        else:
            self._timeout()

    def events(self) -> list[Event]:
        out, self._out = self._out, []
        return out

    # ---- what `show bfd sessions` prints ------------------------------------
    @property
    def tx_interval(self) -> int:
        """Microseconds between periodic packets (0 while none are sent)."""
        return max(self.des_min_tx, self.remote_min_rx) if self.sent else 0

    @property
    def detect_time(self) -> int:
        """Microseconds without a packet before the session is Down (6.8.4)."""
        return max(self.req_min_rx, self.remote_min_tx) * self.remote_detect_mult

    # ---- internals -----------------------------------------------------------
    def _set_state(self, new: State, diag: Diag) -> None:
        old = self.state
        if new == old:
            return
        self.state = new
        self.diag = diag
        self._kick = True  # tell the peer at once, as BIRD does
        self._out.append(StateChanged(old, new, diag))
        if new == State.UP:
            self._set_min_tx(self.opts.min_tx)
        elif old == State.UP:
            self._set_min_tx(max(self.opts.idle_tx, US))

    def _set_min_tx(self, value: int) -> None:
        self._des_min_tx_new = value
        # a slower rate while Up must wait for the peer's Final (6.8.3)
        if self.state != State.UP or value < self.des_min_tx:
            self.des_min_tx = value
        self._start_poll()

    def _start_poll(self) -> None:
        if self.poll_active:
            self._poll_scheduled = True
        else:
            self.poll_active = True
            self._poll_scheduled = False

    def _terminate_poll(self) -> None:
        self.des_min_tx = self._des_min_tx_new
        self.poll_active = False
        if self._poll_scheduled:
            self._start_poll()

    def _timeout(self) -> None:
        # 6.8.1/6.8.4: the peer is gone; forget what it told us
        self.remote_state = State.DOWN
        self.remote_disc = 0
        self.remote_min_tx = 0
        self.remote_min_rx = 1
        self.remote_demand = False
        self.remote_detect_mult = 0
        self.poll_active = self._poll_scheduled = False
        if self.state in (State.INIT, State.UP):
            self._set_state(State.DOWN, Diag.EXPIRED)
        self._control_tx(reset=True)

    def _may_send(self) -> bool:
        if not self._opened:
            return False
        if self.opts.passive and self.remote_disc == 0:
            return False  # 6.1: a passive side waits to be spoken to
        return self.remote_min_rx != 0  # 6.8.3: the peer asked for silence

    def _control_tx(self, reset: bool) -> None:
        if not self._may_send():
            if self._tx_running:
                self._out.append(StopTimer(Timer.TX))
            self._tx_running = False
            self.sent = False
            return
        if reset or not self._tx_running:
            self._kick = False
            self._tx_running = True
            self._tx_armed_for = 0
            self._out.append(StartTimer(Timer.TX, 0.0))

    def _arm_tx(self) -> None:
        # 6.8.7: 75-100 % of the interval, 75-90 % with multiplier 1
        high = 0.9 if self.opts.multiplier == 1 else 1.0
        factor = high - (high - 0.75) * self._rand()
        interval = self._interval()
        self._tx_running = True
        self._tx_armed_for = interval
        self._out.append(StartTimer(Timer.TX, interval * factor / US))

    def _interval(self) -> int:
        return max(self.des_min_tx, self.remote_min_rx)

    def _send(self, final: bool) -> None:
        pkt = Packet(
            state=self.state,
            my_disc=self.local_disc,
            your_disc=self.remote_disc,
            desired_min_tx=self.des_min_tx,
            required_min_rx=self.req_min_rx,
            detect_mult=self.opts.multiplier,
            diag=self.diag,
            poll=self.poll_active and not final,
            final=final,
        )
        self._out.append(Send(pkt.encode()))
