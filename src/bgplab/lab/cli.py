"""``bgplab lab …``: up, check, status, exec, down, run, report, fault."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bgplab.errors import UserError
from bgplab.lab import netns
from bgplab.lab.builtin import add_topology_options, register_topologies, topology_from_args
from bgplab.lab.check import Report, run_checks
from bgplab.lab.lab import DEFAULT_RUNDIR, Lab, down_any
from bgplab.lab.scale import FULL_MATRIX_MAX, register_scale, subnet_matrix_table
from bgplab.lab.scenarios import SCENARIOS, get_scenario
from bgplab.lab.speakers import ROUTER_SPEAKERS, SPEAKERS

console = Console(highlight=False)


# The lab's default speaker: bgplabd runs the whole lab (all four scenarios pass `check`,
# with route tables identical to BIRD 1.6's); real BIRD 1.6 stands in when bgplabd is unusable.
PREFERRED_SPEAKER = "bgplabd"


def default_speaker() -> str:
    """``BGPLAB_LAB_SPEAKER`` if set, else the preferred speaker when it is usable, else bird."""
    from bgplab.lab.speakers import usable

    env = os.environ.get("BGPLAB_LAB_SPEAKER")
    if env in SPEAKERS:
        return env
    return PREFERRED_SPEAKER if usable(PREFERRED_SPEAKER) else "bird"


SEED = (
    "the seed's topology (the test cluster of the report this project was seeded from): "
    "two subnets "
    "(sw0 192.168.0.0/24, sw2 192.168.2.0/24) joined by one soft router, four Calico nodes "
    "(rke-node3, rke-node4, rke-node6, rke-node7) with two pods each (docs/lab.md)"
)
ROOT = "Needs root: it creates network namespaces."


def _scenarios() -> str:
    """The scenarios, one a line, for an epilog."""
    return "scenarios:\n" + "\n".join(f"  {s.name:<14} {s.title}" for s in SCENARIOS.values())


def with_scenarios(sub: Any, name: str, help_text: str, text: str) -> argparse.ArgumentParser:
    """A sub-command whose --help ends with the scenarios, one a line."""
    width = min(shutil.get_terminal_size().columns, 100) - 2
    return sub.add_parser(
        name,
        help=help_text,
        description=textwrap.fill(text, width=width),
        epilog=_scenarios(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        f"A network-namespace lab: {SEED}, or your own topology YAML. Speakers are bgplabd "
        f"or BIRD 1.6; checks compare every route table with the expected one. {ROOT} "
        "Start with: bgplab lab up, then bgplab lab check."
    )
    rundir = os.environ.get("BGPLAB_LAB_RUNDIR", DEFAULT_RUNDIR)
    parser.add_argument(
        "--rundir",
        type=Path,
        default=Path(rundir),
        help="where the lab keeps its state, configs and sockets; two labs need two "
        f"(default: $BGPLAB_LAB_RUNDIR, else {DEFAULT_RUNDIR})",
    )
    parser.add_argument(
        "--prefix",
        default=os.environ.get("BGPLAB_LAB_PREFIX", netns.DEFAULT_PREFIX),
        help="name prefix of the lab's namespaces and links "
        f"(default: $BGPLAB_LAB_PREFIX, else {netns.DEFAULT_PREFIX})",
    )
    sub = parser.add_subparsers(dest="lab_cmd", metavar="COMMAND")
    register_topologies(sub)
    register_scale(sub)

    def speakers(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--router",
            choices=ROUTER_SPEAKERS,
            default=None,
            help="the soft router's speaker; container: the image of scripts/image "
            "(default: bgplabd when usable, else bird)",
        )
        p.add_argument(
            "--speaker",
            choices=SPEAKERS,
            default=None,
            help="the Calico nodes' speaker (default: as --router)",
        )

    def topology(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "topology",
            nargs="?",
            help="topology YAML, format in docs/lab.md, or a built-in's name (bgplab lab "
            "topologies; default: the seed's topology, see bgplab lab --help)",
        )
        add_topology_options(p)

    p = with_scenarios(
        sub,
        "up",
        "build the lab and start its speakers",
        "Build the lab in network namespaces and start its speakers. Without a TOPOLOGY "
        f"it is {SEED}. Returns as soon as the speakers run: BGP sessions take a few "
        f"seconds more, and bgplab lab check waits for them. {ROOT}",
    )
    topology(p)
    p.add_argument(
        "--scenario",
        default="rr",
        choices=list(SCENARIOS),
        metavar="SCENARIO",
        help="which of the report's variants, listed below (default: %(default)s)",
    )
    speakers(p)
    p.set_defaults(func=cmd_up)

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

    p = sub.add_parser(
        "status",
        help="what is up: scenario, speakers, sessions",
        description="The running lab: scenario, each host's namespace, speaker, pid and BGP "
        "sessions, and the control socket to reach it with bgplabc or birdc. "
        "Exits 1 when no lab is up.",
    )
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "exec",
        help="run a command inside a host or pod: exec HOST -- CMD",
        description="Run a command in a host's or pod's network namespace, e.g. "
        "bgplab lab exec rke-node3 -- ip route. Hosts are the router and the nodes "
        "(bgplab lab status lists them); pods are NODE-podN. Without a host, lists them.",
    )
    p.add_argument(
        "host", nargs="?", help="router, node or pod name (omit it to list the running lab's)"
    )
    p.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    p.set_defaults(func=cmd_exec)

    p = sub.add_parser(
        "down",
        help="remove everything the lab created (idempotent)",
        description="Stop the speakers and remove the namespaces, links and run directory "
        "of the lab (found by state file and by name prefix, also after a crash).",
    )
    p.set_defaults(func=cmd_down)

    p = with_scenarios(
        sub,
        "run",
        "up + check + down for each scenario, with a summary",
        "For each scenario: bring the lab up, check it, take it down; then a summary "
        f"table. Exit 0 only when every scenario passes. Replaces a running lab. {ROOT}",
    )
    topology(p)
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
    speakers(p)
    p.set_defaults(func=cmd_run)

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

    p = sub.add_parser(
        "ui",
        help="the live view in a browser: sessions, tables, pings, checks, drills",
        description="Serve the running lab's live view (topology with sessions coloured by "
        "state, each host's route table and calicoctl node status, the ping matrix, the last "
        "check, a running drill) and a looking glass per bgplabd speaker on the next ports. "
        "Runs until interrupted. docs/looking-glass.md",
    )
    p.add_argument("--port", type=int, default=8108, help="port (default: %(default)s)")
    p.add_argument("--listen", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser(
        "fault",
        help="a drill: break something, check during the fault, heal, check again",
        description="A fault drill with a verdict in its exit code. A continuous ping between "
        "two pods runs throughout; --restart-router and --swap-router promise zero lost pings "
        "(exit 1 on any loss unless --max-lost allows it), --link-down and --kill-speaker "
        "expect loss and fail only when the lab does not heal. Prints the check during the "
        "fault, after healing, and a timeline.",
    )
    p.add_argument("host", help="node (or the router) to break; the router drills ignore it")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--kill-speaker",
        action="store_true",
        help="SIGKILL the host's BGP speaker, then start it again (loss expected)",
    )
    g.add_argument(
        "--link-down",
        action="store_true",
        help="set the host's links down, then up again (loss expected, reported)",
    )
    g.add_argument(
        "--restart-router",
        action="store_true",
        help="kill the router's speaker and start it again with -R (zero loss promised)",
    )
    g.add_argument(
        "--swap-router",
        action="store_true",
        help="kill the router's speaker and start the other one (BIRD 1.6 <-> bgplabd) on "
        "the same bird.conf with -R: the cut-over rehearsal (zero loss promised)",
    )
    p.add_argument(
        "--hold",
        type=float,
        default=8.0,
        help="seconds the fault lasts (router restarts: at most 2) (default: %(default)s)",
    )
    p.add_argument(
        "--max-lost",
        type=int,
        default=0,
        metavar="N",
        help="lost pings a router restart or swap may have and still pass (default: %(default)s)",
    )
    p.add_argument(
        "--to",
        choices=ROUTER_SPEAKERS,
        default=None,
        help="--swap-router: the speaker that takes over, e.g. container (the router image) "
        "(default: BIRD 1.6 <-> bgplabd; container -> BIRD 1.6)",
    )
    p.set_defaults(func=cmd_fault)

    parser.set_defaults(func=lambda _a: (parser.print_help(), 2)[1])


# --------------------------------------------------------------------------- commands


def _need_root() -> None:
    if os.geteuid() != 0:
        raise UserError(
            "bgplab lab needs root (it creates network namespaces); try: sudo bgplab lab …"
        )


def _lab_from(args: argparse.Namespace, scenario: str) -> Lab:
    topo = topology_from_args(args)  # a bad file fails before anything is probed or built
    _need_root()
    router = args.router or default_speaker()
    node = args.speaker or (router if router in SPEAKERS else default_speaker())
    return Lab(topo, get_scenario(scenario), router, node, args.prefix, args.rundir)


def _bring_up(lab: Lab) -> None:
    with console.status("building the lab…") as status:
        lab.up(lambda msg: status.update(f"[bold]up[/]: {msg}"))
    console.print(
        f"[green]lab up[/]: scenario [bold]{lab.scenario.name}[/] "
        f"({lab.scenario.title}); router speaker {lab.router_speaker}, "
        f"node speaker {lab.node_speaker}; {len(lab.topo.nodes)} nodes, "
        f"{len(lab.pods())} pods"
    )


def cmd_up(args: argparse.Namespace) -> int:
    lab = _lab_from(args, args.scenario)
    _bring_up(lab)
    cmd = "sudo bgplab lab" if os.environ.get("SUDO_USER") else "bgplab lab"  # as typed
    console.print(
        f"BGP sessions are still coming up (a few seconds). Next: [bold]{cmd} check[/] "
        f"(waits for them, then checks routes and pings); {cmd} status, "
        f"{cmd} exec HOST -- CMD; {cmd} down when done."
    )
    return 0


def _check(lab: Lab, wait: float, full: bool = True) -> Report:
    with console.status(f"waiting up to {wait:.0f}s for convergence, then checking…"):
        rep = run_checks(lab, wait)
    print_report(lab, rep, full)
    return rep


def cmd_check(args: argparse.Namespace) -> int:
    _need_root()
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


def cmd_status(args: argparse.Namespace) -> int:
    try:
        lab = Lab.load(args.rundir)
    except UserError:
        left = netns.list_namespaces(args.prefix)
        if left:
            raise UserError(
                f"no lab state, but {len(left)} namespaces remain: run bgplab lab down"
            ) from None
        raise
    from bgplab.lab.check import sessions

    say = console.print
    say(f"scenario [bold]{lab.scenario.name}[/] ({lab.scenario.title})")
    # paths are printed whole (soft_wrap): a path broken by the wrap cannot be copied
    say(f"topology {lab.topo.source or 'seed (built in)'}", soft_wrap=True, markup=False)
    say(f"run directory {lab.rundir}", soft_wrap=True, markup=False)
    say(f"namespaces {lab.names.prefix}<host>; config renderer {lab.renderer}", markup=False)
    t = Table()
    for col in ("host", "speaker", "pid", "alive", "BGP sessions"):
        t.add_column(col, no_wrap=col != "BGP sessions")
    ss = sessions(lab)
    for host in lab.topo.host_names():
        info = lab.speakers.get(host)
        t.add_row(
            host,
            info.kind if info else "-",
            str(info.pid) if info else "-",
            "yes" if lab.speaker_alive(host) else "[red]no[/]",
            _sessions_cell(ss.get(host, {})),
        )
    ss6 = sessions(lab, 6) if lab.speakers6 else {}
    for host, info6 in lab.speakers6.items():  # dual stack: each host's IPv6 daemon
        alive = "yes" if lab.speaker6_alive(host) else "[red]no[/]"
        t.add_row(
            f"{host} (IPv6)",
            f"{info6.kind}6",
            str(info6.pid),
            alive,
            _sessions_cell(ss6.get(host, {})),
        )
    say(t)
    say("control sockets (bgplabc -s SOCKET; birdc -s SOCKET for a BIRD speaker):")
    width = max((len(h) for h in lab.speakers), default=0)
    for host, info in lab.speakers.items():
        say(f"  {host:<{width}}  {info.socket}", soft_wrap=True, markup=False)
    for host, info6 in lab.speakers6.items():
        say(f"  {host:<{width}}  {info6.socket}", soft_wrap=True, markup=False)
    return 0


def _sessions_cell(state: dict[str, str]) -> str:
    """ "4 Established", or the sessions that are not, by name."""
    if not state:
        return "-"
    up = [k for k, v in state.items() if v == "Established"]
    down = [f"{k} {v}" for k, v in sorted(state.items()) if v != "Established"]
    text = f"{len(up)} Established" if up else ""
    return ", ".join([text] * bool(text) + [f"[red]{escape(d)}[/]" for d in down])


def cmd_exec(args: argparse.Namespace) -> int:
    _need_root()
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    lab = Lab.load(args.rundir)
    if not args.host or not argv:
        hosts = ", ".join(lab.topo.host_names())
        pods = ", ".join(p.name for p in lab.pods()[:2])
        raise UserError(
            f"usage: bgplab lab exec HOST -- CMD [ARGS…]; hosts: {hosts}; pods: {pods} …"
        )
    try:
        return subprocess.call(netns.in_ns(lab.host_ns(args.host), argv))
    except FileNotFoundError:
        raise UserError(f"command not found: {argv[0]}") from None


def cmd_down(args: argparse.Namespace) -> int:
    _need_root()
    removed = down_any(args.rundir, args.prefix)
    console.print("removed " + ", ".join(removed) if removed else "nothing to remove")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    topo = topology_from_args(args)
    # "all": every scenario the topology can build (dual-stack needs an IPv6 plan)
    supported = [n for n, s in SCENARIOS.items() if topo.dual_stack or not s.dual_stack]
    names = supported if args.scenario == "all" else [args.scenario]
    _need_root()
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
                _bring_up(lab)
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
    _need_root()
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


def cmd_ui(args: argparse.Namespace) -> int:
    _need_root()
    from bgplab.lab import ui

    return ui.run(args.rundir, args.listen, args.port, lambda m: console.print(m, markup=False))


def cmd_fault(args: argparse.Namespace) -> int:
    _need_root()
    from bgplab.lab.fault import KINDS, run_drill

    lab = Lab.load(args.rundir)
    kind = next(k for k in KINDS if getattr(args, k.replace("-", "_"), False))
    return run_drill(lab, args.host, kind, args.hold, console, max_lost=args.max_lost, to=args.to)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
