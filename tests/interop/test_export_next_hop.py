"""An export filter's `bgp_next_hop = X` is the next hop sent, as BIRD 1.6 sends it.

BIRD 1.6 makes a route's BGP attributes before the export filter runs, so a
next hop the filter assigns wins over the one the session would choose
(the route's gateway over iBGP, our own address over eBGP). Two routers run
one configuration, BIRD 1.6 (R1) and bgplabd (R2); a BIRD 1.6 collector
on each side (iBGP and eBGP) peers with both and shows the next hops it got.
Loopback 127.2.11.0/24; the next hops are data only (nothing installs them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from bgplab.extpeers import BirdDaemon, PeerError, available
from bgplab.launch import BgplabDaemon

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed"),
]

R1, R2 = "127.2.11.2", "127.2.11.3"
COLLECTOR_I, COLLECTOR_E = "127.2.11.10", "127.2.11.11"  # BIRD 1.6 collectors, iBGP and eBGP


def router_conf(addr: str) -> str:
    return f"""
router id {addr};
listen bgp address {addr};
protocol static {{
  route 10.70.1.0/24 blackhole;
  route 10.70.2.0/24 blackhole;
}}
filter set_nh {{
  if net = 10.70.1.0/24 then bgp_next_hop = 203.0.113.7;
  accept;
}}
template bgp t {{
  local {addr} as 65010; multihop; import none; export filter set_nh;
  connect delay time 1; connect retry time 2;
}}
protocol bgp ibgp from t {{ neighbor {COLLECTOR_I} as 65010; }}
protocol bgp ebgp from t {{ neighbor {COLLECTOR_E} as 65020; }}
"""


def collector_conf(addr: str, asn: int) -> str:
    return f"""
router id {addr};
listen bgp address {addr};
template bgp t {{ local {addr} as {asn}; multihop; import all; export none; passive on; }}
table from1; table from2;
protocol bgp r1 from t {{ table from1; neighbor {R1} as 65010; }}
protocol bgp r2 from t {{ table from2; neighbor {R2} as 65010; }}
"""


def next_hops(collector: BirdDaemon, table: str) -> dict[str, str]:
    """net -> BGP.next_hop, from `show route table T all` (raw reply lines)."""
    hops: dict[str, str] = {}
    net = None
    for line in collector.raw(f"show route table {table} all"):
        m = re.match(r"1007-(\S+)", line)
        if m:
            net = m.group(1)
        nh = re.search(r"BGP\.next_hop: (\S+)", line)
        if nh and net:
            hops[net] = nh.group(1)
    return hops


@pytest.fixture(scope="module")
def collectors() -> Iterator[dict[str, BirdDaemon]]:
    cols = {"i": BirdDaemon(1, collector_conf(COLLECTOR_I, 65010)),
            "e": BirdDaemon(1, collector_conf(COLLECTOR_E, 65020))}
    r1 = BirdDaemon(1, router_conf(R1))
    r2 = BgplabDaemon(router_conf(R2))
    try:
        try:
            for d in (*cols.values(), r1, r2):
                d.start()
        except PeerError as exc:
            pytest.fail(f"a daemon did not start: {exc}")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if all(len(next_hops(c, t)) == 2 for c in cols.values() for t in ("from1", "from2")):
                break
            time.sleep(0.3)
        else:
            pytest.fail("the collectors did not get both routes from both routers")
        yield cols
    finally:
        for d in (r2, r1, *cols.values()):
            d.stop()


@pytest.mark.parametrize("session", ["i", "e"])
def test_next_hops_as_bird_sends_them(collectors: dict[str, BirdDaemon], session: str) -> None:
    bird = next_hops(collectors[session], "from1")
    ours = {n: nh.replace(R2, R1) for n, nh in next_hops(collectors[session], "from2").items()}
    assert bird["10.70.1.0/24"] == "203.0.113.7"  # the filter's, in BIRD too
    assert ours == bird
