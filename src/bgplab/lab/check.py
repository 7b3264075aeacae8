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

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def sessions(lab: Lab) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for host in lab.topo.host_names():
        info = lab.speakers.get(host)
        try:
            out[host] = ctl.bgp_sessions(info.socket, timeout=3) if info else {}
        except ctl.CtlError:
            out[host] = {}
        if not out[host] and info is not None and not lab.speaker_alive(host):
            out[host] = {"(speaker)": "not running"}
    return out


def sessions_up(state: dict[str, str]) -> bool:
    return bool(state) and all(v == "Established" for v in state.values())


def routes_match(lab: Lab, expected: dict[str, set[KRoute]]) -> bool:
    return all(lab.routes(h) == exp for h, exp in expected.items())


def wait_converged(lab: Lab, timeout: float = 60.0) -> float | None:
    """Poll until every session is Established and every table is as expected.

    Returns the seconds waited, or None when the bound ran out.
    """
    expected = expected_tables(lab.topo, lab.scenario)
    start = time.monotonic()
    while True:
        ss = sessions(lab)
        if all(sessions_up(s) for s in ss.values()) and routes_match(lab, expected):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(0.5)


def node_status_text(sock: str) -> str:
    """``calicoctl node status`` for one node, as the Calico emulator prints it."""
    try:
        return node_status(sock)
    except UserError as exc:  # reported in the check, not raised
        return f"calicoctl node status failed: {exc}"


def ping(pod: Pod, dst: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        in_ns(pod.netns, ["ping", "-n", "-q", "-c", "1", "-W", "2", dst]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ping_matrix(lab: Lab, retries: int = 1) -> dict[tuple[str, str], bool]:
    """(source pod, destination pod) -> reachable; one retry absorbs a first lost packet."""
    pods = lab.pods()
    pairs = [(a, b) for a in pods for b in pods if a.name != b.name]
    result: dict[tuple[str, str], bool] = {}
    todo = pairs
    for _ in range(retries + 1):
        procs = [(a, b, ping(a, b.address)) for a, b in todo]
        todo = []
        for a, b, p in procs:
            ok = p.wait() == 0
            result[(a.name, b.name)] = ok
            if not ok:
                todo.append((a, b))
        if not todo:
            break
    return result


def run_checks(lab: Lab, wait: float = 60.0) -> Report:
    rep = Report()
    rep.converged_after = wait_converged(lab, wait) if wait > 0 else None
    rep.expected = expected_tables(lab.topo, lab.scenario)
    rep.sessions = sessions(lab)
    for host in lab.topo.host_names():
        state = rep.sessions.get(host, {})
        bad = {k: v for k, v in state.items() if v != "Established"}
        detail = ", ".join(f"{k} {v}" for k, v in sorted(state.items())) or "no BGP sessions"
        rep.checks.append(
            CheckResult(
                f"sessions {host}",
                sessions_up(state),
                detail if bad or not state else f"{len(state)} Established",
            )
        )
        info = lab.speakers.get(host)
        if host != lab.topo.router.name and info is not None:
            rep.node_status[host] = node_status_text(info.socket)
    for host in lab.topo.host_names():
        actual = lab.routes(host)
        rep.actual[host] = actual
        rep.routes[host] = lab.route_text(host).splitlines()
        exp = rep.expected[host]
        missing, extra = sorted(exp - actual), sorted(actual - exp)
        parts = [f"missing {r}" for r in missing] + [f"unexpected {r}" for r in extra]
        rep.checks.append(
            CheckResult(
                f"routes {host}", not parts, "; ".join(parts) or f"{len(exp)} routes as expected"
            )
        )
    rep.matrix = ping_matrix(lab)
    by_name = {p.name: p for p in lab.pods()}
    for kind, same in (("within subnets", True), ("across subnets", False)):
        cells = {
            k: v
            for k, v in rep.matrix.items()
            if (by_name[k[0]].subnet == by_name[k[1]].subnet) == same
        }
        failed = [f"{a}->{b}" for (a, b), v in sorted(cells.items()) if not v]
        detail = f"{len(cells) - len(failed)}/{len(cells)} pings answered" + (
            ": failed " + ", ".join(failed[:8]) + (" …" if len(failed) > 8 else "")
            if failed
            else ""
        )
        if cells:
            rep.checks.append(CheckResult(f"pod reachability {kind}", not failed, detail))
    return rep
