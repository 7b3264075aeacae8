"""The load generator: many BGP sessions from distinct 127.x addresses.

One asyncio loop drives every session. What a session announces is encoded
before the clock starts (both with and without ADD-PATH path ids, chosen when
the OPEN exchange says which applies); what it receives is only counted
(:func:`bgplab.bench.wire.count_update`); a session's side is
:mod:`bgplab.bench.loadsession`, its plan :mod:`bgplab.bench.peerplan`. Sessions write through their
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bgplab.bench import connectstats, wire
from bgplab.bench.dialer import EXPECTED_ERRNOS, keep_dialling
from bgplab.bench.loadsession import Session
from bgplab.bench.peerplan import PeerPlan, build_index

# Sessions between connect() and the target's OPEN at any time, "paced" mode.
# BIRD listens with a backlog of 8: a storm of SYNs beyond it is dropped and
# retried by TCP a second later, which measures the kernel's SYN backoff as
# much as the daemon. "burst" mode dials every session at once, as a cluster
# of calico-nodes does when its reflector restarts, and pays exactly that.
CONNECT_CONCURRENCY = 8
CONNECT_MODES = ("paced", "burst")
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
