"""The BGP session state machine (RFC 4271 8), sans-I/O, with BIRD's timers.

Two objects, as in BIRD:

* :class:`Connection` - one TCP connection: OpenSent -> OpenConfirm ->
  Established, its framer, its hold and keepalive timers, the OPEN checks.
* :class:`PeerFsm` - one configured neighbor: starting, dialing (connect
  delay, connect retry), the error-wait back-off, passive mode, and the
  collision between an outgoing and an incoming connection (RFC 4271 6.8).

Inputs are method calls (``start``, ``connection_made``, ``data_received``,
``timer_expired`` ...); outputs are the events of :mod:`bgplab.bgp.events`,
drained with :meth:`PeerFsm.events`. What a received message does in each
connection state is data: :data:`MESSAGE_TRANSITIONS`, keyed by
``(state, message type)``; a missing key is an FSM error (RFC 6608).
Peer misbehaviour never raises: it becomes a NOTIFICATION and a
:class:`SessionDown`.

The parts: :mod:`bgplab.bgp.fsm_tables` (:class:`PeerConfig`,
:class:`Connection`, the transition tables), :mod:`bgplab.bgp.fsm_messages`
(the message handlers, the OPEN checks and collisions) and this module (the
inputs, the peer's life cycle and timers, opening and dropping connections).
"""

from __future__ import annotations

import itertools
from typing import Any

from bgplab.bgp.capabilities import Negotiated
from bgplab.bgp.constants import CeaseSubcode, NotifCode
from bgplab.bgp.errors import BgpError
from bgplab.bgp.events import (
    CloseConnection,
    ConnId,
    Event,
    Log,
    NotificationSent,
    OpenConnection,
    SessionDown,
    StartTimer,
    State,
    StateChanged,
    StopTimer,
    Timer,
    Write,
)
from bgplab.bgp.fsm_messages import MessageHandlers
from bgplab.bgp.fsm_tables import (
    MESSAGE_TRANSITIONS,
    TIMER_TRANSITIONS,
    Connection,
    PeerConfig,
)
from bgplab.bgp.messages import KEEPALIVE_WIRE, Notification, Open, RouteRefresh, encode_message

# Re-exported: callers import the machine's types from here.
__all__ = [
    "MESSAGE_TRANSITIONS",
    "TIMER_TRANSITIONS",
    "Connection",
    "PeerConfig",
    "PeerFsm",
    "Timer",
    "describe_events",
]


