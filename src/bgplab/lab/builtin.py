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
    add_from_calico_options(p)
    p.add_argument(
        "--write-topology",
        type=Path,
        metavar="FILE",
        help="also write the topology used (generated or not) to FILE, to edit and reuse",
    )


def add_from_calico_options(p: argparse.ArgumentParser, required: bool = False) -> None:
    """``--from-calico FILE`` and what it may have to be told (see lab/fromcalico.py)."""
    p.add_argument(
        "--from-calico",
        metavar="FILE",
        required=required,
        help="build the topology from a cluster's resources: calicoctl get nodes,bgppeers,"
        "bgpconfigurations,ippools -o yaml plus kubectl get blockaffinities -o yaml",
    )
    p.add_argument(
        "--router-at",
        dest="router_addrs",
        action="append",
        default=[],
        metavar="NAME=IP,IP",
        help="with --from-calico: these BGPPeer addresses are one router NAME (repeatable; "
        "default: each address not a node's is its own router)",
    )
    p.add_argument(
        "--subnet-prefix",
        type=int,
        metavar="LEN",
        help="with --from-calico: the subnets' prefix length for node addresses given without one",
    )
    p.add_argument(
        "--assign-blocks",
        action="store_true",
        help="with --from-calico: give nodes without a BlockAffinity a free block of the IPPool",
    )


def calico_options(args: argparse.Namespace) -> object:
    from bgplab.lab.fromcalico import Options, parse_router_option

    return Options(
        routers=dict(parse_router_option(x) for x in args.router_addrs),
        subnet_prefix=args.subnet_prefix,
        assign_blocks=args.assign_blocks,
        pods=getattr(args, "pods", 2),
    )


def topology_from_args(args: argparse.Namespace) -> Topology:
    """The Topology the command line names: a file, a built-in, or ``--nodes/--subnets``."""
    from bgplab.lab.topology import load_topology

    nodes, subnets = getattr(args, "nodes", None), getattr(args, "subnets", None)
    if getattr(args, "from_calico", None):
        if args.topology or nodes is not None:
            raise UserError("give one of TOPOLOGY, --nodes/--subnets and --from-calico")
        from bgplab.lab.fromcalico import topology_text

        return _generated(args, topology_text(args.from_calico, calico_options(args)))  # type: ignore[arg-type]
    if getattr(args, "router_addrs", None) or getattr(args, "subnet_prefix", None):
        raise UserError("--router-at and --subnet-prefix go with --from-calico")
    if nodes is None and subnets is None:
        topo = load_topology(args.topology)
        _write(args, topo.source.read_text() if topo.source else None)
        return topo
    if args.topology:
        raise UserError("give either TOPOLOGY or --nodes/--subnets, not both")
    if nodes is None:
        raise UserError("--subnets needs --nodes N")
    from bgplab.lab.generate import generate

    return _generated(args, generate(nodes, subnets or 2, args.pods))


def _generated(args: argparse.Namespace, text: str) -> Topology:
    rundir = Path(args.rundir)
    if (rundir / "state.json").exists() and getattr(getattr(args, "func", None), "__name__", None) == "cmd_up":
        raise UserError("a lab is already up (see: bgplab lab status; remove it: bgplab lab down)")
    topo = save_topology(rundir, text)
    _write(args, text)
    return topo


def save_topology(rundir: Path, text: str) -> Topology:
    """A generated topology, written to ``<rundir>/topology.yaml`` (and validated): it
    lives in a file like any other, so later commands (check, status, fault) load it
    from the state file, and `down` removes it with the lab."""
    from bgplab.lab.topology import load_topology, parse_topology

    parse_topology(text)  # a bad one fails before anything is written
    path = rundir / "topology.yaml"
    rundir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return load_topology(path)


def generated_topology(rundir: Path, nodes: int, subnets: int, pods: int = 2) -> Topology:
    from bgplab.lab.generate import generate

    return save_topology(rundir, generate(nodes, subnets, pods))


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
