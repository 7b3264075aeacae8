"""``bgplab lab ui`` and ``fault``: watching a running lab, and drilling it."""

from __future__ import annotations

import argparse
from typing import Any

from bgplab.lab.cli_common import console, need_root
from bgplab.lab.lab import Lab
from bgplab.lab.speakers import ROUTER_SPEAKERS


def add_ui(sub: Any) -> None:
    """Register ``bgplab lab ui``."""
    p = sub.add_parser(
        "ui",
        help="the live view in a browser: sessions, tables, pings, checks, drills",
        description="Serve the running lab's live view (topology with sessions coloured by "
        "state, each host's route table and calicoctl node status, the ping matrix, the last "
        "check, a running drill) and a looking glass per bgplabd speaker on the next ports. "
        "Runs until interrupted. docs/looking-glass.md",
    )
    p.add_argument("--port", type=int, default=8108,
                   help="port of the lab view; the routers' looking glasses take the ports after"
                   " it (0: free ports for all; default: %(default)s)")
    p.add_argument("--listen", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.set_defaults(func=cmd_ui)


def add_fault(sub: Any) -> None:
    """Register ``bgplab lab fault``."""
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


def cmd_ui(args: argparse.Namespace) -> int:
    need_root()
    from bgplab.lab import ui

    return ui.run(args.rundir, args.listen, args.port, lambda m: console.print(m, markup=False))


def cmd_fault(args: argparse.Namespace) -> int:
    need_root()
    from bgplab.lab.fault import KINDS, run_drill

    lab = Lab.load(args.rundir)
    kind = next(k for k in KINDS if getattr(args, k.replace("-", "_"), False))
    return run_drill(lab, args.host, kind, args.hold, console, max_lost=args.max_lost, to=args.to)
