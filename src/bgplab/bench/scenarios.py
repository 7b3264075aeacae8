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

from bgplab.bench import wire
from bgplab.bench.loadgen import LoadGen, PeerPlan, ip_int, ip_str, raise_nofile
from bgplab.bench.metrics import CpuClock, median, peak_rss_mb, percentile
from bgplab.bench.targets import Target
from bgplab.errors import UserError

NH_BASE = ip_int("198.18.0.0")  # benchmarking range: next hops nobody installs
BLOCK_BASE = ip_int("10.0.0.0")  # Calico pod blocks are carved from here


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # rr, pods, fulltable, churn, kernel-fib
    peers: int = 0
    pods: int = 0  # per-pod /32s per peer
    prefixes: int = 0  # fulltable size
    clients: int = 0  # fulltable receivers
    churn_rate: float = 200.0  # route events per second, all peers together
    churn_seconds: float = 10.0
    fib_routes: int = 0


CATALOG: list[tuple[str, str]] = [
    ("calico-rr-100", "100 rr clients, one /26 each; done when each holds the other 99"),
    ("calico-rr-300", "300 rr clients, one /26 each"),
    ("calico-rr-1000", "1,000 rr clients, one /26 each"),
    ("calico-rr-2500", "2,500 rr clients, one /26 each"),
    ("calico-pods-100", "100 peers, each its /26 and 60 per-pod /32s"),
    ("fulltable", "one peer announces 500,000 prefixes (/16-/24), 10 clients receive all"),
    (
        "churn",
        "calico-rr-300 converged, then 200 withdraw/announce events/s for 10 s; "
        "announce->arrival delay at a watcher peer",
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
    ``churn[-N]``, ``kernel-fib-COUNT`` (counts may end in k or m)."""
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
        if parts[0] == "churn" and len(parts) <= 2:
            n = _count(parts[1]) if len(parts) > 1 else 300
            if n < 3:
                raise UserError("churn needs at least 3 peers")
            return Spec(name, "churn", peers=n)
        if parts[:2] == ["kernel", "fib"] and len(parts) == 3:
            return Spec(name, "kernel-fib", peers=1, fib_routes=_count(parts[2]))
    except IndexError:
        pass
    known = ", ".join(n for n, _ in CATALOG)
    raise UserError(f"unknown scenario {name!r} (known: {known}; see bgplab bench --list)")


def peer_addrs(base: str, n: int) -> list[str]:
    """``n`` distinct addresses from ``base`` upward, skipping .0 and .255."""
    out = []
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
    out = []
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


def build_plans(spec: Spec, addrs: list[str]) -> list[PeerPlan]:
    plans: list[PeerPlan] = []
    if spec.kind in ("rr", "churn", "pods"):
        n = spec.peers
        per = 1 + spec.pods
        for i, addr in enumerate(addrs[:n]):
            block = BLOCK_BASE + (i << 6)
            routes = [(block, 26)] + [(block + 1 + k, 32) for k in range(spec.pods)]
            attrs = [wire.ibgp_attributes(NH_BASE + 1 + i)]
            plans.append(PeerPlan(addr, routes=routes, attr_sets=attrs, expect=(n - 1) * per))
        if spec.kind == "churn":
            plans[0].watch = True
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


def run(spec: Spec, kind: str, opts: RunOptions) -> RunResult:
    """One run of ``spec`` against the daemon ``kind``."""
    if spec.kind == "kernel-fib":
        from bgplab.bench.kernelfib import run_kernel_fib

        return run_kernel_fib(spec, kind, opts)
    res = RunResult(spec.name, kind)
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
    gen = LoadGen(plans, opts.target_addr, opts.port, log=log)
    clock = CpuClock(target.pid)
    clock.start()
    own0 = time.process_time()
    gen.start()
    deadline = gen.t0 + opts.timeout
    ok = await _wait(gen, target, deadline)
    t_conv = gen.converged_at
    res.cpu_s = clock.read()
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
            res.extra["target_log"] = target.log()[-2000:]
    if res.ok and spec.kind == "churn":
        await _churn(spec, gen, res)
        res.cpu_s = clock.read()
        res.rss_mb = peak_rss_mb(target.pid)
    res.hold_expiries = c.hold_expiries_target + c.hold_expiries_local
    res.notifications = c.notifications
    res.drops = c.drops
    res.extra["unknown_prefixes"] = c.unknown_prefixes
    await gen.stop()


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
    """Withdraw and re-announce peers' blocks at a fixed total rate; the
    watcher (peer 0) times each announcement's arrival."""
    loop = asyncio.get_running_loop()
    sessions = gen.sessions[1:]
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
    t_start = loop.time()
    for k in range(events):
        when = t_start + k * interval
        delay = when - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        j = k % len(sessions)
        s = sessions[j]
        key = s.plan.routes[0]
        ann, wd = pre[j][s.addpath_tx]
        now = time.monotonic()
        if up[j]:
            gen.pending_withdraw[key] = now
            s.send(wd)
        else:
            gen.pending_announce[key] = now
            s.send(ann)
        up[j] = not up[j]
    # let the last events arrive (bounded wait)
    end = time.monotonic() + 5.0
    while gen.pending_announce and time.monotonic() < end:
        await asyncio.sleep(0.05)
    delays = gen.announce_delays
    res.churn_median_ms = median(delays) * 1000
    res.churn_p99_ms = percentile(delays, 99) * 1000
    res.churn_lost = len(gen.pending_announce)
    res.extra["churn_announces"] = len(delays)
    res.extra["churn_withdraw_median_ms"] = median(gen.withdraw_delays) * 1000
