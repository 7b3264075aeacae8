"""The load generator: many BGP sessions from distinct 127.x addresses.

One asyncio loop drives every session. What a session announces is encoded
before the clock starts (both with and without ADD-PATH path ids, chosen when
the OPEN exchange says which applies); what it receives is only counted
(:func:`bgplab.bench.wire.count_update`). Sessions write through their
asyncio transports but are read by one epoll of the generator's own: a
reflector's fan-out is one small read per session and route (millions in
calico-rr-2500), and asyncio's per-socket reader costs about 1 us of Python
per read on top of the system call. Keepalives run on their own loop timers
and are written straight to the socket, so route traffic cannot delay them;
no session does more than one buffer's worth of work per callback, so no
timer waits long.

Sessions reconnect after a drop (like a Calico node would), and every drop,
NOTIFICATION and hold-timer expiry is counted: the benchmark reports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bgplab.bench import connectstats, wire
from bgplab.bench.dialer import EXPECTED_ERRNOS, keep_dialling

BENCH_AS = 63400
HOLD_TIME = 240  # what BIRD and Calico's BIRD offer
# Sessions between connect() and the target's OPEN at any time, "paced" mode.
# BIRD listens with a backlog of 8: a storm of SYNs beyond it is dropped and
# retried by TCP a second later, which measures the kernel's SYN backoff as
# much as the daemon. "burst" mode dials every session at once, as a cluster
# of calico-nodes does when its reflector restarts, and pays exactly that.
CONNECT_CONCURRENCY = 8
CONNECT_MODES = ("paced", "burst")
# Sessions expecting at least this many prefixes count NLRI without
# decoding them and check the exact set once the count is complete.
FAST_COUNT_FROM = 20_000
READ_SIZE = 256 * 1024  # as asyncio's socket transport


def raise_nofile(wanted: int) -> int:
    """Raise RLIMIT_NOFILE towards ``wanted`` (2,500 sessions need 2,500
    sockets); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        # root may raise the hard limit too
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def ip_int(text: str) -> int:
    return int.from_bytes(socket.inet_aton(text), "big")


def ip_str(value: int) -> str:
    return socket.inet_ntoa(value.to_bytes(4, "big"))


@dataclass
class PeerPlan:
    """What one simulated peer announces, with its bytes pre-encoded."""

    addr: str
    # NLRI entries: (address, length); each gets path id 1 with ADD-PATH
    routes: list[tuple[int, int]] = field(default_factory=list)
    # attribute sets: routes[i] uses attr_sets[attr_index[i]] (or set 0)
    attr_sets: list[bytes] = field(default_factory=list)
    attr_index: list[int] | None = None
    expect: int = 0  # prefixes this peer must hold to be converged
    watch: bool = False  # decode arrivals (churn delay measurement)
    _wire: dict[bool, bytes] = field(default_factory=dict, repr=False)

    def encode(self) -> None:
        """Build the announcement stream for both ADD-PATH outcomes."""
        for addpath in (False, True):
            pid = 1 if addpath else None
            if not self.routes:
                self._wire[addpath] = wire.END_OF_RIB
                continue
            groups: dict[int, list[bytes]] = {}
            for i, (a, plen) in enumerate(self.routes):
                k = self.attr_index[i] if self.attr_index is not None else 0
                groups.setdefault(k, []).append(wire.nlri_entry(a, plen, pid))
            parts: list[bytes] = []
            for k, entries in groups.items():
                parts.extend(wire.pack_announces(entries, self.attr_sets[k]))
            parts.append(wire.END_OF_RIB)
            self._wire[addpath] = b"".join(parts)

    def stream(self, addpath: bool) -> bytes:
        if addpath not in self._wire:
            self.encode()
        return self._wire[addpath]


