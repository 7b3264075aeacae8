"""A BGP session over link-local addresses (``neighbor fe80::2%eth0``), as
bird6 runs one: the router under test and a real bird6 peer on one veth,
no global address in the session. Next hops are ``:: fe80::N`` both ways
and routes go via the link-local gateway on the interface; the router's
view, the peer's view and the kernel table must be what they are with real
bird6 as the router. Both opening directions.
"""

from __future__ import annotations

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available
from bgplab.launch import BgplabDaemon

from .ipv6net import P6_LL, R4, R6_LL, established, ip, p4, pair, shown_routes
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop]

OURS, THEIRS = "2001:db8:100::/48", "2001:db8:200::/48"


def router_config(passive: bool) -> str:
    return f"""
router id {R4};
protocol device {{ scan time 2; }}
protocol kernel {{ scan time 2; import all; export all; }}
protocol static {{ route {OURS} blackhole; }}
protocol bgp upstream {{
  neighbor {P6_LL}%eth0 as 65002; local as 64512; import all; export all;
  {"passive on;" if passive else ""} connect delay time 1; connect retry time 2;
  error wait time 1,5;
}}
"""


def peer_config(passive: bool) -> str:
    return f"""
router id {p4(2)};
protocol device {{ scan time 2; }}
protocol static {{ route {THEIRS} blackhole; }}
protocol bgp uplink {{
  neighbor {R6_LL}%eth0 as 64512; local as 65002; import all; export all;
  {"passive on;" if passive else ""} connect delay time 1; connect retry time 2;
}}
"""


def _run(kind: str, router_dials: bool) -> tuple[str, str, str]:
    with pair(peers=1) as net:
        conf = router_config(passive=not router_dials)
        router: ExternalDaemon = (
            BgplabDaemon(conf, netns=net.r, ipv6=True)
            if kind == "bgplabd6"
            else BirdDaemon(1, conf, netns=net.r, ipv6=True)
        )
        peer = BirdDaemon(1, peer_config(passive=router_dials), netns=net.p, ipv6=True)
        try:
            router.start()  # type: ignore[attr-defined]
            peer.start()
            wait_for(f"{kind}: the link-local session", lambda: established(router, "upstream"))
            wait_for(
                f"{kind}: routes both ways",
                lambda: THEIRS in ip(net.r, "-6", "route") and OURS in peer.birdc("show route"),
            )
            return shown_routes(router), shown_routes(peer), ip(net.r, "-6", "route")
        finally:
            peer.stop()
            router.stop()


@pytest.mark.parametrize("router_dials", [True, False], ids=["router-dials", "peer-dials"])
def test_link_local_session_as_bird6(router_dials: bool) -> None:
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is needed (scripts/install)")
    shown, at_peer, table = _run("bgplabd6", router_dials)
    assert f"{THEIRS}  via {P6_LL} on eth0 [upstream T] * (100) [AS65002i]" in shown, shown
    assert f"BGP.next_hop: :: {P6_LL}" in shown, shown
    assert f"{OURS}  via {R6_LL} on eth0 [uplink T] * (100) [AS64512i]" in at_peer, at_peer
    assert f"BGP.next_hop: :: {R6_LL}" in at_peer, at_peer
    assert f"{THEIRS} via {P6_LL} dev eth0 proto bird" in table, table
    assert (shown, at_peer, table) == _run("bird6", router_dials)


def test_link_local_neighbor_needs_its_interface() -> None:
    from bgplab.config import ConfigError, parse_text

    text = "router id 1.2.3.4;\nprotocol bgp x { local as 1; neighbor fe80::2 as 2; }\n"
    with pytest.raises(ConfigError) as info:
        parse_text(text, "bird6.conf", family=6)
    assert str(info.value) == (
        "bird6.conf:2:53: Link-local neighbor address requires specified interface"
    )
    cfg = parse_text(text.replace("fe80::2 as", "fe80::2%eth1 as"), family=6)
    assert (cfg.protocol("x").neighbor_address, cfg.protocol("x").interface) == ("fe80::2", "eth1")
