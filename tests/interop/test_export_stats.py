"""Export "Route change stats" per peer: bgplabd against a real BIRD 1.6.

Two reflectors with one config, BIRD 1.6 on 127.204.0.1 and bgplabd on
127.204.0.2, and four BIRD 1.6 nodes that peer with both, so both see the
same events: two route-reflector clients (C1, C2), two non-clients (N3, N4).
C1 sends a net the reflectors' export filter refuses (filtered); N3's net is
not reflected to the other non-client (rejected), and nobody's own nets go
back to it (rejected). N4 joins late; C2 stops (a Cease: lost for good) and
comes back. At each step every peer's export rows must be BIRD's.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, available
from bgplab.launch import BgplabDaemon

from .birdout import protocol_states
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop,
              pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed")]

RR_BIRD = "127.204.0.1"
RR_LAB = "127.204.0.2"
# name -> (address, rr client, nets it sends)
NODES = {
    "C1": ("127.204.0.11", True, ["10.204.1.0/24", "10.204.66.0/24"]),
    "C2": ("127.204.0.12", True, ["10.204.2.0/24"]),
    "N3": ("127.204.0.13", False, ["10.204.3.0/24"]),
    "N4": ("127.204.0.14", False, ["10.204.4.0/24"]),
}
FILTERED = "10.204.66.0/24"
ROWS = ("Export updates:", "Export withdraws:")


def reflector_config(rr: str) -> str:
    peers = "\n".join(
        f"protocol bgp {name} from t {{\n  {'rr client;' if client else ''}\n"
        f"  neighbor {addr} as 65204;\n}}"
        for name, (addr, client, _) in NODES.items())
    return f"""
router id {rr};
listen bgp address {rr};
filter rr_out {{
  if net = {FILTERED} then reject;
  accept;
}}
template bgp t {{
  local as 65204;
  multihop;
  gateway recursive;
  import all;
  export filter rr_out;
  source address {rr};
  # only the nodes dial: no connection collisions (with a node that can
  # restart gracefully, BIRD may count a lost collision as a restart)
  passive on;
  error wait time 1,2;
}}
{peers}
"""


def node_config(addr: str, nets: list[str], extra: str = "") -> str:
    routes = " ".join(f"route {n} blackhole;" for n in nets)
    sessions = "\n".join(f"""
protocol bgp to_{i} {{
  local as 65204;
  neighbor {rr} as 65204;
  multihop;
  gateway recursive;
  import all;
  export where proto = "own";
  source address {addr};
  connect delay time 1;
  connect retry time 1;
  error wait time 1,2;
  {extra}
}}""" for i, rr in enumerate((RR_BIRD, RR_LAB)))
    return f"""
