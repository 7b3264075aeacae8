"""One scripted iBGP peer of the soak: per-path state, replays its routes after a flap."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the soak drives real sockets
import contextlib
import socket  # noqa: TID251
import time
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from bgplab.bench.soak.model import (
    ASN,
    PATH_ID,
    Owned,
    next_hop,
    peer_nets,
)
from bgplab.bgp import attr_codec, messages
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import LocalConfig, Negotiated, negotiate
from bgplab.bgp.constants import IPV4_UNICAST, MsgType
from bgplab.bgp.errors import BgpError
from bgplab.bgp.framer import Framer

if TYPE_CHECKING:
    from bgplab.bench.soak.run import Soak


# ------------------------------------------------------------------ one peer


class Peer(asyncio.Protocol):
    """One scripted iBGP peer: active side, announces its current routes on
    every session and keeps exactly what the reflector sent it."""

    def __init__(self, soak: Soak, index: int, addr: str) -> None:
        self.soak = soak
        self.index = index
        self.addr = addr
        self.rid = IPv4Address(addr)
        self.nh = next_hop(index)
        self.nets = peer_nets(index, soak.opts.pods)
        # the model: net -> version, for the routes announced now
        self.routes: dict[int, int] = dict.fromkeys(self.nets, 0)
        # what the reflector sent: net -> path id -> (owner, version)
        self.rib: dict[int, dict[int, Owned]] = {}
        self.held = 0
        self.cfg = LocalConfig(
            asn=ASN, router_id=self.rid, hold_time=soak.opts.hold, add_path={IPV4_UNICAST: 3}
        )
        self.caps = self.cfg.open_capabilities()
        self.transport: asyncio.Transport | None = None
        self.framer = Framer()
        self.neg: Negotiated | None = None
        self.state = "idle"
        self.last_rx = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.leaving = False  # we close on purpose (flap or end)
        self.closed = asyncio.Event()
        self.opened = asyncio.Event()
        self._blocks: dict[int, bytes] = {}

    @property
    def up(self) -> bool:
        return self.state == "established"

    # -- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.framer = Framer()
        self.neg = None
        self.state = "opensent"
        self.leaving = False
        self.last_rx = time.monotonic()
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        opn = messages.Open.make(ASN, self.soak.opts.hold, self.rid, self.caps)
        transport.write(messages.encode_message(opn))

    def data_received(self, data: bytes) -> None:
        self.last_rx = time.monotonic()
        try:
            for mtype, body in self.framer.feed(data):
                self._message(mtype, body)
                if self.transport is None or self.transport.is_closing():
                    return
        except BgpError as exc:
            self.soak.note(f"{self.addr}: bad message from the reflector: {exc}")
            self.soak.stats.malformed += 1
            self._write(messages.encode_message(exc.notification()))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        was_up = self.up
        self.state = "idle"
        self.transport = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        # a new session starts from nothing
        self.rib = {}
        self.held = 0
        if not self.leaving:
            self.soak.stats.drops += 1
            self.soak.note(f"{self.addr}: session lost ({'up' if was_up else 'opening'}): {exc}")
        self.opened.set()
        self.closed.set()

    # -- protocol
    def _message(self, mtype: int, body: bytes) -> None:
        if mtype == MsgType.UPDATE:
            if self.state == "established":
                self._update(body)
            return
        msg = messages.decode_message(mtype, body, self.neg)
        if isinstance(msg, messages.Open):
            self.neg = negotiate(
                self.cfg, msg.asn, msg.hold_time, msg.router_id, msg.capabilities, self.caps
            )
            self.opened.set()
            self.state = "openconfirm"
            self._write(messages.encode_keepalive())
        elif isinstance(msg, messages.Keepalive):
            if self.state == "openconfirm":
                self.state = "established"
                self._keepalive()
                self._announce_all()
                self.soak.stats.established += 1
        elif isinstance(msg, messages.Notification):
            self.soak.stats.notifications += 1
            self.soak.note(f"{self.addr}: NOTIFICATION from the reflector: {msg.describe()}")
            self.leaving = True  # counted here, not again as a drop
            self.soak.stats.drops += 1
            self.abort()

    def _update(self, body: bytes) -> None:
        self.soak.last_update = time.monotonic()
        upd = messages.decode_update(body, self.neg)
        if upd.treat_as_withdraw or upd.problems:
            self.soak.stats.malformed += 1
            self.soak.note(f"{self.addr}: faulty UPDATE from the reflector: {upd.problems}")
        rib = self.rib
        for item in upd.withdrawn:
            paths = rib.get(item[0])
            if paths is not None and paths.pop(item[1], None) is not None:
                self.held -= 1
                if not paths:
                    del rib[item[0]]
        if not upd.nlri:
            return
        owned = self.soak.tag_of(upd.attrs)
        if upd.attrs is not None and upd.attrs.originator_id == self.rid:
            # our own route reflected back: a client drops it (RFC 4456 8)
            self.soak.stats.reflected_own += len(upd.nlri)
            return
        for n, pid in upd.nlri:
            paths = rib.get(n)
            if paths is None:
                paths = rib[n] = {}
            if pid not in paths:
                self.held += 1
            paths[pid] = owned

    def _keepalive(self) -> None:
        """Send KEEPALIVEs and watch the hold timer (one timer for both)."""
        neg = self.neg
        if neg is None or not neg.hold_time or self.transport is None:
            return
        if time.monotonic() - self.last_rx > neg.hold_time:
            self.soak.stats.hold_expired += 1
            self.soak.note(f"{self.addr}: hold timer expired")
            self._write(messages.encode_message(messages.Notification(4, 0)))
            self.abort()
            return
        self._write(messages.encode_keepalive())
        step = max(1.0, min(neg.keepalive_time or neg.hold_time / 3, neg.hold_time / 3))
        self.timer = asyncio.get_running_loop().call_later(step, self._keepalive)

    def _block(self, version: int) -> bytes:
        blk = self._blocks.get(version)
        if blk is None:
            attrs = PathAttrs(
                origin=0,
                next_hop=self.nh,
                local_pref=100,
                large_communities=((ASN, self.index + 1, version),),
            )
            blk = attr_codec.encode_attributes(attrs, self.neg)
            self._blocks = {version: blk}  # only the newest is reused
        return blk

    def _announce_all(self) -> None:
        by_version: dict[int, list[tuple[int, int]]] = {}
        for n, v in self.routes.items():
            by_version.setdefault(v, []).append((n, PATH_ID))
        out: list[bytes] = []
        for v, items in by_version.items():
            out.extend(messages.pack_updates(self._block(v), items, self.neg))
        out.append(messages.pack_eor())
        self._write(b"".join(out))

    def announce(self, n: int, version: int) -> None:
        self.routes[n] = version
        if self.up:
            self._write(
                b"".join(messages.pack_updates(self._block(version), [(n, PATH_ID)], self.neg))
            )

    def withdraw(self, n: int) -> None:
        self.routes.pop(n, None)
        if self.up:
            self._write(b"".join(messages.pack_withdraws([(n, PATH_ID)], self.neg)))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.soak.stats.bytes_out += len(data)
            self.transport.write(data)

    # -- leaving
    def close(self, notify: bool = True) -> None:
        """End the session on purpose: Cease, or just drop the connection."""
        self.leaving = True
        if self.transport is None:
            return
        if notify:
            self._write(messages.encode_message(messages.Notification.cease()))
            self.transport.close()
        else:
            self.transport.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.close()