class PeerFsm(MessageHandlers):
    """The session machine of one configured neighbor."""

    def __init__(self, config: PeerConfig) -> None:
        self.config = config
        self._out: list[Event] = []
        self._conns: dict[ConnId, Connection] = {}
        self._ids = itertools.count(1)
        self._running = False
        self._phase = State.IDLE  # the outgoing side when no connection is up
        self._delay_armed = False  # CONNECT_DELAY is running
        self._in_error_wait = False  # ERROR_WAIT is running
        self._session: Connection | None = None
        # the session, while it is one we dialed that came up less than
        # CROSSING_WINDOW ago (see _incoming)
        self._crossing: ConnId | None = None
        self._shown = State.IDLE
        self._no_caps = False  # the peer refused our capabilities: retry without
        self.startup_delay = 0  # current error-wait delay (0: none)
        self.last_error = ""
        self.negotiated: Negotiated | None = None  # of the last Established session

    # ------------------------------------------------------------ queries

    @property
    def state(self) -> State:
        best = self._phase
        for c in self._conns.values():
            if c.state > best:
                best = c.state
        return best

    @property
    def running(self) -> bool:
        return self._running

    @property
    def established(self) -> bool:
        return self._session is not None

    @property
    def session_conn(self) -> ConnId | None:
        """The conn_id of the Established connection (writes go there)."""
        return self._session.conn_id if self._session else None

    @property
    def state_text(self) -> str:
        """BIRD's word: Idle, Connect, Active, Passive, OpenSent, ..., Down."""
        if not self._running and not self._conns:
            return "Down"
        st = self.state
        if st == State.ACTIVE and self.config.passive:
            return "Passive"
        return st.text

    @property
    def info(self) -> str:
        """The ``show protocols`` info column."""
        return f"{self.state_text:<14}{self.last_error}"

    def events(self) -> list[Event]:
        """Drain the events produced so far."""
        out, self._out = self._out, []
        return out

    def new_conn_id(self) -> int:
        """A fresh id for an incoming connection (any unused hashable works)."""
        return next(self._ids)

    # ------------------------------------------------------------ inputs

    def start(self) -> None:
        """Administrative start (``enable``, or at daemon start-up)."""
        if self._running:
            return
        self._running = True
        self._restart()
        self._changed()

    def stop(self, subcode: int = CeaseSubcode.ADMIN_SHUTDOWN, message: str = "") -> None:
        """Administrative stop: Cease (RFC 4486/8203) on every open connection."""
        if not self._running and not self._conns:
            return
        self._running = False
        n = Notification.cease(subcode, message)
        for conn in list(self._conns.values()):
            if conn.alive:
                self._send_notification(conn, n)
            self._drop(conn, n.describe(), None, n)
        for t in (Timer.CONNECT_DELAY, Timer.CONNECT_RETRY, Timer.ERROR_WAIT, Timer.ERROR_FORGET):
            self._out.append(StopTimer(t))
        self._delay_armed = False
        self._in_error_wait = False
        self._phase = State.IDLE
        self.startup_delay = 0
        self._no_caps = False
        self._changed()

    def bfd_down(self, graceful: bool = False) -> None:
        """BFD saw the neighbor go (BIRD's ``bgp_bfd_notify``): every
        connection ends with a Cease and the protocol starts again after the
        error wait, its last error "Error: BFD session down". With ``bfd
        graceful`` the session is dropped as a lost connection instead (no
        NOTIFICATION), so a restart-able peer's routes stay as stale."""
        if not self._running:
            return
        self.last_error = "Error: BFD session down"
        if graceful:
            self._out.append(Log("BFD session down"))
            sess = self._session
            if sess is not None:
                was = self._drop(sess, self.last_error, None, None)
                self._after_loss(sess, error=False, was_session=was)
            self._changed()
            return
        n = Notification(NotifCode.CEASE, 0)
        for conn in list(self._conns.values()):
            if conn.alive:
                self._send_notification(conn, n)
            self._drop(conn, self.last_error, None, n)
        self._out.append(Log("BFD session down"))
        self._bump_delay()
        if self._delay_armed:
            self._out.append(StopTimer(Timer.CONNECT_DELAY))
            self._delay_armed = False
        self._restart()
        self._changed()

    def connection_made(self, conn_id: ConnId, incoming: bool) -> None:
        """TCP is up: our dial completed, or the peer connected to us."""
        if incoming:
            self._incoming(conn_id)
        else:
            conn = self._conns.get(conn_id)
            if conn is None or conn.state != State.CONNECT or not self._running:
                self._out.append(CloseConnection(conn_id))
            else:
                self._out.append(StopTimer(Timer.CONNECT_RETRY))
                self._send_open(conn)
        self._changed()

    def connection_lost(self, conn_id: ConnId, reason: str = "") -> None:
        """TCP closed or failed (``reason``: the OS error text, if any)."""
        conn = self._conns.get(conn_id)
        if conn is None:
            return
        if conn.state == State.CONNECT:
            self.last_error = f"Socket: {reason or 'Connection refused'}"
        else:
            self.last_error = f"Socket: {reason or 'Connection closed'}"
        was = self._drop(conn, self.last_error, None, None)
        self._after_loss(conn, error=False, was_session=was)
        self._changed()

    def data_received(self, conn_id: ConnId, data: bytes) -> None:
        """Bytes from the peer; never raises for anything the peer sent."""
        conn = self._conns.get(conn_id)
        if conn is None or not conn.alive:
            return
        err: BgpError | None = None
        try:
            frames = conn.framer.feed(data)
        except BgpError as exc:
            frames, err = [], exc
        for msg_type, body in frames:
            if self._conns.get(conn_id) is not conn:
                break  # the connection ended on an earlier message
            self._dispatch(conn, msg_type, body)
        if self._conns.get(conn_id) is conn:
            if conn.hold_dirty:
                conn.hold_dirty = False
                self._arm_hold(conn)
            err = err or conn.framer.error
            if err is not None:
                self._error(conn, err)
        self._changed()

    def timer_expired(self, timer: Timer, conn_id: ConnId = None) -> None:
        getattr(self, TIMER_TRANSITIONS[timer])(conn_id)
        self._changed()

    def send_update(self, wire: bytes) -> bool:
        """Queue one encoded UPDATE; False when no session is Established."""
        if self._session is None:
            return False
        self._out.append(Write(self._session.conn_id, wire))
        return True

    def send_updates(self, wires: list[bytes]) -> bool:
        """Queue many UPDATEs as one write (write coalescing)."""
        if self._session is None:
            return False
        if wires:
            self._out.append(Write(self._session.conn_id, b"".join(wires)))
        return True

    def send_route_refresh(self, afi: int = 1, safi: int = 1, subtype: int = 0) -> bool:
        if self._session is None:
            return False
        self._out.append(
            Write(self._session.conn_id, encode_message(RouteRefresh(afi, safi, subtype)))
        )
        return True

    # ------------------------------------------------------------ peer level

    def _changed(self) -> None:
        st = self.state
        if st != self._shown:
            self._out.append(StateChanged(self._shown, st))
            self._shown = st

    def _restart(self) -> None:
        """(Re)start the protocol: after the error wait, if one is due."""
        if self.startup_delay:
            self._phase = State.IDLE
            self._in_error_wait = True
            self._out.append(StartTimer(Timer.ERROR_WAIT, self.startup_delay))
        else:
            self._initiate()

    def _initiate(self) -> None:
        self._phase = State.ACTIVE
        if not self.config.passive:
            self._delay_armed = True
            self._out.append(
                StartTimer(
                    Timer.CONNECT_DELAY, self._jittered(max(1, self.config.connect_delay_time))
                )
            )

    def _jittered(self, seconds: float) -> float:
        j = self.config.jitter
        return seconds * j() if j is not None else seconds

    def _dial(self) -> None:
        cid = next(self._ids)
        while cid in self._conns:
            cid = next(self._ids)
        self._conns[cid] = Connection(cid, incoming=False)
        self._phase = State.CONNECT
        self._out.append(OpenConnection(cid))
        self._out.append(
            StartTimer(Timer.CONNECT_RETRY, self._jittered(self.config.connect_retry_time))
        )

    def _outgoing(self) -> Connection | None:
        for c in self._conns.values():
            if not c.incoming:
                return c
        return None

    def _incoming(self, conn_id: ConnId) -> None:
        sess = self._session
        if (
            self._running
            and sess is not None
            and sess.negotiated is not None
            and sess.negotiated.peer_gr_ready
            and conn_id not in self._conns
        ):
            if self._crossing == sess.conn_id:
                # The session is one we dialed, just up: this is the peer's
                # own dial, begun before its end came up, not a restart.
                # BIRD (1.6 and 2) ends the session here, and a BIRD peer
                # that was helping us restart then counts a second restart
                # and flushes the routes it kept. As a candidate like any
                # other, collision detection closes it at its OPEN.
                self._out.append(Log("Connection from the peer crossed ours, keeping the session"))
            else:
                self._restarted(sess)
        # BIRD accepts while the protocol runs and is not in its error wait,
        # one incoming connection at a time.
        busy = any(c.incoming for c in self._conns.values())
        if not self._running or self._in_error_wait or busy or conn_id in self._conns:
            self._out.append(Log("incoming connection refused"))
            self._out.append(CloseConnection(conn_id))
            return
        conn = Connection(conn_id, incoming=True)
        self._conns[conn_id] = conn
        self._send_open(conn)

    def _restarted(self, sess: Connection) -> None:
        # Like BIRD: a new connection from a graceful-restart capable peer
        # with an Established session means the peer restarted (RFC 4724
        # 4.1); the old session ends gracefully, the new one proceeds.
        self.last_error = "Graceful restart"
        self._out.append(Log("Neighbor reconnected: graceful restart"))
        self._drop(sess, "Graceful restart", None, None)

    def _on_crossing(self, cid: ConnId) -> None:
        if self._crossing == cid:
            self._crossing = None

    def _bump_delay(self) -> None:
        lo, hi = self.config.error_wait_time
        self.startup_delay = lo if not self.startup_delay else min(2 * self.startup_delay, hi)
        self._out.append(StartTimer(Timer.ERROR_FORGET, self.config.error_forget_time))

    def _after_loss(self, conn: Connection, error: bool, was_session: bool = False) -> None:
        """A connection is gone: decide what the peer does next (BIRD's
        ``bgp_decision``)."""
        if not self._running:
            return
        if error:
            self._bump_delay()
        if error or was_session:
            # The protocol restarts: drop whatever else is in progress.
            for other in list(self._conns.values()):
                if other.alive:
                    self._send_notification(other, Notification(NotifCode.CEASE, 0))
                self._drop(other, "protocol restart", None, None)
            if self._delay_armed:
                self._out.append(StopTimer(Timer.CONNECT_DELAY))
                self._delay_armed = False
            self._restart()
            return
        up = any(c.state >= State.OPENCONFIRM for c in self._conns.values())
        if self._outgoing() is None and not self._delay_armed and not up:
            self._initiate()

    def _on_connect_delay(self, _cid: ConnId) -> None:
        self._delay_armed = False
        if not self._running or self.config.passive or self._outgoing() is not None:
            return
        if self._session is not None or any(
            c.state == State.OPENCONFIRM for c in self._conns.values()
        ):
            return
        self._dial()

    def _on_connect_retry(self, _cid: ConnId) -> None:
        out = self._outgoing()
        if out is None or out.state != State.CONNECT or not self._running:
            return
        # The dial hangs: abandon it and try again.
        self._drop(out, "", None, None)
        self._dial()

    def _on_error_wait(self, _cid: ConnId) -> None:
        if self._running and self._in_error_wait:
            self._in_error_wait = False
            self._initiate()

    def _on_error_forget(self, _cid: ConnId) -> None:
        self.startup_delay = 0

    # ------------------------------------------------------------ connection level

    def _send_open(self, conn: Connection) -> None:
        local = self.config.local
        conn.sent_caps = () if self._no_caps else local.open_capabilities()
        msg = Open.make(local.asn, local.hold_time, local.router_id, conn.sent_caps)
        self._out.append(Write(conn.conn_id, encode_message(msg)))
        conn.state = State.OPENSENT
        if not conn.incoming:
            self._phase = State.IDLE  # the connection itself shows the state
        self._out.append(StartTimer(Timer.HOLD, self.config.initial_hold_time, conn.conn_id))

    def _arm_hold(self, conn: Connection) -> None:
        neg = conn.negotiated
        if neg is not None and neg.hold_time:
            self._out.append(StartTimer(Timer.HOLD, neg.hold_time, conn.conn_id))

    def _send_notification(self, conn: Connection, n: Notification) -> None:
        self._out.append(Write(conn.conn_id, encode_message(n)))
        self._out.append(NotificationSent(n, conn.conn_id))

    def _drop(
        self,
        conn: Connection,
        reason: str,
        error: BgpError | None,
        notification: Notification | None,
    ) -> bool:
        """Forget a connection; report SessionDown if it was the session."""
        self._conns.pop(conn.conn_id, None)
        if not conn.incoming:
            self._phase = State.IDLE  # the outgoing side is idle again
        if conn.state == State.CONNECT:
            self._out.append(StopTimer(Timer.CONNECT_RETRY))
        if conn.alive:
            self._out.append(StopTimer(Timer.HOLD, conn.conn_id))
            self._out.append(StopTimer(Timer.KEEPALIVE, conn.conn_id))
        if self._crossing == conn.conn_id:
            self._crossing = None
            self._out.append(StopTimer(Timer.CROSSING, conn.conn_id))
        self._out.append(CloseConnection(conn.conn_id))
        was_session = conn is self._session
        if was_session:
            self._session = None
            neg = conn.negotiated
            # RFC 4724: only a session lost without a NOTIFICATION is a
            # restart to wait for (we do not offer RFC 8538's N bit).
            graceful = bool(neg and neg.peer_gr_ready and notification is None)
            self._out.append(SessionDown(reason, error, notification, graceful))
        conn.state = State.IDLE
        return was_session

    def _error(self, conn: Connection, exc: BgpError) -> None:
        """We found a protocol error: NOTIFICATION, close, back off."""
        n = exc.notification()
        if conn.alive:
            self._send_notification(conn, n)
        self.last_error = f"Error: {n.describe()}"
        if exc.reason:
            self._out.append(Log(f"Error: {exc.describe()}"))
        was = self._drop(conn, self.last_error, exc, n)
        self._after_loss(conn, error=exc.code != NotifCode.CEASE, was_session=was)

    def _on_hold(self, cid: ConnId) -> None:
        conn = self._conns.get(cid)
        if conn is None or not conn.alive:
            return
        self._error(conn, BgpError(NotifCode.HOLD_TIMER_EXPIRED, 0))

    def _on_keepalive(self, cid: ConnId) -> None:
        conn = self._conns.get(cid)
        if conn is None or conn.state < State.OPENCONFIRM or conn.negotiated is None:
            return
        self._out.append(Write(cid, KEEPALIVE_WIRE))
        if conn.negotiated.keepalive_time:
            self._out.append(StartTimer(Timer.KEEPALIVE, conn.negotiated.keepalive_time, cid))


def describe_events(events: list[Event]) -> list[str]:
    """Short text of events, for debugging and test failure messages."""
    return [type(e).__name__ + _brief(e) for e in events]


def _brief(e: Any) -> str:
    if isinstance(e, Write):
        return f"({e.conn_id}, {len(e.data)} bytes, type {e.data[18] if len(e.data) > 18 else '?'})"
    if isinstance(e, StateChanged):
        return f"({e.old.text} -> {e.new.text})"
    return f"({', '.join(f'{k}={getattr(e, k)!r}' for k in e.__slots__)})"
