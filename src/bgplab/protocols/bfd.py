"""``protocol bfd``: BFD sessions (RFC 5880/5881) for whoever asks.

Sessions come from the requests of other protocols (a BGP protocol with
``bfd on``) through the daemon's broker (:mod:`bgplab.bfd.requests`) and
from the block's ``neighbor`` lines; one session per neighbor address,
shared by its requests, as in BIRD 1.6. Each session is a sans-I/O
:class:`bgplab.bfd.session.Session`; this class feeds it packets from
:mod:`bgplab.io.bfd_transport`, runs its timers on the event loop and tells
the requests when its state changes. The protocol has no routes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import time
from collections.abc import Callable
from typing import Any

from bgplab import net as netmod
from bgplab.bfd import session as bfdsession
from bgplab.bfd.packet import Diag, PacketError, State, decode
from bgplab.bfd.requests import Request, broker_of
from bgplab.bfd.session import Send, Session, StartTimer, StateChanged, StopTimer
from bgplab.io.bfd_transport import MULTIHOP_PORT, SINGLE_HOP_PORT, Listener, Sender
from bgplab.rib.protocol import Protocol, ProtoState

_rng = random.SystemRandom()


class PeerSession:
    """A session and what the shell needs around it."""

    def __init__(
        self, addr: str, local: str | None, iface: str | None, multihop: bool, session: Session
    ) -> None:
        self.addr = addr
        self.local = local
        self.iface = iface
        self.multihop = multihop
        self.session = session
        self.sender: Sender | None = None
        self.requests: list[Request] = []
        self.since = time.time()
        self.timers: dict[bfdsession.Timer, asyncio.TimerHandle] = {}
        self.static = False  # from a `neighbor` line


class BfdProtocol(Protocol):
    proto_name = "BFD"

    def __init__(self, config: Any, ctx: Any) -> None:
        super().__init__(config, ctx)
        self.v6 = ctx.extra.get("family") == 6
        self.sessions: dict[str, PeerSession] = {}
        self.by_disc: dict[int, PeerSession] = {}
        self.listeners: list[Listener] = []
        self._own: list[Request] = []
        self.dropped = 0  # packets discarded (bad, unknown session, TTL)

    # ---- life cycle ------------------------------------------------------
    async def start(self) -> None:
        self.set_state(ProtoState.START)
        try:
            for port in (SINGLE_HOP_PORT, MULTIHOP_PORT):
                lst = Listener(self._packet_in(port == MULTIHOP_PORT), self.v6, port)
                lst.open()
                self.listeners.append(lst)
        except OSError as exc:
            self.message = f"Socket: {exc.strerror or exc}"
            self.log.error("%s: cannot open the BFD ports: %s", self.name, exc)
            self._close_listeners()
            self.set_state(ProtoState.DOWN)
            return
        self.set_state(ProtoState.UP)
        broker = broker_of(self.ctx.extra)
        broker.attach(self)
        for n in getattr(self.config, "neighbors", ()):
            req = broker.request(n.address, n.local, n.iface, n.multihop)
            self._own.append(req)

    async def stop(self, reason: str = "") -> None:
        self.set_state(ProtoState.STOP)
        broker = broker_of(self.ctx.extra)
        for req in self._own:
            req.cancel()
        self._own = []
        broker.detach(self)
        for ps in list(self.sessions.values()):
            self._remove(ps)
        self._close_listeners()
        self.set_state(ProtoState.DOWN)

    def _close_listeners(self) -> None:
        for lst in self.listeners:
            lst.close()
        self.listeners = []

    # ---- requests (the broker calls these) --------------------------------
    def add_request(self, req: Request) -> None:
        ps = self.sessions.get(req.addr)
        if ps is None:
            ps = self._add(req.addr, req.local, req.iface, req.multihop)
        if ps is None:
            return
        ps.requests.append(req)
        req.update(ps.session.state, ps.session.diag)

    def remove_request(self, req: Request) -> None:
        ps = self.sessions.get(req.addr)
        if ps is None:
            return
        if req in ps.requests:
            ps.requests.remove(req)
        if not ps.requests:
            self._remove(ps)

    # ---- sessions --------------------------------------------------------
    def _add(
        self, addr: str, local: str | None, iface: str | None, multihop: bool
    ) -> PeerSession | None:
        if not multihop and iface is None:
            found = self.ctx.iface_for(_addr_key(addr), self.v6)
            iface = found.name if found is not None else None
        opts = self.config.options_for(iface, multihop)
        disc = _rng.randrange(1, 1 << 32)
        while disc in self.by_disc:
            disc = _rng.randrange(1, 1 << 32)
        ps = PeerSession(addr, local, iface, multihop, Session(disc, opts, _rng.random))
        try:
            ps.sender = Sender(
                addr,
                local,
                None if multihop else iface,
                self.v6,
                MULTIHOP_PORT if multihop else SINGLE_HOP_PORT,
            )
        except OSError as exc:
            self.log.error("%s: cannot open a socket for %s: %s", self.name, addr, exc)
            return None
        self.sessions[addr] = ps
        self.by_disc[disc] = ps
        if self.debug & {"states", "events", "all"}:
            self.log.info("%s: Session to %s added", self.name, addr)
        ps.session.start()
        self._run(ps)
        return ps

    def _remove(self, ps: PeerSession) -> None:
        ps.session.stop()
        self._run(ps)
        for h in ps.timers.values():
            h.cancel()
        ps.timers.clear()
        if ps.sender is not None:
            ps.sender.close()
        self.sessions.pop(ps.addr, None)
        self.by_disc.pop(ps.session.local_disc, None)
        for req in ps.requests:
            req.provider = None
            req.update(State.ADMIN_DOWN, Diag.ADMIN_DOWN)
        ps.requests = []

    def _run(self, ps: PeerSession) -> None:
        """Act on what the session asks for."""
        loop = asyncio.get_running_loop()
        for e in ps.session.events():
            if isinstance(e, Send):
                if ps.sender is not None:
                    ps.sender.send(e.data)
            elif isinstance(e, StartTimer):
                old = ps.timers.pop(e.timer, None)
                if old is not None:
                    old.cancel()
                ps.timers[e.timer] = loop.call_later(e.seconds, self._expired, ps, e.timer)
            elif isinstance(e, StopTimer):
                old = ps.timers.pop(e.timer, None)
                if old is not None:
                    old.cancel()
            elif isinstance(e, StateChanged):
                ps.since = time.time()
                if self.debug & {"states", "events", "all"}:
                    self.log.info(
                        "%s: Session to %s changed state from %s to %s",
                        self.name,
                        ps.addr,
                        e.old.text,
                        e.new.text,
                    )
                for req in list(ps.requests):
                    req.update(e.new, e.diag)

    def _expired(self, ps: PeerSession, timer: bfdsession.Timer) -> None:
        ps.timers.pop(timer, None)
        if self.sessions.get(ps.addr) is not ps:
            return
        ps.session.timer_expired(timer)
        self._run(ps)

    def _packet_in(self, multihop: bool) -> Callable[[bytes, str, int, int], None]:
        def handler(data: bytes, src: str, ifindex: int, ttl: int) -> None:
            try:
                pkt = decode(data)
            except PacketError as exc:
                self.dropped += 1
                if "packets" in self.debug or "all" in self.debug:
                    self.log.info("%s: Bad packet from %s - %s", self.name, src, exc)
                return
            src = _plain(src)
            ps = self.by_disc.get(pkt.your_disc) if pkt.your_disc else self.sessions.get(src)
            if ps is None or ps.addr != src or ps.multihop != multihop:
                self.dropped += 1  # 6.8.6: no session for it
                return
            if not multihop and ttl not in (-1, 255):
                self.dropped += 1  # RFC 5881 5: single hop means TTL 255
                return
            ps.session.packet_received(pkt)
            self._run(ps)

        return handler

    # ---- show ------------------------------------------------------------
    def session_rows(self) -> list[PeerSession]:
        return sorted(self.sessions.values(), key=lambda ps: _addr_key(ps.addr))


def _plain(addr: str) -> str:
    """An IPv4-mapped or scoped source as the session's address text."""
    return str(ipaddress.ip_address(addr.split("%", 1)[0]))


def _addr_key(addr: str) -> int:
    return netmod.ip_to_int(addr)[0]
