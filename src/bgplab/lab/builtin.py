"""Built-in topologies, chosen by name where a file name goes, and the topology options
of ``bgplab lab up``/``run`` (``--nodes N --subnets S``, ``--write-topology FILE``).

A built-in is a YAML file in the package's ``data/topologies``; its first comment
line is its one-line description (``bgplab lab topologies`` lists them).
"""

from __future__ import annotations

import argparse
from importlib import resources as pkg_resources
from pathlib import Path
from typing import TYPE_CHECKING

from bgplab.errors import UserError

if TYPE_CHECKING:
    from bgplab.lab.topology import Topology


def _dir() -> Path:
    return Path(str(pkg_resources.files("bgplab") / "data" / "topologies"))


def builtin_names() -> list[str]:
    # the seed first: it is the default
    names = sorted(p.stem for p in _dir().glob("*.yaml"))
    return sorted(names, key=lambda n: n != "seed")


def builtin_path(name: str) -> Path | None:
    if name not in builtin_names():
        return None
    return _dir() / f"{name}.yaml"


def describe(name: str) -> str:
    path = builtin_path(name)
    assert path is not None
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def add_topology_options(p: argparse.ArgumentParser) -> None:
    """``--nodes/--subnets/--pods`` and ``--write-topology`` beside the TOPOLOGY argument."""
    p.add_argument(
        "--nodes",
        type=int,
        metavar="N",
        help="generate a topology of N nodes (with --subnets; instead of TOPOLOGY)",
    )
    p.add_argument(
        "--subnets",
        type=int,
        metavar="S",
        help="the generated topology's subnet count (default: 2)",
    )
    p.add_argument(
        "--pods", type=int, default=2, metavar="P", help="pods per generated node (default: 2)"
    )
    p.add_argument(
        "--write-topology",
        type=Path,
        metavar="FILE",
        help="also write the topology used (generated or not) to FILE, to edit and reuse",
    )


def topology_from_args(args: argparse.Namespace) -> Topology:
    """The Topology the command line names: a file, a built-in, or ``--nodes/--subnets``."""
    from bgplab.lab.topology import load_topology

    nodes, subnets = getattr(args, "nodes", None), getattr(args, "subnets", None)
    if nodes is None and subnets is None:
        topo = load_topology(args.topology)
        _write(args, topo.source.read_text() if topo.source else None)
        return topo
    if args.topology:
        raise UserError("give either TOPOLOGY or --nodes/--subnets, not both")
    if nodes is None:
        raise UserError("--subnets needs --nodes N")
    rundir = Path(args.rundir)
    if (rundir / "state.json").exists() and getattr(args, "func", None).__name__ == "cmd_up":
        raise UserError("a lab is already up (see: bgplab lab status; remove it: bgplab lab down)")
    topo = generated_topology(rundir, nodes, subnets or 2, args.pods)
    _write(args, topo.source.read_text() if topo.source else None)
    return topo


def generated_topology(rundir: Path, nodes: int, subnets: int, pods: int = 2) -> Topology:
    """A generated topology, written to ``<rundir>/topology.yaml``: a generated lab's
    topology lives in a file like any other, so later commands (check, status, fault)
    load it from the state file, and `down` removes it with the lab."""
    from bgplab.lab.generate import generate
    from bgplab.lab.topology import load_topology

    text = generate(nodes, subnets, pods)
    path = rundir / "topology.yaml"
    rundir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return load_topology(path)


def _write(args: argparse.Namespace, text: str | None) -> None:
    out = getattr(args, "write_topology", None)
    if out is None or text is None:
        return
    try:
        Path(out).write_text(text)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from None


def cmd_topologies(_args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="built-in topologies (bgplab lab up NAME)")
    t.add_column("name")
    t.add_column("what")
    for name in builtin_names():
        t.add_row(name, describe(name))
    t.add_row("--nodes N --subnets S", "generated: N nodes over S subnets, one route reflector")
    Console(highlight=False).print(t)
    return 0


def register_topologies(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "topologies",
        help="list the built-in topologies (chosen by name: bgplab lab up seed-redundant)",
    )
    p.set_defaults(func=cmd_topologies)
