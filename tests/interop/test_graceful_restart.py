"""Graceful restart with real peers, both directions, bgplabd beside BIRD 1.6.

They restart, we help. A peer feeds a route to the router; its daemon is
killed (the TCP session closes, no NOTIFICATION), started again, and later
killed for good. Each case runs twice, with BIRD 1.6 as the router and with
bgplabd, against the same expectations, so a pass says bgplabd helps as BIRD
1.6 does:

* the route stays while the peer is away, and ``show protocols all`` says
  "Neighbor graceful restart active";
* when the peer is back without the F bit (none of these peers keeps its
  forwarding state), its stale routes go at once and come back with its
  UPDATEs: a downstream client sees one withdrawal;
* when the peer stays away, the route goes once its restart time is over.

Peers: FRR 8 with its default configuration (GR helper: a GR capability
listing no family, plus long-lived GR for IPv4 with stale time 0, which BIRD
takes as able to restart), GoBGP, BIRD 1.6 and BIRD 2 with ``graceful restart
on``; and BIRD 1.6 with its default ``aware`` as the control, whose routes go
at once.

We restart, they help. The router (bgplabd, or BIRD 1.6 for reference) is
SIGKILLed and started again with ``-R``; FRR, GoBGP, BIRD 1.6 and BIRD 2 in
their default helper modes keep the route it reflects to them (the sink's)
the whole time, and a BIRD peer books no withdrawal.

Loopback 127.x.y.1-3 (x, y from the process id); restart times are 5 s to keep
the cases short.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available, frr_bgpd_argv
from bgplab.launch import BgplabDaemon

pytestmark = [pytest.mark.root, pytest.mark.interop, pytest.mark.slow]

# loopback addresses of this run: two runs at once (two people on one machine)
# must not meet on port 179
_NET = f"127.{106 + os.getpid() % 100}.{os.getpid() // 100 % 250}"
RR, PEER, SINK = f"{_NET}.1", f"{_NET}.2", f"{_NET}.3"
ASN = 64512
THEIR = "10.106.1.0/24"  # the peer's route
OURS = "10.106.9.0/24"  # the router's route
RESTART = 5  # the peers' restart time

ROUTER = f"""
router id {RR};
listen bgp address {RR};
template bgp c {{
  local as {ASN}; multihop; source address {RR}; rr client; import all; export all;
  graceful restart; connect delay time 1; connect retry time 2; error wait time 1,5;
}}
protocol bgp fpeer from c {{ neighbor {PEER} as {ASN}; }}
protocol bgp sink from c {{ neighbor {SINK} as {ASN}; }}
"""

SINK_CONF = f"""
router id {SINK};
listen bgp address {SINK};
protocol static {{ route {OURS} blackhole; }}
protocol bgp r {{
  local as {ASN}; neighbor {RR} as {ASN}; multihop; source address {SINK};
  import all; connect delay time 1; connect retry time 2;
  # FRR and GoBGP refuse a loopback next hop
  export filter {{ bgp_next_hop = 198.51.100.9; accept; }};
}}
"""


def bird1_peer(gr: str) -> str:
    return f"""
router id {PEER};
listen bgp address {PEER};
protocol static {{ route {THEIR} blackhole; }}
protocol bgp r {{
  local as {ASN}; neighbor {RR} as {ASN}; multihop; source address {PEER};
  import all; export all; {gr} connect delay time 1; connect retry time 2;
}}
"""


def bird2_peer(gr: str) -> str:
    return f"""
router id {PEER};
protocol device {{ }}
protocol static {{ ipv4; route {THEIR} blackhole; }}
protocol bgp r {{
  local {PEER} as {ASN}; neighbor {RR} as {ASN}; multihop; strict bind on; {gr}
  connect delay time 1; connect retry time 2;
  ipv4 {{ import all; export all; }};
}}
"""


def frr_conf(restart_time: int | None) -> str:
    rt = f" bgp graceful-restart restart-time {restart_time}\n" if restart_time else ""
    return (
        "hostname frr\n"
        f"router bgp {ASN}\n"
        f" bgp router-id {PEER}\n"
        " no bgp network import-check\n"
        f"{rt}"
        f" neighbor {RR} remote-as {ASN}\n"
        f" neighbor {RR} update-source {PEER}\n"
        " address-family ipv4 unicast\n"
        f"  network {THEIR}\n"
        " exit-address-family\n"
    )


def gobgp_conf(restart_time: int) -> str:
    return f"""
