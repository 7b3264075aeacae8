"""``bgplab lab check``: sessions, route tables and pod reachability, each with a verdict.

Expected route tables come from :mod:`bgplab.lab.expect` (computed from the
topology and scenario); sessions are read over each speaker's control
socket; reachability is a full pod-to-pod ping matrix run from the pods'
own namespaces.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field

from bgplab.calico.status import node_status
from bgplab.errors import UserError
from bgplab.lab import ctl
from bgplab.lab.expect import KRoute, expected_tables
from bgplab.lab.expect6 import expected_tables6
from bgplab.lab.lab import Lab, Pod
from bgplab.lab.netns import in_ns


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    """Everything one check run saw; the HTML report draws it."""

    checks: list[CheckResult] = field(default_factory=list)
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> proto -> info
    node_status: dict[str, str] = field(default_factory=dict)
    routes: dict[str, list[str]] = field(default_factory=dict)  # host -> `ip route` lines
    expected: dict[str, set[KRoute]] = field(default_factory=dict)
    actual: dict[str, set[KRoute]] = field(default_factory=dict)
    matrix: dict[tuple[str, str], bool] = field(default_factory=dict)
    converged_after: float | None = None
    # Dual stack: the same over IPv6 (the hosts' IPv6 daemons, `ip -6 route`, pods' address6).
    sessions6: dict[str, dict[str, str]] = field(default_factory=dict)
    routes6: dict[str, list[str]] = field(default_factory=dict)
    expected6: dict[str, set[KRoute]] = field(default_factory=dict)
    actual6: dict[str, set[KRoute]] = field(default_factory=dict)
    matrix6: dict[tuple[str, str], bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def sessions(lab: Lab, family: int = 4) -> dict[str, dict[str, str]]:
    """Host -> BGP protocol -> state, of the IPv4 speakers (or the IPv6 daemons)."""
    speakers = lab.speakers6 if family == 6 else lab.speakers
    alive = lab.speaker6_alive if family == 6 else lab.speaker_alive
    out: dict[str, dict[str, str]] = {}
    for host in lab.topo.host_names():
        info = speakers.get(host)
        try:
            out[host] = ctl.bgp_sessions(info.socket, timeout=3) if info else {}
        except ctl.CtlError:
            out[host] = {}
        if not out[host] and info is not None and not alive(host):
            out[host] = {"(speaker)": "not running"}
    return out


def sessions_up(state: dict[str, str]) -> bool:
    return bool(state) and all(v == "Established" for v in state.values())


def routes_match(lab: Lab, expected: dict[str, set[KRoute]], family: int = 4) -> bool:
    return all(lab.routes(h, family) == exp for h, exp in expected.items())


def converged6(lab: Lab) -> bool:
    """Dual stack: every IPv6 session up and every IPv6 table as expected (else True)."""
    expected6 = expected_tables6(lab.topo)
    if not expected6:
        return True
    up = all(sessions_up(s) for s in sessions(lab, 6).values())
    return up and routes_match(lab, expected6, 6)


def wait_converged(lab: Lab, timeout: float = 60.0) -> float | None:
    """Poll until every session is Established and every table is as expected.

    Returns the seconds waited, or None when the bound ran out.
    """
    expected = expected_tables(lab.topo, lab.scenario)
    start = time.monotonic()
    while True:
        ss = sessions(lab)
        if (
            all(sessions_up(s) for s in ss.values())
            and routes_match(lab, expected)
            and converged6(lab)
        ):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(0.5)


def node_status_text(sock: str, sock6: str | None = None) -> str:
    """``calicoctl node status`` for one node, as the Calico emulator prints it."""
    try:
        return node_status(sock, sock6)
    except UserError as exc:  # reported in the check, not raised
        return f"calicoctl node status failed: {exc}"


def ping(pod: Pod, dst: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        in_ns(pod.netns, ["ping", "-n", "-q", "-c", "1", "-W", "2", dst]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ping_matrix(lab: Lab, retries: int = 1, family: int = 4) -> dict[tuple[str, str], bool]:
    """(source pod, destination pod) -> reachable; one retry absorbs a first lost packet.
    ``family=6`` pings the pods' IPv6 addresses."""
    result: dict[tuple[str, str], bool] = {}
    todo = ping_pairs(lab.pods())
    for _ in range(retries + 1):
        failed = []
        for i in range(0, len(todo), PING_BATCH):
            batch = todo[i : i + PING_BATCH]
            procs = [
                (a, b, ping(a, str(b.address6 if family == 6 else b.address))) for a, b in batch
            ]
            for a, b, p in procs:
                ok = p.wait() == 0
                result[(a.name, b.name)] = ok
                if not ok:
                    failed.append((a, b))
        todo = failed
        if not todo:
            break
    return result


