"""kernel-fib scenario (issue 4): install and remove N routes in a kernel
table through the daemon's ``protocol kernel``.

A namespace of its own holds the daemon, a dummy interface that makes the
next hop 198.18.0.2 reachable (a veth pair), and the peer (:mod:`bgplab.bench.fibpeer`),
so no route ever reaches the host's tables. Timed: from the peer's
Established (its routes are written then) until the namespace's route
notifications have counted all N routes with ``proto bird`` (checked once
with ``ip route`` at the end), and from the withdraw until none are left
(:mod:`bgplab.bench.fibwatch`). Also recorded: how long after the routes
were sent the first one reached the kernel, and the longest pause in the
writing (and at how many routes it began), for install and removal.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from itertools import count

from bgplab.bench.ctlprobe import CtlProbe
from bgplab.bench.fibwatch import FibWatch
from bgplab.bench.metrics import CpuClock, peak_rss_mb
from bgplab.bench.scenarios import (
    RunOptions,
    RunResult,
    Spec,
    record_loop_stall,
    start_probe,
    stop_probe,
    summarize_profile,
)
from bgplab.bench.targets import KernelSpec, Target

NS_PREFIX = "bgpt-bench-"
DEVICE = "bbv0"
_seq = count()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def make_netns() -> str:
    name = f"{NS_PREFIX}{os.getpid()}-{next(_seq)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        # a veth pair, both ends inside (this kernel may lack the dummy driver)
        _ip("-n", name, "link", "add", DEVICE, "type", "veth", "peer", "name", DEVICE + "p")
        _ip("-n", name, "addr", "add", "198.18.0.1/15", "dev", DEVICE)
        _ip("-n", name, "link", "set", DEVICE + "p", "up")
        _ip("-n", name, "link", "set", DEVICE, "up")
    except subprocess.CalledProcessError:
        delete_netns(name)
        raise
    return name


def delete_netns(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def bird_routes(netns: str) -> int:
    """Routes with ``proto bird`` in the namespace's main table."""
    out = subprocess.run(
        ["ip", "-n", netns, "-4", "route", "show", "proto", "bird"],
        capture_output=True,
        check=True,
    ).stdout
    return out.count(b"\n")


def _wait_count(netns: str, pred: object, deadline: float, target: Target) -> bool:
    while time.monotonic() < deadline:
        n = bird_routes(netns)
        if pred(n):  # type: ignore[operator]
            return True
        if not target.alive():
            return False
        time.sleep(0.05)
    return False


def _wait_watched(
    watch: FibWatch, netns: str, n: int, deadline: float, target: Target
) -> float | None:
    """When the kernel held ``n`` routes: the notification that made the
    count ``n`` (confirmed by a dump afterwards, which is not timed), or
    polled with ``ip route`` if notifications were lost. None: not reached."""
    while time.monotonic() < deadline and not watch.overrun:
        if watch.wait(n, min(deadline, time.monotonic() + 1.0)):
            done = watch.last_change
            if bird_routes(netns) == n:
                return done
            break  # the count disagrees with the kernel: poll from here on
        if not target.alive():
            return None
    if _wait_count(netns, lambda c: c == n, deadline, target):
        return time.monotonic()
    return None


def _timeline(watch: FibWatch, t_sent: float, res: RunResult, phase: str) -> None:
    if watch.first_change is not None:
        res.extra[f"{phase}_first_write_s"] = watch.first_change - t_sent
    res.extra[f"{phase}_max_pause_s"] = watch.max_gap
    res.extra[f"{phase}_pause_at"] = watch.gap_at
    # seconds from the routes' sending to every 10,000th route in the kernel
    steps = [(round(t - t_sent, 3), c) for t, c in watch.steps]
    res.extra[f"{phase}_steps"] = steps  # type: ignore[assignment]


def run_kernel_fib(spec: Spec, kind: str, opts: RunOptions) -> RunResult:
    res = RunResult(spec.name, kind)
    n = spec.fib_routes
    try:
        netns = make_netns()
    except subprocess.CalledProcessError as exc:
        res.error = f"cannot create namespace: {exc.stderr.decode(errors='replace').strip()}"
        return res
    prof = None
    if opts.profile_dir is not None and kind == "bgplabd":
        prof = opts.profile_dir / f"profile-{spec.name}-{time.strftime('%H%M%S')}.pstats"
    target = Target(
        kind, "127.10.0.1", ["127.11.0.1"], netns=netns, kernel=KernelSpec(DEVICE), profile=prof
    )
    peer: subprocess.Popen[bytes] | None = None
    probe: CtlProbe | None = None
    watch: FibWatch | None = None
    try:
        try:
            target.start()
        except Exception as exc:  # noqa: BLE001 - a failing daemon is a row
            res.error = f"start failed: {str(exc).splitlines()[0][:200] if str(exc) else exc!r}"
            return res
        time.sleep(opts.settle)
        watch = FibWatch(netns)
        clock = CpuClock(target.pid)
        clock.start()
        probe = start_probe(target)
        watch.mark()
        peer = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                netns,
                sys.executable,
                "-m",
                "bgplab.bench.fibpeer",
                "127.10.0.1",
                "127.11.0.1",
                str(n),
                "198.18.0.2",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert peer.stdin is not None and peer.stdout is not None
        line = peer.stdout.readline().decode().strip()
        if line != "up":
            res.error = f"peer: {line or 'exited'}"
            return res
        t0 = time.monotonic()
        t1 = _wait_watched(watch, netns, n, t0 + opts.timeout, target)
        if t1 is None:
            res.error = f"install incomplete: {bird_routes(netns)}/{n} routes in the kernel"
            return res
        _timeline(watch, t0, res, "install")
        watch.mark()
        peer.stdin.write(b"withdraw\n")
        peer.stdin.flush()
        peer.stdout.readline()
        t2 = time.monotonic()
        t3 = _wait_watched(watch, netns, 0, t2 + opts.timeout, target)
        if t3 is None:
            res.error = f"removal incomplete: {bird_routes(netns)} routes left"
            return res
        _timeline(watch, t2, res, "remove")
        stop_probe(probe, res)
        probe = None
        res.ok = True
        res.wall_s = t1 - t0
        res.extra["remove_s"] = t3 - t2
        res.cpu_s = clock.read()
        res.rss_mb = peak_rss_mb(target.pid)
        res.routes = n
        res.routes_per_s = n / res.wall_s if res.wall_s > 0 else float("nan")
        return res
    finally:
        stop_probe(probe, res)
        if watch is not None:
            watch.close()
        if peer is not None:
            with contextlib.suppress(Exception):
                assert peer.stdin is not None
                peer.stdin.close()
            try:
                peer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(peer.pid, 9)
                peer.wait()
        record_loop_stall(target, res)
        target.stop(keep=prof is not None)
        if prof is not None:
            summarize_profile(prof)
            target.remove()
        delete_netns(netns)
