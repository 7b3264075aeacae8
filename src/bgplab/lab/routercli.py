"""``bgplab router config --from-calico FILE [--mode rr|aggregate]``: the soft router's
BIRD 1.x config for a real cluster, as the seed's author wrote theirs by hand (one
``protocol bgp`` per node, ``rr client`` or static aggregates), to deploy on the VM.

The cluster is read as ``bgplab lab up --from-calico`` reads it (lab/fromcalico.py);
the config is the one the lab would run on that router (lab/routerconf.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bgplab.errors import UserError
from bgplab.lab.builtin import add_from_calico_options, calico_options
from bgplab.lab.routerconf import KINDS, generate_router_config


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="router_cmd", metavar="COMMAND")
    p = sub.add_parser(
        "config",
        help="the router's BIRD 1.x config for a cluster, from its Calico resources",
        description="Print the soft router's BIRD 1.x config (bird.conf) for the cluster "
        "the resources describe: one protocol bgp per node that peers with it, rr client "
        "(--mode rr) or the pools as static aggregates (--mode aggregate).",
    )
    add_from_calico_options(p, required=True)
    p.add_argument("--mode", choices=KINDS, default="rr", help="default: %(default)s")
    p.add_argument("--name", help="which router, when the resources name several (see the error)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE")
    p.set_defaults(func=cmd_config)
    # (the tuple prints the help, then gives the exit status)
    parser.set_defaults(func=lambda _a: (parser.print_help(), 2)[1])  # type: ignore[func-returns-value]


def cmd_config(args: argparse.Namespace) -> int:
    from bgplab.lab.fromcalico import topology_text
    from bgplab.lab.topology import parse_topology

    opts = calico_options(args)
    opts.assign_blocks = True  # type: ignore[attr-defined]  # blocks are not in a router config
    topo = parse_topology(topology_text(args.from_calico, opts))  # type: ignore[arg-type]
    names = topo.router_names()
    if args.name:
        router = topo.router_named(args.name)
    elif len(names) == 1:
        router = topo.routers[0]
    else:
        raise UserError(
            f"the resources name {len(names)} routers ({', '.join(names)}): choose one with "
            "--name, or say which addresses are one router with --router-at NAME=IP,IP"
        )
    text = generate_router_config(topo, args.mode, router)
    if args.output:
        try:
            args.output.write_text(text)
        except OSError as exc:
            raise UserError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return 0
