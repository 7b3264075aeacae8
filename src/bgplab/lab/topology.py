"""The lab's topology: subnets, the soft router(s), Calico nodes and their pods.

The one import for callers; the parts live by responsibility:
:mod:`bgplab.lab.topomodel` (the frozen model), :mod:`bgplab.lab.topoload`
(reading and validating a YAML file, format in ``docs/lab.md``) and
:mod:`bgplab.lab.topofields` (its field parsers). Built-in topologies by name
are :mod:`bgplab.lab.builtin`.
"""

from __future__ import annotations

from bgplab.lab.topoload import load_topology, parse_topology, seed_path
from bgplab.lab.topomodel import (
    Interface,
    Node,
    Router,
    RouterPeer,
    Subnet,
    Topology,
    TopologyError,
    shared_subnet,
)

__all__ = [
    "Interface",
    "Node",
    "Router",
    "RouterPeer",
    "Subnet",
    "Topology",
    "TopologyError",
    "load_topology",
    "parse_topology",
    "seed_path",
    "shared_subnet",
]
