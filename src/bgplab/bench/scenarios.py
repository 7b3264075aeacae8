"""Benchmark scenarios: what the peers announce and when a run is done.

A scenario name encodes its scale (``calico-rr-1000``); :func:`parse`
turns it into a :class:`Spec`, :func:`build_plans` into pre-encoded peer
plans, and :func:`run` runs it once against one target and returns a
:class:`RunResult`. A target that fails becomes a result with ``error``
set, never an exception, so one broken daemon does not stop the table.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bgplab.bench import connectstats, wire
from bgplab.bench.ctlprobe import CtlProbe
from bgplab.bench.loadgen import CONNECT_MODES, LoadGen, raise_nofile
from bgplab.bench.metrics import CpuClock, median, peak_rss_mb, percentile
from bgplab.bench.peerplan import PeerPlan, ip_int, ip_str
from bgplab.bench.targets import Target
from bgplab.errors import UserError

NH_BASE = ip_int("198.18.0.0")  # benchmarking range: next hops nobody installs
BLOCK_BASE = ip_int("10.0.0.0")  # Calico pod blocks are carved from here


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # rr, pods, pods-per-route, fulltable, churn, kernel-fib
    peers: int = 0
    pods: int = 0  # per-pod /32s per peer
    prefixes: int = 0  # fulltable size
    clients: int = 0  # fulltable receivers
    # route events per second, all peers together (the independent
    # measurement of issue 15 used 1,000/s at 300 peers)
    churn_rate: float = 1000.0
    churn_seconds: float = 10.0
    churn_watchers: int = 10  # receivers timing every event, spread over the peers
    fib_routes: int = 0


CATALOG: list[tuple[str, str]] = [
    ("calico-rr-100", "100 rr clients, one /26 each; done when each holds the other 99"),
    ("calico-rr-300", "300 rr clients, one /26 each"),
    ("calico-rr-1000", "1,000 rr clients, one /26 each"),
    ("calico-rr-2500", "2,500 rr clients, one /26 each"),
    ("calico-pods-100", "100 peers, each its /26 and 60 per-pod /32s"),
    (
        "pods-per-route",
        "500 nodes, each 110 per-pod /32s (no block), reflected to every node with ADD-PATH",
    ),
    ("fulltable", "one peer announces 500,000 prefixes (/16-/24), 10 clients receive all"),
    (
        "churn",
        "calico-rr-300 converged, then 1,000 withdraw/announce events/s for 10 s "
        "(churn-N-RATE for another rate); delay from the UPDATE leaving its peer to "
        "its arrival at each of 10 watcher peers spread over the session order",
    ),
    (
        "kernel-fib-100k",
        "install and remove 100,000 routes in a namespace's kernel table "
        "(bgplabd vs BIRD 1.6, protocol kernel)",
    ),
]

_SUFFIX = {"k": 1000, "m": 1000000}


def _count(text: str) -> int:
    m = re.fullmatch(r"(\d+)([km]?)", text)
    if not m:
        raise UserError(f"bad number {text!r} in scenario name")
    return int(m.group(1)) * _SUFFIX.get(m.group(2), 1)


def parse(name: str) -> Spec:
    """``calico-rr-N``, ``calico-pods-N[-PODS]``, ``fulltable[-PREFIXES[-CLIENTS]]``,
    ``churn[-N[-RATE]]``, ``pods-per-route[-N[-PODS]]``, ``kernel-fib-COUNT``
    (counts may end in k or m)."""
    parts = name.strip().lower().split("-")
    try:
        if parts[:2] == ["calico", "rr"] and len(parts) == 3:
            n = _count(parts[2])
            if n < 2:
                raise UserError("calico-rr needs at least 2 peers")
            return Spec(name, "rr", peers=n)
        if parts[:2] == ["calico", "pods"] and len(parts) in (3, 4):
            n = _count(parts[2])
            pods = _count(parts[3]) if len(parts) == 4 else 60
            if n < 2 or not 0 < pods <= 63:
                raise UserError("calico-pods needs at least 2 peers and 1-63 pods per node")
            return Spec(name, "pods", peers=n, pods=pods)
        if parts[0] == "fulltable" and len(parts) <= 3:
            prefixes = _count(parts[1]) if len(parts) > 1 else 500_000
            clients = _count(parts[2]) if len(parts) > 2 else 10
            if not 1 <= prefixes <= 2_000_000 or clients < 1:
                raise UserError("fulltable size must be 1..2,000,000 with at least 1 client")
            return Spec(name, "fulltable", peers=clients + 1, prefixes=prefixes, clients=clients)
        if parts[0] == "churn" and len(parts) <= 3:
            n = _count(parts[1]) if len(parts) > 1 else 300
            rate = _count(parts[2]) if len(parts) > 2 else 1000
            if n < 3 or rate < 1:
                raise UserError("churn needs at least 3 peers and a rate of at least 1/s")
            return Spec(name, "churn", peers=n, churn_rate=float(rate))
        if parts[:3] == ["pods", "per", "route"] and len(parts) <= 5:
            n = _count(parts[3]) if len(parts) > 3 else 500
            pods = _count(parts[4]) if len(parts) > 4 else 110
            if n < 2 or not 0 < pods <= 127:
                raise UserError("pods-per-route needs at least 2 nodes and 1-127 pods per node")
            return Spec(name, "pods-per-route", peers=n, pods=pods)
        if parts[:2] == ["kernel", "fib"] and len(parts) == 3:
            return Spec(name, "kernel-fib", peers=1, fib_routes=_count(parts[2]))
    except IndexError:
        pass
    known = ", ".join(n for n, _ in CATALOG)
    raise UserError(f"unknown scenario {name!r} (known: {known}; see bgplab bench --list)")


def parse_connect(text: str) -> list[str]:
    """``--connect``: ``paced``, ``burst`` or both (comma list, in order)."""
    modes = [m.strip().lower() for m in text.split(",") if m.strip()]
    for m in modes:
        if m not in CONNECT_MODES:
            raise UserError(
                f"unknown connect mode {m!r} in --connect (known: {', '.join(CONNECT_MODES)})"
            )
    if not modes:
        raise UserError("--connect needs paced, burst or paced,burst")
    return list(dict.fromkeys(modes))


def label(name: str, connect: str) -> str:
    """The table's scenario column: paced runs keep the bare name (the
    comparison of every earlier table), burst runs say so."""
    return name if connect == "paced" else f"{name} {connect}"


def peer_addrs(base: str, n: int) -> list[str]:
    """``n`` distinct addresses from ``base`` upward, skipping .0 and .255."""
    out: list[str] = []
    a = ip_int(base)
    while len(out) < n:
        if a & 0xFF not in (0, 255):
            out.append(ip_str(a))
        a += 1
    return out


def fulltable_prefixes(n: int) -> list[tuple[int, int]]:
    """``n`` distinct IPv4 prefixes, /16-/24 in roughly the Internet's mix
    (most are /24), avoiding 0/8, 10/8, 127/8, 198.18/15 and multicast."""
    pattern = [24] * 12 + [23, 23, 22, 22, 21, 20, 19, 16]
    nexts = {plen: ip_int("11.0.0.0") for plen in set(pattern)}
    out: list[tuple[int, int]] = []
    i = 0
    while len(out) < n:
        plen = pattern[i % len(pattern)]
        i += 1
        a = nexts[plen]
        while True:
            top = a >> 24
            if top in (127,) or (a >> 17) == (NH_BASE >> 17):
                a = ((top + 1) << 24) if top == 127 else a + (1 << 17)
                continue
            if top >= 224:
                raise UserError(f"fulltable of {n} prefixes does not fit the address space")
            break
        out.append((a, plen))
        nexts[plen] = a + (1 << (32 - plen))
    return out


def watcher_indices(n: int, want: int) -> list[int]:
    """``want`` peers spread evenly over ``n`` (first and last included),
    leaving at least two to originate the churn."""
    w = max(1, min(want, n - 2))
    if w == 1:
        return [0]
    return sorted({round(k * (n - 1) / (w - 1)) for k in range(w)})


def build_plans(spec: Spec, addrs: list[str]) -> list[PeerPlan]:
    plans: list[PeerPlan] = []
    if spec.kind == "pods-per-route":
        # per-pod mode without a block route: P /32s per node, from a /25 each
        n = spec.peers
        for i, addr in enumerate(addrs[:n]):
            base = BLOCK_BASE + (i << 7)
            routes = [(base + 1 + k, 32) for k in range(spec.pods)]
            attrs = [wire.ibgp_attributes(NH_BASE + 1 + i)]
            plans.append(PeerPlan(addr, routes=routes, attr_sets=attrs, expect=(n - 1) * spec.pods))
    elif spec.kind in ("rr", "churn", "pods"):
        n = spec.peers
        per = 1 + spec.pods
        for i, addr in enumerate(addrs[:n]):
            block = BLOCK_BASE + (i << 6)
            routes = [(block, 26)] + [(block + 1 + k, 32) for k in range(spec.pods)]
            attrs = [wire.ibgp_attributes(NH_BASE + 1 + i)]
            plans.append(PeerPlan(addr, routes=routes, attr_sets=attrs, expect=(n - 1) * per))
        if spec.kind == "churn":
            for i in watcher_indices(n, spec.churn_watchers):
                plans[i].watch = True
    elif spec.kind == "fulltable":
        prefixes = fulltable_prefixes(spec.prefixes)
        # ~20 prefixes per attribute set: AS paths differ as in a real table
        group = 20
        n_sets = (len(prefixes) + group - 1) // group
        attr_sets = [
            wire.ibgp_attributes(
                NH_BASE + 1, as_path=(64512 + (k % 1000), 65000 + (k // 1000) % 500, 13335 + k)
            )
            for k in range(n_sets)
        ]
        source = PeerPlan(
            addrs[0],
            routes=prefixes,
            attr_sets=attr_sets,
            attr_index=[i // group for i in range(len(prefixes))],
        )
        plans.append(source)
        for addr in addrs[1 : 1 + spec.clients]:
            plans.append(PeerPlan(addr, expect=len(prefixes)))
    else:
        raise UserError(f"scenario {spec.name} has no BGP peer plan")
    return plans


@dataclass
class RunResult:
    scenario: str
    target: str
    ok: bool = False
    error: str = ""
    wall_s: float = float("nan")  # start of connects -> converged
    established_s: float = float("nan")  # start -> all sessions Established
    cpu_s: float = float("nan")
    rss_mb: float = float("nan")
    routes: int = 0  # prefixes delivered to peers at convergence
    routes_per_s: float = float("nan")
    hold_expiries: int = 0
    notifications: int = 0
    drops: int = 0
    churn_median_ms: float = float("nan")
    churn_p99_ms: float = float("nan")
    churn_lost: int = 0
    ctl_max_s: float = float("nan")  # longest control-socket reply during the run
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class RunOptions:
    target_addr: str = "127.10.0.1"
    peer_base: str = "127.11.0.1"
    port: int = 179
    timeout: float = 300.0
    # Seconds the daemon runs before the peers connect: the nodes join a
    # running reflector, and BIRD refuses sessions during its connect delay (5 s).
    settle: float = 6.0
    verbose: bool = False
    profile_dir: Path | None = None  # bgplabd runs under cProfile, stats here
    # "paced": at most 8 handshakes in flight; "burst": every peer at once
    connect: str = "paced"


def run(spec: Spec, kind: str, opts: RunOptions) -> RunResult:
    """One run of ``spec`` against the daemon ``kind``."""
    if spec.kind == "kernel-fib":
        from bgplab.bench.kernelfib import run_kernel_fib

        return run_kernel_fib(spec, kind, opts)
    res = RunResult(label(spec.name, opts.connect), kind)
    # before the daemon starts, so it inherits room for one socket per peer too
    raise_nofile(2 * spec.peers + 1024)
    addrs = peer_addrs(opts.peer_base, spec.peers)
    plans = build_plans(spec, addrs)
    for p in plans:  # encode before the clock starts
        p.encode()
    prof = None
    if opts.profile_dir is not None and kind == "bgplabd":
        prof = opts.profile_dir / f"profile-{spec.name}-{time.strftime('%H%M%S')}.pstats"
    target = Target(kind, opts.target_addr, addrs, port=opts.port, profile=prof)
    try:
        target.start()
    except Exception as exc:  # noqa: BLE001 - any failure is a row in the table
        res.error = f"start failed: {_one_line(exc)}"
        target.stop()
        return res
    try:
        time.sleep(opts.settle)
        asyncio.run(_bounded(_drive(spec, plans, target, opts, res), opts.timeout + 120))
    except Exception as exc:  # noqa: BLE001
        res.error = _one_line(exc)
    finally:
        if not target.alive() and not res.error:
            res.error = f"{kind} died: {_one_line(target.log()[-300:])}"
        record_loop_stall(target, res)
        target.stop(keep=prof is not None)
        if prof is not None:
            summarize_profile(prof)
            target.remove()
    return res


def summarize_profile(path: Path, top: int = 25) -> None:
    """Write the top functions by own and cumulative time next to the stats."""
    import io
    import pstats

    if not path.exists():
        return
    buf = io.StringIO()
    st = pstats.Stats(str(path), stream=buf)
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    path.with_suffix(".txt").write_text(buf.getvalue())


def _one_line(exc: object) -> str:
    text = str(exc).strip().replace("\n", " ")
    return (text[:200] + "...") if len(text) > 200 else (text or type(exc).__name__)


async def _drive(
    spec: Spec, plans: list[PeerPlan], target: Target, opts: RunOptions, res: RunResult
) -> None:
    log = print if opts.verbose else None
    gen = LoadGen(plans, opts.target_addr, opts.port, log=log, connect=opts.connect)
    clock = CpuClock(target.pid)
    clock.start()
    probe = start_probe(target)
    listen0 = connectstats.listener(target.addr, target.port, target.netns)
    ns0 = connectstats.listen_overflows()
    own0 = time.process_time()
    gen.start()
    deadline = gen.t0 + opts.timeout
    ok = await _wait(gen, target, deadline)
    t_conv = gen.converged_at
    res.cpu_s = clock.read()
    _connect_evidence(gen, target, listen0, ns0, res)
    # the generator's own CPU over the same span: near wall time = it was the bottleneck
    res.extra["loadgen_cpu_s"] = (gen.cpu_at_converged or time.process_time()) - own0
    res.rss_mb = peak_rss_mb(target.pid)
    if gen.all_established_at is not None:
        res.established_s = gen.all_established_at - gen.t0
    c = gen.counters
    if ok and t_conv is not None:
        res.ok = True
        res.wall_s = t_conv - gen.t0
        res.routes = sum(p.expect for p in plans)
        res.routes_per_s = res.routes / res.wall_s if res.wall_s > 0 else float("nan")
    else:
        done = gen.n_converged
        why = "target exited" if not target.alive() else f"timeout after {opts.timeout:.0f} s"
        res.error = (
            f"{why}: {done}/{gen.need_converged} peers converged, "
            f"{c.established}/{len(plans)} Established, "
            f"{c.connect_failures} connect failures, {c.drops} drops"
        )
        if opts.verbose or not c.established:
            # nothing came up: the daemon's own words are the best clue
            # (a str among the numbers, as kernelfib's steps: read by its key)
            res.extra["target_log"] = target.log()[-2000:]  # type: ignore[assignment]
    if res.ok and spec.kind == "churn":
        await _churn(spec, gen, res)
        res.cpu_s = clock.read()
        res.rss_mb = peak_rss_mb(target.pid)
    await asyncio.get_running_loop().run_in_executor(None, stop_probe, probe, res)
    res.hold_expiries = c.hold_expiries_target + c.hold_expiries_local
    res.notifications = c.notifications
    res.drops = c.drops
    res.extra["unknown_prefixes"] = c.unknown_prefixes
    await gen.stop()


def _connect_evidence(
    gen: LoadGen,
    target: Target,
    listen0: tuple[int, int] | None,
    ns0: dict[str, int],
    res: RunResult,
) -> None:
    """What the sessions' set-up cost in the kernel: the listener's backlog
    and drops over the run, the namespace's overflow counters, and each
    session's connect, OPEN and Established times."""
    res.extra.update(gen.connect_timeline())
    listen1 = connectstats.listener(target.addr, target.port, target.netns)
    if listen0 is not None and listen1 is not None:
        res.extra["listen_backlog"] = float(listen1[0])
        res.extra["listen_drops"] = float(listen1[1] - listen0[1])
    ns1 = connectstats.listen_overflows()
    for key in ("ListenOverflows", "ListenDrops"):
        if key in ns0 and key in ns1:
            res.extra[f"ns_{key}"] = float(ns1[key] - ns0[key])


