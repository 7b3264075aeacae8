"""Route limits with every action, against a real BIRD 1.6 peer that
announces ten routes (loopback 127.2.5.0/24)."""

from __future__ import annotations

import time

import pytest

from bgplab.extpeers import BirdDaemon, available
from bgplab.launch import BgplabDaemon
from tests.interop.birdout import bgp_routes, protocol_states
from tests.interop.test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop,
              pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed")]

RR, FEEDER, SINK = "127.2.5.1", "127.2.5.2", "127.2.5.3"
ROUTES = "\n".join(f"  route 10.70.{i}.0/24 blackhole;" for i in range(10))


def router(feeder_opts: str, sink_opts: str = "") -> str:
    return f"""
router id {RR};
listen bgp address {RR};
template bgp t {{
  local as 63400; multihop; source address {RR}; import all; export all; rr client;
  connect delay time 1; connect retry time 2; error wait time 1,2;
}}
protocol bgp feeder from t {{ neighbor {FEEDER} as 63400; {feeder_opts} }}
protocol bgp sink from t {{ neighbor {SINK} as 63400; {sink_opts} }}
"""


def peer(addr: str, routes: str = "") -> str:
    static = f"protocol static {{\n{routes}\n}}" if routes else ""
    return f"""
router id {addr};
listen bgp address {addr};
{static}
protocol bgp reflector {{
  local as 63400; neighbor {RR} as 63400; multihop; source address {addr};
  import all; export all; connect delay time 1; connect retry time 2; error wait time 1,2;
}}
"""


def states(d: BgplabDaemon) -> dict[str, tuple[str, str]]:
    return protocol_states(d.birdc("show protocols"))


def run(feeder_opts: str, sink_opts: str = ""):
    d = BgplabDaemon(router(feeder_opts, sink_opts))
    f = BirdDaemon(1, peer(FEEDER, ROUTES))
    s = BirdDaemon(1, peer(SINK))
    return d, f, s


def sink_count(s: BirdDaemon) -> int:
    return len(bgp_routes(s.birdc("show route all")))


def test_import_limit_block_keeps_the_first_routes() -> None:
    d, f, s = run("import limit 4 action block;")
    with d, f, s:
        d.start(), f.start(), s.start()
        wait_for("sink holds 4", lambda: sink_count(s) == 4)
        time.sleep(2)
        assert sink_count(s) == 4
        assert states(d)["feeder"][1].startswith("Established")
        assert "import limit exceeded (4), action block" in d.log()


def test_receive_limit_warn_accepts_everything() -> None:
    d, f, s = run("receive limit 4 action warn;")
    with d, f, s:
        d.start(), f.start(), s.start()
        wait_for("sink holds 10", lambda: sink_count(s) == 10)
        assert "receive limit exceeded (4), action warn" in d.log()


def test_import_limit_disable_shuts_the_session_with_cease() -> None:
    d, f, s = run("import limit 4 action disable;")
    with d, f, s:
        d.start(), f.start(), s.start()
        wait_for("feeder disabled", lambda: states(d)["feeder"][0] == "down")
        # the Cease went out (BIRD's own status line moves on to its retries)
        assert "feeder: Sent: Maximum number of prefixes reached" in d.log()
        wait_for("its routes are gone", lambda: sink_count(s) == 0)
        time.sleep(3)
        assert states(d)["feeder"][0] == "down"  # disabled stays disabled


def test_import_limit_restart_brings_the_session_back() -> None:
    d, f, s = run("import limit 4 action restart;")
    with d, f, s:
        d.start(), f.start(), s.start()
        wait_for("the Cease went out", lambda: "feeder: Sent: Maximum number of prefixes "
                 "reached" in d.log())
        # restart: the protocol comes back by itself and the session again
        wait_for("session back", lambda: d.log().count("feeder: Sent: Maximum") >= 2)
        assert d.alive()


def test_export_limit_block() -> None:
    d, f, s = run("", "export limit 3 action block;")
    with d, f, s:
        d.start(), f.start(), s.start()
        wait_for("sink holds 3", lambda: sink_count(s) == 3)
        time.sleep(2)
        assert sink_count(s) == 3
