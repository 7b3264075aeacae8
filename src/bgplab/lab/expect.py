"""What every host's kernel routing table should hold, computed from the topology.

Only routes BIRD (or bgplabd) installs are predicted: those with ``proto
bird``, worked out by :mod:`bgplab.lab.bgpsim` from the session graph with
BIRD 1.6's rules (for the seed: next hops are the originating node's address,
resolved one level through the host's own kernel routes, so anything outside
the node's subnet goes via the router's address in it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bgplab.lab.scenarios import Scenario
from bgplab.lab.topology import Topology


@dataclass(frozen=True, order=True)
class KRoute:
    """One kernel route: destination, type and the set of gateways (ECMP when several)."""

    dst: str
    kind: str = "unicast"  # unicast | blackhole
    gateways: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "blackhole":
            return f"blackhole {self.dst}"
        if len(self.gateways) == 1:
            return f"{self.dst} via {self.gateways[0]}"
        return f"{self.dst} multipath " + " ".join(f"via {g}" for g in self.gateways)


def route(dst: str, *gateways: str, kind: str = "unicast") -> KRoute:
    net = ipaddress.ip_network(dst)  # IPv4, or IPv6 for the dual-stack tables (expect6)
    return KRoute(str(net), kind, tuple(sorted(gateways, key=ipaddress.ip_address)))


def expected_tables(topo: Topology, scenario: Scenario) -> dict[str, set[KRoute]]:
    """Host name -> the ``proto bird`` routes its main table must hold, exactly
    (worked out by :mod:`bgplab.lab.bgpsim` from the session graph)."""
    from bgplab.lab.bgpsim import kernel_tables

    out: dict[str, set[KRoute]] = {}
    for host, table in kernel_tables(topo, scenario).items():
        out[host] = {
            route(dst, *gws) if gws else route(dst, kind="blackhole") for dst, gws in table.items()
        }
    return out


def parse_ip_json(entries: list[dict[str, object]], family: int = 4) -> set[KRoute]:
    """``ip [-6] -j route show proto bird`` output -> routes."""
    out: set[KRoute] = set()
    for e in entries:
        dst = str(e.get("dst", ""))
        if dst == "default":
            dst = "::/0" if family == 6 else "0.0.0.0/0"
        kind = "blackhole" if e.get("type") == "blackhole" else "unicast"
        gws: list[str] = []
        if isinstance(e.get("gateway"), str):
            gws.append(str(e["gateway"]))
        for nh in e.get("nexthops") or []:  # type: ignore[attr-defined]  # (JSON: a list)
            if isinstance(nh, dict) and "gateway" in nh:
                gws.append(str(nh["gateway"]))
        out.add(route(dst, *gws, kind=kind))
    return out
