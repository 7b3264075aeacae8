"""``bgplab lab …``: the sub-commands' registration, in the order ``--help`` lists them.

The commands live by group: :mod:`~bgplab.lab.cli_lifecycle` (up, status, exec, down),
:mod:`~bgplab.lab.cli_check` (check, run, report), :mod:`~bgplab.lab.cli_live` (ui, fault),
:mod:`~bgplab.lab.builtin` (topologies), :mod:`~bgplab.lab.scale` (scale); what they share
is :mod:`~bgplab.lab.cli_common`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bgplab.lab import cli_check, cli_lifecycle, cli_live, netns
from bgplab.lab.builtin import register_topologies
from bgplab.lab.cli_common import PREFERRED_SPEAKER, ROOT, SEED, default_speaker
from bgplab.lab.lab import DEFAULT_RUNDIR
from bgplab.lab.scale import register_scale

__all__ = ["PREFERRED_SPEAKER", "default_speaker", "register"]  # default_speaker: scale, tests


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
    cli_lifecycle.add_up(sub)
    cli_check.add_check(sub)
    cli_lifecycle.add_status(sub)
    cli_lifecycle.add_exec(sub)
    cli_lifecycle.add_down(sub)
    cli_check.add_run(sub)
    cli_check.add_report(sub)
    cli_live.add_ui(sub)
    cli_live.add_fault(sub)
    # (the tuple prints the help, then gives the exit status)
    parser.set_defaults(func=lambda _a: (parser.print_help(), 2)[1])  # type: ignore[func-returns-value]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
