"""An IPv4 and an IPv6 speaker side by side in one namespace on port 179,
as BIRD 1.6 runs ``bird`` and ``bird6``: bgplabd beside bgplabd6, bgplabd
beside real bird6, real bird beside bgplabd6, each pair in both start
orders. The router's namespace holds the pair; real BIRD 1.6 peers (bird
and bird6) in the other namespace dial in, so every session that comes up
went through the listener of its family.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available
from bgplab.launch import BgplabDaemon

from .ipv6net import R4, R6, established, ip, nsexec, p4, p6, pair
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop]

ROUTER4 = f"""
router id {R4};
protocol device {{ scan time 2; }}
protocol kernel {{ scan time 2; export all; }}
protocol static {{ route 10.61.0.0/24 blackhole; }}
protocol bgp node4 {{
  local as 64512; neighbor {p4(2)} as 64512; passive on; rr client;
  import all; export all; error wait time 1,5;
}}
"""

ROUTER6 = f"""
router id {R4};
protocol device {{ scan time 2; }}
protocol kernel {{ scan time 2; export all; }}
protocol static {{ route 2001:db8:61::/48 blackhole; }}
protocol bgp node6 {{
  local as 64512; neighbor {p6(2)} as 64512; passive on; rr client;
  import all; export all; error wait time 1,5;
}}
"""


def _peer(local: str, router: str) -> str:
    """A BIRD 1.6 peer (bird or bird6 by the addresses) that dials the router."""
    return f"""
router id {p4(2)};
listen bgp address {local};
protocol device {{ }}
protocol bgp uplink {{
  local {local} as 64512; neighbor {router} as 64512; import all; export none;
  connect delay time 1; connect retry time 2; error wait time 1,5;
}}
"""


PEER4 = _peer(p4(2), R4)
PEER6 = _peer(p6(2), R6)


def _speaker(kind: str, ns: str) -> ExternalDaemon:
    if kind == "bgplabd":
        return BgplabDaemon(ROUTER4, netns=ns)
    if kind == "bgplabd6":
        return BgplabDaemon(ROUTER6, netns=ns, ipv6=True)
    if kind == "bird":
        return BirdDaemon(1, ROUTER4, netns=ns)
    return BirdDaemon(1, ROUTER6, netns=ns, ipv6=True)


@pytest.fixture
def stopper() -> Iterator[list[ExternalDaemon]]:
    started: list[ExternalDaemon] = []
    yield started
    for d in reversed(started):
        d.stop()


@pytest.mark.parametrize(
    "v4,v6", [("bgplabd", "bgplabd6"), ("bgplabd", "bird6"), ("bird", "bgplabd6")]
)
@pytest.mark.parametrize("first", ["v4", "v6"])
def test_both_families_share_port_179(
    v4: str, v6: str, first: str, stopper: list[ExternalDaemon]
) -> None:
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is needed (scripts/install)")
    with pair(peers=1) as net:
        order = [v4, v6] if first == "v4" else [v6, v4]
        routers = {}
        for kind in order:
            d = _speaker(kind, net.r)
            stopper.append(d)
            d.start()  # type: ignore[attr-defined]
            routers[kind] = d
        listening = nsexec(net.r, "ss", "-Hltn", "sport", "= :179")
        assert "0.0.0.0:179" in listening and "[::]:179" in listening, listening
        peer4 = BirdDaemon(1, PEER4, netns=net.p)
        stopper.append(peer4)
        peer4.start()
        peer6 = BirdDaemon(1, PEER6, netns=net.p, ipv6=True)
        stopper.append(peer6)
        peer6.start()
        r4, r6 = routers[v4], routers[v6]
        wait_for("IPv4 session", lambda: established(r4, "node4"))
        wait_for("IPv6 session", lambda: established(r6, "node6"))
        # each family's routes reach the kernel only through its own speaker
        wait_for("IPv4 route at the peer", lambda: "10.61.0.0/24" in peer4.birdc("show route"))
        wait_for("IPv6 route at the peer", lambda: "2001:db8:61::/48" in peer6.birdc("show route"))
        for d in (r4, r6):
            assert d.alive(), d.log()
        assert "Address already in use" not in r4.log() + r6.log()
        assert ip(net.r, "-4", "route", "show", "proto", "bird").split() == [
            "blackhole",
            "10.61.0.0/24",
        ]
        assert ip(net.r, "-6", "route", "show", "proto", "bird").split()[:2] == [
            "blackhole",
            "2001:db8:61::/48",
        ]


@pytest.mark.parametrize("dual", [False, True])
def test_v6only_unless_listen_bgp_dual(dual: bool) -> None:
    """The IPv6 wildcard socket takes no IPv4 connection (IPV6_V6ONLY),
    unless ``listen bgp dual``; loopback only, an unprivileged port."""
    import asyncio
    import socket

    from bgplab.io.bgp_transport import Listener

    async def check() -> bool:
        seen: list[str] = []
        listener = Listener(None, 0, lambda addr: seen.append(addr))  # type: ignore[arg-type,func-returns-value]
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::", 0))
        port = probe.getsockname()[1]
        probe.close()
        listener.port = port
        await listener.start({}, (6,), dual)
        try:
            _r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            w.close()
            await asyncio.sleep(0.1)
            return seen == ["127.0.0.1"]  # the v4-mapped address, unmapped
        except OSError:
            return False
        finally:
            await listener.close()

    assert asyncio.run(check()) is dual