@dataclass
class Counters:
    """What the generator observed, for the report."""

    established: int = 0
    notifications: int = 0
    notification_codes: dict[tuple[int, int], int] = field(default_factory=dict)
    hold_expiries_target: int = 0  # NOTIFICATION 4 from the target
    hold_expiries_local: int = 0  # the target went silent for a hold time
    drops: int = 0
    connect_failures: int = 0
    bytes_in: int = 0
    updates_in: int = 0
    prefixes_in: int = 0
    withdrawn_in: int = 0
    sent_bytes: int = 0
    unknown_prefixes: int = 0  # received prefixes nobody announced


def build_index(plans: list[PeerPlan]) -> dict[bytes, int]:
    """Every announced prefix (as NLRI bytes without path id) -> a bit
    position in each session's "held" bitmap."""
    index: dict[bytes, int] = {}
    for p in plans:
        for a, plen in p.routes:
            index.setdefault(wire.prefix_bytes(a, plen), len(index))
    return index


def mark_update(
    data: bytes, start: int, end: int, index: dict[bytes, int], bitmap: bytearray, addpath: bool
) -> tuple[int, int, int, int]:
    """Apply one UPDATE body to a "held" bitmap (0 not held, 1 held, 2 never
    counted); exact even when the target repeats a route. Returns
    (announced, withdrawn, change of held count, unknown prefixes)."""
    wd, ann = wire.update_ranges(data, start, end)
    skip = 4 if addpath else 0
    delta = unknown = n_ann = n_wd = 0
    for p, e in ann:
        while p < e:
            p += skip
            q = p + 1 + ((data[p] + 7) >> 3)
            idx = index.get(data[p:q])
            p = q
            n_ann += 1
            if idx is None:
                unknown += 1
            elif not bitmap[idx]:
                bitmap[idx] = 1
                delta += 1
        if p != e:
            raise wire.WireError("NLRI overruns its field")
    for p, e in wd:
        while p < e:
            p += skip
            q = p + 1 + ((data[p] + 7) >> 3)
            idx = index.get(data[p:q])
            p = q
            n_wd += 1
            if idx is not None and bitmap[idx] == 1:
                bitmap[idx] = 0
                delta -= 1
        if p != e:
            raise wire.WireError("NLRI overruns its field")
    return n_ann, n_wd, delta, unknown


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


