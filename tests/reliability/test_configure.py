"""`configure` (and SIGHUP): a filter change re-exports only that protocol's
routes; a broken file is rejected and the running configuration stays.
Real BIRD 1.6 peers on loopback 127.2.7.0/24."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from bgplab.extpeers import BirdDaemon, available
from bgplab.launch import BgplabDaemon, bgplabd_argv
from tests.interop.birdout import bgp_routes, protocol_states
from tests.interop.test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop,
              pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed")]

RR, FEEDER, A, B = "127.2.7.1", "127.2.7.2", "127.2.7.3", "127.2.7.4"


def _filter(name: str) -> str:
    return name if name in ("all", "none") else f"filter {name}"


def router(a_filter: str, feeder_import: str = "all") -> str:
    return f"""
router id {RR};
listen bgp address {RR};
filter only41 {{ if net ~ 10.41.0.0/16 then accept; reject; }}
filter only42 {{ if net ~ 10.42.0.0/16 then accept; reject; }}
template bgp t {{
  local as 63400; multihop; source address {RR}; import all; rr client;
  connect delay time 1; connect retry time 2; error wait time 1,2;
}}
protocol bgp feeder from t {{ neighbor {FEEDER} as 63400; export none; import {_filter(feeder_import)}; }}
protocol bgp sink_a from t {{ neighbor {A} as 63400; export {_filter(a_filter)}; }}
protocol bgp sink_b from t {{ neighbor {B} as 63400; export filter only41; }}
"""


def peer(addr: str, static: str = "", refresh: bool = True) -> str:
    return f"""
router id {addr};
listen bgp address {addr};
{static}
protocol bgp reflector {{
  local as 63400; neighbor {RR} as 63400; multihop; source address {addr};
  import all; export all; connect delay time 1; connect retry time 2;
  enable route refresh {"on" if refresh else "off"};
}}
"""


FEED = """protocol static {
  route 10.41.1.0/24 blackhole;
  route 10.42.1.0/24 blackhole;
}"""


def import_received(b: BirdDaemon) -> int:
    out = b.birdc("show protocols all reflector")
    m = re.search(r"Import updates:\s+(\d+)", out)
    assert m, out
    return int(m.group(1))


def bgplabc(d: BgplabDaemon, *cmd: str) -> subprocess.CompletedProcess[str]:
    argv = bgplabd_argv()
    client = ([argv[0].replace("bgplabd", "bgplabc")] if argv[0].endswith("bgplabd")
              else [argv[0], "-m", "bgplab.cli.client"])
    return subprocess.run(client + ["-s", str(d.socket), *cmd], capture_output=True,
                          text=True, timeout=20)


@pytest.fixture
def setup():
    d = BgplabDaemon(router("only41"))
    peers = [BirdDaemon(1, peer(FEEDER, FEED)), BirdDaemon(1, peer(A)), BirdDaemon(1, peer(B))]
    try:
        d.start()
        for p in peers:
            p.start()
        wait_for("both sinks hold 10.41.1.0/24", lambda: all(
            "10.41.1.0/24" in bgp_routes(p.birdc("show route all")) for p in peers[1:]))
        yield d, peers
    finally:
        for p in peers:
            p.stop()
        d.stop()


def test_filter_change_reexports_only_that_protocol(setup) -> None:
    d, (_feeder, a, b) = setup
    time.sleep(1)
    b_before = import_received(b)
    d.config_path.write_text(router("only42"))
    res = bgplabc(d, "configure")
    assert "Reconfigured" in res.stdout, res.stdout + res.stderr
    wait_for("sink_a switched to 10.42/16", lambda: set(bgp_routes(a.birdc("show route all")))
             == {"10.42.1.0/24"})
    time.sleep(2)
    assert set(bgp_routes(b.birdc("show route all"))) == {"10.41.1.0/24"}
    assert import_received(b) == b_before  # sink_b saw no update at all
    states = protocol_states(d.birdc("show protocols"))
    assert all(states[n][1].startswith("Established") for n in ("feeder", "sink_a", "sink_b"))


def test_broken_file_is_rejected_and_old_config_keeps_running(setup) -> None:
    d, (_feeder, a, b) = setup
    good = d.config_path.read_text()
    d.config_path.write_text(good.replace("filter only42 {", "filter only42 { bogus;", 1))
    res = bgplabc(d, "configure")
    assert "Reconfigured" not in res.stdout
    assert re.search(r"bird\.conf:\d+:\d+", res.stdout + res.stderr), res.stdout + res.stderr
    # SIGHUP with the same broken file: logged, nothing changes
    os.kill(d.pid, signal.SIGHUP)
    time.sleep(1)
    assert d.alive()
    states = protocol_states(d.birdc("show protocols"))
    assert all(states[n][1].startswith("Established") for n in ("feeder", "sink_a", "sink_b"))
    assert set(bgp_routes(a.birdc("show route all"))) == {"10.41.1.0/24"}
    assert "Reconfiguration rejected" in d.log()


@pytest.mark.parametrize("refresh", [True, False], ids=["route-refresh", "no-route-refresh"])
def test_new_import_filter_applies_to_routes_already_received(refresh: bool) -> None:
    """With route refresh the peer resends and the session stays up; without
    it the protocol restarts (as BIRD does). Either way the table ends up as
    the new filter says, and the sinks follow."""
    d = BgplabDaemon(router("all"))
    feeder = BirdDaemon(1, peer(FEEDER, FEED, refresh=refresh))
    sink = BirdDaemon(1, peer(A))
    try:
        d.start()
        feeder.start()
        sink.start()
        wait_for("the sink holds both feeds", lambda: set(bgp_routes(sink.birdc("show route all")))
                 == {"10.41.1.0/24", "10.42.1.0/24"})
        wait_for("the feeder session is Established", lambda: protocol_states(
            d.birdc("show protocols"))["feeder"][1].startswith("Established"))
        d.config_path.write_text(router("all", feeder_import="only41"))
        res = bgplabc(d, "configure")
        assert "Reconfigured" in res.stdout, res.stdout + res.stderr
        wait_for("10.42.1.0/24 is gone from the sink",
                 lambda: set(bgp_routes(sink.birdc("show route all"))) == {"10.41.1.0/24"})
        assert set(bgp_routes(d.birdc("show route all"))) == {"10.41.1.0/24"}
        restarted = "Restarting protocol feeder" in d.log()
        assert restarted == (not refresh), d.log()[-3000:]
        wait_for("the feeder is Established", lambda: protocol_states(
            d.birdc("show protocols"))["feeder"][1].startswith("Established"))
    finally:
        for b in (sink, feeder):
            b.stop()
        d.stop()
