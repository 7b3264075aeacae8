from __future__ import annotations

from ipaddress import IPv4Address
from types import SimpleNamespace

from bgplab import net
from bgplab.bgp.attrs import PathAttrs
from bgplab.rib.channel import ACCEPT, MODE_ANY, MODE_MERGED, Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.protocol import Protocol, ProtoState
from bgplab.rib.route import Dest, Route, Source


class Recorder(Protocol):
    """A real protocol instance that records what the table exports to it."""

    proto_name = "Test"
    source_type = Source.STATIC
    default_preference = 200

    def __init__(self, name: str, ctx: DaemonContext, mode: str = "optimal",
                 export: object = ACCEPT) -> None:
        super().__init__(SimpleNamespace(name=name), ctx)
        self.events: list[tuple[int, Route | None, Route | None]] = []
        self.merged: list[tuple[int, list[Route]]] = []
        self.channel = Channel(self, ctx.table("master"), ACCEPT, export, mode=mode)
        self.state = ProtoState.UP

    def rt_notify(self, n: int, new: Route | None, old: Route | None) -> None:
        self.events.append((n, new, old))

    def rt_notify_merged(self, n: int, routes: list[Route]) -> None:
        self.merged.append((n, routes))


def ctx() -> DaemonContext:
    return DaemonContext(IPv4Address("192.168.0.40"))


N = net.parse("10.43.0.0/16")


def bgp_route(o: object, nh: str) -> Route:
    return Route(N, PathAttrs(origin=0, next_hop=IPv4Address(nh)), o)  # type: ignore[arg-type]


def test_best_route_export_and_withdraw() -> None:
    c = ctx()
    src = Recorder("src", c)
    dst = Recorder("dst", c)
    r1 = Route(N, None, src, dest=Dest.BLACKHOLE)
    src.channel.import_route(N, r1)
    assert dst.events == [(N, r1, None)]
    assert src.events == []  # never exported back to its own protocol
    assert c.table("master").best(N) is r1
    src.channel.import_withdraw(N)
    assert dst.events[-1] == (N, None, r1)
    assert len(c.table("master")) == 0
    assert src.channel.import_stats.withdraws_accepted == 1


def test_merged_export_carries_all_equal_routes() -> None:
    c = ctx()
    kernel = Recorder("kernel1", c, mode=MODE_MERGED)
    peers = []
    for i, addr in enumerate(["192.168.0.7", "192.168.0.25", "192.168.2.14", "192.168.2.15"]):
        p = Recorder(f"Node_{i}", c)
        p.source_type = Source.BGP
        p.preference = 100
        p.peer_address = addr
        p.peer_router_id = int(IPv4Address(addr))
        p.is_ibgp = True
        peers.append(p)
        p.channel.import_route(N, Route(N, PathAttrs(origin=0, next_hop=IPv4Address(addr)), p,
                                        gw=addr))
    n, routes = kernel.merged[-1]
    assert n == N and sorted(r.gw for r in routes) == sorted(p.peer_address for p in peers)
    peers[0].channel.import_withdraw(N)
    assert len(kernel.merged[-1][1]) == 3


def test_any_mode_sees_every_route() -> None:
    c = ctx()
    watcher = Recorder("w", c, mode=MODE_ANY)
    ch_a = Recorder("a", c)
    ch_b = Recorder("b", c)
    t = c.table("master")
    # a route belongs to the channel of the protocol that is its origin
    ra, rb = bgp_route(ch_a, "192.168.0.7"), bgp_route(ch_b, "192.168.0.25")
    t.update(ch_a.channel, N, 0, ra)
    t.update(ch_b.channel, N, 0, rb)
    assert [e[1] for e in watcher.events] == [ra, rb]
    t.update(ch_a.channel, N, 0, None)
    assert watcher.events[-1] == (N, None, ra)


def test_recursive_next_hop_follows_igp_changes() -> None:
    c = ctx()
    igp = Recorder("static1", c)
    peer = Recorder("peer", c)
    t = c.table("master")
    conn = net.parse("192.168.0.0/24")
    igp.channel.import_route(conn, Route(conn, None, igp, dest=Dest.DEVICE, iface="eth1"))
    he = t.resolve(int(IPv4Address("192.168.0.25")), False, (peer.channel, N, 0))
    assert (he.dest, he.gw, he.iface) == (Dest.ROUTER, "192.168.0.25", "eth1")
    r = Route(N, PathAttrs(next_hop=IPv4Address("192.168.0.25")), peer, gw=he.gw, iface=he.iface)
    peer.channel.import_route(N, r)
    # the connected route moves to another interface: the BGP route follows
    igp.channel.import_route(conn, Route(conn, None, igp, dest=Dest.DEVICE, iface="eth9"))
    assert t.best(N).iface == "eth9"
    igp.channel.import_withdraw(conn)
    assert t.best(N).dest == Dest.UNREACHABLE


def test_longest_match() -> None:
    c = ctx()
    p = Recorder("p", c)
    for text in ["10.0.0.0/8", "10.41.0.0/16", "10.41.57.192/26"]:
        n = net.parse(text)
        p.channel.import_route(n, Route(n, None, p, dest=Dest.BLACKHOLE))
    t = c.table("master")
    assert net.to_str(t.longest_match(int(IPv4Address("10.41.57.200")))) == "10.41.57.192/26"
    assert net.to_str(t.longest_match(int(IPv4Address("10.41.1.1")))) == "10.41.0.0/16"
    assert t.longest_match(int(IPv4Address("11.0.0.1"))) is None
    # `show route for 10.41.57.200/24`: nothing longer than /24 counts
    assert net.to_str(t.longest_match(int(IPv4Address("10.41.57.200")), max_len=24)) == (
        "10.41.0.0/16")


def test_a_route_sent_again_unchanged_is_ignored_as_in_bird() -> None:
    """BIRD's rte_same: the same attributes, forwarding, preference and flags
    make an update "ignored"; the table keeps the route it has (with its age)
    and nobody is told. A change to any of them is an update."""
    c = ctx()
    src = Recorder("src", c)
    dst = Recorder("dst", c)
    a = PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7"))
    first = Route(N, a, src, gw="192.168.0.7", iface="eth1", since=1.0)
    src.channel.import_route(N, first)
    again = Route(N, PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7")), src,
                  gw="192.168.0.7", iface="eth1", since=2.0)  # equal attributes, later
    src.channel.import_route(N, again)
    st = src.channel.import_stats
    assert (st.updates_received, st.updates_accepted, st.updates_ignored) == (2, 1, 1)
    assert c.table("master").best(N) is first and len(dst.events) == 1
    for change in ({"gw": "192.168.0.8"}, {"stale": True}, {"pref": 50},
                   {"attrs": PathAttrs(origin=1, next_hop=IPv4Address("192.168.0.7"))}):
        new = first.copy(since=3.0, **change)
        assert not first.same_as(new), change
        # what an export sees: the stale flag alone changes nothing there
        assert first.same_as(new, flags=False) == ("stale" in change), change
    moved = first.copy(gw="192.168.0.8")
    src.channel.import_route(N, moved)
    assert (st.updates_accepted, st.updates_ignored) == (2, 1)
    assert c.table("master").best(N) is moved and dst.events[-1] == (N, moved, first)
