"""The seed report's four variants of the same topology."""

from __future__ import annotations

from dataclasses import dataclass

from bgplab.errors import UserError


@dataclass(frozen=True)
class Scenario:
    name: str
    router_kind: str  # which router config: "rr" or "aggregate"
    per_pod_routes: bool  # nodes export /32 pod routes (the seed's edited bird_aggr)
    service_cidrs: tuple[str, ...]  # BGPConfiguration serviceClusterIPs
    title: str
    # Builds the topology's IPv6 plan too: bird6 beside bird on every host (issue 13).
    # Every other scenario leaves the plan out (Topology.without_ipv6).
    dual_stack: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("rr", "rr", False, (), "route reflector: every node learns every block"),
        Scenario(
            "aggregate",
            "aggregate",
            False,
            (),
            "aggregate: the router announces the pools, nodes hold only those",
        ),
        Scenario(
            "pod-routes",
            "aggregate",
            True,
            (),
            "per-pod routes: nodes export /32s, the router learns every pod",
        ),
        Scenario(
            "service-ecmp",
            "rr",
            False,
            ("10.43.0.0/16",),
            "service CIDR: every node announces 10.43.0.0/16, the router installs ECMP",
        ),
        Scenario(
            "dual-stack",
            "rr",
            False,
            (),
            "dual stack: route reflector for IPv4 (bird) and IPv6 (bird6), pods with both",
            dual_stack=True,
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UserError(f"unknown scenario {name!r} (choose from {', '.join(SCENARIOS)})") from None
