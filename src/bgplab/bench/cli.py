"""``bgplab bench``: run scenarios against bgplabd and its peers."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import os
import signal
import sys
from pathlib import Path

from bgplab.bench import report, scenarios
from bgplab.bench.loadgen import measure_max_rate
from bgplab.bench.peerplan import PeerPlan
from bgplab.bench.targets import KINDS
from bgplab.errors import UserError

DEFAULT_AGAINST = "bird2,bird1,gobgp,frr"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="scenario to run (repeatable; default calico-rr-100)",
    )
    parser.add_argument(
        "--against",
        default=DEFAULT_AGAINST,
        help=f"comma-separated peers run beside bgplabd (default {DEFAULT_AGAINST})",
    )
    parser.add_argument("--no-bgplabd", action="store_true", help="do not run bgplabd itself")
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="runs per target (default 1)"
    )
    parser.add_argument(
        "--out",
        default="bench-results",
        metavar="DIR",
        help="directory for results.md, results.json and results.png (default bench-results)",
    )
    parser.add_argument(
        "--connect",
        default="paced",
        metavar="MODE",
        help="how the peers connect: paced (at most 8 handshakes in flight, the default), "
        "burst (every peer at once, as calico-nodes after a reflector restart), "
        "or paced,burst for both",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="give up on a run after S seconds (default 300)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=6.0,
        metavar="S",
        help="seconds the daemon runs before peers connect (default 6)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run bgplabd under cProfile; top functions go to DIR/profile-*.txt",
    )
    parser.add_argument(
        "--from-json",
        nargs="+",
        metavar="FILE",
        type=Path,
        help="run nothing: rebuild the table and plot from results.json files",
    )
    parser.add_argument(
        "--memory",
        nargs="?",
        const=500_000,
        type=int,
        metavar="ROUTES",
        help="run nothing else: bgplabd's bytes per route (table, channel, Adj-RIB-Out) "
        "for a full table of ROUTES (default 500,000), measured in-process with tracemalloc",
    )
    parser.add_argument(
        "--fanout",
        nargs="?",
        const=299,
        type=int,
        metavar="MEMBERS",
        help="run nothing else: how long one message's fan-out to MEMBERS loopback TCP "
        "sockets takes (default 299, churn's), written from one thread and from two; "
        "--repeat runs, alternating",
    )
    parser.add_argument("--target-addr", default="127.10.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--peer-base", default="127.11.0.1", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="log each run's progress")
    parser.set_defaults(func=main)


def _targets(args: argparse.Namespace) -> list[str]:
    names = [] if args.no_bgplabd else ["bgplabd"]
    for t in (x.strip() for x in args.against.split(",") if x.strip()):
        if t not in KINDS:
            raise UserError(f"unknown target {t!r} in --against (known: {', '.join(KINDS[1:])})")
        if t not in names:
            names.append(t)
    if not names:
        raise UserError("nothing to run: --against is empty and --no-bgplabd is set")
    return names


def _sigterm(signum: int, frame: object) -> None:
    # unwind through the runs' finally blocks so no daemon outlives us
    raise KeyboardInterrupt


def main(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _sigterm)
    if args.list:
        for name, desc in scenarios.CATALOG:
            print(f"{name:18} {desc}")
        return 0
    if args.repeat < 1:
        raise UserError("--repeat must be at least 1")
    if args.timeout <= 0:
        raise UserError("--timeout must be positive")
    if args.settle < 0:
        raise UserError("--settle must not be negative")
    if args.fanout is not None:
        from bgplab.bench.fanout import run as run_fanout

        if args.fanout < 2:
            raise UserError("--fanout needs at least 2 members")
        try:
            run_fanout(args.fanout, args.repeat, log=print)
        except OSError as exc:
            raise UserError(f"--fanout {args.fanout}: {exc}") from None
        return 0
    if args.memory is not None:
        from bgplab.bench.memory import measure

        if args.memory < 20:
            raise UserError("--memory needs at least 20 routes")
        measure(args.memory, log=print)
        return 0
    if args.from_json:
        out = _outdir(args.out)
        results = [r for f in args.from_json for r in report.read_json(f)]
        _write(results, out)
        return 0
    if os.geteuid() != 0:
        raise UserError("bgplab bench needs root (port 179, many sockets, namespaces)")
    specs = [scenarios.parse(n) for n in (args.scenario or ["calico-rr-100"])]
    modes = scenarios.parse_connect(args.connect)
    targets = _targets(args)
    out = _outdir(args.out)
    opts = scenarios.RunOptions(
        target_addr=args.target_addr,
        peer_base=args.peer_base,
        timeout=args.timeout,
        settle=args.settle,
        verbose=args.verbose,
        profile_dir=out.resolve() if args.profile else None,
    )
    _print_max_rate(specs)
    results = []  # (list[RunResult]: typed at the --from-json branch above)
    for spec, mode, kind in _plan(specs, modes, targets):
        run_opts = dataclasses.replace(opts, connect=mode)
        name = scenarios.label(spec.name, mode)
        for i in range(args.repeat):
            print(f"{name} / {kind} run {i + 1}/{args.repeat} ...", flush=True)
            r = scenarios.run(spec, kind, run_opts)
            results.append(r)
            print(f"  {_brief(r)}", flush=True)
    _write(results, out)
    return 0


def _plan(
    specs: list[scenarios.Spec], modes: list[str], targets: list[str]
) -> list[tuple[scenarios.Spec, str, str]]:
    """(scenario, connect mode, target) in run order: every target of one
    scenario and mode together, so their rows share the machine's state.
    kernel-fib has one peer (no burst) and compares bgplabd with BIRD 1.6."""
    out = []
    for spec in specs:
        for mode in modes if spec.kind != "kernel-fib" else ["paced"]:
            for kind in targets:
                if spec.kind == "kernel-fib" and kind not in ("bgplabd", "bird1"):
                    continue
                out.append((spec, mode, kind))
    return out


def _outdir(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror}") from exc
    return out


def _write(results: list[scenarios.RunResult], out: Path) -> None:
    summaries = report.summarize(results)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    table = report.markdown_table(summaries) + report.LEGEND
    (out / "results.md").write_text(f"# bgplab bench, {stamp}\n\n{table}")
    report.write_json(results, out / "results.json")
    plotted = report.plot(summaries, out / "results.png")
    print()
    print(table)
    tail = ", results.png" if plotted else " (no plot: matplotlib missing)"
    print(f"written: {out}/results.md, results.json{tail}")


def _brief(r: scenarios.RunResult) -> str:
    if not r.ok:
        return f"FAILED: {r.error}"
    if "remove_s" in r.extra:
        return (
            f"installed {r.routes:,} routes in {r.wall_s:.2f} s, removed in "
            f"{r.extra['remove_s']:.2f} s, CPU {r.cpu_s:.2f} s, RSS {r.rss_mb:.1f} MB"
            + "".join(
                f"; {ph} first write {r.extra[ph + '_first_write_s']:.3f} s, longest pause "
                f"{r.extra[ph + '_max_pause_s']:.3f} s at {r.extra[ph + '_pause_at']:,}"
                for ph in ("install", "remove")
                if ph + "_first_write_s" in r.extra
            )
        )
    s = (
        f"converged in {r.wall_s:.2f} s, Established {r.established_s:.2f} s, "
        f"CPU {r.cpu_s:.2f} s, RSS {r.rss_mb:.1f} MB, {r.routes_per_s:,.0f} routes/s, "
        f"hold expiries {r.hold_expiries}, drops {r.drops}, "
        f"loadgen CPU {r.extra.get('loadgen_cpu_s', 0):.2f} s"
    )
    if "listen_drops" in r.extra or "est_p50_s" in r.extra:
        x = r.extra
        s += (
            f"; listen backlog {x.get('listen_backlog', 0):.0f}, drops "
            f"{x.get('listen_drops', 0):.0f}, SYN retried {x.get('syn_retried_sessions', 0):.0f}"
            f" sessions, Established p50/p90/max {x.get('est_p50_s', 0):.2f}/"
            f"{x.get('est_p90_s', 0):.2f}/{x.get('est_max_s', 0):.2f} s"
        )
    if r.churn_median_ms == r.churn_median_ms:
        s += f", churn p50 {r.churn_median_ms:.2f} ms p99 {r.churn_p99_ms:.2f} ms"
        s += f" ({r.extra.get('churn_announces', 0):.0f} timed, {r.churn_lost} lost)"
    return s


def _print_max_rate(specs: list[scenarios.Spec]) -> None:
    """The generator's own ceiling: a packed full table (many prefixes per
    UPDATE) and a reflector's pattern (one prefix per UPDATE)."""
    from bgplab.bench import wire

    n = max((s.prefixes for s in specs if s.kind == "fulltable"), default=0) or 200_000
    prefixes = scenarios.fulltable_prefixes(min(n, 500_000))
    packed = PeerPlan(
        "127.10.255.1",
        routes=prefixes,
        attr_sets=[wire.ibgp_attributes(scenarios.NH_BASE + 1)],
    )
    single = PeerPlan(
        "127.10.255.1",
        routes=prefixes[:100_000],
        attr_sets=[wire.ibgp_attributes(scenarios.NH_BASE + i) for i in range(100_000)],
        attr_index=list(range(100_000)),
    )
    rates = []
    for plan in (packed, single):
        plan.encode()
        try:
            rates.append(asyncio.run(measure_max_rate(plan)))
        except OSError as exc:
            print(f"loadgen max rate: not measured ({exc})", file=sys.stderr)
            return
    print(
        f"loadgen max rate: {rates[0]:,.0f} prefixes/s packed, {rates[1]:,.0f} UPDATEs/s "
        "with one prefix each (send + exact count over loopback, one process)"
    )
