"""BIRD 1.6 text layout from real rib objects (no sockets)."""

from __future__ import annotations

import time
from ipaddress import IPv4Address

from bgplab import net as netmod
from bgplab.bgp.attrs import PathAttrs
from bgplab.cli import render
from bgplab.rib.protocol import Interface, InterfaceAddr
from bgplab.rib.route import Dest, NextHop

from .fakedaemon import BgpProto, FakeDaemon, StaticProto, small_daemon


def test_frame_uses_bird_continuation_rules() -> None:
    lines = [
        (2002, "head"),
        (1002, "a"),
        (1002, "b"),
        (1006, "x"),
        (1006, ""),
        (1002, "c"),
        (0, ""),
    ]
    assert list(render.frame(lines)) == [
        "2002-head",
        "1002-a",
        " b",
        "1006-x",
        " ",
        "1002-c",
        "0000 ",
    ]
    assert list(render.frame([(9001, "syntax error")])) == ["9001 syntax error"]
    # a text with a newline stays inside the same reply code
    assert list(render.frame([(8002, "a\nb")])) == ["8002-a", "8002 b"]


def test_fib_order_is_bird_hash_order() -> None:
    # the order real BIRD 1.6.8 printed these nets in (golden test setup)
    bird = ["10.99.0.0/16", "10.41.0.0/16", "10.50.0.0/24", "10.50.1.0/24", "10.41.113.192/26"]
    nets = [netmod.parse(n) for n in sorted(bird)]
    assert [netmod.to_str(n) for n in render.fib_order(nets)] == bird


def test_format_time_switches_to_date_after_limit() -> None:
    now = time.mktime((2022, 3, 18, 10, 0, 0, 0, 0, -1))
    tf = ("%T", "72000", "%F")
    assert render.format_time(now - 60, tf, now) == "09:59:00"
    assert render.format_time(now - 3 * 86400, tf, now) == "2022-03-15"
    assert render.format_time(now, ("%s",), now) == str(int(now))


def _bgp(d: FakeDaemon, **kw: object) -> BgpProto:
    return d.add(
        BgpProto,
        "Node_192_168_0_25",
        neighbor_address="192.168.0.25",
        neighbor_as=63400,
        local_as=63400,
        multihop=None,
        gateway="recursive",
        **kw,
    )


def test_route_line_like_the_seed() -> None:
    d = FakeDaemon()
    p = _bgp(d)
    attrs = PathAttrs(origin=0, as_path=(), next_hop=IPv4Address("192.168.0.25"), local_pref=100)
    r = d.route(
        p,
        "10.41.57.192/26",
        gw="192.168.0.25",
        iface="eth1",
        attrs=attrs,
        from_addr="192.168.0.25",
        since=time.time(),
    )
    ((code, text),) = render.route_lines("10.41.57.192/26", r, True, False, d, time.time())
    assert code == 1007
    # BIRD prints "from" only when it differs from the gateway
    assert text.startswith("10.41.57.192/26    via 192.168.0.25 on eth1 [Node_192_168_0_25 ")
    assert text.endswith("] * (100/0) [i]")


def test_bgp_info_variants() -> None:
    d = FakeDaemon()
    direct = d.add(
        BgpProto,
        "ebgp",
        neighbor_address="192.0.2.1",
        neighbor_as=65002,
        local_as=65001,
        multihop=None,
        gateway=None,
    )
    a = PathAttrs(origin=2, as_path=((2, (65002, 65003)),), next_hop=IPv4Address("192.0.2.1"))
    r = d.route(direct, "10.0.0.0/8", gw="192.0.2.1", iface="eth0", attrs=a)
    assert render.route_info(r) == " (100) [AS65003?]"  # single-hop eBGP: no IGP metric
    ibgp = _bgp(d)
    r2 = d.route(ibgp, "10.1.0.0/16", dest=Dest.UNREACHABLE, attrs=a)
    assert render.route_info(r2) == " (100/-) [AS65003?]"
    r3 = d.route(
        ibgp,
        "10.2.0.0/16",
        gw="192.0.2.1",
        iface="eth0",
        attrs=a,
        igp_metric=render.IGP_METRIC_UNKNOWN,
    )
    assert render.route_info(r3) == " (100/?) [AS65003?]"