[global.config]
  as = {ASN}
  router-id = "{PEER}"
  port = 179
  local-address-list = ["{PEER}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{RR}"
    peer-as = {ASN}
  [neighbors.transport.config]
    local-address = "{PEER}"
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = {restart_time}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
"""


class Peer:
    """One peer daemon that can be killed and started again in place."""

    def __init__(self, kind: str, gr: str = "on", restart_time: int | None = RESTART):
        self.kind = kind
        self.gr = gr
        self.restart_time = restart_time
        self.wd = Path(tempfile.mkdtemp(prefix=f"bgplab-gr-{kind}-"))
        self.daemon: ExternalDaemon | None = None

    def start(self, announce: bool = True) -> Peer:
        """Start the daemon; GoBGP's route is added through its API unless
        ``announce`` is False (then :meth:`announce` adds it)."""
        k, wd = self.kind, self.wd
        gr_line = (
            f"graceful restart on; graceful restart time {RESTART};" if self.gr == "on" else ""
        )
        if k == "bird1":
            self.daemon = BirdDaemon(1, bird1_peer(gr_line), workdir=wd).start()
        elif k == "bird2":
            self.daemon = BirdDaemon(2, bird2_peer(gr_line), workdir=wd).start()
        elif k == "frr":
            (wd / "bgpd.conf").write_text(frr_conf(self.restart_time))
            argv = frr_bgpd_argv(PEER, wd)
            self.daemon = ExternalDaemon("frr", argv, wd).start()
        elif k == "gobgp":
            (wd / "gobgpd.toml").write_text(gobgp_conf(RESTART))
            argv = [
                shutil.which("gobgpd") or "gobgpd",
                "-f",
                str(wd / "gobgpd.toml"),
                "--api-hosts",
                f"{PEER}:50051",
                "--pprof-disable",
            ]
            self.daemon = ExternalDaemon("gobgp", argv, wd).start()
            wait_for("GoBGP's API", lambda: self._gobgp("global").returncode == 0, 15)
            if self.gr != "helper" and announce:
                self.announce()
        return self

    def announce(self) -> None:
        assert self.kind == "gobgp"
        self._gobgp("global", "rib", "add", "-a", "ipv4", THEIR, "nexthop", "198.51.100.7")

    def _gobgp(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["gobgp", "-u", PEER, "-p", "50051", *args], capture_output=True, text=True, timeout=10
        )

    def kill(self) -> None:
        """SIGKILL: the TCP session closes, nothing else is said."""
        d = self.daemon
        assert d is not None and d.proc is not None
        os.killpg(d.proc.pid, signal.SIGKILL)
        d.proc.wait(timeout=5)
        d.stop(remove=False)

    def routes(self) -> set[str]:
        """The prefixes the peer holds (from its own CLI)."""
        d = self.daemon
        assert d is not None
        if isinstance(d, BirdDaemon):
            return {
                line.split()[0]
                for line in d.birdc("show route").splitlines()
                if "/" in line.split(" ", 1)[0]
            }
        if self.kind == "frr":
            res = subprocess.run(
                ["vtysh", "--vty_socket", str(self.wd), "-c", "show bgp ipv4 unicast json"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            try:
                return set(json.loads(res.stdout).get("routes", {}))
            except json.JSONDecodeError:
                return set()
        out = self._gobgp("global", "rib", "-j").stdout
        try:
            return set(json.loads(out)) if out.strip() else set()
        except json.JSONDecodeError:
            return set()

    def withdraws_received(self) -> int:
        assert isinstance(self.daemon, BirdDaemon)
        return import_withdraws(self.daemon.birdc("show protocols all r"))

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop(remove=False)
        shutil.rmtree(self.wd, ignore_errors=True)


def import_withdraws(show_protocols_all: str) -> int:
    for line in show_protocols_all.splitlines():
        if line.strip().startswith("Import withdraws:"):
            return int(line.split()[2])
    return -1


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def router_daemon(kind: str, wd: Path, recovering: bool = False) -> ExternalDaemon:
    extra = ["-R"] if recovering else []
    if kind == "bird1":
        d = BirdDaemon(1, ROUTER, workdir=wd)
        d.argv += extra
        return d.start()
    return BgplabDaemon(ROUTER, workdir=wd, extra_args=extra).start()


def has_route(d: ExternalDaemon, net: str) -> bool:
    return net in d.birdc("show route")  # type: ignore[attr-defined]


@dataclass
class Setup:
    router: ExternalDaemon
    peer: Peer
    sink: BirdDaemon | None


@pytest.fixture
def started() -> Iterator[list[object]]:
    """Everything a case starts, stopped in reverse order also on failure."""
    things: list[object] = []
    yield things
    for t in reversed(things):
        t.stop()  # type: ignore[attr-defined]
    for t in things:
        wd = getattr(t, "workdir", None)
        if wd is not None:
            shutil.rmtree(wd, ignore_errors=True)


def need(*kinds: str) -> None:
    missing = [k for k in kinds if not available(k)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/install)")


# peer kind, its GR setting, and what BIRD 1.6 does with it: (kept while the
# peer is away, a withdrawal downstream when it comes back)
HELPED = {
    "frr-default": ("frr", "default", True, True),
    "gobgp-gr": ("gobgp", "on", True, True),
    "bird1-gr-on": ("bird1", "on", True, True),
    "bird2-gr-on": ("bird2", "on", True, True),
    "bird1-aware": ("bird1", "aware", False, False),
}


@pytest.mark.parametrize("router_kind", ["bird1", "bgplabd"])
@pytest.mark.parametrize("case", list(HELPED))
def test_peer_restarts_router_helps(case: str, router_kind: str, started: list) -> None:
    kind, gr, kept, flap = HELPED[case]
    need("bird1", kind)
    wd = Path(tempfile.mkdtemp(prefix="bgplab-gr-router-"))
    router = router_daemon(router_kind, wd)
    started.append(router)
    sink = BirdDaemon(1, SINK_CONF).start()
    started.append(sink)
    peer = Peer(kind, gr)
    started.append(peer)
    peer.start()
    wait_for("the peer's route at the sink", lambda: has_route(sink, THEIR), 40)

    # 1. the peer dies and comes back before its restart time is over
    peer.kill()
    time.sleep(1.5)
    info = router.birdc("show protocols all fpeer")  # type: ignore[attr-defined]
    assert has_route(router, THEIR) == kept, info
    assert ("Neighbor graceful restart active" in info) == kept, info
    if kept:
        assert "Restart timer:" in info, info
        assert has_route(sink, THEIR)
    w0 = import_withdraws(sink.birdc("show protocols all r"))

    def session_up() -> bool:
        return "Established" in router.birdc("show protocols fpeer")  # type: ignore[attr-defined]

    # GoBGP's route comes through its API, often before its session is back.
    # Once, in a full CI run with BIRD 1.6 as the router, the sink saw no
    # withdrawal in 40 s (not reproduced in 22 runs: alone, after the FRR
    # cases, under load). The likely cause: GoBGP's KEEPALIVE and UPDATE
    # read together, so the fresh route replaced the stale one before a
    # withdrawal left (BIRD 1.6 and bgplabd alike would). GoBGP announces
    # once the session is back, so the stale route's flush always shows; the
    # F bit's "at once" stays with the other peers' cases (routes in their
    # configurations) and the unit tests.
    late = kind == "gobgp"
    peer.start(announce=not late)
    if late:
        wait_for("the router's session Established", session_up, 20)
        peer.announce()
    if flap:
        # the stale route goes first: the route "back" before that is the old one
        wait_for(
            "the stale route flushed",
            lambda: import_withdraws(sink.birdc("show protocols all r")) > w0,
            40,
        )
    wait_for("the route back at the sink", lambda: has_route(sink, THEIR), 40)
    wait_for("the router's session Established", session_up, 20)
    time.sleep(1)
    w1 = import_withdraws(sink.birdc("show protocols all r"))
    assert (w1 > w0) == flap, f"withdrawals at the sink: {w0} -> {w1}"
    info = router.birdc("show protocols all fpeer")  # type: ignore[attr-defined]
    assert "Neighbor graceful restart active" not in info, info
    # a flushed stale route is no withdrawal received from the peer (as BIRD)
    assert import_withdraws(info) == 0, info

    # 2. the peer dies for good: the route goes when its restart time is over
    peer.kill()
    time.sleep(1.5)
    assert has_route(router, THEIR) == kept, router.log()[-3000:]
    if kept:
        wait_for("the stale route to go", lambda: not has_route(router, THEIR), RESTART + 5)
    wait_for("the withdrawal at the sink", lambda: not has_route(sink, THEIR), 10)


# peer kind and its (default) helper setting
HELPERS = {
    "frr-default": ("frr", "default"),
    "gobgp-gr": ("gobgp", "helper"),
    "bird1-default": ("bird1", "default"),
    "bird2-default": ("bird2", "default"),
}


# BIRD 1.6 as the restarting router is left out: its own restart sometimes
# meets a dial collision that flaps the session (docs/lab.md), so it cannot
# serve as a steady reference here
@pytest.mark.parametrize("router_kind", ["bgplabd"])
@pytest.mark.parametrize("case", list(HELPERS))
def test_router_restarts_with_R_peer_helps(case: str, router_kind: str, started: list) -> None:
    kind, gr = HELPERS[case]
    need("bird1", kind)
    wd = Path(tempfile.mkdtemp(prefix="bgplab-gr-router-"))
    router = router_daemon(router_kind, wd)
    started.append(router)
    started.append(BirdDaemon(1, SINK_CONF).start())  # the source of the router's route
    peer = Peer(kind, gr)
    started.append(peer)
    peer.start()
    wait_for("the router's route at the peer", lambda: OURS in peer.routes(), 40)
    if kind.startswith("bird"):
        w0 = peer.withdraws_received()

    assert router.proc is not None
    os.killpg(router.proc.pid, signal.SIGKILL)
    router.proc.wait(timeout=5)
    router.stop(remove=False)
    missing = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:
        missing += OURS not in peer.routes()
        time.sleep(0.2)
    router = router_daemon(router_kind, wd, recovering=True)
    started.append(router)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 8:
        missing += OURS not in peer.routes()
        time.sleep(0.25)
    wait_for("the session back", lambda: "Established" in router.birdc("show protocols fpeer"), 20)  # type: ignore[attr-defined]
    assert missing == 0, f"the route was missing at the peer in {missing} samples"
    time.sleep(RESTART)  # past any restart time: still there, not stale
    assert OURS in peer.routes()
    if kind.startswith("bird"):
        assert peer.withdraws_received() == w0
