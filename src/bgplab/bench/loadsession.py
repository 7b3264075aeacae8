"""One session of the load generator: the active side of a BGP session with a
minimal FSM, announcing its :class:`~bgplab.bench.peerplan.PeerPlan` once
Established and counting what the target sends.

Its reads come from the generator's own epoll (:mod:`bgplab.bench.loadgen`)
rather than the transport's reader; keepalives run on loop timers and are
written straight to the socket, so route traffic cannot delay them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import TYPE_CHECKING

from bgplab.bench import connectstats, wire
from bgplab.bench.peerplan import PeerPlan, ip_int, mark_update

if TYPE_CHECKING:
    from bgplab.bench.loadgen import LoadGen

BENCH_AS = 63400
HOLD_TIME = 240  # what BIRD and Calico's BIRD offer
# Sessions expecting at least this many prefixes count NLRI without
# decoding them and check the exact set once the count is complete.
FAST_COUNT_FROM = 20_000


class Session(asyncio.Protocol):
    """One BGP session, active side, minimal FSM."""

    def __init__(self, gen: LoadGen, index: int, plan: PeerPlan) -> None:
        self.gen = gen
        self.index = index
        self.plan = plan
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.state = "idle"
        self.addpath_rx = False
        self.addpath_tx = False
        self.hold = HOLD_TIME
        self.held = 0
        self.bitmap = self._fresh_bitmap()
        self.announced_total = 0
        self.converged = False
        self.converged_time = 0.0
        # Big receivers (a full table) count fast and check exactly once
        self.exact = plan.expect < FAST_COUNT_FROM
        self.raw_held = 0
        self.stash: list[bytes] = []
        self.last_rx = 0.0
        self.ka_handle: asyncio.TimerHandle | None = None
        self.fd = -1  # registered with the generator's epoll while >= 0
        self.established_at: float | None = None
        # the first connection's timeline (monotonic): dial, TCP up, OPEN in
        self.dialled_at: float | None = None
        self.connected_at: float | None = None
        self.open_at: float | None = None
        self.first_established_at: float | None = None
        self.syn_retransmits = 0
        self.dials = 0
        self.closed = asyncio.Event()
        self.open_seen = asyncio.Event()

    # -- asyncio callbacks ------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.state = "opensent"
        self.last_rx = time.monotonic()
        if self.connected_at is None:
            self.connected_at = self.last_rx
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self.syn_retransmits += connectstats.syn_retransmits(sock)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.gen.read_directly(self, sock.fileno()):
                transport.pause_reading()  # the generator's epoll reads it
        rid = ip_int(self.plan.addr)
        transport.write(wire.encode_open(BENCH_AS, HOLD_TIME, rid, addpath=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_reading()
        if self.ka_handle is not None:
            self.ka_handle.cancel()
            self.ka_handle = None
        c = self.gen.counters
        if self.state == "established":
            c.established -= 1
            c.drops += 1  # a session that was up went away: the report shows it
        elif self.state != "closing":
            c.connect_failures += 1  # refused before Established; we dial again
        self.state = "idle"
        self.transport = None
        self.buf.clear()
        # the next session starts from nothing, like a reconnecting node
        self.held = 0
        self.raw_held = 0
        self.stash = []
        self.exact = self.plan.expect < FAST_COUNT_FROM
        self.bitmap = self._fresh_bitmap()
        self.gen.progress(self)
        self.closed.set()

    def data_received(self, data: bytes) -> None:
        gen = self.gen
        c = gen.counters
        c.bytes_in += len(data)
        self.last_rx = time.monotonic()
        buf = self.buf
        if buf:
            buf += data
            data = bytes(buf)
            buf.clear()
        n = len(data)
        pos = 0
        announced = withdrawn = updates = 0
        # Hot loop, written out flat: a reflector sends one small UPDATE per
        # route (each has its own next hop), millions of them at scale.
        flat = not self.plan.watch
        exact = self.exact
        get = gen.index.get
        bitmap = self.bitmap
        skip = 4 if self.addpath_rx else 0
        held = self.held
        raw = 0
        stash = self.stash
        unknown = 0
        try:
            while n - pos >= 19:
                mlen = (data[pos + 16] << 8) | data[pos + 17]
                if mlen < 19:
                    raise wire.WireError(f"bad message length {mlen}")
                end = pos + mlen
                if end > n:
                    break
                if data[pos + 18] == 2:  # UPDATE
                    updates += 1
                    b = pos + 19
                    if flat and data[b] == 0 and data[b + 1] == 0:
                        # no withdrawn routes: NLRI follow the attributes
                        p = b + 4 + ((data[b + 2] << 8) | data[b + 3])
                        if p < end:
                            if exact:
                                while p < end:
                                    p += skip
                                    q = p + 1 + ((data[p] + 7) >> 3)
                                    idx = get(data[p:q])
                                    p = q
                                    announced += 1
                                    if idx is None:
                                        unknown += 1
                                    elif not bitmap[idx]:
                                        bitmap[idx] = 1
                                        held += 1
                            else:
                                # count only; checked exactly once at the end
                                while p < end:
                                    p += skip + 1 + ((data[p + skip] + 7) >> 3)
                                    raw += 1
                                stash.append(data[b:end])
                            if p != end:
                                raise wire.WireError("NLRI overruns the message")
                            pos = end
                            continue
                    # general case: withdrawals, MP_REACH, End-of-RIB, fast count
                    self.held = held
                    a, w = self._apply_update(data, b, end)
                    held = self.held
                    announced += a
                    withdrawn += w
                    if self.plan.watch:
                        gen.watch_arrivals(self, data, b, end)
                elif data[pos + 18] != wire.KEEPALIVE or self.state != "established":
                    self.held = held
                    self._control(data[pos + 18], data[pos + 19 : end])
                    held = self.held
                    # the OPEN decides ADD-PATH for everything after it
                    skip = 4 if self.addpath_rx else 0
                    bitmap = self.bitmap
                pos = end
        except (wire.WireError, IndexError) as exc:
            gen.log(f"{self.plan.addr}: malformed message: {exc}")
            self._abort()
            return
        finally:
            self.held = held
            self.raw_held += raw
            c.unknown_prefixes += unknown
        announced += raw
        if pos < n:
            buf += data[pos:]
        c.updates_in += updates
        if announced or withdrawn:
            c.prefixes_in += announced
            c.withdrawn_in += withdrawn
            self.announced_total += announced
            want = self.plan.expect
            if want > 0 and (self.count() >= want) != self.converged:
                gen.progress(self)

    def read_failed(self, exc: OSError | None) -> None:
        """End of file (None) or an error on a socket the generator reads
        itself: the transport closes it, ``connection_lost`` follows."""
        self._stop_reading()
        if self.transport is not None:
            self.transport.abort()

    def _stop_reading(self) -> None:
        if self.fd >= 0:
            self.gen.stop_reading(self.fd)
            self.fd = -1

    def _fresh_bitmap(self) -> bytearray:
        """0 = not held, 1 = held, 2 = our own prefix (some targets reflect
        a route back to its originator; a real speaker drops it by
        ORIGINATOR_ID, so it never counts)."""
        bm = bytearray(len(self.gen.index))
        index = self.gen.index
        for a, plen in self.plan.routes:
            bm[index[wire.prefix_bytes(a, plen)]] = 2
        return bm

    def _apply_update(self, data: bytes, start: int, end: int) -> tuple[int, int]:
        if not self.exact:
            # fast path: count only, keep the body for one exact check later
            a, w = wire.count_update(data, self.addpath_rx, start, end)
            self.raw_held += a - w
            self.stash.append(data[start:end])
            return a, w
        n_ann, n_wd, delta, unknown = mark_update(
            data, start, end, self.gen.index, self.bitmap, self.addpath_rx
        )
        self.held += delta
        if unknown:
            self.gen.counters.unknown_prefixes += unknown
        return n_ann, n_wd

    def count(self) -> int:
        """Prefixes held (exact), or counted so far (fast mode)."""
        return self.held if self.exact else self.raw_held

    def verify(self) -> None:
        """Replay what arrived in fast mode into the exact bitmap; from now
        on the session counts exactly (repeats or reflected own routes made
        the raw count too high if ``held`` is now short)."""
        for body in self.stash:
            _a, _w, delta, unknown = mark_update(
                body, 0, len(body), self.gen.index, self.bitmap, self.addpath_rx
            )
            self.held += delta
            self.gen.counters.unknown_prefixes += unknown
        self.stash = []
        self.exact = True

    # -- protocol ---------------------------------------------------------
    def _control(self, mtype: int, body: bytes) -> None:
        assert self.transport is not None
        c = self.gen.counters
        if mtype == wire.OPEN:
            info = wire.decode_open(body)
            self.open_seen.set()
            if self.open_at is None:
                self.open_at = time.monotonic()
            self.addpath_rx, self.addpath_tx = wire.negotiated_addpath(3, info.addpath_mode)
            self.hold = min(HOLD_TIME, info.hold) if info.hold else 0
            self.transport.write(wire.KEEPALIVE_MSG)
            self.state = "openconfirm"
        elif mtype == wire.KEEPALIVE and self.state == "openconfirm":
            self.state = "established"
            self.established_at = time.monotonic()
            if self.first_established_at is None:
                self.first_established_at = self.established_at
            c.established += 1
            self._schedule_keepalive()
            data = self.plan.stream(self.addpath_tx)
            c.sent_bytes += len(data)
            self.transport.write(data)
            self.gen.session_up(self)
        elif mtype == wire.NOTIFICATION:
            code = (body[0], body[1]) if len(body) >= 2 else (0, 0)
            c.notifications += 1
            c.notification_codes[code] = c.notification_codes.get(code, 0) + 1
            if code[0] == 4:
                c.hold_expiries_target += 1
            self.gen.log(f"{self.plan.addr}: NOTIFICATION {code[0]}/{code[1]}")
            self._abort()

    def _schedule_keepalive(self) -> None:
        if self.hold:
            self.ka_handle = self.gen.loop.call_later(self.hold / 3, self._keepalive)

    def _keepalive(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if time.monotonic() - self.last_rx > self.hold:
            self.gen.counters.hold_expiries_local += 1
            self.transport.write(wire.encode_notification(4, 0))
            self._abort()
            return
        self.transport.write(wire.KEEPALIVE_MSG)
        self._schedule_keepalive()

    def _abort(self) -> None:
        self._stop_reading()
        if self.transport is not None:
            self.transport.close()

    def send(self, data: bytes) -> None:
        if self.transport is not None and self.state == "established":
            self.gen.counters.sent_bytes += len(data)
            self.transport.write(data)

    def close(self) -> None:
        self._stop_reading()
        if self.transport is not None and not self.transport.is_closing():
            self.state = "closing"
            if self.transport.get_write_buffer_size() > 0:
                # a target that stopped reading must not keep us waiting
                self.transport.abort()
                return
            self.transport.write(wire.encode_notification(6, 2))
            self.transport.close()
