"""What the ``bgplab lab`` sub-commands share: the console, the default speaker,
the help texts, the common arguments, the root check and bringing a lab up."""

from __future__ import annotations

import argparse
import os
import shutil
import textwrap
from typing import Any

from rich.console import Console

from bgplab.errors import UserError
from bgplab.lab.builtin import add_topology_options
from bgplab.lab.lab import Lab
from bgplab.lab.scenarios import SCENARIOS
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


def add_speaker_options(p: argparse.ArgumentParser) -> None:
    """--router and --speaker (up, run)."""
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


def add_topology_argument(p: argparse.ArgumentParser) -> None:
    """The optional TOPOLOGY and the built-ins' options (up, run)."""
    p.add_argument(
        "topology",
        nargs="?",
        help="topology YAML, format in docs/lab.md, or a built-in's name (bgplab lab "
        "topologies; default: the seed's topology, see bgplab lab --help)",
    )
    add_topology_options(p)


def need_root() -> None:
    if os.geteuid() != 0:
        raise UserError(
            "bgplab lab needs root (it creates network namespaces); try: sudo bgplab lab …"
        )


def bring_up(lab: Lab) -> None:
    with console.status("building the lab…") as status:
        lab.up(lambda msg: status.update(f"[bold]up[/]: {msg}"))
    console.print(
        f"[green]lab up[/]: scenario [bold]{lab.scenario.name}[/] "
        f"({lab.scenario.title}); router speaker {lab.router_speaker}, "
        f"node speaker {lab.node_speaker}; {len(lab.topo.nodes)} nodes, "
        f"{len(lab.pods())} pods"
    )
