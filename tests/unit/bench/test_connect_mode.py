"""``--connect paced|burst``: option parsing, what each mode dials, and the
kernel evidence a run records (listener backlog and drops, SYN retries).

The socket tests use loopback addresses of their own (127.47.x) and high
ports; no root needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
import time
from pathlib import Path

import pytest

from bgplab.bench import cli, connectstats, report, scenarios, wire
from bgplab.bench.loadgen import CONNECT_CONCURRENCY, LoadGen
from bgplab.bench.peerplan import PeerPlan
from bgplab.errors import UserError
from bgplab.io.bgp_transport import LISTEN_BACKLOG, Listener

_NET = 127 << 24 | 47 << 16 | (os.getpid() % 200) << 8  # 127.47.N.0/24 for this process


def _addr(host: int) -> str:
    return socket.inet_ntoa((_NET | host).to_bytes(4, "big"))


def test_parse_connect_modes() -> None:
    assert scenarios.parse_connect("paced") == ["paced"]
    assert scenarios.parse_connect("BURST") == ["burst"]
    assert scenarios.parse_connect("paced, burst") == ["paced", "burst"]
    assert scenarios.parse_connect("burst,paced,burst") == ["burst", "paced"]
    for bad in ("", ",", "storm", "paced,storm"):
        with pytest.raises(UserError):
            scenarios.parse_connect(bad)


def test_cli_option_and_run_plan() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser)
    assert parser.parse_args([]).connect == "paced"  # the earlier tables' mode stays the default
    assert parser.parse_args(["--connect", "paced,burst"]).connect == "paced,burst"
    rr = scenarios.parse("calico-rr-10")
    fib = scenarios.parse("kernel-fib-500")
    plan = cli._plan([rr, fib], ["paced", "burst"], ["bgplabd", "bird2", "bird1"])
    got = [(s.name, m, k) for s, m, k in plan]
    assert got == [
        ("calico-rr-10", "paced", "bgplabd"),
        ("calico-rr-10", "paced", "bird2"),
        ("calico-rr-10", "paced", "bird1"),
        ("calico-rr-10", "burst", "bgplabd"),
        ("calico-rr-10", "burst", "bird2"),
        ("calico-rr-10", "burst", "bird1"),
        # one peer: nothing to burst; compared with BIRD 1.6 only
        ("kernel-fib-500", "paced", "bgplabd"),
        ("kernel-fib-500", "paced", "bird1"),
    ]
    assert scenarios.label("calico-rr-10", "paced") == "calico-rr-10"
    assert scenarios.label("calico-rr-10", "burst") == "calico-rr-10 burst"
    with pytest.raises(ValueError):
        LoadGen([], "127.0.0.1", connect="storm")


def test_burst_rows_compare_with_bird2_of_the_same_mode() -> None:
    def run(target: str, mode: str, wall: float, drops: float) -> scenarios.RunResult:
        r = scenarios.RunResult(scenarios.label("calico-rr-10", mode), target, ok=True)
        r.wall_s, r.cpu_s, r.rss_mb = wall, 1.0, 10.0
        r.extra = {"listen_drops": drops, "syn_retried_sessions": drops, "est_p50_s": 0.5}
        return r

    rows = [
        run("bgplabd", "paced", 2.0, 0),
        run("bird2", "paced", 4.0, 0),
        run("bgplabd", "burst", 1.0, 0),
        run("bird2", "burst", 10.0, 7),
    ]
    table = report.markdown_table(report.summarize(rows))
    lines = {tuple(c.strip() for c in ln.split("|")[1:3]): ln for ln in table.splitlines()}
    assert "| 0.50x |" in lines[("calico-rr-10", "bgplabd")]
    assert "| 0.10x |" in lines[("calico-rr-10 burst", "bgplabd")]
    # only a listener that overflowed gets the note
    assert "listen drops 7, SYN retried 7" in lines[("calico-rr-10 burst", "bird2")]
    assert "listen drops" not in lines[("calico-rr-10 burst", "bgplabd")]


def test_parse_ss_and_netstat() -> None:
    ss = (
        "LISTEN 0      8      127.45.0.1:179  0.0.0.0:*\n"
        "\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d6660)\n"
    )
    assert connectstats.parse_listener(ss) == (8, 6660)
    assert connectstats.parse_listener("") is None
    netstat = (
        "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n"
        "TcpExt: 0 12 13\n"
        "IpExt: InNoRoutes\nIpExt: 0\n"
    )
    assert connectstats.parse_netstat(netstat) == {
        "SyncookiesSent": 0,
        "ListenOverflows": 12,
        "ListenDrops": 13,
    }
    # the real file parses on this machine
    assert set(connectstats.listen_overflows()) == {"ListenOverflows", "ListenDrops"}


def test_spread_and_histogram() -> None:
    vals = [0.1, 0.2, 1.5, 3.9]
    assert connectstats.spread("est", vals) == {
        "est_p50_s": 0.2,
        "est_p90_s": 3.9,
        "est_max_s": 3.9,
    }
    assert connectstats.spread("est", []) == {}
    assert connectstats.histogram(vals) == {"est_bin_0": 2, "est_bin_1": 1, "est_bin_3": 1}


def test_full_listen_queue_drops_syns_and_the_client_sees_its_retry() -> None:
    """A listener with a backlog of 1 that does not accept: the SYNs beyond
    it are dropped (its skmem drop counter rises) and the clients' TCP_INFO
    counts the SYNs they sent again once the queue is drained."""
    host = _addr(1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 0))
    srv.listen(1)
    srv.setblocking(False)
    port = srv.getsockname()[1]
    clients = []
    try:
        before = connectstats.listener(host, port)
        assert before is not None and before[0] == 1
        for i in range(6):
            c = socket.socket()
            c.setblocking(False)
            c.bind((_addr(10 + i), 0))
            with contextlib.suppress(BlockingIOError):
                c.connect((host, port))
            clients.append(c)
        deadline = time.monotonic() + 8.0  # the first SYN retry comes after 1 s
        connected: set[int] = set()
        while len(connected) < len(clients) and time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                srv.accept()[0].close()
            _r, writable, _x = select.select([], clients, [], 0.05)
            connected |= {
                c.fileno() for c in writable if not c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            }
        after = connectstats.listener(host, port)
        assert after is not None and after[1] > before[1]
        assert sum(connectstats.syn_retransmits(c) for c in clients) >= 1
    finally:
        for c in clients:
            c.close()
        srv.close()


async def _dials_after(mode: str, n: int) -> int:
    """Sessions that have called connect() 0.3 s into a run against a
    listener that accepts but never sends an OPEN."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, _addr(2), 0)
    port = server.sockets[0].getsockname()[1]
    attrs = [wire.ibgp_attributes(_NET | 3)]
    plans = [PeerPlan(_addr(20 + i), [(10 << 24 | i << 8, 24)], attrs) for i in range(n)]
    gen = LoadGen(plans, _addr(2), port, connect=mode)
    gen.start()
    try:
        await asyncio.sleep(0.3)
        return sum(1 for s in gen.sessions if s.dialled_at is not None)
    finally:
        await gen.stop()
        server.close()
        await server.wait_closed()


def test_paced_keeps_eight_dials_in_flight_burst_dials_everyone() -> None:
    n = 3 * CONNECT_CONCURRENCY
    assert asyncio.run(_dials_after("paced", n)) == CONNECT_CONCURRENCY
    assert asyncio.run(_dials_after("burst", n)) == n


def test_bgplabd_listener_keeps_its_backlog() -> None:
    """asyncio's create_server listens again with its own backlog (100)
    unless told: the BGP listener must keep room for a cluster's burst."""
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())

    async def backlog() -> tuple[int, int] | None:
        lst = Listener(_addr(4), 0, lambda _peer: None)
        await lst.start()
        try:
            port = lst.sockets[0].getsockname()[1]
            return connectstats.listener(_addr(4), port)
        finally:
            await lst.close()

    got = asyncio.run(backlog())
    assert got is not None and got[0] == min(LISTEN_BACKLOG, somaxconn)
