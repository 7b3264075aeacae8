"""The session FSM against a real BIRD 1.6 on loopback: opening in both
directions and the collision when both sides dial at once."""

from __future__ import annotations

import os
import random
from ipaddress import IPv4Address

import pytest

from bgplab.bgp import events as ev
from bgplab.bgp.capabilities import LocalConfig
from bgplab.bgp.fsm import PeerConfig, PeerFsm
from bgplab.extpeers import BirdDaemon, available

from .sockdriver import SockDriver

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed"),
]

CONF = """
router id {bird_id};
listen bgp address {bird_ip} port {bird_port};
protocol device {{ scan time 10; }}
protocol bgp Peer {{
    local {bird_ip} as 63400;
    source address {bird_ip};
    neighbor {our_ip} port {our_port} as 63400;
    multihop;
    {passive}
    connect delay time 1;
    connect retry time 2;
    error wait time 1, 2;
    add paths on;
    graceful restart;
    import all;
    export all;
}}
"""


def _ips(n: int) -> tuple[str, str]:
    x = (os.getpid() + n) % 250 + 1
    return f"127.1.{x}.11", f"127.1.{x}.12"


@pytest.mark.parametrize(
    "bird_passive,we_passive,bird_id",
    [
        (True, False, "10.0.0.2"),  # we dial
        (False, True, "10.0.0.2"),  # BIRD dials
        (False, False, "10.0.0.2"),  # both dial: BIRD's id is higher
        (False, False, "10.0.0.0"),  # both dial: ours is higher
    ],
)
def test_session_with_bird(bird_passive: bool, we_passive: bool, bird_id: str) -> None:
    our_ip, bird_ip = _ips(
        int(bird_passive) + 2 * int(we_passive) + (4 if bird_id.endswith("0") else 0)
    )
    import socket

    with socket.socket() as probe:
        probe.bind((bird_ip, 0))
        bird_port = probe.getsockname()[1]
    local = LocalConfig(63400, IPv4Address("10.0.0.1"), add_path={(1, 1): 3}, graceful_restart=True)
    # a real session: the connect timers get RFC 4271's jitter, as bgplabd's do
    fsm = PeerFsm(PeerConfig(local, 63400, passive=we_passive, connect_delay_time=1,
                             jitter=lambda: random.uniform(0.75, 1.0)))
    drv = SockDriver(fsm, our_ip, (bird_ip, bird_port))
    conf = CONF.format(
        bird_id=bird_id,
        bird_ip=bird_ip,
        bird_port=bird_port,
        our_ip=our_ip,
        our_port=drv.port,
        passive="passive on;" if bird_passive else "",
    )
    bird = BirdDaemon(1, conf)
    try:
        bird.start()
        fsm.start()
        # Established, and still so 3 s later: when both sides dial at once
        # the loser of the collision must not take the session down. (If
        # one side is already Established when the other resolves the
        # collision, both connections can die - BIRD against BIRD too -
        # and the retry after connect delay settles it.)
        deadline = 45.0
        stable = False
        while deadline > 0 and not stable:
            assert drv.run(lambda: fsm.established, timeout=deadline), [
                type(e).__name__ for e in drv.log
            ]
            sess = fsm.session_conn
            drv.run(lambda s=sess: fsm.session_conn != s, timeout=3)
            stable = fsm.established and fsm.session_conn == sess
            deadline -= 5
        assert stable
        out = bird.birdc("show protocols all Peer")
        assert "Established" in out, out
        assert "add-path-rx add-path-tx" in out
        neg = fsm.negotiated
        assert neg.peer_router_id == IPv4Address(bird_id)
        assert neg.add_path_rx == {(1, 1)}
        dialed = {e.conn_id for e in drv.log if isinstance(e, ev.OpenConnection)}
        if bird_passive:
            assert fsm.session_conn in dialed and not drv.accepted
        elif we_passive:
            assert fsm.session_conn in drv.accepted and not dialed
        # Collisions end in Ceases (6/7, or 6/0 when BIRD restarts after
        # losing a session to one); never in a protocol error.
        errors = [
            e
            for e in drv.log
            if isinstance(e, (ev.NotificationSent, ev.NotificationReceived))
            and e.notification.code != 6
        ]
        assert not errors, errors
        # a clean shutdown reaches BIRD as a Cease
        fsm.stop(2, "bye")
        drv.run(lambda: False, timeout=1)
        out = bird.birdc("show protocols all Peer")
        assert "Administrative shutdown" in out, out
    finally:
        drv.close()
        bird.stop()
