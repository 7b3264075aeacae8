"""Faults: a peer that stops reading, flap storms, resets mid-UPDATE.
Loopback 127.2.6.0/24; bgplabd reflects between scripted speakers."""

from __future__ import annotations

import threading
import time

import pytest

from bgplab import net
from bgplab.launch import BgplabDaemon
from tests.interop.birdout import protocol_states

from .speaker import Speaker

pytestmark = [pytest.mark.root, pytest.mark.interop]

RR = "127.2.6.1"
FEEDER, SLOW, SINK = "127.2.6.2", "127.2.6.3", "127.2.6.4"


def router() -> str:
    peers = "\n".join(
        f"protocol bgp p{i} from t {{ neighbor {a} as 63400; }}"
        for i, a in enumerate((FEEDER, SLOW, SINK)))
    return f"""
router id {RR};
listen bgp address {RR};
template bgp t {{
  local as 63400; multihop; source address {RR}; import all; export all; rr client;
  passive on; hold time 90; error wait time 1,2;
}}
{peers}
"""


def nets(count: int, base: str = "10.80.0.0") -> list[int]:
    start = int(net.ip_to_int(base)[0])
    return [net.make(start + (i << 8), 24) for i in range(count)]


def test_slow_reader_does_not_delay_others() -> None:
    with BgplabDaemon(router()) as d:
        d.start()
        slow = Speaker(SLOW, RR)
        slow.connect()
        stop = threading.Event()

        def keep_alive() -> None:  # it talks, but never reads again
            while not stop.wait(5):
                slow.keepalive()

        t = threading.Thread(target=keep_alive, daemon=True)
        t.start()
        sink = Speaker(SINK, RR)
        sink.connect()
        feeder = Speaker(FEEDER, RR)
        feeder.connect()
        routes = nets(30000)
        feeder.announce(routes, "198.51.100.2")
        began = time.monotonic()
        got = sink.received_nets(len(routes), timeout=90)  # one hold time
        elapsed = time.monotonic() - began
        stop.set()
        assert len(got) == len(routes), f"sink got {len(got)} in {elapsed:.1f}s"
        assert d.alive()
        states = protocol_states(d.birdc("show protocols"))
        assert states["p2"][1].startswith("Established")
        for s in (slow, sink, feeder):
            s.close()


def test_flap_storm_ends_in_the_right_state() -> None:
    with BgplabDaemon(router()) as d:
        d.start()
        sink = Speaker(SINK, RR)
        sink.connect()
        routes = nets(50, "10.90.0.0")
        for i in range(15):
            f = Speaker(FEEDER, RR)
            f.connect()
            f.announce(routes[: 10 + i], "198.51.100.2")
            if i % 3 == 0:
                # reset in the middle of an UPDATE: a header promising 128
                # bytes, four of them, then the connection is gone
                f.send(b"\xff" * 16 + b"\x00\x80\x02\x00")
            f.close()
            time.sleep(0.3 if i % 2 else 0.05)
        final = Speaker(FEEDER, RR)
        deadline = time.monotonic() + 30
        while True:  # the reflector may still be in its error wait
            try:
                final.connect()
                break
            except (ConnectionError, OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        final.announce(routes[:7], "198.51.100.2")
        sink.received_nets(7, timeout=30)
        held = sink.received_nets(100, timeout=2)  # nothing more may arrive
        # withdrawals of earlier sessions and the final announcement: exactly 7
        assert held == set(routes[:7])
        assert d.alive()
        final.close()
        sink.close()
