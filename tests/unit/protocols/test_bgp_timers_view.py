"""What `show protocols all` reads of a BGP protocol's timers."""

from __future__ import annotations

import time
from ipaddress import IPv4Address

from bgplab.bgp.fsm import Timer
from bgplab.rib.context import DaemonContext
from tests.unit.rib.helpers import bgp_protocol


def test_connect_delay_total_is_the_configured_time_not_the_jittered_one() -> None:
    # BIRD 1.6 prints "Connect delay: <left>/<connect delay time>"; the timer itself runs
    # a jittered (shorter) time, which once showed as 1/0 for a 1 s delay.
    p = bgp_protocol(DaemonContext(IPv4Address("192.168.0.40")), connect_delay_time=1)
    assert p.connect_delay is None
    p.timer_deadline[(Timer.CONNECT_DELAY, 1)] = (time.monotonic() + 0.8, 0.8)
    assert p.connect_delay == (1, 1)
    p.timer_deadline.clear()
    p.timer_deadline[(Timer.CONNECT_RETRY, 2)] = (time.monotonic() + 3.7, 3.7)
    assert p.connect_delay == (4, 1)
