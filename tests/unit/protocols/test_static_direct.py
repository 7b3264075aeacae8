"""Static and direct routes follow the interfaces on the context (no root).

The interfaces are published with ``ctx.set_iface`` exactly as the device
protocol does; the interop tests drive the same protocols from netlink.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from typing import Any

from bgplab import net
from bgplab.config import parse_text
from bgplab.protocols.direct import DirectProtocol
from bgplab.protocols.static import StaticProtocol
from bgplab.rib.context import DaemonContext
from bgplab.rib.protocol import Interface, InterfaceAddr
from bgplab.rib.route import Dest

CONF = """router id 192.168.0.40;
protocol direct { interface -"cali*", -"kube-ipvs*", "*"; }
protocol static {
  route 10.41.0.0/16 via 192.168.0.40;
  route 10.44.0.0/16 blackhole;
  route 10.47.0.0/16 multipath via 192.168.0.7 weight 2 via 192.168.2.15;
  route 10.48.0.0/16 via 192.168.2.14;
  route 10.49.0.0/16 via "eth0";
  route 10.50.0.0/16 via 172.16.0.1;
}
protocol static checked { check link; route 10.60.0.0/16 via 192.168.2.14; }
"""


def protos(text: str = CONF) -> dict[str, Any]:
    return {p.name: p for p in parse_text(text).protocols}


def iface(name: str, index: int, *cidrs: str, up: bool = True, link: bool = True) -> Interface:
    addrs = []
    for c in cidrs:
        a, _, plen = c.partition("/")
        v, v6 = net.ip_to_int(a)
        addrs.append(InterfaceAddr(a, net.make(v, int(plen), v6), v6))
    return Interface(name, index, up=up, link_up=link, addrs=addrs)


def make_ctx() -> DaemonContext:
    ctx = DaemonContext(IPv4Address("192.168.0.40"))
    ctx.set_iface("lo", iface("lo", 1, "127.0.0.1/8", "::1/128"))
    ctx.set_iface("eth1", iface("eth1", 2, "192.168.0.40/24", "fe80::1/64"))
    ctx.set_iface("eth0", iface("eth0", 3, "192.168.2.16/24"))
    ctx.set_iface("cali12ab", iface("cali12ab", 4, "10.99.0.1/24"))
    return ctx


def best(ctx: DaemonContext, prefix: str) -> Any:
    return ctx.table("master").best(net.parse(prefix))


def test_static_forms_and_interface_changes() -> None:
    async def main() -> None:
        ctx = make_ctx()
        static = StaticProtocol(protos()["static1"], ctx)
        await static.start()
        own = best(ctx, "10.41.0.0/16")
        assert (own.dest, own.gw, own.iface, own.pref) == (Dest.ROUTER, "192.168.0.40", "eth1", 200)
        assert best(ctx, "10.44.0.0/16").dest == Dest.BLACKHOLE
        mp = best(ctx, "10.47.0.0/16")
        assert mp.dest == Dest.MULTIPATH
        assert [(h.gw, h.iface, h.weight) for h in mp.nexthops] == [
            ("192.168.0.7", "eth1", 2),
            ("192.168.2.15", "eth0", 1),
        ]
        assert best(ctx, "10.48.0.0/16").iface == "eth0"
        assert best(ctx, "10.49.0.0/16").dest == Dest.DEVICE
        assert best(ctx, "10.50.0.0/16") is None  # gateway on no connected prefix

        ctx.set_iface("eth0", iface("eth0", 3, "192.168.2.16/24", up=False))
        assert best(ctx, "10.48.0.0/16") is None and best(ctx, "10.49.0.0/16") is None
        assert [h.gw for h in best(ctx, "10.47.0.0/16").nexthops] == ["192.168.0.7"]
        ctx.set_iface("eth0", None)
        ctx.set_iface("eth0", iface("eth0", 3, "192.168.2.16/24"))
        assert best(ctx, "10.48.0.0/16").gw == "192.168.2.14"
        assert len(best(ctx, "10.47.0.0/16").nexthops) == 2
        await static.stop()
        assert len(ctx.table("master")) == 0

    asyncio.run(main())


def test_static_check_link_and_reconfigure() -> None:
    async def main() -> None:
        ctx = make_ctx()
        checked = StaticProtocol(protos()["checked"], ctx)
        await checked.start()
        assert best(ctx, "10.60.0.0/16") is not None
        ctx.set_iface("eth0", iface("eth0", 3, "192.168.2.16/24", link=False))
        assert best(ctx, "10.60.0.0/16") is None  # no carrier
        ctx.set_iface("eth0", iface("eth0", 3, "192.168.2.16/24"))
        new = protos("protocol static checked { check link; route 10.61.0.0/16 blackhole; }")
        assert checked.reconfigure(new["checked"])
        assert best(ctx, "10.60.0.0/16") is None and best(ctx, "10.61.0.0/16") is not None
        await checked.stop()

    asyncio.run(main())


def test_direct_patterns_scopes_and_shared_prefixes() -> None:
    async def main() -> None:
        ctx = make_ctx()
        direct = DirectProtocol(protos()["direct1"], ctx)
        await direct.start()
        table = ctx.table("master")
        assert sorted(net.to_str(n) for n, _ in table) == ["192.168.0.0/24", "192.168.2.0/24"]
        r = best(ctx, "192.168.0.0/24")
        assert (r.dest, r.iface, r.pref) == (Dest.DEVICE, "eth1", 240)
        # the same prefix on a second interface: one route, handed over on removal
        ctx.set_iface("eth2", iface("eth2", 5, "192.168.0.41/24"))
        assert best(ctx, "192.168.0.0/24").iface == "eth1"
        ctx.set_iface("eth1", iface("eth1", 2, "192.168.0.40/24", up=False))
        assert best(ctx, "192.168.0.0/24").iface == "eth2"
        ctx.set_iface("eth2", None)
        assert best(ctx, "192.168.0.0/24") is None
        ctx.set_iface("kube-ipvs0", iface("kube-ipvs0", 6, "10.43.0.10/32"))
        ctx.set_iface("tunl0", iface("tunl0", 7, "10.41.113.192/32"))
        assert best(ctx, "10.43.0.10/32") is None
        assert best(ctx, "10.41.113.192/32").iface == "tunl0"
        await direct.stop()
        assert len(table) == 0
        ctx.set_iface("eth1", iface("eth1", 2, "192.168.0.40/24"))
        assert len(table) == 0  # stopped: no longer listening

    asyncio.run(main())
