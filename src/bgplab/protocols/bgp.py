"""The BGP protocol instance: one configured neighbour.

Glue between three parts that know nothing of each other: the sans-I/O
session (:mod:`bgplab.bgp.fsm`), the TCP shell
(:mod:`bgplab.io.bgp_transport`) and the routing table (through a
:class:`~bgplab.rib.channel.Channel` for imports and a shared
:class:`~bgplab.rib.adjrib_out.UpdateGroup` for exports).

This module: configuration to session settings, life cycle, BFD, transport
callbacks, the FSM's outputs (timers, dials, writes) and session events.
Received routes and graceful restart as receiver are
:mod:`bgplab.protocols.bgp_import`; what ``show`` reads is
:mod:`bgplab.protocols.bgp_show`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import random
import time
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from bgplab import net as netmod
from bgplab.bgp import events as ev
from bgplab.bgp.capabilities import LocalConfig
from bgplab.bgp.fsm import PeerConfig, PeerFsm
from bgplab.io.bgp_input import InputQueue
from bgplab.io.bgp_transport import (
    MAX_QUEUED,
    BgpConnection,
    connect,
    describe_socket_error,
    set_ttl,
)
from bgplab.protocols.bgp_import import BgpImport
from bgplab.protocols.bgp_show import BgpShow
from bgplab.rib.channel import ACCEPT, ChangeStats, Channel
from bgplab.rib.protocol import ProtoState
from bgplab.rib.route import Source

if TYPE_CHECKING:
    from bgplab.rib.adjrib_out import UpdateGroup
    from bgplab.rib.context import DaemonContext

ADD_PATH_MODES = {"off": 0, "rx": 1, "tx": 2, "on": 3}
_PROTO_IDS = itertools.count(1)


def _jitter() -> float:
    """RFC 4271's random factor for the connect timers."""
    return random.uniform(0.75, 1.0)


