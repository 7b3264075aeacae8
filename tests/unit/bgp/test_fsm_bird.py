"""The session FSM against a real BIRD 1.6 on loopback: opening in both
directions and the collision when both sides dial at once."""

from __future__ import annotations

import os
import random
import socket
import time
from ipaddress import IPv4Address
from pathlib import Path

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


# /proc/net/tcp states of a socket whose owner has not closed it: established,
# connecting, or closed by the peer but not by us (not yet read)
_LIVE = {"01", "02", "03", "08"}


def _hex(ip: str) -> str:
    return socket.inet_aton(ip)[::-1].hex().upper()  # /proc prints it little-endian


def live_tcp(local_ip: str, remote_ip: str) -> set[tuple[int, int]]:
    """(local port, remote port) of the kernel's TCP sockets from ``local_ip`` to
    ``remote_ip`` that we have not closed, accepted by us or not yet."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        (la, lp), (ra, rp) = f[1].split(":"), f[2].split(":")
        if la == _hex(local_ip) and ra == _hex(remote_ip) and f[3] in _LIVE:
            out.add((int(lp, 16), int(rp, 16)))
    return out


def bird_state(bird: BirdDaemon) -> str:
    """``show protocols all Peer`` on BIRD's control socket (no birdc process)."""
    return "\n".join(bird.raw("show protocols all Peer"))


def settled(fsm: PeerFsm, drv: SockDriver, our_ip: str, bird_ip: str, bird: BirdDaemon) -> bool:
    """One session and nothing else: we are Established on a connection that
    is the only one between the two addresses the kernel knows (so no loser
    of a collision is still on its way in, accepted or not), and BIRD says
    Established too. From here neither side dials: BIRD stops dialing when
    an OPEN arrives, we when a session comes up."""
    sock = drv.socks.get(fsm.session_conn) if fsm.established else None
    if sock is None or len(drv.socks) != 1:
        return False
    try:
        ports = (sock.getsockname()[1], sock.getpeername()[1])
    except OSError:  # the peer has reset it: not settled
        return False
    if live_tcp(our_ip, bird_ip) != {ports}:
        return False
    return "Established" in bird_state(bird)


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
    with socket.socket() as probe:
        probe.bind((bird_ip, 0))
        bird_port = probe.getsockname()[1]
    local = LocalConfig(63400, IPv4Address("10.0.0.1"), add_path={(1, 1): 3}, graceful_restart=True)
    # a real session: the connect timers get RFC 4271's jitter, as bgplabd's do
    fsm = PeerFsm(
        PeerConfig(
            local,
            63400,
            passive=we_passive,
            connect_delay_time=1,
            jitter=lambda: random.uniform(0.75, 1.0),
        )
    )
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
        # One session, settled: when both sides dial at once, the loser of the
        # collision must not take it down. (A connection that reaches a side
        # already Established is a graceful restart to BIRD, and ends that
        # session; to us too unless the session is one we dialed less than
        # CROSSING_WINDOW ago. The retry after connect delay settles it.) A
        # fixed wait proves nothing under load, where the test may not run at
        # all for seconds: wait until the kernel shows the loser gone.
        ok = drv.run(lambda: settled(fsm, drv, our_ip, bird_ip, bird), timeout=60)
        assert ok, ([type(e).__name__ for e in drv.log], bird_state(bird))
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
        # a clean shutdown reaches BIRD as a Cease: we send it and close, and
        # then only watch BIRD (a reconnect of BIRD's, which we would refuse,
        # would replace its last error)
        fsm.stop(2, "bye")
        assert drv.run(lambda: not drv.socks, timeout=5)
        deadline = time.monotonic() + 15
        while "Administrative shutdown" not in (out := bird_state(bird)):
            assert time.monotonic() < deadline, out
            time.sleep(0.05)
    finally:
        drv.close()
        bird.stop()
