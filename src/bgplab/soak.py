"""``bgplab soak``: a bounded churn run against bgplabd as route reflector.

bgplabd reflects routes between N scripted iBGP peers on loopback (AS 63400,
``rr client``, ``add paths on`` as Calico's BIRD config has it). Each peer
owns a /26 block and some /32s inside it. At a fixed total rate, peers
withdraw routes, announce them again and re-announce them with changed
attributes; now and then a whole session flaps (closed, reconnected,
re-announced). Every route carries a large community (AS, owner, version),
so a peer can tell a current route from an outdated one.

The run keeps a model: what each peer announces now. After the churn stops
and the reflector has gone quiet, every peer's received routes are compared
with the union of the other peers' current routes:

- lost: a route the peer should hold and does not;
- duplicated: a route held more than once (two path ids, same prefix);
- stale: a route held that was withdrawn, or with outdated attributes.

All three must be 0. bgplabd's RSS after the first convergence and at the
end, its peak (VmHWM) and CPU seconds are reported too, to show memory stays
flat under churn. The peers are a small asyncio speaker built on bgplab's
own codec: the benchmark's load generator only counts what arrives and
replays a fixed announcement on reconnect, but a soak needs per-path state
and the current routes after each flap.
"""

from __future__ import annotations

import argparse
import asyncio  # noqa: TID251 - the soak drives real sockets
import contextlib
import datetime
import json
import os
import random
import signal
import socket  # noqa: TID251
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address

from bgplab import net as netmod
from bgplab.bench.dialer import EXPECTED_ERRNOS, keep_dialling
from bgplab.bench.metrics import cpu_seconds, proc_status_kb
from bgplab.bench.targets import bird1_config
from bgplab.bgp import attr_codec, messages
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import LocalConfig, Negotiated, negotiate
from bgplab.bgp.constants import IPV4_UNICAST, MsgType
from bgplab.bgp.errors import BgpError
from bgplab.bgp.framer import Framer
from bgplab.errors import UserError

ASN = 63400
PATH_ID = 1  # each peer announces one path per prefix
CONNECT_CONCURRENCY = 8  # handshakes in flight (a listen backlog is small)
NH_BASE = int(IPv4Address("198.18.0.0"))  # next hops: data only, never installed
BLOCK_BASE = int(IPv4Address("10.64.0.0"))  # peer i owns 10.64.0.0 + 64*i /26

Owned = tuple[int, int]  # (owner peer index, version): what a route should say


# ------------------------------------------------------------------ options


@dataclass
class SoakOptions:
    peers: int = 300
    minutes: float = 10.0
    rate: float = 50.0  # churn events per second, all peers together
    pods: int = 4  # /32s per peer besides its /26
    flap_every: float = 5.0  # seconds between session flaps (0: none)
    addr: str = "127.30.0.1"  # the reflector
    peer_base: str = "127.30.1.1"  # first peer address
    hold: int = 90
    settle: float = 120.0  # longest wait for the end state after churn
    quiet: float = 3.0  # no UPDATE for this long = the reflector is done
    converge_timeout: float = 0.0  # 0: derived from the number of peers
    seed: int = 1
    verbose: bool = False

    def validate(self) -> None:
        if self.peers < 2:
            raise UserError("--peers must be at least 2")
        if self.peers > 60000:
            raise UserError("--peers must be at most 60000")
        if self.minutes <= 0:
            raise UserError("--minutes must be positive")
        if self.rate < 0:
            raise UserError("--rate must not be negative")
        if not 0 <= self.pods <= 62:
            raise UserError("--pods must be between 0 and 62 (they live in the peer's /26)")
        if self.flap_every < 0:
            raise UserError("--flap-every must not be negative")
        if not 3 <= self.hold <= 65535:
            raise UserError("--hold must be between 3 and 65535")
        for name, text in (("--addr", self.addr), ("--peer-base", self.peer_base)):
            try:
                a = IPv4Address(text)
            except ValueError:
                raise UserError(f"{name}: invalid IPv4 address {text!r}") from None
            if not a.is_loopback:
                raise UserError(f"{name} {text}: soak traffic stays on loopback (127.0.0.0/8)")
        addrs = peer_addrs(self.peer_base, self.peers)
        if not IPv4Address(addrs[-1]).is_loopback:
            raise UserError(f"{self.peers} peers from {self.peer_base} run past 127.255.255.255")
        if self.addr in addrs:
            raise UserError(f"--addr {self.addr} is among the peer addresses")


