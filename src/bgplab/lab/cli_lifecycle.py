"""``bgplab lab up``, ``status``, ``exec``, ``down``: a lab's life cycle."""

from __future__ import annotations

import argparse
import os
import subprocess
from typing import Any

from rich.markup import escape
from rich.table import Table

from bgplab.errors import UserError
from bgplab.lab import netns
from bgplab.lab.builtin import topology_from_args
from bgplab.lab.cli_common import (
    ROOT,
    SEED,
    add_speaker_options,
    add_topology_argument,
    bring_up,
    console,
    default_speaker,
    need_root,
    with_scenarios,
)
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.scenarios import SCENARIOS, get_scenario
from bgplab.lab.speakers import SPEAKERS


def add_up(sub: Any) -> None:
    """Register ``bgplab lab up``."""
    p = with_scenarios(
        sub,
        "up",
        "build the lab and start its speakers",
        "Build the lab in network namespaces and start its speakers. Without a TOPOLOGY "
        f"it is {SEED}. Returns as soon as the speakers run: BGP sessions take a few "
        f"seconds more, and bgplab lab check waits for them. {ROOT}",
    )
    add_topology_argument(p)
    p.add_argument(
        "--scenario",
        default="rr",
        choices=list(SCENARIOS),
        metavar="SCENARIO",
        help="which of the report's variants, listed below (default: %(default)s)",
    )
    add_speaker_options(p)
    p.set_defaults(func=cmd_up)


def add_status(sub: Any) -> None:
    """Register ``bgplab lab status``."""
    p = sub.add_parser(
        "status",
        help="what is up: scenario, speakers, sessions",
        description="The running lab: scenario, each host's namespace, speaker, pid and BGP "
        "sessions, and the control socket to reach it with bgplabc or birdc. "
        "Exits 1 when no lab is up.",
    )
    p.set_defaults(func=cmd_status)


def add_exec(sub: Any) -> None:
    """Register ``bgplab lab exec``."""
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


def add_down(sub: Any) -> None:
    """Register ``bgplab lab down``."""
    p = sub.add_parser(
        "down",
        help="remove everything the lab created (idempotent)",
        description="Stop the speakers and remove the namespaces, links and run directory "
        "of the lab (found by state file and by name prefix, also after a crash).",
    )
    p.set_defaults(func=cmd_down)


def _lab_from(args: argparse.Namespace, scenario: str) -> Lab:
    topo = topology_from_args(args)  # a bad file fails before anything is probed or built
    need_root()
    router = args.router or default_speaker()
    node = args.speaker or (router if router in SPEAKERS else default_speaker())
    return Lab(topo, get_scenario(scenario), router, node, args.prefix, args.rundir)


def cmd_up(args: argparse.Namespace) -> int:
    lab = _lab_from(args, args.scenario)
    bring_up(lab)
    cmd = "sudo bgplab lab" if os.environ.get("SUDO_USER") else "bgplab lab"  # as typed
    console.print(
        f"BGP sessions are still coming up (a few seconds). Next: [bold]{cmd} check[/] "
        f"(waits for them, then checks routes and pings); {cmd} status, "
        f"{cmd} exec HOST -- CMD; {cmd} down when done."
    )
    return 0


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
    need_root()
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
    need_root()
    removed = down_any(args.rundir, args.prefix)
    console.print("removed " + ", ".join(removed) if removed else "nothing to remove")
    return 0
