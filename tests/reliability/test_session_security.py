"""Only configured neighbours get a session: unknown addresses, TCP-MD5
(RFC 2385) and GTSM (RFC 5082), against real BIRD 1.6 on loopback
(127.2.4.0/24)."""

from __future__ import annotations

import socket
import time

import pytest

from bgplab.extpeers import BirdDaemon, available
from bgplab.launch import BgplabDaemon
from tests.interop.birdout import protocol_states
from tests.interop.test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop,
              pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed")]

RR, PEER, STRANGER = "127.2.4.1", "127.2.4.2", "127.2.4.9"


def router(extra: str = "") -> str:
    return f"""
router id {RR};
listen bgp address {RR};
protocol bgp peer1 {{
  local as 63400; neighbor {PEER} as 63400; multihop; source address {RR};
  import all; export all; connect delay time 1; connect retry time 2; error wait time 1,2;
  {extra}
}}
"""


def bird_peer(extra: str = "") -> str:
    return f"""
router id {PEER};
listen bgp address {PEER};
protocol bgp reflector {{
  local as 63400; neighbor {RR} as 63400; multihop; source address {PEER};
  import all; export all; connect delay time 1; connect retry time 2; error wait time 1,2;
  {extra}
}}
"""


def established(d: BgplabDaemon, name: str = "peer1") -> bool:
    return protocol_states(d.birdc("show protocols"))[name][1].startswith("Established")


def test_unknown_address_is_closed_before_anything_is_parsed() -> None:
    with BgplabDaemon(router()) as d:
        d.start()
        s = socket.socket()
        s.bind((STRANGER, 0))
        s.settimeout(5)
        s.connect((RR, 179))
        # we send nothing; the daemon closes without sending its OPEN
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        s.close()
        assert data == b""
        time.sleep(0.2)
        assert "Unexpected connect from unknown address 127.2.4.9" in d.log()
        assert d.alive()


@pytest.mark.parametrize("peer_password,up", [("s3cret", True), ("wrong", False)])
def test_md5_password_with_bird(peer_password: str, up: bool) -> None:
    with BgplabDaemon(router('password "s3cret";')) as d, \
            BirdDaemon(1, bird_peer(f'password "{peer_password}";')) as b:
        d.start()
        b.start()
        if up:
            wait_for("MD5 session", lambda: established(d))
        else:
            time.sleep(8)  # several connect attempts in both directions
            assert not established(d)
            assert "Established" not in b.birdc("show protocols")


@pytest.mark.parametrize("peer_gtsm,up", [(True, True), (False, False)])
def test_ttl_security(peer_gtsm: bool, up: bool) -> None:
    peer_extra = "ttl security on;" if peer_gtsm else ""
    with BgplabDaemon(router("ttl security on;")) as d, BirdDaemon(1, bird_peer(peer_extra)) as b:
        d.start()
        b.start()
        if up:
            wait_for("GTSM session", lambda: established(d))
        else:
            # the peer sends TTL 64 (multihop default): 64 < 255 - (64 - 1) is
            # never accepted by our socket, so no session comes up
            time.sleep(8)
            assert not established(d)
