"""Big labs: the ping matrix by subnet pair, and ``bgplab lab scale``, which measures how
``up``, convergence, ``check`` and ``down`` and the daemons' CPU and memory grow with
the number of nodes (generated topologies, docs/lab.md "Scale").

A measurement, never a test assertion: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bgplab.errors import UserError
from bgplab.lab.check import FULL_MATRIX_MAX, run_checks, wait_converged
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.scenarios import get_scenario

__all__ = ["FULL_MATRIX_MAX", "subnet_matrix_table", "measure", "register_scale"]

_TICK = os.sysconf("SC_CLK_TCK")


def subnet_matrix_table(lab: Lab, matrix: dict[tuple[str, str], bool]) -> Table:
    """A sampled ping matrix, one cell per (source subnet, destination subnet)."""
    subnet_of = {p.name: p.subnet for p in lab.pods()}
    names = [s.name for s in lab.topo.subnets if any(p == s.name for p in subnet_of.values())]
    cells: dict[tuple[str, str], list[bool]] = {}
    for (a, b), ok in matrix.items():
        cells.setdefault((subnet_of[a], subnet_of[b]), []).append(ok)
    t = Table(title="pod pings by subnet (sampled: each pod pings one pod per subnet)")
    t.add_column("from \\ to")
    for n in names:
        t.add_column(n, justify="center")
    for a in names:
        row = []
        for b in names:
            oks = cells.get((a, b), [])
            good = sum(oks)
            colour = "green" if oks and good == len(oks) else "red"
            row.append(f"[{colour}]{good}/{len(oks)}[/]")
        t.add_row(a, *row)
    return t


def _proc(pid: int) -> tuple[float, float]:
    """(CPU seconds, resident MiB) of a live process; zeros when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        rss = next(
            int(line.split()[1]) / 1024
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("VmRSS:")
        )
    except (OSError, StopIteration, IndexError, ValueError):
        return 0.0, 0.0
    return cpu, rss


@dataclass
class ScaleRow:
    nodes: int
    subnets: int
    pods: int
    namespaces: int
    up_s: float
    converge_s: float | None
    check_s: float
    check_ok: bool
    checks: int
    pings: int
    down_s: float
    router_cpu_s: float
    router_rss_mib: float
    node_cpu_s: float  # mean per node
    node_rss_mib: float  # mean per node


def measure(
    nodes: int,
    subnets: int,
    speaker: str,
    prefix: str,
    rundir: Path,
    pods: int = 2,
    converge_wait: float = 600.0,
) -> ScaleRow:
    """Build a generated lab, time it, measure its daemons, tear it down."""
    from bgplab.lab.builtin import generated_topology

    down_any(rundir, prefix)
    topo = generated_topology(rundir, nodes, subnets, pods)
    lab = Lab(topo, get_scenario("rr"), speaker, speaker, prefix, rundir)
    try:
        t0 = time.monotonic()
        lab.up()
        up_s = time.monotonic() - t0
        conv = wait_converged(lab, converge_wait)
        t1 = time.monotonic()
        rep = run_checks(lab, wait=converge_wait)
        check_s = time.monotonic() - t1
        namespaces = len(lab.existing())
        router = _proc(lab.speakers[topo.router.name].pid)
        per_node = [_proc(lab.speakers[n.name].pid) for n in topo.nodes]
    finally:
        t2 = time.monotonic()
        lab.down()
        down_s = time.monotonic() - t2
    return ScaleRow(
        nodes,
        subnets,
        len(lab.pods()),
        namespaces,
        up_s,
        conv,
        check_s,
        rep.ok,
        len(rep.checks),
        len(rep.matrix),
        down_s,
        router[0],
        router[1],
        sum(c for c, _ in per_node) / len(per_node),
        sum(r for _, r in per_node) / len(per_node),
    )


def cmd_scale(args: argparse.Namespace) -> int:
    from bgplab.lab.cli import default_speaker

    if os.geteuid() != 0:
        raise UserError("bgplab lab scale needs root (it builds labs); try: sudo bgplab lab …")
    try:
        sizes = [int(x) for x in args.nodes.split(",")]
    except ValueError:
        raise UserError(f"--nodes = {args.nodes!r} must be numbers like 4,12,25,50") from None
    speaker = args.speaker or default_speaker()
    console = Console(highlight=False, width=170)
    load = os.getloadavg()[0]
    rows = []
    for n in sizes:
        with console.status(f"{n} nodes: up, converge, check, down…"):
            rows.append(measure(n, min(args.subnets, n), speaker, args.prefix, args.rundir))
        console.print(rows[-1])
    t = Table(
        title=f"lab scale ({speaker} everywhere, scenario rr, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    for col in (
        "nodes",
        "subnets",
        "pods",
        "namespaces",
        "up s",
        "converged s",
        "check s",
        "check",
        "pings",
        "down s",
        "router CPU s",
        "router RSS MiB",
        "node CPU s",
        "node RSS MiB",
    ):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(
            str(r.nodes),
            str(r.subnets),
            str(r.pods),
            str(r.namespaces),
            f"{r.up_s:.1f}",
            "-" if r.converge_s is None else f"{r.converge_s:.1f}",
            f"{r.check_s:.1f}",
            f"{'PASS' if r.check_ok else 'FAIL'} ({r.checks})",
            str(r.pings),
            f"{r.down_s:.1f}",
            f"{r.router_cpu_s:.2f}",
            f"{r.router_rss_mib:.0f}",
            f"{r.node_cpu_s:.2f}",
            f"{r.node_rss_mib:.0f}",
        )
    console.print(t)
    return 0 if all(r.check_ok for r in rows) else 1


def register_scale(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "scale",
        help="measure up, convergence, check and the daemons' CPU/memory for generated labs",
    )
    p.add_argument(
        "--nodes", default="4,12,25,50", help="node counts to measure (default: %(default)s)"
    )
    p.add_argument("--subnets", type=int, default=4, help="subnets (default: %(default)s)")
    p.add_argument(
        "--speaker",
        choices=("bgplabd", "bird"),
        default=None,
        help="speaker on every host (default: as bgplab lab up)",
    )
    p.set_defaults(func=cmd_scale)
