"""bgplabd6's control socket answers as bird6's does.

The same bird6 configuration runs under real bird6 and under bgplabd6,
each in its own namespace pair with the same bird6 peer (a Calico-like
node: iBGP, route-reflector client, a /122 block and /128 pod routes);
every command's raw reply (codes included) must be the same, with times
and timers masked.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available
from bgplab.launch import BgplabDaemon

from .ipv6net import R4, R6, established, ip, p4, p6, pair
from .test_birdc_compat import mask_export_churn, normalize
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop]

ROUTER = f"""
router id {R4};
filter calico_export_to_bgp_peers {{
  if ( net ~ fd00:10:41::/48 ) then {{ accept; }}
  reject;
}}
protocol kernel {{ learn; persist; scan time 2; import all; export all;
  graceful restart; merge paths on; }}
protocol device {{ scan time 2; }}
protocol direct {{ interface -"cali*", "*"; }}
protocol static {{ route fd00:10:41:1::/122 blackhole; route fd00:10:41:1::5/128 via {p6(2)}; }}
template bgp bgp_template {{
  local as 63400; multihop; gateway recursive; import all;
  export filter calico_export_to_bgp_peers; source address {R6}; add paths on;
  graceful restart; connect delay time 1; connect retry time 2; error wait time 1,5;
}}
protocol bgp node2 from bgp_template {{ rr client; neighbor {p6(2)} as 63400; }}
protocol bgp node3 from bgp_template {{ rr client; neighbor {p6(3)} as 63400; passive on; }}
"""

NODE = f"""
router id {p4(2)};
listen bgp address {p6(2)};
protocol device {{ scan time 2; }}
protocol direct {{ interface "eth0"; }}
protocol static {{
  route fd00:10:41:2::/122 blackhole;
  route fd00:10:41:2::7/128 via {p6(2)};
}}
protocol bgp uplink {{
  local {p6(2)} as 63400; neighbor {R6} as 63400; multihop; import all; export all;
  graceful restart; passive on; add paths on;
}}
"""

COMMANDS = [
    "show status",
    "show protocols",
    pytest.param(
        "show protocols all",
        marks=pytest.mark.xfail(
            strict=True,
            reason="BIRD's kernel protocol counts a replaced best route as one more export"
            " (6 exported for 5 nets here); bgplabd counts nets (as for IPv4 in"
            " test_birdc_compat)",
        ),
    ),
    "show protocols all device1",
    "show protocols all direct1",
    "show protocols all static1",
    "show protocols all node2",
    "show route",
    "show route all",
    "show route count",
    "show route primary",
    "show route for fd00:10:41:2::7",
    "show route for fd00:10:41:2::9 all",
    "show route fd00:10:41:2::/122",
    "show route protocol node2 all",
    "show route export node2",
    "show route export kernel1",
    "show route where net ~ fd00:10:41::/48",
    "show route filter calico_export_to_bgp_peers",
    "show static",
    "show interfaces",
    "show interfaces summary",
    # errors
    "show route for 2001:db8:99::1",
    "show route fd00:10:41:2::1/122",
    "show route 10.0.0.0/8",
    "show route for 10.0.0.1",
    "show route where net ~ 10.0.0.0/8",
    "show protocols nope",
]


def _norm(text: str) -> str:
    return mask_export_churn(re.sub(r"index=\d+", "index=N", normalize(text)))


@pytest.fixture(scope="module")
def routers() -> Iterator[tuple[ExternalDaemon, ExternalDaemon]]:
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is needed (scripts/install)")
    with contextlib.ExitStack() as stack:
        out = []
        for kind in ("bird6", "bgplabd6"):
            net = stack.enter_context(pair(peers=1))
            # a workload interface, which direct excludes
            ip(net.r, "link", "add", "cali1", "type", "veth", "peer", "name", "calipeer")
            ip(net.r, "addr", "add", "fd00:99::1/64", "dev", "cali1", "nodad")
            for dev in ("cali1", "calipeer"):
                ip(net.r, "link", "set", dev, "addrgenmode", "none")  # no random link-local
                ip(net.r, "link", "set", dev, "up")
            ip(net.r, "addr", "add", "fe80::ecee:eeff:feee:eeee/64", "dev", "cali1", "nodad")
            node = BirdDaemon(1, NODE, netns=net.p, ipv6=True)
            stack.callback(node.stop)
            node.start()
            router: ExternalDaemon = (
                BirdDaemon(1, ROUTER, netns=net.r, ipv6=True)
                if kind == "bird6"
                else BgplabDaemon(ROUTER, netns=net.r, ipv6=True)
            )
            stack.callback(router.stop)
            router.start()  # type: ignore[attr-defined]
            wait_for(
                f"{kind}: node2 Established",
                lambda r=router: established(r, "node2"),
            )
            wait_for(
                f"{kind}: the node's routes",
                lambda r=router: all(
                    p in r.birdc("show route")
                    for p in ("fd00:10:41:2::/122", "fd00:10:41:2::7/128")
                ),
            )
            out.append(router)
        yield out[0], out[1]


@pytest.mark.parametrize("command", COMMANDS)
def test_reply_as_bird6(routers: tuple[ExternalDaemon, ExternalDaemon], command: str) -> None:
    bird6, ours = routers
    want = _norm("\n".join(bird6.raw(command)))  # type: ignore[attr-defined]
    got = _norm("\n".join(ours.raw(command)))  # type: ignore[attr-defined]
    assert got == want


def test_configure_refuses_the_other_family(
    routers: tuple[ExternalDaemon, ExternalDaemon], tmp_path: Path
) -> None:
    """`configure` with an IPv4 route in bgplabd6's file: refused in one line
    at file:line:col (bird6 refuses it too), the running configuration stays."""
    bird6, ours = routers
    bad = tmp_path / "bird6.conf"
    bad.write_text(
        ROUTER.replace("route fd00:10:41:1::/122 blackhole;", "route 10.41.1.0/26 blackhole;")
    )
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "10.41.1.0" in t)
    for d in (bird6, ours):
        reply = d.raw(f'configure "{bad}"')  # type: ignore[attr-defined]
        assert reply[-1].startswith("8002 "), reply
    got = ours.raw(f'configure "{bad}"')[-1]  # type: ignore[attr-defined]
    assert got.startswith(f"8002 {bad}:{line}:")
    assert "This is an IPv6 router, therefore IPv4 addresses are not supported" in got
    assert "fd00:10:41:1::/122" in ours.birdc("show route")  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["show status", "show protocols", "show route all"])
def test_real_birdc6_against_bgplabd6(
    routers: tuple[ExternalDaemon, ExternalDaemon], command: str
) -> None:
    """Real birdc6 on bgplabd6's socket prints what it prints for bird6."""
    import subprocess

    from bgplab.extpeers import birdc_binary

    def birdc6(d: ExternalDaemon) -> str:
        argv = [str(birdc_binary(1, ipv6=True)), "-s", str(d.socket), *command.split()]  # type: ignore[attr-defined]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        assert res.returncode == 0, res.stderr
        return _norm(res.stdout)

    bird6, ours = routers
    assert birdc6(ours) == birdc6(bird6)