def peer_addrs(base: str, n: int) -> list[str]:
    """``n`` consecutive addresses from ``base``, skipping .0 and .255."""
    out: list[str] = []
    a = int(IPv4Address(base))
    while len(out) < n and a <= 0xFFFFFFFF:
        if a & 0xFF not in (0, 255):
            out.append(str(IPv4Address(a)))
        a += 1
    return out


def peer_nets(i: int, pods: int) -> list[int]:
    """Peer ``i``'s routes: its /26 block and ``pods`` /32s inside it."""
    block = BLOCK_BASE + 64 * i
    return [netmod.make(block, 26)] + [netmod.make(block + 1 + j, 32) for j in range(pods)]


def next_hop(i: int) -> IPv4Address:
    return IPv4Address(NH_BASE + 1 + i)


def reflector_config(opts: SoakOptions, addrs: list[str]) -> str:
    """The benchmark's reflector configuration, with the soak's hold time."""
    return bird1_config(opts.addr, 179, addrs, hold=opts.hold, template="soak",
                        proto_prefix="peer")


# ------------------------------------------------------------------ checking


@dataclass
class Check:
    expected: int = 0
    held: int = 0
    lost: int = 0
    duplicated: int = 0
    stale: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, other: Check) -> None:
        self.expected += other.expected
        self.held += other.held
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.stale += other.stale
        room = 10 - len(self.examples)
        if room > 0:
            self.examples.extend(other.examples[:room])


def check_peer(
    me: int, current: dict[int, Owned], rib: dict[int, dict[int, Owned]], name: str = ""
) -> Check:
    """Compare what peer ``me`` holds (net -> path id -> (owner, version))
    with the routes it must hold: every entry of ``current`` (net -> (owner,
    version) of all peers with a session) that another peer owns."""
    c = Check()
    for net, want in current.items():
        if want[0] == me:
            continue
        c.expected += 1
        if not rib.get(net):
            c.lost += 1
            if len(c.examples) < 3:
                c.examples.append(f"{name}: lost {netmod.to_str(net)} (from peer {want[0]})")
    for net, paths in rib.items():
        c.held += len(paths)
        exp = current.get(net)
        if exp is not None and exp[0] == me:
            exp = None  # its own route: never expected back
        right = sum(1 for v in paths.values() if v == exp)
        wrong = len(paths) - right
        c.stale += wrong
        c.duplicated += max(0, right - 1)
        if (wrong or right > 1) and len(c.examples) < 3:
            what = "stale" if wrong else "duplicated"
            c.examples.append(
                f"{name}: {what} {netmod.to_str(net)} paths {sorted(paths.items())}, want {exp}"
            )
    return c


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
            p, (self.opts.addr, 179), p.addr, sem, p.opened, p.closed,
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


# ------------------------------------------------------------------ report