def test_route_all_attribute_lines_in_type_code_order() -> None:
    d = FakeDaemon()
    p = _bgp(d)
    a = PathAttrs(
        origin=1,
        as_path=((2, (65001,)), (1, (65005, 65006))),
        next_hop=IPv4Address("192.0.2.9"),
        med=7,
        local_pref=200,
        atomic_aggregate=True,
        aggregator=(65001, IPv4Address("192.0.2.1")),
        communities=((1, 2),),
        originator_id=IPv4Address("1.1.1.1"),
        cluster_list=(IPv4Address("2.2.2.2"), IPv4Address("3.3.3.3")),
        ext_communities=((0x0002 << 48) | (65000 << 32) | 100,),
        large_communities=((1, 2, 3),),
    )
    r = d.route(p, "10.9.0.0/16", gw="192.0.2.9", iface="eth0", attrs=a)
    texts = [t for _c, t in render.route_attr_lines(r)]
    assert texts == [
        "\tType: BGP unicast univ",
        "\tBGP.origin: EGP",
        "\tBGP.as_path: 65001 {65005 65006}",
        "\tBGP.next_hop: 192.0.2.9",
        "\tBGP.med: 7",
        "\tBGP.local_pref: 200",
        "\tBGP.atomic_aggr: ",
        "\tBGP.aggregator: 192.0.2.1 AS65001",
        "\tBGP.community: (1,2)",
        "\tBGP.originator_id: 1.1.1.1",
        "\tBGP.cluster_list: 2.2.2.2 3.3.3.3",
        "\tBGP.ext_community: (rt, 65000, 100)",
        "\tBGP.large_community: (1, 2, 3)",
    ]


def test_multipath_and_device_routes() -> None:
    d = FakeDaemon()
    st = d.add(StaticProto, "static1")
    nhs = (NextHop("192.0.2.1", "eth0", 1), NextHop("192.0.2.2", "eth1", 2))
    r = d.route(st, "10.43.0.0/16", dest=Dest.MULTIPATH, nexthops=nhs)
    lines = render.route_lines("10.43.0.0/16", r, True, False, d, time.time())
    assert lines[0][1].startswith("10.43.0.0/16       multipath [static1 ")
    assert lines[1:] == [
        (1007, "\tvia 192.0.2.1 on eth0 weight 1"),
        (1007, "\tvia 192.0.2.2 on eth1 weight 2"),
    ]
    r2 = d.route(st, "10.44.0.0/16", dest=Dest.DEVICE, iface="eth0")
    assert render.via_text(r2) == "dev eth0"


def test_show_protocols_columns() -> None:
    d = small_daemon()
    lines = render.show_protocols(d, list(d.protocols.values()), False)
    assert lines[0] == (2002, "name     proto    table    state  since       info")
    row = dict((t.split()[0], t) for c, t in lines if c == 1002)
    assert row["peer_b"].startswith("peer_b   BGP      master   up     ")
    assert row["peer_b"].endswith("  Established   ")
    assert row["peer_c"].endswith("Active        Socket: Connection refused")
    assert lines[-1] == (0, "")


def test_interfaces_and_summary() -> None:
    ifaces = {
        "lo": Interface(
            "lo",
            1,
            up=True,
            link_up=True,
            mtu=65536,
            flags={"loopback"},
            addrs=[InterfaceAddr("127.0.0.1", netmod.parse("127.0.0.0/8"))],
        ),
        "eth1": Interface(
            "eth1",
            3,
            up=True,
            link_up=True,
            mtu=1500,
            flags={"broadcast", "multicast"},
            addrs=[InterfaceAddr("192.168.0.40", netmod.parse("192.168.0.0/24"))],
        ),
        "eth9": Interface("eth9", 4, up=False, flags={"broadcast", "multicast"}),
    }
    full = render.show_interfaces(ifaces, False)
    assert (1001, "lo up (index=1)") in full
    assert (1004, "\tMultiAccess AdminUp LinkUp Loopback Ignored MTU=65536") in full
    assert (1003, "\t127.0.0.1/8 (Primary, scope host)") in full
    assert (1004, "\tMultiAccess Broadcast Multicast AdminUp LinkUp MTU=1500") in full
    assert (1001, "eth9 DOWN (index=4)") in full
    summary = render.show_interfaces(ifaces, True)
    assert summary[:4] == [
        (2005, "interface state address"),
        (1005, "lo        up    127.0.0.1/8"),
        (1005, "eth1      up    192.168.0.40/24"),
        (1005, "eth9      DOWN  "),
    ]


def test_show_memory_layout() -> None:
    lines = render.show_memory(small_daemon())
    assert lines[0] == (1018, "BIRD memory usage")
    labels = [t[:17] for _c, t in lines[1:-1]]
    assert labels == [
        "Routing tables:  ",
        "Route attributes:",
        "ROA tables:      ",
        "Protocols:       ",
        "Total:           ",
    ]
    assert all(t[-2:] in (" B", "kB", "MB", "GB") for _c, t in lines[1:-1])


def test_execute_never_raises_on_word_salad() -> None:
    """Every reply is a list of coded lines ending in a final one."""
    import asyncio
    import random

    from bgplab.cli.execute import Session, execute

    from .test_commands import WORDS

    d = small_daemon()
    rng = random.Random(5)

    async def run_many() -> None:
        for _ in range(600):
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 7)))
            reply = await execute(d, line, Session())
            lines = list(reply.lines)
            assert lines, line
            assert all(isinstance(c, int) and isinstance(t, str) for c, t in lines)
            framed = list(render.frame(lines))
            assert framed[-1][4] == " "

    asyncio.run(run_many())
