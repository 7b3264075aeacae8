"""A BGP protocol's export "Route change stats" over its session's life, as
BIRD 1.6 keeps a protocol's: kept while the peer restarts gracefully (the
protocol stays up), zero once the session is lost for good, and in both
cases the feed counted when the session is back."""

from __future__ import annotations

import asyncio
import dataclasses
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

from bgplab import net
from bgplab.bgp.attrs import PathAttrs, intern
from bgplab.bgp.capabilities import IPV4_UNICAST, GracefulRestartInfo, Negotiated
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.channel import ACCEPT, Channel
from bgplab.rib.context import DaemonContext
from bgplab.rib.route import Route
from tests.unit.rib.helpers import bgp_origin, bgp_protocol
from tests.unit.rib.test_adjrib_out import Codec, key


def rows(p: Any) -> tuple[int, ...]:
    st = p.export_stats
    if st is None:
        return (0,) * 4
    return (st.updates_received, st.updates_rejected, st.updates_filtered,
            st.updates_accepted)


def setup(graceful: bool) -> tuple[Any, Any]:
    ctx = DaemonContext(IPv4Address("192.168.0.40"))
    table = ctx.table("master")
    group = UpdateGroup(key(), lambda f: None, Codec)
    table.attach(group)
    p = bgp_protocol(ctx)
    p.rt = SimpleNamespace(register=lambda p: None, unregister=lambda p: None,
                           group_for=lambda proto, neg: group)
    p.send_wire = lambda chunks: None
    neg = Negotiated.default()
    if graceful:
        gr = GracefulRestartInfo(120, False, False, {IPV4_UNICAST: True})
        neg = dataclasses.replace(neg, families=frozenset({IPV4_UNICAST}), peer_gr=gr)
    p.negotiated = neg
    other = bgp_origin("n2", "192.168.0.2")
    ch = Channel(other, table, ACCEPT, export_to_proto=False)
    a = intern(PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.2"), local_pref=100))
    for i in range(3):
        n = net.make(0x0A000000 + (i << 8), 24)
        ch.import_route(n, Route(n, a, other))
    return p, neg


def down_and_back(graceful: bool) -> tuple[tuple[int, ...], ...]:
    async def run() -> tuple[tuple[int, ...], ...]:
        p, neg = setup(graceful)
        p.join_group()
        up = rows(p)
        p._on_session_down(SimpleNamespace(graceful=graceful))
        down = rows(p)
        p.negotiated = neg
        p.join_group()
        back = rows(p)
        p._cancel_stale()
        return up, down, back

    return asyncio.run(run())


def test_graceful_restart_keeps_the_stats_and_adds_the_feed() -> None:
    up, down, back = down_and_back(graceful=True)
    assert up == (3, 0, 0, 3)
    assert down == up
    assert back == (6, 0, 0, 6)


def test_a_session_lost_for_good_starts_from_zero() -> None:
    up, down, back = down_and_back(graceful=False)
    assert up == (3, 0, 0, 3)
    assert down == (0, 0, 0, 0)
    assert back == (3, 0, 0, 3)