def format_report(res: SoakResult) -> str:
    o = res.options
    s = res.stats
    peers = int(o.get("peers", 0))  # type: ignore[call-overload]
    lines = [
        f"bgplab soak, {res.date}",
        f"  {peers} peers x {res.routes_per_peer} routes (one /26 + {o.get('pods')} /32), "
        f"{o.get('minutes')} min churn at {o.get('rate')} events/s, "
        f"flap every {o.get('flap_every')} s, reflector {o.get('addr')}",
    ]
    if s:
        lines.append(
            f"  events: {s['withdraws']} withdraws, {s['announces']} re-announces, "
            f"{s['replaces']} attribute changes, {s['bounces']} withdraw+re-announce at once, "
            f"{s['flaps']} session flaps"
        )
        lines.append(
            f"  sessions: {s['established']} establishments, {s['drops']} unexpected drops, "
            f"{s['notifications']} NOTIFICATIONs received, {s['hold_expired']} hold expiries, "
            f"{s['malformed']} faulty UPDATEs, {s['reflected_own']} own routes reflected back"
        )
    if res.converge_s:
        lines.append(f"  first convergence: {res.converge_s:.1f} s")
    if res.rss_start_mb:
        samples = " ".join(f"{v:.0f}" for v in res.rss_samples_mb)
        lines.append(
            f"  bgplabd RSS: start {res.rss_start_mb:.1f} MiB, end {res.rss_end_mb:.1f} MiB, "
            f"peak (VmHWM) {res.rss_peak_mb:.1f} MiB; CPU {res.cpu_s:.1f} s "
            f"({res.cpu_churn_s:.1f} s during churn+settle)"
        )
        lines.append(f"  RSS every 30 s (MiB): {samples}")
    if res.lost >= 0:
        quiet = "quiet" if res.quiet_reached else "NOT quiet (settle timeout)"
        lines.append(
            f"  end state after {res.settle_s:.1f} s settle ({quiet}): "
            f"{res.expected} routes expected, {res.held} held"
        )
        lines.append(f"  lost {res.lost}, duplicated {res.duplicated}, stale {res.stale}")
        for e in res.examples[:5]:
            lines.append(f"    {e}")
    if res.error:
        lines.append(f"  error: {res.error}")
    for n in res.notes[:5]:
        lines.append(f"  note: {n}")
    lines.append("  result: " + ("PASS" if res.passed else "FAIL"))
    return "\n".join(lines)


# ------------------------------------------------------------------ command line


def register(parser: argparse.ArgumentParser) -> None:
    d = SoakOptions()
    parser.add_argument("--minutes", type=float, default=d.minutes, help="churn time (default 10)")
    parser.add_argument("--peers", type=int, default=d.peers, help="scripted peers (default 300)")
    parser.add_argument(
        "--rate", type=float, default=d.rate, help=f"churn events/s in total (default {d.rate:g})"
    )
    parser.add_argument(
        "--pods", type=int, default=d.pods, help=f"/32s per peer besides its /26 (default {d.pods})"
    )
    parser.add_argument(
        "--flap-every",
        type=float,
        default=d.flap_every,
        metavar="S",
        help=f"flap one session every S seconds, 0 for none (default {d.flap_every:g})",
    )
    parser.add_argument("--addr", default=d.addr, help=f"reflector address (default {d.addr})")
    parser.add_argument(
        "--peer-base", default=d.peer_base, help=f"first peer address (default {d.peer_base})"
    )
    parser.add_argument("--hold", type=int, default=d.hold, help=f"hold time (default {d.hold})")
    parser.add_argument(
        "--settle",
        type=float,
        default=d.settle,
        metavar="S",
        help=f"longest wait for the end state (default {d.settle:g})",
    )
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default 1)")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print session events")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    opts = SoakOptions(
        peers=args.peers,
        minutes=args.minutes,
        rate=args.rate,
        pods=args.pods,
        flap_every=args.flap_every,
        addr=args.addr,
        peer_base=args.peer_base,
        hold=args.hold,
        settle=args.settle,
        seed=args.seed,
        verbose=args.verbose,
    )
    opts.validate()
    if os.geteuid() != 0:
        raise UserError("the soak binds port 179: run it as root")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    # SIGTERM ends the run like Ctrl-C: the daemon is stopped on the way out
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        res = run_soak(opts, log)
    finally:
        signal.signal(signal.SIGTERM, old)
    print(format_report(res))
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(asdict(res), f, indent=1)
        except OSError as exc:
            raise UserError(f"cannot write {args.json}: {exc.strerror}") from None
    return 0 if res.passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bgplab soak", description="bounded churn soak of bgplabd as route reflector"
    )
    register(parser)
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except UserError as exc:
        print(f"bgplab soak: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bgplab soak: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
