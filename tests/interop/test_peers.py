"""bgplabd with BIRD 2, GoBGP and BIRD 1.6 as route-reflector clients.

Both opening directions (bgplabd dials GoBGP, which is passive; BIRD 2 dials
bgplabd, which is passive for it) and routes both ways, verified on the
receiving peer: prefix, next hop, AS path, local preference, communities,
and the reflector's ORIGINATOR_ID / CLUSTER_LIST. Loopback 127.2.2.0/24;
next hops from a documentation range (GoBGP refuses loopback next hops).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available
from bgplab.launch import BgplabDaemon

from .birdout import bgp_routes, protocol_states
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop]

RR, B2, GO, B1 = "127.2.2.1", "127.2.2.2", "127.2.2.3", "127.2.2.4"
GO_API = f"{GO}:50051"

ROUTER = f"""
router id {RR};
listen bgp address {RR};
template bgp clients {{
  local as 63400; multihop; gateway recursive; import all; export all;
  source address {RR}; add paths on; graceful restart;
  connect delay time 1; connect retry time 2; error wait time 1,5;
}}
protocol bgp bird2 from clients {{ rr client; passive on; neighbor {B2} as 63400; }}
protocol bgp gobgp from clients {{ rr client; neighbor {GO} as 63400; }}
protocol bgp bird1 from clients {{ rr client; neighbor {B1} as 63400; }}
"""

BIRD2 = f"""
router id {B2};
protocol device {{ }}
protocol static {{ ipv4; route 10.60.1.0/24 blackhole; }}
filter to_rr {{ bgp_community.add((65000, 9)); bgp_local_pref = 300; accept; }}
protocol bgp reflector {{
  local {B2} as 63400; neighbor {RR} as 63400; strict bind on; multihop;
  connect delay time 1; connect retry time 2;
  ipv4 {{ import all; export filter to_rr; next hop address 198.51.100.9;
          gateway recursive; add paths on; }};
}}
"""

BIRD1 = f"""
router id {B1};
listen bgp address {B1};
protocol bgp reflector {{
  local as 63400; neighbor {RR} as 63400; multihop; source address {B1};
  import all; export none; add paths on; connect delay time 1;
}}
"""

GOBGP = f"""
[global.config]
  as = 63400
  router-id = "{GO}"
  port = 179
  local-address-list = ["{GO}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{RR}"
    peer-as = 63400
  [neighbors.transport.config]
    local-address = "{GO}"
    passive-mode = true
  [neighbors.timers.config]
    connect-retry = 2
"""


def gobgp(*args: str) -> str:
    res = subprocess.run(["gobgp", "-u", GO, "-p", "50051", *args], capture_output=True,
                         text=True, timeout=10)
    return res.stdout


@pytest.fixture
def peers() -> Iterator[dict[str, object]]:
    if not (available("bird2") and available("bird1") and available("gobgp")):
        pytest.skip("BIRD 2, BIRD 1.6 and GoBGP are needed (scripts/install)")
    started: list[ExternalDaemon] = []
    try:
        router = BgplabDaemon(ROUTER).start()
        started.append(router)
        wd = Path(tempfile.mkdtemp(prefix="bgplab-gobgp-"))
        (wd / "gobgpd.toml").write_text(GOBGP)
        go = ExternalDaemon("gobgp", [shutil.which("gobgpd") or "gobgpd", "-f",
                                      str(wd / "gobgpd.toml"), "--api-hosts", GO_API,
                                      "--pprof-disable"], wd).start()
        started.append(go)
        b2 = BirdDaemon(2, BIRD2).start()
        started.append(b2)
        b1 = BirdDaemon(1, BIRD1).start()
        started.append(b1)
        yield {"router": router, "gobgp": go, "bird2": b2, "bird1": b1}
    finally:
        for d in reversed(started):
            d.stop()


def gobgp_rib() -> dict[str, list[dict]]:
    out = gobgp("global", "rib", "-j")
    try:
        return json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        return {}


def test_sessions_in_both_directions_and_routes_both_ways(peers) -> None:
    router = peers["router"]
    wait_for("all three sessions Established", lambda: all(
        info.startswith("Established")
        for info in (s[1] for s in protocol_states(router.birdc("show protocols")).values())))
    # GoBGP originates a route; it must reach BIRD 2 and BIRD 1.6 intact
    gobgp("global", "rib", "add", "-a", "ipv4", "10.50.1.0/24", "nexthop", "198.51.100.7",
          "community", "65000:7", "local-pref", "200", "aspath", "65001,65002")
    b1 = peers["bird1"]
    wait_for("GoBGP's route at BIRD 1.6",
             lambda: "10.50.1.0/24" in bgp_routes(b1.birdc("show route all")))
    (r,) = bgp_routes(b1.birdc("show route all"))["10.50.1.0/24"]
    assert r.attrs["BGP.next_hop"] == "198.51.100.7"
    assert r.attrs["BGP.as_path"] == "65001 65002"
    assert r.attrs["BGP.local_pref"] == "200"
    assert r.attrs["BGP.community"] == "(65000,7)"
    assert r.attrs["BGP.originator_id"] == GO
    assert r.attrs["BGP.cluster_list"] == RR
    b2 = peers["bird2"]
    wait_for("GoBGP's route at BIRD 2",
             lambda: "10.50.1.0/24" in b2.birdc("show route all 10.50.1.0/24"))
    out2 = b2.birdc("show route all 10.50.1.0/24")
    assert "BGP.next_hop: 198.51.100.7" in out2
    assert "BGP.originator_id: " + GO in out2
    assert "(65000,7)" in out2
    # BIRD 2 originates a route; it must reach GoBGP and BIRD 1.6
    wait_for("BIRD 2's route at GoBGP", lambda: "10.60.1.0/24" in gobgp_rib())
    paths = gobgp_rib()["10.60.1.0/24"]
    attrs = {a["type"]: a for a in paths[0]["attrs"]}
    assert attrs[3]["nexthop"] == "198.51.100.9"  # NEXT_HOP
    assert attrs[5]["value"] == 300  # LOCAL_PREF
    assert attrs[9]["value"] == B2  # ORIGINATOR_ID
    assert attrs[10]["value"] == [RR]  # CLUSTER_LIST
    assert (65000 << 16 | 9) in attrs[8]["communities"]
    wait_for("BIRD 2's route at BIRD 1.6",
             lambda: "10.60.1.0/24" in bgp_routes(b1.birdc("show route all")))
    # withdrawal travels too
    gobgp("global", "rib", "del", "-a", "ipv4", "10.50.1.0/24")
    wait_for("withdrawal at BIRD 1.6",
             lambda: "10.50.1.0/24" not in bgp_routes(b1.birdc("show route all")))

