"""`import keep filtered` and `show route filtered`, against real BIRD 1.6.

One BIRD 1.6 feeder announces three routes to two routers running the same
configuration: BIRD 1.6 (R1) and bgplabd (R2). Their import filter rejects
one route and keeps it (`import keep filtered on`). The replies of the two
routers must agree, command by command, but for times and addresses.
Loopback 127.2.10.0/24.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from bgplab.extpeers import BirdDaemon, PeerError, available
from bgplab.launch import BgplabDaemon
from tests.interop.test_birdc_compat import normalize

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed"),
]

FEEDER, R1, R2 = "127.2.10.1", "127.2.10.2", "127.2.10.3"

FEEDER_CONF = f"""
router id {FEEDER};
listen bgp address {FEEDER};
protocol static {{
  route 10.41.1.0/24 blackhole;
  route 10.41.2.0/24 blackhole;
  route 10.42.1.0/24 blackhole;
}}
template bgp t {{
  local {FEEDER} as 65001; multihop; import none; export all;
  connect delay time 1; connect retry time 2;
}}
protocol bgp r1 from t {{ neighbor {R1} as 65002; }}
protocol bgp r2 from t {{ neighbor {R2} as 65002; }}
"""


def router_conf(addr: str) -> str:
    return f"""
router id {addr};
listen bgp address {addr};
filter only41 {{ if net ~ 10.41.0.0/16 then accept; reject; }}
protocol bgp feeder {{
  local {addr} as 65002; neighbor {FEEDER} as 65001; multihop;
  import keep filtered on;
  import filter only41;
  export none;
  passive on;
}}
"""


COMMANDS = [
    "show route",
    "show route filtered",
    "show route filtered all",
    "show route filtered count",
    "show route filtered protocol feeder",
    "show route for 10.42.1.7 filtered",
    "show route 10.41.1.0/24 filtered",
    "show route count",
    "show protocols all feeder",
]


def _routes_line(d: object) -> str:
    out = "\n".join(d.raw("show protocols all feeder"))  # type: ignore[attr-defined]
    m = re.search(r"Routes:\s+(.*)", out)
    return m.group(1) if m else ""


@pytest.fixture(scope="module")
def routers() -> Iterator[tuple[BirdDaemon, BgplabDaemon]]:
    feeder = BirdDaemon(1, FEEDER_CONF)
    r1 = BirdDaemon(1, router_conf(R1))
    r2 = BgplabDaemon(router_conf(R2))
    try:
        try:
            r1.start()
            r2.start()
            feeder.start()
        except PeerError as exc:
            pytest.fail(f"a daemon did not start: {exc}")
        want = "2 imported, 1 filtered, 0 exported, 2 preferred"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _routes_line(r1) == want and _routes_line(r2) == want:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"not converged: BIRD {_routes_line(r1)!r}, bgplabd {_routes_line(r2)!r}")
        yield r1, r2
    finally:
        for d in (feeder, r2, r1):
            d.stop()


@pytest.mark.parametrize("command", COMMANDS)
def test_reply_matches_bird(routers: tuple[BirdDaemon, BgplabDaemon], command: str) -> None:
    r1, r2 = routers
    want = normalize("\n".join(r1.raw(command)))
    got = normalize("\n".join(r2.raw(command)).replace(R2, R1))
    # one peer, a fixed feed: every counter is deterministic, none is masked
    assert got == want


def test_filtered_route_is_listed_and_not_in_the_table(
    routers: tuple[BirdDaemon, BgplabDaemon],
) -> None:
    _r1, r2 = routers
    shown = "\n".join(r2.raw("show route filtered"))
    assert "10.42.1.0/24" in shown and "10.41.1.0/24" not in shown
    assert "10.42.1.0/24" not in "\n".join(r2.raw("show route"))
    # and for scripts: the same selection in JSON
    lines = r2.raw("json show route filtered")
    doc = json.loads("".join(ln[5:] if ln.startswith("1100-") else ln[1:] for ln in lines
                             if ln.startswith(("1100-", " "))))
    assert [r["net"] for r in doc["routes"]] == ["10.42.1.0/24"]
    assert doc["routes"][0]["protocol"] == "feeder" and doc["total"] == 1
