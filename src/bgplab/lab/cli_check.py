"""``bgplab lab check``, ``run``, ``report``: verdicts on a lab, printed or drawn."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from bgplab.errors import UserError
from bgplab.lab import netns
from bgplab.lab.builtin import topology_from_args
from bgplab.lab.check import Report, run_checks
from bgplab.lab.cli_common import (
    ROOT,
    add_speaker_options,
    add_topology_argument,
    bring_up,
    console,
    default_speaker,
    need_root,
    with_scenarios,
)
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.scale import FULL_MATRIX_MAX, subnet_matrix_table
from bgplab.lab.scenarios import SCENARIOS, get_scenario
from bgplab.lab.speakers import SPEAKERS


def add_check(sub: Any) -> None:
    """Register ``bgplab lab check``."""
    p = sub.add_parser(
        "check",
        help="wait for convergence, then verify sessions, routes, pings",
        description="Wait until every BGP session is Established and every route table is "
        "as expected, then check sessions, routes and a pod-to-pod ping matrix. "
        "Exit 0 only when every check passes.",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for convergence before checking (default: %(default)s)",
    )
    p.set_defaults(func=cmd_check)


def add_run(sub: Any) -> None:
    """Register ``bgplab lab run``."""
    p = with_scenarios(
        sub,
        "run",
        "up + check + down for each scenario, with a summary",
        "For each scenario: bring the lab up, check it, take it down; then a summary "
        f"table. Exit 0 only when every scenario passes. Replaces a running lab. {ROOT}",
    )
    add_topology_argument(p)
    p.add_argument(
        "--scenario",
        default="all",
        choices=["all", *SCENARIOS],
        metavar="SCENARIO",
        help="one scenario (listed below), or all of them (default: %(default)s)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="convergence wait per scenario before its check (default: %(default)s)",
    )
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="write an HTML report (one per scenario: FILE-<scenario>…)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="run each scenario with bird and with bgplabd and compare the route tables",
    )
    add_speaker_options(p)
    p.set_defaults(func=cmd_run)


def add_report(sub: Any) -> None:
    """Register ``bgplab lab report``."""
    p = sub.add_parser(
        "report",
        help="an HTML report (topology, routes, reachability) or a PNG",
        description="Check the running lab and draw it: an HTML page (topology with its BGP "
        "sessions, every route table, the ping matrix) and/or a PNG of the topology.",
    )
    p.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report to FILE")
    p.add_argument(
        "--png", type=Path, metavar="FILE", help="write a PNG drawing of the topology to FILE"
    )
    p.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for convergence before checking (default: %(default)s)",
    )
    p.set_defaults(func=cmd_report)


def _check(lab: Lab, wait: float, full: bool = True) -> Report:
    with console.status(f"waiting up to {wait:.0f}s for convergence, then checking…"):
        rep = run_checks(lab, wait)
    print_report(lab, rep, full)
    return rep


def cmd_check(args: argparse.Namespace) -> int:
    need_root()
    lab = Lab.load(args.rundir)
    rep = _check(lab, args.wait)
    from bgplab.lab.ui import save_last_check

    save_last_check(lab, rep, "bgplab lab check")  # for bgplab lab ui
    return 0 if rep.ok else 1


def print_report(lab: Lab, rep: Report, full: bool = True) -> None:
    """``full``: every node's status and table (check); else the router's table (run)."""
    if full:
        for host, text in rep.node_status.items():
            console.print(f"[bold]{host}[/]: calicoctl node status")
            console.print(text.rstrip(), markup=False)
    for host in lab.topo.host_names() if full else [lab.topo.router.name]:
        console.print(f"[bold]{host}[/]: ip route")
        console.print("\n".join("  " + ln for ln in rep.routes.get(host, [])), markup=False)
        if host in rep.routes6:  # dual stack
            console.print(f"[bold]{host}[/]: ip -6 route")
            console.print("\n".join("  " + ln for ln in rep.routes6[host]), markup=False)
    console.print(matrix_table(lab, rep))
    if rep.matrix6:  # dual stack
        console.print(matrix_table(lab, rep, 6))
    t = Table(
        title=f"check: scenario {lab.scenario.name} "
        f"(router {lab.router_speaker}, nodes {lab.node_speaker})"
    )
    t.add_column("check")
    t.add_column("verdict")
    t.add_column("detail", overflow="fold")
    for c in rep.checks:
        t.add_row(c.name, "[green]PASS[/]" if c.ok else "[red]FAIL[/]", c.detail)
    console.print(t)
    waited = (
        f"converged after {rep.converged_after:.1f}s"
        if rep.converged_after is not None
        else "did not converge within the wait"
    )
    verdict = "[green]ALL PASS[/]" if rep.ok else "[red]FAILED[/]"
    console.print(f"{verdict} ({waited})")


def matrix_table(lab: Lab, rep: Report, family: int = 4) -> Table:
    """Rows ping columns; columns are numbered to keep the table narrow. ``family=6``:
    the dual-stack lab's IPv6 matrix."""
    pods = lab.pods()
    matrix = rep.matrix6 if family == 6 else rep.matrix
    if len(pods) * (len(pods) - 1) > FULL_MATRIX_MAX:  # a sampled matrix: by subnet pair
        return subnet_matrix_table(lab, matrix)
    over = " over IPv6" if family == 6 else ""
    t = Table(title=f"pod-to-pod ping{over} (row pings column)")
    t.add_column("#", justify="right")
    t.add_column("pod (subnet)")
    for i in range(len(pods)):
        t.add_column(str(i + 1), justify="center")
    for i, a in enumerate(pods):
        row = []
        for b in pods:
            if a.name == b.name:
                row.append("·")
            else:
                row.append("[green]ok[/]" if matrix.get((a.name, b.name)) else "[red]X[/]")
        t.add_row(str(i + 1), f"{a.name} ({a.subnet})", *row)
    return t