def start_probe(target: Target) -> CtlProbe | None:
    """Time the control socket over the run (BIRD and bgplabd only)."""
    path = target.ctl_socket
    return CtlProbe(path).start() if path is not None else None


def record_loop_stall(target: Target, res: RunResult) -> None:
    """bgplabd's longest event-loop stall over the run (read before the
    daemon stops, so its shutdown is not counted)."""
    stall = target.loop_stall_s()
    if stall is not None:
        res.extra["loop_stall_s"] = stall


def stop_probe(probe: CtlProbe | None, res: RunResult) -> None:
    """The longest control-socket reply of the run: the longest stall a
    user sees (``show status`` / ``show route count``)."""
    if probe is None:
        return
    probe.stop()
    res.ctl_max_s = probe.max_s
    res.extra["ctl_replies"] = len(probe.replies)
    res.extra["ctl_timeouts"] = probe.timeouts


async def _bounded(coro: Coroutine[Any, Any, None], seconds: float) -> None:
    try:
        await asyncio.wait_for(coro, seconds)
    except TimeoutError:
        raise RuntimeError(f"run did not finish within {seconds:.0f} s") from None


async def _wait(gen: LoadGen, target: Target, deadline: float) -> bool:
    """Wait for convergence, giving up early if the target dies."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if await gen.wait_converged(min(left, 1.0)):
            return True
        if not target.alive():
            return False


async def _churn(spec: Spec, gen: LoadGen, res: RunResult) -> None:
    """Withdraw and re-announce the blocks of the non-watcher peers at a
    fixed total rate; every watcher times every event's arrival, from the
    moment its UPDATE was handed to the originating peer's socket."""
    loop = asyncio.get_running_loop()
    watchers = {s.index for s in gen.sessions if s.plan.watch}
    sessions = [s for s in gen.sessions if not s.plan.watch]
    pre: list[dict[bool, tuple[bytes, bytes]]] = []
    for s in sessions:
        a, plen = s.plan.routes[0]
        by_mode = {}
        for ap in (False, True):
            entry = wire.nlri_entry(a, plen, 1 if ap else None)
            ann = b"".join(wire.pack_announces([entry], s.plan.attr_sets[0]))
            wd = b"".join(wire.pack_withdraws([entry]))
            by_mode[ap] = (ann, wd)
        pre.append(by_mode)
    up = [True] * len(sessions)
    interval = 1.0 / spec.churn_rate
    events = int(spec.churn_rate * spec.churn_seconds)
    superseded = 0
    cpu0 = time.process_time()
    t_start = loop.time()
    for k in range(events):
        when = t_start + k * interval
        delay = when - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        j = k % len(sessions)
        s = sessions[j]
        key = wire.prefix_bytes(*s.plan.routes[0])
        ann, wd = pre[j][s.addpath_tx]
        pending = gen.pending_withdraw if up[j] else gen.pending_announce
        prev = pending.get(key)
        if prev is not None and pending is gen.pending_announce:
            superseded += len(prev[1])  # still on its way when the route churned again
        pending[key] = [time.monotonic(), set(watchers)]
        s.send(wd if up[j] else ann)
        up[j] = not up[j]
    # let the last events arrive (bounded wait)
    end = time.monotonic() + 5.0
    while gen.pending_announce and time.monotonic() < end:
        await asyncio.sleep(0.05)
    delays = gen.announce_delays
    res.churn_median_ms = median(delays) * 1000
    res.churn_p99_ms = percentile(delays, 99) * 1000
    res.churn_lost = sum(len(ent[1]) for ent in gen.pending_announce.values())
    res.extra["churn_announces"] = len(delays)
    res.extra["churn_superseded"] = superseded
    res.extra["loadgen_churn_cpu_s"] = time.process_time() - cpu0
    res.extra["churn_events_s"] = events / max(loop.time() - t_start, 1e-9)
    res.extra["churn_watchers"] = len(watchers)
    res.extra["churn_withdraw_median_ms"] = median(gen.withdraw_delays) * 1000
    res.extra["churn_withdraw_p99_ms"] = percentile(gen.withdraw_delays, 99) * 1000
    # the old single-watcher view: the first peer to connect, often the
    # first member a reflector writes to
    by = gen.delays_by_watcher
    if by:
        first, last = min(by), max(by)
        res.extra["churn_first_watcher_p50_ms"] = median(by[first]) * 1000
        res.extra["churn_first_watcher_p99_ms"] = percentile(by[first], 99) * 1000
        res.extra["churn_last_watcher_p50_ms"] = median(by[last]) * 1000
        res.extra["churn_last_watcher_p99_ms"] = percentile(by[last], 99) * 1000