class BgpProtocol(BgpImport, BgpShow):
    proto_name = "BGP"
    source_type = Source.BGP
    default_preference = 100

    def __init__(self, config: Any, ctx: DaemonContext) -> None:
        super().__init__(config, ctx)
        c = config
        self.rt = ctx.extra["bgp_runtime"]
        self.description: str | None = getattr(c, "description", None)
        self.neighbor_address: str = str(c.neighbor_address)
        self.neighbor_port: int = getattr(c, "neighbor_port", None) or 179
        self.neighbor_as: int = int(c.neighbor_as)
        self.local_as: int = int(c.local_as)
        self.peer_address = self.neighbor_address
        self.peer_as = self.neighbor_as
        self.is_ibgp = self.local_as == self.neighbor_as
        self.is_rr_client = bool(getattr(c, "rr_client", False))
        self.cluster_id: IPv4Address = getattr(c, "rr_cluster_id", None) or ctx.router_id
        self.peer_router_id: int | None = None
        self.neighbor_id: str | None = None
        self.v6 = ipaddress.ip_address(self.neighbor_address).version == 6
        # BIRD 1.6: `local IP as N` sets the source address too
        src = getattr(c, "source_address", None) or getattr(c, "local_address", None)
        self.configured_source: str | None = str(src) if src else None
        self.default_local_pref = int(getattr(c, "default_local_pref", 100) or 100)
        self._memo_key = ("bgp", next(_PROTO_IDS))  # our entry in PathAttrs.memo_for
        multihop = getattr(c, "multihop", None)
        if multihop is None:
            multihop = 64 if self.is_ibgp else 0
        self.multihop: int = multihop
        gw = getattr(c, "gateway", None)
        self.gateway = gw or ("direct" if not self.multihop else "recursive")
        table = ctx.table(getattr(c, "table", "master") or "master")
        self.channel = Channel(self, table, getattr(c, "import_filter", None) or ACCEPT,
                               getattr(c, "export_filter", None), export_to_proto=False)
        self.channel.apply_options(c)
        self.group: UpdateGroup | None = None
        self.join_pending = False  # the runtime joins us to ``group`` soon
        # export "Route change stats" kept while out of the group (graceful
        # restart: BIRD's protocol stays up); None once they restart from zero
        self.export_carried: ChangeStats | None = None
        self.negotiated: Any = None
        self.conns: dict[ev.ConnId, BgpConnection] = {}
        self.active_conn: BgpConnection | None = None
        self.timers: dict[Any, asyncio.TimerHandle] = {}
        self.timer_deadline: dict[Any, tuple[float, float]] = {}
        self.bgp_state = "Down"
        self.established_count = 0
        self.stale_handle: asyncio.TimerHandle | None = None
        self.bfd_req: Any = None  # bgplab.bfd.requests.Request with `bfd on`
        self.updates_in = 0
        self.withdraws_in = 0
        self._dials: dict[Any, asyncio.Task[None]] = {}
        # every session's input shares one budget per loop turn (a burst of
        # sessions, a full table): timers and the control socket get turns
        self._input: InputQueue = ctx.extra.setdefault("bgp_input", InputQueue())
        self.fsm = PeerFsm(self._settings())
        # -R recovery: done once the peer is back and has sent End-of-RIB
        self.recovered = not ctx.graceful_recovery

    # ---- configuration -> session settings -----------------------------
    def _local_config(self) -> LocalConfig:
        c = self.config
        fams = ((2, 1),) if self.v6 else ((1, 1),)
        mode = ADD_PATH_MODES.get(str(getattr(c, "add_paths", "off") or "off"), 0)
        gr = str(getattr(c, "graceful_restart", "aware") or "aware")
        return LocalConfig(
            asn=self.local_as,
            router_id=self.ctx.router_id,
            hold_time=int(getattr(c, "hold_time", 240) or 240),
            keepalive_time=getattr(c, "keepalive_time", None),
            families=fams,
            mp_ipv4=bool(getattr(c, "advertise_ipv4", True)),
            route_refresh=bool(getattr(c, "enable_route_refresh", True)),
            enhanced_route_refresh=bool(getattr(c, "enable_route_refresh", True)),
            as4=bool(getattr(c, "enable_as4", True)),
            add_path={f: mode for f in fams} if mode else {},
            graceful_restart=gr in ("on", "aware"),
            gr_time=int(getattr(c, "graceful_restart_time", 120) or 120),
            # BIRD: "aware" lists no families; R and F only while recovering (-R)
            gr_able=gr == "on",
            gr_restarting=self.ctx.graceful_recovery and gr == "on",
            gr_forwarding=self.ctx.graceful_recovery and gr == "on",
            llgr=False,
            # BIRD: long-lived GR defaults to aware when GR is on or aware
            llgr_aware=str(getattr(c, "long_lived_graceful_restart", None) or "aware") != "off",
        )

    def _settings(self) -> PeerConfig:
        c = self.config
        ew = getattr(c, "error_wait_time", None) or (60, 300)
        return PeerConfig(
            local=self._local_config(),
            peer_asn=self.neighbor_as,
            passive=bool(getattr(c, "passive", False)),
            connect_delay_time=int(getattr(c, "connect_delay_time", 5) or 5),
            connect_retry_time=int(getattr(c, "connect_retry_time", 120) or 120),
            error_wait_time=(int(ew[0]), int(ew[1])),
            error_forget_time=int(getattr(c, "error_forget_time", 300) or 300),
            jitter=_jitter,
            initial_hold_time=int(getattr(c, "startup_hold_time", 240) or 240),
        )

    # ---- life cycle ------------------------------------------------------
    async def start(self) -> None:
        self.set_state(ProtoState.START)
        self.rt.register(self)
        self.fsm.start()
        self._process()
        if getattr(self.config, "bfd", False):
            self._bfd_request()

    # ---- BFD (`bfd on`) ----------------------------------------------------
    def _bfd_request(self) -> None:
        from bgplab.bfd.requests import broker_of

        iface = None
        if not self.multihop:
            found = self.ctx.iface_for(netmod.ip_to_int(self.neighbor_address)[0], self.v6)
            iface = found.name if found is not None else None
        self.bfd_req = broker_of(self.ctx.extra).request(
            self.neighbor_address, self.configured_source, iface, bool(self.multihop),
            self._bfd_notify)

    def _bfd_notify(self, req: Any) -> None:
        # as BIRD: only Up -> Down ends the session; a session that never
        # came up leaves BGP alone
        if req.down and self.state in (ProtoState.START, ProtoState.UP):
            # logs "BFD session down"; `bfd graceful`: as a lost connection
            self.fsm.bfd_down(graceful=getattr(self.config, "bfd", False) == "graceful")
            self._process()

    async def stop(self, reason: str = "") -> None:
        self.set_state(ProtoState.STOP)
        # a route limit sends "Maximum number of prefixes reached" (RFC 4486)
        subcode = 1 if reason.startswith("limit") else 2
        self.fsm.stop(subcode=subcode,
                      message="" if reason in ("", "shutdown") or subcode == 1 else reason)
        self._process()
        # give the NOTIFICATION a moment to leave
        await asyncio.sleep(0)
        for conn in list(self.conns.values()):
            conn.close()
        self.conns.clear()
        self.active_conn = None
        for h in self.timers.values():
            h.cancel()
        self.timers.clear()
        for task in self._dials.values():
            task.cancel()
        self._dials.clear()
        self._input.forget(self)
        self._cancel_stale()
        if self.bfd_req is not None:
            self.bfd_req.cancel()
            self.bfd_req = None
        self._leave_group()
        self.export_carried = None  # BIRD zeroes a protocol's stats when it is down
        self.channel.flush()  # type: ignore[union-attr]
        self.rt.unregister(self)
        self.bgp_state = "Down"
        self.set_state(ProtoState.DOWN)

    def reconfigure(self, new_config: Any) -> bool:
        return False

    # ---- transport callbacks --------------------------------------------
    def on_connection_made(self, conn: BgpConnection) -> None:
        if self.state not in (ProtoState.START, ProtoState.UP):
            conn.abort()
            return
        if conn.incoming:
            conn.conn_id = self.fsm.new_conn_id()
            self._apply_ttl(conn)
        self.conns[conn.conn_id] = conn
        self.fsm.connection_made(conn.conn_id, conn.incoming)
        self._process()

    def on_data(self, conn: BgpConnection, data: bytes) -> None:
        self._input.feed(self, conn, data)

    def consume(self, conn: BgpConnection, data: bytes) -> None:
        """Input handled now (called by the shared :class:`InputQueue`)."""
        self.fsm.data_received(conn.conn_id, data)
        self._process()

    def on_connection_lost(self, conn: BgpConnection, exc: Exception | None) -> None:
        for data in self._input.drain(conn):  # what it sent before still counts
            self.consume(conn, data)
        if self.conns.pop(conn.conn_id, None) is None:
            return
        self.fsm.connection_lost(conn.conn_id, describe_socket_error(exc))
        self._process()

    # ---- FSM outputs -----------------------------------------------------
    def _process(self) -> None:
        for e in self.fsm.events():
            try:
                self._dispatch(e)
            except Exception:  # a bug in one handler must not kill the daemon
                self.log.exception("%s: error handling %r", self.name, e)

    def _dispatch(self, e: Any) -> None:
        if isinstance(e, ev.Write):
            conn = self.conns.get(e.conn_id)
            if conn is not None:
                conn.write_now(e.data)
        elif isinstance(e, ev.UpdateReceived):
            self._on_update(e.update)
        elif isinstance(e, ev.StartTimer):
            self._start_timer((e.timer, e.conn_id), e.seconds)
        elif isinstance(e, ev.StopTimer):
            self._stop_timer((e.timer, e.conn_id))
        elif isinstance(e, ev.StateChanged):
            self.bgp_state = self.fsm.state_text
            if "states" in self.debug or "all" in self.debug:
                self.log.info("%s: BGP session %s -> %s", self.name, e.old.text, e.new.text)
        elif isinstance(e, ev.Established):
            self._on_established(e.negotiated, e.conn_id)
        elif isinstance(e, ev.SessionDown):
            self._on_session_down(e)
        elif isinstance(e, ev.OpenConnection):
            self._dials[e.conn_id] = asyncio.get_running_loop().create_task(
                self._dial(e.conn_id))
        elif isinstance(e, ev.CloseConnection):
            conn = self.conns.pop(e.conn_id, None)
            if conn is not None:
                conn.close()
            task = self._dials.pop(e.conn_id, None)
            if task is not None and not task.done():
                task.cancel()
        elif isinstance(e, ev.Log):
            self.log.info("%s: %s", self.name, e.text)
        elif isinstance(e, ev.RouteRefreshReceived):
            self._on_route_refresh(e)
        elif isinstance(e, ev.NotificationReceived):
            self.log.info("%s: Received: %s", self.name, e.notification.describe())
        elif isinstance(e, ev.NotificationSent):
            self.log.info("%s: Sent: %s", self.name, e.notification.describe())

    # ---- timers ----------------------------------------------------------
    def _start_timer(self, timer: Any, seconds: float) -> None:
        self._stop_timer(timer)
        loop = asyncio.get_running_loop()
        self.timers[timer] = loop.call_later(seconds, self._timer_fired, timer)
        self.timer_deadline[timer] = (time.monotonic() + seconds, seconds)

    def _stop_timer(self, timer: Any) -> None:
        h = self.timers.pop(timer, None)
        if h is not None:
            h.cancel()
        self.timer_deadline.pop(timer, None)

    def _timer_fired(self, key: Any) -> None:
        self.timers.pop(key, None)
        self.timer_deadline.pop(key, None)
        self.fsm.timer_expired(key[0], key[1])
        self._process()

    # ---- connections -----------------------------------------------------
    def _ttl(self) -> tuple[int, int | None]:
        """Outgoing TTL and, with GTSM (RFC 5082), the minimum accepted TTL."""
        hops = self.multihop or 1
        if getattr(self.config, "ttl_security", False):
            return 255, 256 - hops
        return (hops if self.multihop else 1), None

    def _apply_ttl(self, conn: BgpConnection) -> None:
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is None:
            return
        ttl, min_ttl = self._ttl()
        try:
            set_ttl(sock, self.v6, ttl, min_ttl)
        except OSError as exc:
            self.log.warning("%s: cannot set TTL on incoming connection: %s", self.name, exc)

    async def _dial(self, conn_id: Any) -> None:
        ttl, min_ttl = self._ttl()
        try:
            await connect(self, self.neighbor_address, self.neighbor_port,
                          local=self.configured_source, ttl=ttl, min_ttl=min_ttl,
                          password=getattr(self.config, "password", None), conn_id=conn_id,
                          iface=getattr(self.config, "interface", None))
        except asyncio.CancelledError:
            raise
        except (OSError, TimeoutError, ValueError) as exc:
            self._dials.pop(conn_id, None)
            self.fsm.connection_lost(conn_id, describe_socket_error(exc))
            self._process()
            return
        self._dials.pop(conn_id, None)

    def send_wire(self, chunks: list[bytes]) -> None:
        """Pre-encoded UPDATEs from our update group."""
        conn = self.active_conn
        if conn is None:
            return
        # one write per flush and member (the group already coalesced them),
        # straight to the socket while nothing is queued: the hot path of
        # every churn event, once per member
        if conn.send(chunks[0] if len(chunks) == 1 else b"".join(chunks)) > MAX_QUEUED:
            # a peer that stops reading must not hold the others' memory
            self.log.warning("%s: peer is not reading, output queue over %d bytes",
                             self.name, MAX_QUEUED)
            self.fsm.stop(subcode=8, message="Output queue overflow")
            self.fsm.start()
            self._process()

    # ---- session events --------------------------------------------------
    def _on_established(self, neg: Any, conn_id: Any) -> None:
        self.negotiated = neg
        self.active_conn = self.conns.get(conn_id)
        self.neighbor_id = str(neg.peer_router_id)
        self.peer_router_id = int(neg.peer_router_id)
        self.established_count += 1
        self.set_state(ProtoState.UP)
        if self.stale_handle is not None and not neg.peer_kept_forwarding:
            # back, but it did not keep its forwarding state (no F bit, RFC
            # 4724 4.2, as BIRD): the stale routes go now; otherwise fresh
            # routes replace them and what is still stale goes at End-of-RIB
            # (or the timer)
            self._cancel_stale()
            self._sweep_stale()
        if self.ctx.graceful_recovery:
            # RFC 4724 restarting speaker: send nothing (and no End-of-RIB)
            # until every peer is back, or the peer would flush our routes
            self.rt.defer_join(self)
        else:
            self.join_group()
        if neg.peer_gr is None:
            self.recovered = True  # nothing to wait for

    def recovery_over(self) -> None:
        """`-R` recovery ended: later OPENs no longer carry the R and F bits."""
        self.fsm.config = self._settings()

    def join_group(self) -> None:
        if self.negotiated is None or self.group is not None:
            return
        self.group = self.rt.group_for(self, self.negotiated)
        if len(self._input):  # a burst: join with the others once it is done
            self.join_pending = True
            self.rt.join_later(self.group, self, self.export_carried)
        else:
            self.group.join(self, carried=self.export_carried)

    def _on_session_down(self, e: Any) -> None:
        self._leave_group()
        self.active_conn = None
        graceful = bool(getattr(e, "graceful", False))
        neg = self.negotiated
        helped = graceful and neg is not None and neg.peer_gr_ready
        if helped and self._own_routes():
            self._mark_stale(neg.peer_gr.restart_time)
            self.channel.forget_filtered()  # type: ignore[union-attr]
        else:
            self._cancel_stale()
            self._flush_routes()
        if not helped:
            self._restart_counts()
        if self.state is ProtoState.UP:
            self.set_state(ProtoState.START)
        self.negotiated = None

    def _leave_group(self) -> None:
        if self.group is not None:
            if self.join_pending:  # not a member yet: it keeps what it carried
                self.rt.cancel_join(self)
            else:
                self.export_carried = self.group.leave(self)
            self.group = None

    def _on_route_refresh(self, e: Any) -> None:
        if self.group is not None:
            self.group.resend(self)

    def apply_filters(self, config: Any, imp: bool, exp: bool) -> bool:
        """`configure` changed only filters: re-filter without a restart.
        False when the new import filter cannot be applied to what the peer
        sent (no session-wide route refresh): the caller restarts us."""
        self.config = config
        ch = self.channel
        assert ch is not None
        reloaded = True
        if imp:
            ch.import_filter = config.import_filter
            # route refresh: the peer sends everything again
            reloaded = self.negotiated is None or self.reload_routes()
        if exp:
            ch.export_filter = config.export_filter
            if self.group is not None and self.negotiated is not None:
                old = self.group
                carried = old.leave(self)
                self.group = self.rt.group_for(self, self.negotiated)
                # BIRD refeeds a protocol whose export filter changed
                self.group.join(self, previous=old, carried=carried, refeed=True)
        return reloaded

    def reload_routes(self) -> bool:
        """``reload in``: ask the peer to send everything again."""
        if self.negotiated is None or not self.negotiated.route_refresh:
            return False
        self.fsm.send_route_refresh(2 if self.v6 else 1, 1)
        self._process()
        return True

    def reload_out(self) -> None:
        if self.group is not None:
            self.group.resend(self)
