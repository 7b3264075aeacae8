"""One soak run: start bgplabd, connect the peers, churn, settle, check."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the soak drives real sockets
import contextlib
import datetime
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from bgplab.bench.dialer import EXPECTED_ERRNOS, keep_dialling
from bgplab.bench.metrics import cpu_seconds, proc_status_kb
from bgplab.bench.soak.model import (
    ASN,
    CONNECT_CONCURRENCY,
    Check,
    Owned,
    SoakOptions,
    check_peer,
    peer_addrs,
    reflector_config,
)
from bgplab.bench.soak.peer import Peer
from bgplab.bgp.attrs import PathAttrs

# ------------------------------------------------------------------ the run


@dataclass
class Stats:
    established: int = 0
    drops: int = 0  # sessions lost that we did not close
    notifications: int = 0
    hold_expired: int = 0
    malformed: int = 0
    reflected_own: int = 0
    connect_failures: int = 0
    bytes_out: int = 0
    withdraws: int = 0
    announces: int = 0
    replaces: int = 0
    bounces: int = 0
    flaps: int = 0


@dataclass
class SoakResult:
    date: str = ""
    options: dict[str, object] = field(default_factory=dict)
    ok: bool = False
    error: str = ""
    routes_per_peer: int = 0
    converge_s: float = 0.0
    churn_s: float = 0.0
    settle_s: float = 0.0
    quiet_reached: bool = False
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_samples_mb: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    cpu_churn_s: float = 0.0
    expected: int = 0
    held: int = 0
    lost: int = -1
    duplicated: int = -1
    stale: int = -1
    examples: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.ok and self.lost == 0 and self.duplicated == 0 and self.stale == 0


class Soak:
    """Peers, churn and checks of one run; the daemon is started by the caller."""

    def __init__(
        self, opts: SoakOptions, pid: int, alive: Callable[[], bool], log: Callable[[str], None]
    ) -> None:
        self.opts = opts
        self.pid = pid
        self.alive = alive
        self.log = log
        self.rng = random.Random(opts.seed)
        self.stats = Stats()
        self.notes: list[str] = []
        self.addrs = peer_addrs(opts.peer_base, opts.peers)
        self.peers = [Peer(self, i, a) for i, a in enumerate(self.addrs)]
        self.stopping = False
        self.last_update = time.monotonic()
        self.version = 0
        self.tasks: list[asyncio.Task[None]] = []
        # routes withdrawn by churn, to be announced again: (peer, net, when)
        self.down: list[tuple[int, int, float]] = []

    def note(self, msg: str) -> None:
        if len(self.notes) < 200:
            self.notes.append(msg)
        if self.opts.verbose:
            self.log(msg)

    def tag_of(self, attrs: PathAttrs | None) -> Owned:
        """(owner, version) a received route claims; (-1, -1) if its next
        hop is not its owner's (the reflector must not change it)."""
        if attrs is None:
            return (-1, -1)
        for asn, owner, version in attrs.large_communities:
            if asn == ASN and 1 <= owner <= len(self.peers):
                if attrs.next_hop != self.peers[owner - 1].nh:
                    return (-1, -1)
                return (owner - 1, version)
        return (-1, -1)

    # -- sessions
    async def _session(self, p: Peer, sem: asyncio.Semaphore) -> None:
        await keep_dialling(
            p,
            (self.opts.addr, 179),
            p.addr,
            sem,
            p.opened,
            p.closed,
            stopping=lambda: self.stopping,
            failed=lambda exc: self._dial_failed(p, exc),
            # a flapped peer stays away a while, sometimes hardly at all
            pause=lambda: self.rng.uniform(0.0, 3.0) if p.leaving else 1.0,
        )

    def _dial_failed(self, p: Peer, exc: OSError) -> None:
        self.stats.connect_failures += 1
        if exc.errno not in EXPECTED_ERRNOS:
            self.note(f"{p.addr}: connect: {exc}")

    def all_up(self) -> bool:
        return all(p.up for p in self.peers)

    def current(self) -> dict[int, Owned]:
        """net -> (owner, version) of every route a connected peer announces."""
        out: dict[int, Owned] = {}
        for p in self.peers:
            if p.up:
                for n, v in p.routes.items():
                    out[n] = (p.index, v)
        return out

    def counts_match(self) -> bool:
        """Cheap convergence test: every peer holds as many paths as it should."""
        total = sum(len(p.routes) for p in self.peers if p.up)
        return all(p.up and p.held == total - len(p.routes) for p in self.peers)

    def check(self) -> Check:
        cur = self.current()
        c = Check()
        for p in self.peers:
            c.add(check_peer(p.index, cur, p.rib, p.addr))
        return c

    # -- churn
    def _event(self) -> None:
        """One churn event: announce a withdrawn route again (once it has been
        away a while), else withdraw a random current route, re-announce it
        with new attributes, or both at once."""
        now = time.monotonic()
        if self.down and now - self.down[0][2] >= 1.0:
            i, n, _t = self.down.pop(0)
            self.version += 1
            self.peers[i].announce(n, self.version)
            self.stats.announces += 1
            return
        p = self.peers[self.rng.randrange(len(self.peers))]
        if not p.routes:
            return
        n = self.rng.choice(list(p.routes))
        r = self.rng.random()
        if r < 0.2:
            self.version += 1
            p.announce(n, self.version)
            self.stats.replaces += 1
        elif r < 0.3:
            # withdrawn and back at once: the reflector may see both in one read
            p.withdraw(n)
            self.version += 1
            p.announce(n, self.version)
            self.stats.bounces += 1
        else:
            p.withdraw(n)
            self.down.append((p.index, n, now))
            self.stats.withdraws += 1

    def _flap(self) -> None:
        ups = [p for p in self.peers if p.up]
        if not ups:
            return
        p = self.rng.choice(ups)
        p.close(notify=self.rng.random() < 0.5)
        self.stats.flaps += 1

    async def churn(self, seconds: float, sample: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        end = t0 + seconds
        rate = self.opts.rate
        done = 0
        next_flap = t0 + self.opts.flap_every if self.opts.flap_every else float("inf")
        next_sample = t0 + 30.0
        while True:
            now = loop.time()
            if now >= end:
                break
            if not self.alive():
                raise SoakError("bgplabd died during the churn")
            due = int((now - t0) * rate) - done
            for _ in range(min(due, max(1, int(rate)))):  # never a burst of more than 1 s
                self._event()
            done += max(0, due)
            if now >= next_flap:
                self._flap()
                next_flap += self.opts.flap_every
            if now >= next_sample:
                sample()
                next_sample += 30.0
            await asyncio.sleep(min(0.05, max(0.0, end - now)))
        # routes still withdrawn come back: the end state holds every route
        for i, n, _t in self.down:
            self.version += 1
            self.peers[i].announce(n, self.version)
            self.stats.announces += 1
        self.down.clear()

    async def wait_for(self, cond: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not cond():
            if not self.alive():
                raise SoakError("bgplabd died")
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    async def settle(self, timeout: float) -> bool:
        """Wait until every session is up, counts match and no UPDATE has
        arrived for ``quiet`` seconds (the reflector has nothing left)."""
        q = self.opts.quiet

        def done() -> bool:
            return (
                time.monotonic() - self.last_update >= q and self.all_up() and self.counts_match()
            )

        return await self.wait_for(done, timeout)

    def start(self) -> None:
        sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self.tasks = [asyncio.ensure_future(self._session(p, sem)) for p in self.peers]

    async def stop(self) -> None:
        self.stopping = True
        for p in self.peers:
            p.close()
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


class SoakError(Exception):
    """The run could not complete (daemon died, peers never converged)."""


async def _drive(
    opts: SoakOptions,
    pid: int,
    alive: Callable[[], bool],
    log: Callable[[str], None],
    res: SoakResult,
) -> None:
    soak = Soak(opts, pid, alive, log)
    res.routes_per_peer = 1 + opts.pods
    loop = asyncio.get_running_loop()

    def sample() -> None:
        res.rss_samples_mb.append(proc_status_kb(pid, "VmRSS") / 1024)

    try:
        t0 = loop.time()
        soak.start()
        limit = opts.converge_timeout or 60.0 + 0.5 * opts.peers
        log(f"{opts.peers} peers connecting to bgplabd at {opts.addr} ...")
        if not await soak.wait_for(lambda: soak.all_up() and soak.counts_match(), limit):
            up = sum(1 for p in soak.peers if p.up)
            raise SoakError(
                f"no convergence within {limit:.0f} s: {up}/{opts.peers} sessions Established"
            )
        res.converge_s = loop.time() - t0
        cpu0 = cpu_seconds(pid)
        res.rss_start_mb = proc_status_kb(pid, "VmRSS") / 1024
        res.rss_samples_mb.append(res.rss_start_mb)
        log(
            f"converged in {res.converge_s:.1f} s; RSS {res.rss_start_mb:.1f} MiB; "
            f"churning {opts.minutes:g} min at {opts.rate:g} events/s"
        )
        t1 = loop.time()
        await soak.churn(opts.minutes * 60, sample)
        res.churn_s = loop.time() - t1
        log("churn over; settling ...")
        t2 = loop.time()
        res.quiet_reached = await soak.settle(opts.settle)
        res.settle_s = loop.time() - t2
        if not alive():
            raise SoakError("bgplabd died")
        c = soak.check()
        res.expected, res.held = c.expected, c.held
        res.lost, res.duplicated, res.stale = c.lost, c.duplicated, c.stale
        res.examples = c.examples
        down = [p.addr for p in soak.peers if not p.up]
        if down:
            res.error = f"{len(down)} sessions not Established at the end (e.g. {down[0]})"
        res.rss_end_mb = proc_status_kb(pid, "VmRSS") / 1024
        res.rss_samples_mb.append(res.rss_end_mb)
        res.rss_peak_mb = proc_status_kb(pid, "VmHWM") / 1024
        res.cpu_s = cpu_seconds(pid)
        res.cpu_churn_s = res.cpu_s - cpu0
        res.ok = not res.error
    finally:
        res.stats = asdict(soak.stats)
        res.notes = soak.notes[:50]
        await soak.stop()


def run_soak(opts: SoakOptions, log: Callable[[str], None] | None = None) -> SoakResult:
    """Start bgplabd, run the soak, stop everything (also on Ctrl-C/SIGTERM)."""
    from bgplab.bench.loadgen import raise_nofile
    from bgplab.launch import BgplabDaemon

    opts.validate()
    say = log or (lambda m: None)
    res = SoakResult(
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        options=asdict(opts),
    )
    raise_nofile(opts.peers + 256)
    addrs = peer_addrs(opts.peer_base, opts.peers)
    daemon = BgplabDaemon(reflector_config(opts, addrs))
    try:
        try:
            daemon.start(timeout=30 + opts.peers / 20)
        except Exception as exc:  # noqa: BLE001 - reported as one line
            res.error = f"bgplabd did not start: {_one_line(exc)}"
            return res
        try:
            asyncio.run(_drive(opts, daemon.pid, daemon.alive, say, res))
        except SoakError as exc:
            res.error = str(exc)
        if not daemon.alive():
            tail = daemon.log().strip().splitlines()[-5:]
            res.error = res.error or "bgplabd died"
            res.error += ": " + " | ".join(tail)
    finally:
        daemon.stop()
    return res


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
