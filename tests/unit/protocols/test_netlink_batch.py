"""Batch encoding of route requests: the per-shape cache changes no byte."""

from __future__ import annotations

from bgplab import net
from bgplab.io.netlink import FibNextHop, FibRoute, encode_route, iter_messages

IDX = {"eth0": 2, "eth1": 3}


def _routes() -> list[FibRoute]:
    one = (FibNextHop("192.0.2.1", "eth0"),)
    ecmp = (FibNextHop("192.0.2.1", "eth0", 3), FibNextHop("192.0.2.2", "eth1", 1, True))
    v6 = (FibNextHop("2001:db8::1", "eth1"),)
    return [
        FibRoute(net.parse("10.0.0.0/24"), one),
        FibRoute(net.parse("10.0.1.0/24"), one),  # same shape, other destination
        FibRoute(net.parse("0.0.0.0/0"), one),  # no RTA_DST at all
        FibRoute(net.parse("10.0.2.0/24"), one, metric=20, prefsrc="192.0.2.9"),
        FibRoute(net.parse("10.0.3.0/25"), ecmp, table=1000),
        FibRoute(net.parse("10.9.0.0/16"), (), kind="blackhole"),
        FibRoute(net.parse("2001:db8:1::/48"), v6),
        FibRoute(net.parse("10.0.4.0/24"), (FibNextHop(None, "eth1"),)),  # device route
    ]


def test_cached_encoding_is_byte_identical() -> None:
    shapes: dict = {}
    routes = _routes()
    for op in ("add", "replace", "delete"):
        for seq, r in enumerate(routes, 1):
            plain = encode_route(op, r, seq, IDX)
            assert encode_route(op, r, seq, IDX, shapes) == plain
            assert encode_route(op, r, seq, IDX, shapes) == plain  # from the cache
            [(mtype, _flags, mseq, payload)] = list(iter_messages(plain))
            assert mseq == seq and len(payload) + 16 == len(plain)
    # one entry per (op, shape): the three routes through eth0 share one
    # (the destination, with or without RTA_DST, is not part of the shape)
    assert len(shapes) == 3 * (len(routes) - 2)