def cmd_run(args: argparse.Namespace) -> int:
    topo = topology_from_args(args)
    # "all": every scenario the topology can build (dual-stack needs an IPv6 plan)
    supported = [n for n, s in SCENARIOS.items() if topo.dual_stack or not s.dual_stack]
    names = supported if args.scenario == "all" else [args.scenario]
    need_root()
    if args.compare:
        runs = [("bird", "bird"), ("bgplabd", "bgplabd")]
    else:
        router = args.router or default_speaker()
        runs = [(router, args.speaker or (router if router in SPEAKERS else default_speaker()))]
    if Path(args.rundir, "state.json").exists() or netns.list_namespaces(args.prefix):
        console.print("a lab is up; `run` replaces it")
    summary: list[tuple[str, str, bool, str]] = []
    for name in names:
        tables: dict[str, dict[str, list[str]]] = {}
        for router, node in runs:
            label = f"{router}/{node}"
            console.rule(f"scenario {name} (router {router}, nodes {node})")
            down_any(args.rundir, args.prefix)
            lab = Lab(
                topo,
                get_scenario(name),
                router,
                node,
                args.prefix,
                args.rundir,
            )
            try:
                bring_up(lab)
                rep = _check(lab, args.wait, full=False)
                # both families' tables (dual stack: `ip -6 route` too)
                tables[label] = rep.routes | {f"{h} (IPv6)": t for h, t in rep.routes6.items()}
                failed = [c.name for c in rep.checks if not c.ok]
                summary.append(
                    (name, label, rep.ok, ", ".join(failed) or f"{len(rep.checks)} checks")
                )
                if args.html:
                    from bgplab.lab.report import write_html

                    write_html(lab, rep, _html_path(args.html, name, label, len(names) * len(runs)))
            except UserError as exc:
                summary.append((name, label, False, str(exc)))
            finally:
                lab.down()
        if len(tables) == 2:
            (la, ta), (lb, tb) = tables.items()
            diff = sorted(h for h in ta if ta[h] != tb.get(h))
            summary.append(
                (
                    name,
                    f"{la} = {lb}",
                    not diff,
                    "route tables identical"
                    if not diff
                    else "route tables differ on " + ", ".join(diff),
                )
            )
    t = Table(title="bgplab lab run: summary")
    for col in ("scenario", "speakers", "verdict", "detail"):
        t.add_column(col)
    for name, label, ok, detail in summary:
        t.add_row(name, label, "[green]PASS[/]" if ok else "[red]FAIL[/]", detail)
    console.print(t)
    return 0 if all(ok for *_, ok, _ in summary) else 1


def _html_path(path: Path, scenario: str, speakers: str, runs: int) -> Path:
    if runs == 1:
        return path
    return path.with_name(f"{path.stem}-{scenario}-{speakers.replace('/', '-')}{path.suffix}")


def cmd_report(args: argparse.Namespace) -> int:
    need_root()
    if not args.html and not args.png:
        raise UserError("say where: bgplab lab report --html FILE and/or --png FILE")
    lab = Lab.load(args.rundir)
    from bgplab.lab import report

    with console.status("checking the lab for the report…"):
        rep = run_checks(lab, args.wait)
    if args.html:
        report.write_html(lab, rep, args.html)
        console.print(f"wrote {args.html}")
    if args.png:
        report.write_png(lab, rep, args.png)
        console.print(f"wrote {args.png}")
    return 0 if rep.ok else 1
