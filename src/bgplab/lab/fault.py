"""Fault drills: break one thing, check during the fault, heal, check it healed.

A continuous ping (5 per second) between two pods runs through the whole
drill, and its lost packets are counted. Each drill has a verdict that the
exit code carries:

* ``restart-router`` and ``swap-router`` promise zero loss (graceful restart
  on the nodes, ``persist`` on the router): any lost ping fails the drill,
  unless ``max_lost`` allows it;
* ``link-down`` and ``kill-speaker`` expect loss: it is reported, and only a
  lab that does not heal fails the drill.

``swap-router`` rehearses the cut-over this project exists for: the
router's BIRD 1.6 is killed and bgplabd starts in its place on the same
``bird.conf`` (or the other way round), in graceful-restart recovery.

Each drill keeps a timeline (what happened when, in seconds since the
ping started) and prints it with the verdict.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bgplab.errors import UserError
from bgplab.lab.check import Report, run_checks, wait_converged
from bgplab.lab.lab import Lab, Pod
from bgplab.lab.netns import host_static_routes, in_ns, run
from bgplab.lab.speakers import binary6, usable

KINDS = ("kill-speaker", "link-down", "restart-router", "swap-router")
# the router is stopped and started again at once: the restart is the fault
ROUTER_RESTARTS = ("restart-router", "swap-router")
# drills that promise no lost ping: a lost one fails them (graceful restart + persist)
ZERO_LOSS = ("restart-router", "swap-router")
SWAP = {"bird": "bgplabd", "bgplabd": "bird", "container": "bird"}  # or --to KIND
# a router restart is down this long at most, whatever --hold says: the restart is the fault
RESTART_DOWN_MAX = 2.0
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
    """``ping -i 0.2`` from one pod to another; ``stop()`` returns the counts.
    ``family=6`` pings the pod's IPv6 address (dual stack)."""

    def __init__(self, src: Pod, dst: Pod, interval: float = 0.2, family: int = 4):
        self.src, self.dst = src, dst
        addr = str(dst.address6) if family == 6 else dst.address
        self.proc = subprocess.Popen(
            in_ns(src.netns, ["ping", "-n", "-O", "-i", str(interval), "-W", "1", addr]),
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


class Timeline:
    """What the drill did, stamped in seconds since it started; with a ``log``
    file each note is also appended there as a JSON line (``bgplab lab ui``
    shows a running drill from it)."""

    def __init__(self, log: Path | None = None) -> None:
        self.start = time.monotonic()
        self.events: list[tuple[float, str]] = []
        self.log = log
        if log is not None:
            with contextlib.suppress(OSError):
                log.write_text("")  # a new drill starts a new timeline

    def now(self) -> float:
        return time.monotonic() - self.start

    def note(self, text: str) -> float:
        at = self.now()
        self.events.append((at, text))
        if self.log is not None:
            with contextlib.suppress(OSError), self.log.open("a") as f:
                f.write(json.dumps({"at": round(at, 2), "time": time.time(), "text": text}) + "\n")
        return at


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
        lab.stop_speaker(host if lab.topo.is_router(host) else lab.topo.router.name, hard=True)


def heal(lab: Lab, host: str, kind: str, to: str | None = None) -> None:
    if kind == "kill-speaker":
        if lab.topo.is_router(host):  # any of several routers (issue 14)
            lab.start_router(recover=True, name=host)
        else:
            lab.start_node(host)
    elif kind == "link-down":
        ns = lab.host_ns(host)
        for iface in _interfaces(lab, host):
            run(["ip", "-n", ns, "link", "set", iface, "up"])
        _restore_static_routes(lab, host)
    elif kind == "restart-router":
        lab.start_router(recover=True, name=host if lab.topo.is_router(host) else None)
    elif kind == "swap-router":
        lab.router_speaker = to or SWAP[lab.router_speaker]
        lab.start_router(recover=True)  # same bird.conf, the other daemon


def _interfaces(lab: Lab, host: str) -> list[str]:
    if lab.topo.is_router(host):
        return [i.name for i in lab.topo.router_named(host).interfaces]
    return [lab.topo.node(host).interface.name]


def _restore_static_routes(lab: Lab, host: str) -> None:
    """An admin-down link flushes its routes; put back what the builder had added."""
    ns = lab.host_ns(host)
    for route in host_static_routes(lab.topo, host):
        run(["ip", "-n", ns, "route", "replace", *route], check=False)


def _break_note(lab: Lab, host: str, kind: str) -> str:
    if kind == "link-down":
        return f"set {', '.join(_interfaces(lab, host))} down on {host}"
    info = lab.speakers.get(host)
    if info is None:
        return f"stopped the speaker on {host}"
    return f"killed {info.kind} (pid {info.pid}){_and6(lab, host)} on {host} with SIGKILL"


def _heal_note(lab: Lab, host: str, kind: str) -> str:
    if kind == "link-down":
        return f"set the links of {host} up again and restored its static routes"
    info = lab.speakers.get(host)
    recover = " with -R (graceful-restart recovery)" if lab.topo.is_router(host) else ""
    if info is None:
        return f"started the speaker on {host}{recover}"
    return f"started {info.kind} (pid {info.pid}){_and6(lab, host)} on {host}{recover}"


def _and6(lab: Lab, host: str) -> str:
    """Dual stack: the host's IPv6 daemon goes down and up with the IPv4 one."""
    info6 = lab.speakers6.get(host)
    return f" and its IPv6 daemon (pid {info6.pid})" if info6 else ""


def routes_held(lab: Lab, during: Report, host: str) -> tuple[bool, str]:
    """Did the others keep the routes through ``host``'s outage (graceful restart)?

    The "during the fault" check compares every other host's kernel table with
    the expected one; a host whose speaker had flushed the routes fails it.
    """
    others = [h for h in lab.topo.host_names() if h != host]
    lost = [
        h
        for h in others
        if not _check_ok(during, f"routes {h}")
        or (lab.topo.dual_stack and not _check_ok(during, f"routes {h} (IPv6)"))
    ]
    if not lost:
        return True, f"yes ({len(others)} hosts kept their routes while {host} was down)"
    return False, f"no ({', '.join(lost)} lost routes while {host} was down)"


def _check_ok(rep: Report, name: str) -> bool:
    return any(c.ok for c in rep.checks if c.name == name)


@dataclass
class DrillResult:
    kind: str
    host: str
    pinger: tuple[str, str]
    during_ok: bool
    healed_ok: bool
    pings: PingCount
    timeline: list[tuple[float, str]] = field(default_factory=list)
    max_lost: int = 0  # lost pings a zero-loss drill may still pass with
    during: Report | None = None
    healed: Report | None = None
    pings6: PingCount | None = None  # dual stack: the same pods pinged over IPv6

    @property
    def expects_loss(self) -> bool:
        return self.kind not in ZERO_LOSS

    @property
    def per_family(self) -> list[tuple[str, PingCount]]:
        """The continuous pings by family: IPv4, and IPv6 in a dual-stack lab."""
        return [("IPv4", self.pings)] + ([("IPv6", self.pings6)] if self.pings6 else [])

    @property
    def ok(self) -> bool:
        """The drill's verdict: healed, and (for a zero-loss drill) within ``max_lost``
        (in each family)."""
        if not self.healed_ok:
            return False
        return self.expects_loss or all(c.lost <= self.max_lost for _, c in self.per_family)

    def verdict(self) -> str:
        """One line: PASS or FAIL and why (dual stack: the loss per family, "0 IPv4 + 3 IPv6")."""
        worst = max(c.lost for _, c in self.per_family)
        lost = (
            " + ".join(f"{c.lost} {fam}" for fam, c in self.per_family)
            if self.pings6 is not None
            else str(worst)
        )
        if not self.healed_ok:
            return "FAIL: the lab did not heal (see the table above)"
        if self.expects_loss:
            return f"PASS: the lab healed; {lost} pings lost during the {self.kind} (expected)"
        if worst <= self.max_lost:
            allowed = f" (at most {self.max_lost} allowed)" if self.max_lost else ""
            return f"PASS: the lab healed and {lost} pings were lost{allowed}"
        return (
            f"FAIL: {lost} pings lost; a {self.kind} promises none "
            f"(--max-lost {worst} would accept this run)"
        )


def drill(
    lab: Lab,
    host: str,
    kind: str,
    hold: float,
    console: Console | None = None,
    heal_wait: float = 60.0,
    max_lost: int = 0,
    to: str | None = None,
) -> DrillResult:
    if kind not in KINDS:
        raise UserError(f"unknown fault {kind!r} (choose from {', '.join(KINDS)})")
    if kind in ROUTER_RESTARTS and not (kind == "restart-router" and lab.topo.is_router(host)):
        host = lab.topo.router.name  # swap-router: the first router (the seed's)
    if kind == "swap-router":
        # check before killing anything: a swap must not leave no router
        to = to or SWAP.get(lab.router_speaker)
        if to is None or to == lab.router_speaker:
            raise UserError(f"cannot swap the router's {lab.router_speaker} for {to}")
        if not usable(to):
            raise UserError(f"cannot swap to {to}: it is not installed")
        if lab.topo.dual_stack and binary6(SWAP[lab.router_speaker]) is None:
            raise UserError(f"cannot swap to {SWAP[lab.router_speaker]}: no IPv6 daemon")
    lab.host_ns(host)  # validates the name
    out = console or Console(quiet=True)
    # Break a working lab, or the lost pings say nothing about the fault.
    if wait_converged(lab, heal_wait) is None:
        raise UserError(
            "the lab has not converged (see: bgplab lab check); no drill on a broken lab"
        )
    src, dst = pick_pods(lab, host if kind not in ROUTER_RESTARTS else None)
    tl = Timeline(lab.rundir / "drill.jsonl")
    pinger = ContinuousPing(src, dst)
    # dual stack: the same pods over IPv6, so each family's loss is counted
    pinger6 = ContinuousPing(src, dst, family=6) if lab.topo.dual_stack else None
    tl.note(f"continuous ping {src.name} -> {dst.name} started")
    try:
        time.sleep(1.0)
        what = kind
        if kind == "swap-router":
            what = f"swap-router ({lab.router_speaker} -> {to})"
        out.print(f"[bold]fault[/]: {what} on {host}; pinging {src.name} -> {dst.name}")
        note = _break_note(lab, host, kind)
        break_it(lab, host, kind)
        broke_at = tl.note(note)
        # a router restart is short (the restart is the fault); other faults last --hold
        down_for = min(hold, RESTART_DOWN_MAX) if kind in ROUTER_RESTARTS else hold
        # check while still broken: a dead link needs a moment before sessions notice it;
        # a dead speaker is seen at once, and the router's outage stays as short as --hold
        time.sleep(min(down_for, 0.2 if kind in ROUTER_RESTARTS else 1.0))
        during = run_checks(lab, wait=0)
        tl.note(f"checked the lab during the fault ({'PASS' if during.ok else 'FAIL'})")
        time.sleep(max(0.0, down_for - (tl.now() - broke_at)))
        heal(lab, host, kind, to)
        healed_at = tl.note(_heal_note(lab, host, kind))
        healed = run_checks(lab, wait=heal_wait)
        if healed.converged_after is not None:
            tl.note(
                "converged: sessions Established, tables as expected "
                f"({tl.now() - healed_at:.1f}s after the heal)"
            )
        else:
            tl.note(f"did not converge within {heal_wait:.0f}s of the heal")
    finally:
        counts = pinger.stop()
        counts6 = pinger6.stop() if pinger6 is not None else None
    tl.note("continuous ping stopped")
    _print_checks(out, "during the fault", during.checks)
    _print_checks(out, "after healing", healed.checks)
    res = DrillResult(
        kind,
        host,
        (src.name, dst.name),
        during.ok,
        healed.ok,
        counts,
        tl.events,
        max_lost,
        during,
        healed,
        counts6,
    )
    print_timeline(out, res, lab)
    return res


def print_timeline(console: Console, res: DrillResult, lab: Lab) -> None:
    console.print("[bold]timeline[/] (seconds since the ping started):")
    for at, text in res.timeline:
        console.print(f"  {at:6.1f}s  {escape(text)}")
    src, dst = res.pinger
    for fam, c in res.per_family:
        seqs = f" (icmp_seq {c.lost_seqs[0]}..{c.lost_seqs[-1]})" if c.lost_seqs else ""
        over = f" over {fam}" if res.pings6 is not None else ""
        console.print(
            f"continuous ping {src} -> {dst}{over}: {c.sent} sent, {c.received} received, "
            f"[bold]{c.lost} lost[/]{seqs}"
        )
    if res.kind != "link-down" and res.during is not None:
        _, held = routes_held(lab, res.during, res.host)
        console.print(f"routes held by graceful restart: {held}")


def _print_checks(console: Console, title: str, checks: list) -> None:
    t = Table(title=title)
    t.add_column("check")
    t.add_column("verdict")
    t.add_column("detail", overflow="fold")
    for c in checks:
        t.add_row(c.name, "[green]PASS[/]" if c.ok else "[red]FAIL[/]", c.detail)
    console.print(t)


def run_drill(
    lab: Lab,
    host: str,
    kind: str,
    hold: float,
    console: Console,
    max_lost: int = 0,
    to: str | None = None,
) -> int:
    """The CLI's drill: prints everything, returns the exit code (0: the verdict is PASS)."""
    res = drill(lab, host, kind, hold, console, max_lost=max_lost, to=to)
    colour = "green" if res.ok else "red"
    console.print(f"[{colour}]verdict: {escape(res.verdict())}[/]")
    return 0 if res.ok else 1
