"""What received messages do to a connection (RFC 4271 8, BIRD's checks).

:class:`MessageHandlers` is the part of :class:`~bgplab.bgp.fsm.PeerFsm`
that handles one decoded message on one connection: the OPEN checks and
negotiation, collision detection (RFC 4271 6.8), OpenConfirm -> Established,
UPDATE, ROUTE-REFRESH and NOTIFICATION. Which handler runs in which state is
:data:`~bgplab.bgp.fsm_tables.MESSAGE_TRANSITIONS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bgplab.bgp.capabilities import Negotiated, check_peer_open, negotiate
from bgplab.bgp.constants import MAX_MESSAGE_SIZE, CeaseSubcode, MsgType, NotifCode, OpenSubcode
from bgplab.bgp.errors import BgpError
from bgplab.bgp.events import (
    ConnId,
    Established,
    Event,
    Log,
    NotificationReceived,
    RouteRefreshReceived,
    StartTimer,
    State,
    StopTimer,
    Timer,
    UpdateReceived,
    Write,
)
from bgplab.bgp.fsm_tables import (
    CROSSING_WINDOW,
    FSM_SUBCODE,
    MESSAGE_TRANSITIONS,
    Connection,
    PeerConfig,
)
from bgplab.bgp.messages import (
    KEEPALIVE_WIRE,
    Message,
    Notification,
    Open,
    RouteRefresh,
    Update,
    decode_message,
)


class MessageHandlers:
    """Message handling of :class:`~bgplab.bgp.fsm.PeerFsm` (a mixin)."""

    # The machine's state and the connection-level helpers, from PeerFsm.
    config: PeerConfig
    negotiated: Negotiated | None
    last_error: str
    _out: list[Event]
    _conns: dict[ConnId, Connection]
    _session: Connection | None
    _crossing: ConnId | None
    _delay_armed: bool
    _no_caps: bool

    if TYPE_CHECKING:

        def _error(self, conn: Connection, exc: BgpError) -> None: ...

        def _drop(
            self,
            conn: Connection,
            reason: str,
            error: BgpError | None,
            notification: Notification | None,
        ) -> bool: ...

        def _after_loss(self, conn: Connection, error: bool, was_session: bool = False) -> None: ...

        def _send_notification(self, conn: Connection, n: Notification) -> None: ...

    def _dispatch(self, conn: Connection, msg_type: int, body: bytes) -> None:
        handler = MESSAGE_TRANSITIONS.get((conn.state, msg_type))
        if handler is None:
            name = MsgType(msg_type).name if msg_type in MsgType.__members__.values() else msg_type
            self._error(
                conn,
                BgpError(
                    NotifCode.FSM, FSM_SUBCODE[conn.state], reason=f"{name} in {conn.state.text}"
                ),
            )
            return
        try:
            msg = decode_message(msg_type, body, conn.negotiated)
        except BgpError as exc:
            self._error(conn, exc)
            return
        getattr(self, handler)(conn, msg)

    def _close_collision(self, conn: Connection) -> None:
        n = Notification(NotifCode.CEASE, CeaseSubcode.CONNECTION_COLLISION)
        self._send_notification(conn, n)
        self._out.append(Log("Connection collision, closing one connection"))
        self._drop(conn, "Connection collision resolution", None, n)

    # ------------------------------------------------------------ messages

    def _rx_open(self, conn: Connection, msg: Message) -> None:
        assert isinstance(msg, Open)
        cfg = self.config
        local = cfg.local
        try:
            check_peer_open(
                local,
                cfg.peer_asn,
                msg.version,
                msg.asn,
                msg.hold_time,
                msg.router_id,
                msg.capabilities,
                cfg.reject_same_router_id,
            )
            neg = negotiate(
                local, msg.asn, msg.hold_time, msg.router_id, msg.capabilities, conn.sent_caps
            )
            if not neg.families:
                raise BgpError(
                    NotifCode.OPEN_MESSAGE,
                    OpenSubcode.UNSUPPORTED_CAPABILITY,
                    b"".join(
                        bytes((c.code, len(c.encode()))) + c.encode()
                        for c in conn.sent_caps
                        if c.code == 1
                    ),
                    "no common address family",
                )
        except BgpError as exc:
            self._error(conn, exc)
            return

        # RFC 4271 6.8 collision detection, BIRD's way.
        for other in list(self._conns.values()):
            if other is conn:
                continue
            if other.state == State.CONNECT:
                # A session is coming up: stop dialing.
                self._drop(other, "", None, None)
            elif other.state == State.OPENCONFIRM:
                local_id, peer_id = int(local.router_id), int(msg.router_id)
                if local_id == peer_id:
                    keep_new = conn.incoming  # equal ids: keep the incoming one
                else:
                    keep_new = (local_id < peer_id) == conn.incoming
                if keep_new:
                    self._close_collision(other)
                else:
                    self._close_collision(conn)
                    return
            elif other.state == State.ESTABLISHED:
                self._close_collision(conn)
                return
        if self._delay_armed:
            self._out.append(StopTimer(Timer.CONNECT_DELAY))
            self._delay_armed = False

        conn.peer_open = msg
        conn.negotiated = neg
        conn.state = State.OPENCONFIRM
        conn.framer.set_max_size(neg.max_message_size if neg.extended_message else MAX_MESSAGE_SIZE)
        self._out.append(Write(conn.conn_id, KEEPALIVE_WIRE))
        if neg.hold_time:
            self._out.append(StartTimer(Timer.HOLD, neg.hold_time, conn.conn_id))
        else:
            self._out.append(StopTimer(Timer.HOLD, conn.conn_id))
        if neg.keepalive_time:
            self._out.append(StartTimer(Timer.KEEPALIVE, neg.keepalive_time, conn.conn_id))

    def _rx_keepalive_confirm(self, conn: Connection, msg: Message) -> None:
        assert conn.negotiated is not None
        conn.state = State.ESTABLISHED
        conn.hold_dirty = True
        self._session = conn
        self.negotiated = conn.negotiated
        self.last_error = ""
        if not conn.incoming:
            # the peer may have dialed us too, just before its end came up
            self._crossing = conn.conn_id
            self._out.append(StartTimer(Timer.CROSSING, CROSSING_WINDOW, conn.conn_id))
        self._out.append(Established(conn.negotiated, conn.conn_id))

    def _rx_keepalive(self, conn: Connection, msg: Message) -> None:
        conn.hold_dirty = True

    def _rx_update(self, conn: Connection, msg: Message) -> None:
        assert isinstance(msg, Update)
        conn.hold_dirty = True
        if msg.problems:
            for p in msg.problems:
                self._out.append(Log(f"Malformed UPDATE: {p}"))
        self._out.append(UpdateReceived(msg))

    def _rx_route_refresh(self, conn: Connection, msg: Message) -> None:
        assert isinstance(msg, RouteRefresh)
        neg = conn.negotiated
        if msg.subtype > 2:
            # RFC 7313 5: unknown subtypes are ignored.
            self._out.append(Log(f"Route refresh with unknown subtype {msg.subtype} ignored"))
            return
        if neg is not None and (msg.afi, msg.safi) not in neg.families:
            # RFC 2918 4: ignore a refresh for a family not negotiated.
            self._out.append(Log(f"Route refresh for {msg.afi}/{msg.safi} ignored"))
            return
        self._out.append(RouteRefreshReceived(msg))

    def _rx_notification(self, conn: Connection, msg: Message) -> None:
        assert isinstance(msg, Notification)
        self._out.append(NotificationReceived(msg, conn.conn_id))
        self.last_error = f"Received: {msg.describe()}"
        error = msg.code != NotifCode.CEASE
        if (
            conn.state == State.OPENSENT
            and msg.code == NotifCode.OPEN_MESSAGE
            and msg.subcode
            in (OpenSubcode.UNSUPPORTED_OPT_PARAM, OpenSubcode.UNSUPPORTED_CAPABILITY)
            and conn.sent_caps
            and self.config.local.asn <= 0xFFFF
        ):
            # Like BIRD: an old peer refused capabilities; retry without them.
            self._no_caps = True
            error = False
            self._out.append(
                Log("Capability related error received, retry with capabilities disabled")
            )
        was = self._drop(conn, self.last_error, None, msg)
        self._after_loss(conn, error=error, was_session=was)