router id {addr};
listen bgp address {addr};
protocol static own {{ {routes} }}
{sessions}
"""


def export_rows(daemon: BirdDaemon | BgplabDaemon, name: str) -> list[str]:
    out = daemon.birdc(f"show protocols all {name}")
    return [" ".join(line.split()) for line in out.splitlines()
            if line.strip().startswith(ROWS)]


def routes_at(daemon: BirdDaemon | BgplabDaemon) -> int:
    return sum(1 for line in daemon.birdc("show route").splitlines()
               if line[:1].isdigit())


class Lab:
    def __init__(self) -> None:
        self.bird = BirdDaemon(1, reflector_config(RR_BIRD))
        self.lab = BgplabDaemon(reflector_config(RR_LAB))
        self.nodes: dict[str, BirdDaemon] = {}

    def start_node(self, name: str, extra: str = "", workdir: Path | None = None,
                   recovery: bool = False) -> None:
        addr, _, nets = NODES[name]
        node = BirdDaemon(1, node_config(addr, nets, extra), workdir=workdir)
        if recovery:
            node.argv.append("-R")
        self.nodes[name] = node.start()

    def signal_node(self, name: str, sig: int) -> None:
        os.killpg(self.nodes[name].pid, sig)

    def wait_down(self, name: str) -> None:
        for rr in (self.bird, self.lab):
            wait_for(f"{name} down at {rr.kind}", lambda rr=rr: not protocol_states(
                rr.birdc("show protocols"))[name][1].startswith("Established"))

    def stop_node(self, name: str) -> None:
        self.nodes.pop(name).stop()

    def settled(self, up: list[str]) -> None:
        """Sessions of ``up`` Established at both reflectors, every node's
        nets there, and the nodes hold what the reflectors send them."""
        want = sum(len(NODES[n][2]) for n in up)
        for rr in (self.bird, self.lab):
            wait_for(f"{up} Established at {rr.kind}", lambda rr=rr: all(
                info.startswith("Established")
                for n, (_, info) in protocol_states(rr.birdc("show protocols")).items()
                if n in up))
            wait_for(f"{want} routes at {rr.kind}", lambda rr=rr: routes_at(rr) == want)
        time.sleep(1.5)  # the reflectors' updates reach the nodes

    def compare(self, step: str) -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        for name in NODES:
            want, got = export_rows(self.bird, name), export_rows(self.lab, name)
            print(f"{step} {name}: BIRD {want} / bgplabd {got}")
            seen[name] = want
            assert got == want, f"{step}: {name}: BIRD {want}, bgplabd {got}"
        return seen


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = Lab()
    try:
        lab.bird.start()
        lab.lab.start()
        yield lab
    finally:
        for n in lab.nodes.values():
            n.stop()
        lab.lab.stop()
        lab.bird.stop()


def test_export_rows_for_late_and_reestablished_peers(lab: Lab) -> None:
    # one node at a time: BIRD feeds a new session in the background, and
    # a route that arrives meanwhile can be counted twice (once announced,
    # once fed), so nothing else may happen during a feed
    up: list[str] = []
    for name in ("C1", "C2", "N3"):
        lab.start_node(name)
        up.append(name)
        lab.settled(up)
    first = lab.compare("start")
    # C2 was fed C1's two nets (one filtered): its own net came back rejected
    assert first["C2"] == ["Export updates: 4 1 1 --- 2", "Export withdraws: 0 --- --- --- 0"]
    # C1 withdraws its nets: the one it is refused (its own) is not a
    # withdrawal sent to it
    lab.nodes["C1"].birdc("disable own")
    wait_for("C1's nets gone", lambda: routes_at(lab.bird) == 2 and routes_at(lab.lab) == 2)
    time.sleep(1)
    lab.compare("C1 withdraws")
    lab.nodes["C1"].birdc("enable own")
    lab.settled(up)
    lab.compare("C1 announces again")
    lab.stop_node("C2")  # a Cease: the session is lost for good
    up.remove("C2")
    lab.settled(up)
    lab.compare("C2 gone")
    lab.start_node("C2")
    up.append("C2")
    lab.settled(up)
    back = lab.compare("C2 back")
    assert back["C2"] == first["C2"]
    lab.start_node("N4")  # joins a group with history
    up.append("N4")
    lab.settled(up)
    late = lab.compare("N4 late")
    assert late["N4"][1] == "Export withdraws: 0 --- --- --- 0"
    for rr in (lab.bird, lab.lab):
        rr.birdc("reload out C1")
    time.sleep(1.5)
    lab.compare("reload out C1")


@pytest.mark.slow
def test_export_rows_over_hold_timer_and_graceful_restart(lab: Lab) -> None:
    up: list[str] = []
    for name, extra in (("C1", ""), ("C2", "graceful restart on;"), ("N3", "hold time 6;")):
        lab.start_node(name, extra)
        up.append(name)
        lab.settled(up)
    lab.compare("start")
    # N3 stops answering: the hold timer ends its sessions (lost for good)
    lab.signal_node("N3", signal.SIGSTOP)
    lab.wait_down("N3")
    gone = lab.compare("N3 hold timer")
    assert gone["N3"][0] == "Export updates: 0 0 0 --- 0"
    lab.signal_node("N3", signal.SIGCONT)
    lab.settled(up)
    lab.compare("N3 back")
    # C2 dies without a word: it can restart gracefully, so its protocol
    # stays up in BIRD's sense and keeps its stats while the reflectors keep
    # its route
    before = lab.compare("before C2 dies")["C2"]
    wd = lab.nodes["C2"].workdir
    lab.signal_node("C2", signal.SIGKILL)
    lab.nodes["C2"].proc.wait()
    lab.wait_down("C2")
    waiting = lab.compare("C2 restarting")
    assert waiting["C2"] == before
    # Back (-R), it is fed again on top of them. Not compared with BIRD: how
    # the restarting node orders its route and End-of-RIB per session varies
    # from run to run (BIRD's reflector then shows C2's net withdrawn and sent
    # again, or fed twice); bgplabd shows the feed of the 4 nets it holds
    lab.start_node("C2", "graceful restart on;", workdir=wd, recovery=True)
    lab.settled(up)
    for name in NODES:
        print(f"C2 back gracefully {name}: BIRD {export_rows(lab.bird, name)}"
              f" / bgplabd {export_rows(lab.lab, name)}")
    fed = [int(x) for x in before[0].split()[2:] if x != "---"]
    fed = [n + d for n, d in zip(fed, (4, 1, 1, 2), strict=True)]
    assert export_rows(lab.lab, "C2") == [
        "Export updates: {} {} {} --- {}".format(*fed), before[1]]
