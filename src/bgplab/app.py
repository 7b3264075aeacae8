"""``bgplab``: the umbrella command (lab, calico, bench, soak).

Each area registers its own sub-commands through ``register(subparsers)`` in
its ``cli`` module, so this file only wires them together. Any error an area
raises as :class:`bgplab.errors.UserError` becomes a one-line message and
exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from bgplab import __version__
from bgplab.errors import UserError

AREAS = {
    "lab": (
        "bgplab.lab.cli",
        "build and check the seed's topology (or yours) in network namespaces (root)",
    ),
    "calico": ("bgplab.calico.cli", "Calico node emulation from calicoctl resources"),
    "router": ("bgplab.lab.routercli", "the soft router's BIRD 1.x config from a cluster's resources"),
    "bench": ("bgplab.bench.cli", "benchmarks against BIRD, GoBGP and FRR"),
    "soak": ("bgplab.bench.soak.cli", "bounded churn soak of bgplabd: lost/duplicated routes, RSS"),
}

DESCRIPTION = (
    "bgplab: a network-namespace lab for Calico's BGP with bgplabd (a Python BGP router that "
    "reads BIRD 1.x config) or BIRD 1.6, plus Calico node emulation, benchmarks and a soak. "
    "The daemon is bgplabd, its client bgplabc (birdc-compatible)."
)
EPILOG = (
    "first steps: sudo bgplab lab up; sudo bgplab lab check; sudo bgplab lab down. "
    "bgplab AREA --help describes each area; docs/lab.md the lab."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bgplab", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"bgplab {__version__}")
    sub = parser.add_subparsers(dest="area", metavar="{" + ",".join(AREAS) + "}")
    for name, (module, help_text) in AREAS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        area = sub.add_parser(name, help=help_text, description=help_text)
        mod.register(area)
    describe(parser)
    return parser


def describe(parser: argparse.ArgumentParser) -> None:
    """A sub-command registered with only a one-line ``help`` shows it as its
    description too, so ``bgplab AREA CMD --help`` always says what CMD does."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, sub in action.choices.items():
            if not sub.description and helps.get(name):
                sub.description = helps[name]
            describe(sub)


def main(argv: list[str] | None = None) -> int:
    # SIGPIPE stays ignored (Python's default): bench, soak and the lab write
    # to BGP sockets in this process, and a peer's reset must be an error
    # there, not a silent death. A closed stdout (`bgplab ... | head`) ends
    # quietly below instead.
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except UserError as exc:
        print(f"bgplab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if argv is not None:
            raise
        _quiet_stdout()
        return 128 + signal.SIGPIPE  # what the shell shows for a reader gone


def _quiet_stdout() -> None:
    """Whoever read our output has gone: point stdout at /dev/null so the
    interpreter's last flush finds nothing to complain about."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
