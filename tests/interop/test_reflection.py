"""bgplabd as the seed's route reflector for four real BIRD 1.6 "Calico nodes".

Everything runs on loopback (127.2.1.0/24): the reflector on .1 and the nodes
on .11-.14, each with its own /26 block, configured like Calico v3.17's
rendered bird.cfg (AS 63400, add paths on, graceful restart).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from bgplab.extpeers import BirdDaemon, available
from bgplab.launch import BgplabDaemon

from .birdout import bgp_routes, protocol_states

pytestmark = [pytest.mark.root, pytest.mark.interop,
              pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed")]

RR = "127.2.1.1"
NODES = {f"127.2.1.{10 + i}": f"10.41.{i}.0/26" for i in range(1, 5)}


def router_config(rr: str = RR, nodes: dict[str, str] = NODES) -> str:
    peers = "\n".join(
        f"protocol bgp Node_{a.replace('.', '_')} from bgp_template {{\n"
        f"  rr client;\n  neighbor {a} as 63400;\n}}" for a in nodes)
    return f"""
router id {rr};
listen bgp address {rr};
filter calico_export_to_bgp_peers {{
  if ( net ~ 10.41.0.0/16 ) then {{ accept; }}
  if ( net ~ 10.42.0.0/16 ) then {{ accept; }}
  reject;
}}
template bgp bgp_template {{
  description "Connection to BGP peer";
  local as 63400;
  multihop;
  gateway recursive;
  import all;
  export filter calico_export_to_bgp_peers;
  source address {rr};
  add paths on;
  graceful restart;
  connect delay time 1;
  connect retry time 2;
  error wait time 1,5;
}}
{peers}
"""


def node_config(addr: str, block: str, rr: str = RR, gr_time: int = 120) -> str:
    return f"""
router id {addr};
listen bgp address {addr};
protocol static {{ route {block} blackhole; }}
filter calico_export_to_bgp_peers {{
  if ( net = {block} ) then {{ accept; }}
  reject;
}}
protocol bgp Node_{rr.replace('.', '_')} {{
  local as 63400;
  neighbor {rr} as 63400;
  multihop;
  gateway recursive;
  import all;
  export filter calico_export_to_bgp_peers;
  source address {addr};
  add paths on;
  graceful restart;
  graceful restart time {gr_time};
  connect delay time 1;
  connect retry time 2;
  error wait time 1,5;
}}
"""


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def lab() -> Iterator[tuple[BgplabDaemon, dict[str, BirdDaemon]]]:
    router = BgplabDaemon(router_config())
    nodes: dict[str, BirdDaemon] = {}
    try:
        router.start()
        for addr, block in NODES.items():
            nodes[addr] = BirdDaemon(1, node_config(addr, block, gr_time=6)).start()
        yield router, nodes
    finally:
        for n in nodes.values():
            n.stop()
        router.stop()


def blocks_seen(node: BirdDaemon) -> dict[str, list]:
    return bgp_routes(node.birdc("show route all"))


def test_every_node_learns_the_other_blocks(lab) -> None:
    router, nodes = lab
    for addr, node in nodes.items():
        want = {b for a, b in NODES.items() if a != addr}
        wait_for(f"{addr} to learn {want}", lambda n=node, w=want: set(blocks_seen(n)) == w)
    # attributes as RFC 4456 says, checked on the receiving side
    for node in nodes.values():
        for net, routes in blocks_seen(node).items():
            origin = next(a for a, b in NODES.items() if b == net)
            (r,) = routes
            assert r.attrs["BGP.next_hop"] == origin  # next hop unchanged
            assert r.attrs["BGP.originator_id"] == origin
            assert r.attrs["BGP.cluster_list"] == RR
            assert r.attrs["BGP.local_pref"] == "100"
            assert r.from_addr == RR
    # Both sides dial (as Calico's nodes and the seed's router do): a connection
    # collision can cost a session one restart, as between two BIRDs; it must
    # settle with every session Established.
    wait_for("all sessions Established", lambda: all(
        info.startswith("Established")
        for info in (protocol_states(router.birdc("show protocols"))[f"Node_{a.replace('.', '_')}"][1]
                     for a in NODES)))


def test_block_disappears_when_its_node_stops(lab) -> None:
    router, nodes = lab
    first, *others = list(nodes)
    for addr in others:
        wait_for("convergence", lambda n=nodes[addr]: len(blocks_seen(n)) == 3)
    nodes[first].stop()  # clean shutdown: a Cease, no graceful restart
    for addr in others:
        wait_for(f"{NODES[first]} withdrawn at {addr}",
                 lambda n=nodes[addr]: NODES[first] not in blocks_seen(n))
        assert len(blocks_seen(nodes[addr])) == 2


def test_graceful_restart_keeps_routes_until_end_of_rib_or_timer(lab) -> None:
    router, nodes = lab
    victim, watcher = list(nodes)[0], list(nodes)[1]
    block = NODES[victim]
    wait_for("convergence", lambda: block in blocks_seen(nodes[watcher]))
    # The node dies without a word (SIGKILL): its peer-side TCP closes, but it
    # advertised graceful restart, so the reflector keeps its routes stale.
    os.killpg(nodes[victim].pid, signal.SIGKILL)
    nodes[victim].proc.wait()
    wait_for("session down on the reflector",
             lambda: not protocol_states(router.birdc("show protocols"))
             [f"Node_{victim.replace('.', '_')}"][1].startswith("Established"))
    time.sleep(2)
    assert block in blocks_seen(nodes[watcher]), "stale route withdrawn too early"
    # The node comes back in recovery mode and re-announces; End-of-RIB
    # clears the stale state, the route is still there.
    wd = nodes[victim].workdir
    nodes[victim] = BirdDaemon(1, node_config(victim, block, gr_time=6),
                               workdir=wd)
    nodes[victim].argv.append("-R")
    nodes[victim].start()
    wait_for("session back", lambda: protocol_states(router.birdc("show protocols"))
             [f"Node_{victim.replace('.', '_')}"][1].startswith("Established"))
    time.sleep(8)  # longer than the restart time: nothing may be swept now
    assert block in blocks_seen(nodes[watcher])
    # Killed again and not restarted: after the restart time the route goes.
    os.killpg(nodes[victim].pid, signal.SIGKILL)
    nodes[victim].proc.wait()
    time.sleep(2)
    assert block in blocks_seen(nodes[watcher])
    wait_for("stale route swept after the restart time",
             lambda: block not in blocks_seen(nodes[watcher]), timeout=20)
