"""Fault drills: break one thing, show what the check sees, heal, show it heals.

A continuous ping (5 per second) between two pods runs through the whole
drill, and its lost packets are counted: with graceful restart and
``persist``, a router restart should lose none.

``swap-router`` rehearses the cut-over this project exists for: the
router's BIRD 1.6 is killed and bgplabd starts in its place on the same
``bird.conf`` (or the other way round), in graceful-restart recovery.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from bgplab.errors import UserError
from bgplab.lab.check import run_checks, wait_converged
from bgplab.lab.lab import Lab, Pod
from bgplab.lab.netns import host_static_routes, in_ns, run
from bgplab.lab.speakers import usable

KINDS = ("kill-speaker", "link-down", "restart-router", "swap-router")
# the router is stopped and started again at once: the restart is the fault
ROUTER_RESTARTS = ("restart-router", "swap-router")
SWAP = {"bird": "bgplabd", "bgplabd": "bird"}
_STATS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


@dataclass
class PingCount:
    sent: int
    received: int
    lost_seqs: list[int] = field(default_factory=list)  # icmp_seq of unanswered pings

    @property
    def lost(self) -> int:
        return self.sent - self.received


class ContinuousPing:
    """``ping -i 0.2`` from one pod to another; ``stop()`` returns the counts."""

    def __init__(self, src: Pod, dst: Pod, interval: float = 0.2):
        self.src, self.dst = src, dst
        self.proc = subprocess.Popen(
            in_ns(src.netns, ["ping", "-n", "-O", "-i", str(interval), "-W", "1", dst.address]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(self) -> PingCount:
        # SIGINT makes ping print its statistics; `ip netns exec` has exec'd ping itself.
        self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        m = _STATS.search(out or "")
        if not m:
            raise UserError(f"could not read ping statistics: {(out or '').strip()[-200:]}")
        lost = [int(x) for x in re.findall(r"no answer yet for icmp_seq=(\d+)", out or "")]
        return PingCount(int(m.group(1)), int(m.group(2)), lost)


def pick_pods(lab: Lab, target: str | None) -> tuple[Pod, Pod]:
    """A pod elsewhere pinging a pod on ``target`` (across subnets when possible)."""
    pods = lab.pods()
    if not pods:
        raise UserError("the topology has no pods to ping between")
    nodes = {n.name: n for n in lab.topo.nodes}
    if target in nodes:
        dst = next((p for p in pods if p.node == target), None)
        if dst is None:
            raise UserError(f"node {target} has no pods")
    else:
        dst = pods[-1]
    src = next((p for p in pods if p.subnet != dst.subnet), None) or next(
        (p for p in pods if p.node != dst.node), None
    )
    if src is None:
        raise UserError("need pods on two nodes for a ping drill")
    return src, dst


def break_it(lab: Lab, host: str, kind: str) -> None:
    if kind == "kill-speaker":
        lab.stop_speaker(host, hard=True)
    elif kind == "link-down":
        for iface in _interfaces(lab, host):
            run(["ip", "-n", lab.host_ns(host), "link", "set", iface, "down"])
    elif kind in ROUTER_RESTARTS:
        lab.stop_speaker(lab.topo.router.name, hard=True)


def heal(lab: Lab, host: str, kind: str) -> None:
    if kind == "kill-speaker":
        if host == lab.topo.router.name:
            lab.start_router(recover=True)
        else:
            lab.start_node(host)
    elif kind == "link-down":
        ns = lab.host_ns(host)
        for iface in _interfaces(lab, host):
            run(["ip", "-n", ns, "link", "set", iface, "up"])
        _restore_static_routes(lab, host)
    elif kind == "restart-router":
        lab.start_router(recover=True)
    elif kind == "swap-router":
        lab.router_speaker = SWAP[lab.router_speaker]
        lab.start_router(recover=True)  # same bird.conf, the other daemon


def _interfaces(lab: Lab, host: str) -> list[str]:
    if host == lab.topo.router.name:
        return [i.name for i in lab.topo.router.interfaces]
    return [lab.topo.node(host).interface.name]


def _restore_static_routes(lab: Lab, host: str) -> None:
    """An admin-down link flushes its routes; put back what the builder had added."""
    ns = lab.host_ns(host)
    for route in host_static_routes(lab.topo, host):
        run(["ip", "-n", ns, "route", "replace", *route], check=False)


@dataclass
class DrillResult:
    kind: str
    host: str
    pinger: tuple[str, str]
    during_ok: bool
    healed_ok: bool
    pings: PingCount


def drill(
    lab: Lab,
    host: str,
    kind: str,
    hold: float,
    console: Console | None = None,
    heal_wait: float = 60.0,
) -> DrillResult:
    if kind not in KINDS:
        raise UserError(f"unknown fault {kind!r}")
    if kind in ROUTER_RESTARTS:
        host = lab.topo.router.name
    if kind == "swap-router":
        # check before killing anything: a swap must not leave no router
        if lab.router_speaker not in SWAP:
            raise UserError(f"cannot swap the router's {lab.router_speaker}")
        if not usable(SWAP[lab.router_speaker]):
            raise UserError(f"cannot swap to {SWAP[lab.router_speaker]}: it is not installed")
    lab.host_ns(host)  # validates the name
    out = console or Console(quiet=True)
    # Break a working lab, or the lost pings say nothing about the fault.
    if wait_converged(lab, heal_wait) is None:
        raise UserError(
            "the lab has not converged (see: bgplab lab check); no drill on a broken lab"
        )
    src, dst = pick_pods(lab, host if kind not in ROUTER_RESTARTS else None)
    pinger = ContinuousPing(src, dst)
    try:
        time.sleep(1.0)
        what = kind
        if kind == "swap-router":
            what = f"swap-router ({lab.router_speaker} -> {SWAP[lab.router_speaker]})"
        out.print(f"[bold]fault[/]: {what} on {host}; pinging {src.name} -> {dst.name}")
        break_it(lab, host, kind)
        if kind in ROUTER_RESTARTS:
            time.sleep(min(hold, 2.0))
            heal(lab, host, kind)  # a restart is the fault: down, then straight back up
            during = run_checks(lab, wait=0)
        else:
            time.sleep(hold)
            during = run_checks(lab, wait=0)
        _print_checks(out, "during the fault", during.checks)
        if kind not in ROUTER_RESTARTS:
            heal(lab, host, kind)
        healed = run_checks(lab, wait=heal_wait)
        _print_checks(out, "after healing", healed.checks)
    finally:
        counts = pinger.stop()
    out.print(
        f"continuous ping {src.name} -> {dst.name}: {counts.sent} sent, "
        f"{counts.received} received, [bold]{counts.lost} lost[/]"
        + (f" (icmp_seq {counts.lost_seqs[0]}..{counts.lost_seqs[-1]})" if counts.lost_seqs else "")
    )
    return DrillResult(kind, host, (src.name, dst.name), during.ok, healed.ok, counts)


def _print_checks(console: Console, title: str, checks: list) -> None:
    t = Table(title=title)
    t.add_column("check")
    t.add_column("verdict")
    t.add_column("detail", overflow="fold")
    for c in checks:
        t.add_row(c.name, "[green]PASS[/]" if c.ok else "[red]FAIL[/]", c.detail)
    console.print(t)


def run_drill(lab: Lab, host: str, kind: str, hold: float, console: Console) -> int:
    res = drill(lab, host, kind, hold, console)
    if not res.healed_ok:
        console.print("[red]the lab did not heal[/]")
        return 1
    console.print("[green]healed[/]")
    return 0