class LoadGen:
    """All sessions of one run, towards one target address and port."""

    def __init__(
        self,
        plans: list[PeerPlan],
        target: str,
        port: int = 179,
        log: Callable[[str], None] | None = None,
        reconnect: bool = True,
        connect: str = "paced",
    ) -> None:
        if connect not in CONNECT_MODES:
            raise ValueError(f"connect mode {connect!r}")
        self.plans = plans
        self.connect = connect
        self.target = target
        self.port = port
        self.reconnect = reconnect
        self.counters = Counters()
        self.index = build_index(plans)
        self.sessions = [Session(self, i, p) for i, p in enumerate(plans)]
        self._log = log or (lambda msg: None)
        self.loop = asyncio.get_event_loop()
        self.t0 = 0.0
        self.all_established_at: float | None = None
        self.converged_at: float | None = None
        self.cpu_at_converged: float | None = None  # process CPU before the exact check
        self.n_converged = 0
        self.need_converged = sum(1 for p in plans if p.expect > 0)
        self._converged = asyncio.Event()
        self._all_up = asyncio.Event()
        self._stop = False
        self._tasks: list[asyncio.Task[None]] = []
        self._epoll: select.epoll | None = None  # reads every session (start to stop)
        self._reading: dict[int, Session] = {}  # fd -> session
        self.errors: list[str] = []
        # churn: NLRI bytes (no path id) -> [time it left its sender, indices
        # of the watcher sessions that have not received it yet]
        self.pending_announce: dict[bytes, list] = {}
        self.pending_withdraw: dict[bytes, list] = {}
        self.announce_delays: list[float] = []
        self.withdraw_delays: list[float] = []
        self.delays_by_watcher: dict[int, list[float]] = {}

    def log(self, msg: str) -> None:
        if len(self.errors) < 1000:
            self.errors.append(msg)
        self._log(msg)

    # -- progress -----------------------------------------------------------
    def session_up(self, s: Session) -> None:
        if self.counters.established == len(self.sessions) and self.all_established_at is None:
            self.all_established_at = time.monotonic()
            self._all_up.set()

    def progress(self, s: Session) -> None:
        want = s.plan.expect
        if want <= 0:
            return
        ok = s.count() >= want
        if ok and not s.converged:
            s.converged = True
            s.converged_time = time.monotonic()
            self.n_converged += 1
            if self.n_converged == self.need_converged and self.converged_at is None:
                self._all_converged()
        elif not ok and s.converged:
            s.converged = False
            self.n_converged -= 1

    def _all_converged(self) -> None:
        """Every session has its count: check fast-counted ones exactly
        (only now, so checking one does not delay another's arrival time)."""
        self.cpu_at_converged = time.process_time()
        for s in self.sessions:
            if not s.exact:
                s.verify()
                if s.held < s.plan.expect and s.converged:
                    s.converged = False
                    self.n_converged -= 1
        if self.n_converged == self.need_converged:
            self.converged_at = max(s.converged_time for s in self.sessions if s.converged)
            self._converged.set()

    def watch_arrivals(self, s: Session, data: bytes, start: int, end: int) -> None:
        """Record, at watcher ``s``, the delay of each churned route from the
        moment its UPDATE left the originating peer (every watcher counts:
        a reflector writes to its members one after another, so where a
        receiver sits in that order is part of the delay)."""
        if not (self.pending_announce or self.pending_withdraw):
            return
        now = time.monotonic()
        try:
            wd, ann = wire.update_ranges(data, start, end)
        except wire.WireError:
            return
        skip = 4 if s.addpath_rx else 0
        mine = self.delays_by_watcher.setdefault(s.index, [])
        for ranges, pending, out in (
            (ann, self.pending_announce, self.announce_delays),
            (wd, self.pending_withdraw, self.withdraw_delays),
        ):
            for p, e in ranges:
                while p < e:
                    p += skip
                    q = p + 1 + ((data[p] + 7) >> 3)
                    key = data[p:q]
                    p = q
                    ent = pending.get(key)
                    if ent is None or s.index not in ent[1]:
                        continue
                    ent[1].discard(s.index)
                    if not ent[1]:
                        del pending[key]
                    d = now - ent[0]
                    out.append(d)
                    if out is self.announce_delays:
                        mine.append(d)

    # -- reading ------------------------------------------------------------
    def read_directly(self, s: Session, fd: int) -> bool:
        """Read ``s`` from the generator's epoll (False before ``start``)."""
        if self._epoll is None:
            return False
        self._epoll.register(fd, select.EPOLLIN)
        self._reading[fd] = s
        s.fd = fd
        return True

    def stop_reading(self, fd: int) -> None:
        self._reading.pop(fd, None)
        if self._epoll is not None:
            with contextlib.suppress(OSError):
                self._epoll.unregister(fd)

    def _drain(self) -> None:
        """One wakeup for every session with data: one ``os.read`` each."""
        ep = self._epoll
        if ep is None:
            return
        reading = self._reading
        read = os.read
        for fd, _ev in ep.poll(0):
            s = reading.get(fd)
            if s is None:
                continue
            try:
                data = read(fd, READ_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                s.read_failed(exc)
                continue
            if data:
                s.data_received(data)
            else:
                s.read_failed(None)

    # -- running ------------------------------------------------------------
    async def _connect_loop(self, s: Session, sem: asyncio.Semaphore) -> None:
        await keep_dialling(
            s,
            (self.target, self.port),
            s.plan.addr,
            sem,
            s.open_seen,
            s.closed,
            stopping=lambda: self._stop,
            failed=lambda exc: self._dial_failed(s, exc),
            pause=lambda: 1.0 if self.reconnect else None,
            dialling=lambda: self._dialling(s),
        )

    def _dialling(self, s: Session) -> None:
        s.dials += 1
        if s.dialled_at is None:
            s.dialled_at = time.monotonic()

    def _dial_failed(self, s: Session, exc: OSError) -> None:
        self.counters.connect_failures += 1
        if exc.errno not in EXPECTED_ERRNOS:
            self.log(f"{s.plan.addr}: connect: {exc}")

    def start(self) -> None:
        raise_nofile(len(self.sessions) + 512)
        for p in self.plans:
            p.stream(False)
            p.stream(True)
        self._epoll = select.epoll()
        self.loop.add_reader(self._epoll.fileno(), self._drain)
        self.t0 = time.monotonic()
        slots = CONNECT_CONCURRENCY if self.connect == "paced" else len(self.sessions)
        sem = asyncio.Semaphore(slots)
        self._tasks = [asyncio.ensure_future(self._connect_loop(s, sem)) for s in self.sessions]

    async def wait_established(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._all_up.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def wait_converged(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._converged.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        self._stop = True
        for s in self.sessions:
            s.close()
        for t in self._tasks:
            t.cancel()
        if self._tasks:
            # bounded: a task that swallowed its cancellation must not hang the run
            await asyncio.wait(self._tasks, timeout=10)
        await asyncio.sleep(0)
        if self._epoll is not None:
            self.loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
            self._epoll = None
            self._reading.clear()

    def held(self) -> list[int]:
        return [s.held for s in self.sessions]

    def connect_timeline(self) -> dict[str, float]:
        """How the sessions came up, from each one's first dial: TCP
        connected (``connect_*``), the target's OPEN (``open_*``), and
        Established from the start of the run (``est_*``, with one-second
        bins); sessions whose SYN was sent again, and how many SYNs."""
        ss = self.sessions
        conn = [s.connected_at - s.dialled_at for s in ss if s.connected_at and s.dialled_at]
        opened = [s.open_at - s.dialled_at for s in ss if s.open_at and s.dialled_at]
        est = [s.first_established_at - self.t0 for s in ss if s.first_established_at]
        out = {
            **connectstats.spread("connect", conn),
            **connectstats.spread("open", opened),
            **connectstats.spread("est", est),
            **connectstats.histogram(est),
            "syn_retried_sessions": float(sum(1 for s in ss if s.syn_retransmits)),
            "syn_retransmits": float(sum(s.syn_retransmits for s in ss)),
            # dialled more than once: refused, reset or timed out on the way
            "redialled_sessions": float(sum(1 for s in ss if s.dials > 1)),
            "connect_failures": float(self.counters.connect_failures),
        }
        return out


# --- the generator's own ceiling ------------------------------------------


async def measure_max_rate(plan: PeerPlan, addr: str = "127.10.255.1") -> float:
    """Prefixes/s the generator can push through loopback TCP into its own
    receive path (the same :class:`Session` code that counts a target's
    UPDATEs), in this one process: the ceiling of any measurement made with
    it. ``plan`` is usually the biggest announcement of a run."""
    loop = asyncio.get_running_loop()
    data = plan.stream(True)
    want = len(plan.routes)
    gen = LoadGen([plan, PeerPlan(addr, expect=want)], addr)
    sink = gen.sessions[1]
    sink.state = "established"
    sink.addpath_rx = True

    class Sink(asyncio.Protocol):
        def data_received(self, chunk: bytes) -> None:
            sink.data_received(chunk)

    server = await loop.create_server(Sink, addr, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        transport, _ = await loop.create_connection(asyncio.Protocol, addr, port)
        t0 = time.monotonic()
        transport.write(data)
        if not await gen.wait_converged(120):
            raise OSError("the sink did not receive everything")
        transport.close()
    finally:
        server.close()
    assert gen.converged_at is not None
    return want / max(gen.converged_at - t0, 1e-9)