# Up to this many ordered pod pairs the matrix is complete (the seed's 8 pods: 56); a
# bigger lab is sampled. Pings run at most PING_BATCH at a time (processes, not threads).
FULL_MATRIX_MAX = 600
PING_BATCH = 128


def ping_pairs(pods: list[Pod]) -> list[tuple[Pod, Pod]]:
    """Every ordered pair of pods, or for a big lab a sample that still covers every
    (source subnet, destination subnet) pair and every pod as a source and as a
    destination: each pod pings one pod of another node in every subnet, the choice
    rotating with the source so the destinations spread evenly (pods x subnets pings,
    e.g. 400 instead of 9900 for 100 pods in 4 subnets)."""
    pairs = [(a, b) for a in pods for b in pods if a.name != b.name]
    if len(pairs) <= FULL_MATRIX_MAX:
        return pairs
    by_subnet: dict[str, list[Pod]] = {}
    for p in pods:
        by_subnet.setdefault(p.subnet, []).append(p)
    out = []
    for i, a in enumerate(pods):
        for members in by_subnet.values():
            others = [b for b in members if b.node != a.node]
            if others:
                out.append((a, others[i % len(others)]))
    return out


def run_checks(lab: Lab, wait: float = 60.0) -> Report:
    rep = Report()
    rep.converged_after = wait_converged(lab, wait) if wait > 0 else None
    rep.expected = expected_tables(lab.topo, lab.scenario)
    rep.sessions = sessions(lab)
    _session_checks(lab, rep, rep.sessions, "")
    for host in lab.topo.host_names():
        info = lab.speakers.get(host)
        if not lab.topo.is_router(host) and info is not None:
            info6 = lab.speakers6.get(host)
            rep.node_status[host] = node_status_text(info.socket, info6.socket if info6 else None)
    for host in lab.topo.host_names():
        rep.actual[host] = lab.routes(host)
        rep.routes[host] = lab.route_text(host).splitlines()
    _route_checks(rep, rep.expected, rep.actual, "")
    rep.matrix = ping_matrix(lab)
    _reach_checks(lab, rep, rep.matrix, "")
    if lab.topo.dual_stack:
        rep.expected6 = expected_tables6(lab.topo)
        rep.sessions6 = sessions(lab, 6)
        _session_checks(lab, rep, rep.sessions6, " (IPv6)")
        for host in lab.topo.host_names():
            rep.actual6[host] = lab.routes(host, 6)
            rep.routes6[host] = lab.route_text(host, 6).splitlines()
        _route_checks(rep, rep.expected6, rep.actual6, " (IPv6)")
        rep.matrix6 = ping_matrix(lab, family=6)
        _reach_checks(lab, rep, rep.matrix6, " (IPv6)")
    return rep


def _session_checks(lab: Lab, rep: Report, ss: dict[str, dict[str, str]], tag: str) -> None:
    for host in lab.topo.host_names():
        state = ss.get(host, {})
        bad = {k: v for k, v in state.items() if v != "Established"}
        detail = ", ".join(f"{k} {v}" for k, v in sorted(state.items())) or "no BGP sessions"
        rep.checks.append(
            CheckResult(
                f"sessions {host}{tag}",
                sessions_up(state),
                detail if bad or not state else f"{len(state)} Established",
            )
        )


def _route_checks(
    rep: Report, expected: dict[str, set[KRoute]], actual: dict[str, set[KRoute]], tag: str
) -> None:
    for host, exp in expected.items():
        got = actual[host]
        missing, extra = sorted(exp - got), sorted(got - exp)
        parts = [f"missing {r}" for r in missing] + [f"unexpected {r}" for r in extra]
        rep.checks.append(
            CheckResult(
                f"routes {host}{tag}",
                not parts,
                "; ".join(parts) or f"{len(exp)} routes as expected",
            )
        )


def _reach_checks(lab: Lab, rep: Report, matrix: dict[tuple[str, str], bool], tag: str) -> None:
    by_name = {p.name: p for p in lab.pods()}
    for kind, same in (("within subnets", True), ("across subnets", False)):
        cells = {
            k: v
            for k, v in matrix.items()
            if (by_name[k[0]].subnet == by_name[k[1]].subnet) == same
        }
        failed = [f"{a}->{b}" for (a, b), v in sorted(cells.items()) if not v]
        sampled = " (sampled)" if len(matrix) < len(by_name) * (len(by_name) - 1) else ""
        detail = f"{len(cells) - len(failed)}/{len(cells)} pings answered{sampled}" + (
            ": failed " + ", ".join(failed[:8]) + (" …" if len(failed) > 8 else "")
            if failed
            else ""
        )
        if cells:
            rep.checks.append(CheckResult(f"pod reachability {kind}{tag}", not failed, detail))
