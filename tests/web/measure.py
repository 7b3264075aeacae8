"""Measure the looking glass (not a test; numbers go to docs/looking-glass.md).

    python -m tests.web.measure [ROUTES]

Builds a daemon of real rib parts holding ROUTES BGP routes (default
500,000) and serves it on one event loop, as bgplabd does. A probe task on
that loop sleeps 5 ms again and again and records how late it wakes up:
the worst lateness while a request runs is how long the BGP event loop
would have been blocked by it. Also compares the standard-library server
with uvicorn (h11) serving the same /api/protocols document on the same
loop, when uvicorn is installed.
"""

from __future__ import annotations

import asyncio
import http.client
import sys
import threading
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from bgplab.bgp.attrs import PathAttrs
from bgplab.io.http import start_http
from bgplab.web import api
from tests.unit.cli.fakedaemon import small_daemon


def build(n: int) -> Any:
    d = small_daemon()
    b = d.protocols["peer_b"]
    attrs = [
        PathAttrs(
            origin=0,
            as_path=((2, (65002, 64500 + i % 50)),),
            next_hop=IPv4Address("198.51.100.2"),
            local_pref=100,
            communities=((65002, i % 7),),
        )
        for i in range(50)
    ]
    for i in range(n):
        a, b2, c = 11 + (i >> 16) % 200, (i >> 8) & 255, i & 255
        d.route(b, f"{a}.{b2}.{c}.0/24", gw="198.51.100.2", iface="eth1", attrs=attrs[i % 50])
    return d


class Lag:
    """Worst wake-up lateness of a 5 ms sleeper on the loop."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.running = True

    async def run(self) -> None:
        while self.running:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - t - 0.005)


def fetch(host: str, port: int, path: str) -> tuple[int, int]:
    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, len(body)


def rate(host: str, port: int, path: str, count: int = 400, threads: int = 4) -> float:
    def worker() -> None:
        for _ in range(count // threads):
            fetch(host, port, path)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    t = time.perf_counter()
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    return count / (time.perf_counter() - t)


def main(n: int) -> None:
    t = time.perf_counter()
    d = build(n)
    print(f"built {n} routes in {time.perf_counter() - t:.1f} s")
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def on_loop(fn: Callable[[], Any]) -> Any:
        async def go() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(go(), loop).result()

    srv = on_loop(lambda: start_http(d, "127.0.0.1:0"))
    host, port = srv.address
    lag = Lag()
    on_loop(lambda: loop.create_task(lag.run()))
    time.sleep(0.2)
    cases = [
        "/api/protocols?detail=0",
        "/api/protocols",
        "/protocols",
        "/api/routes?limit=100",
        "/routes",
        "/api/routes?limit=100&offset=250000",
        "/api/routes?prefix=11.1.2.3",
        "/api/routes?community=65002:3&limit=100",
        "/api/routes?community=65002:99&limit=100",
        "/api/route?prefix=11.1.2.0/24&match=exact",
        "/api/routes?limit=5000",
    ]
    print("| request | status | bytes | time | worst loop lag |")
    print("|---|---|---|---|---|")
    for path in cases:
        lag.worst = 0.0
        t = time.perf_counter()
        status, size = fetch(host, port, path)
        took = time.perf_counter() - t
        time.sleep(0.05)  # the probe records a late wake-up only once it runs
        print(
            f"| `{path}` | {status} | {size} | {took * 1000:.0f} ms | {lag.worst * 1000:.0f} ms |"
        )
    lag.worst = 0.0
    print(
        f"stdlib /api/protocols: {rate(host, port, '/api/protocols'):.0f} req/s, "
        f"worst lag {lag.worst * 1000:.0f} ms"
    )
    try:
        import uvicorn
    except ImportError:
        return

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = (await api_json(d)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def api_json(d: Any) -> str:
        import json

        return json.dumps(await api.protocols(d))

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="error",
        loop="none",
        lifespan="off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    asyncio.run_coroutine_threadsafe(server.serve(), loop)
    while not server.started:
        time.sleep(0.05)
    uport = server.servers[0].sockets[0].getsockname()[1]
    lag.worst = 0.0
    print(
        f"uvicorn /api/protocols: {rate('127.0.0.1', uport, '/'):.0f} req/s, "
        f"worst lag {lag.worst * 1000:.0f} ms"
    )
    server.should_exit = True
    time.sleep(0.5)


def poll(base: str, seconds: float) -> None:
    """``measure poll http://ADDR:PORT SECONDS``: what an open page does, every
    second (states every second, counters and a page of routes every 10th)."""
    host, port = base.removeprefix("http://").rstrip("/").rsplit(":", 1)
    end = time.monotonic() + seconds
    done = errors = 0
    worst = 0.0
    n = 0
    while time.monotonic() < end:
        t = time.monotonic()
        paths = ["/api/protocols?detail=0"]
        if n % 10 == 9:
            paths += ["/api/protocols", "/api/routes?limit=100"]
        for path in paths:
            try:
                t0 = time.perf_counter()
                fetch(host, int(port), path)
                worst = max(worst, time.perf_counter() - t0)
                done += 1
            except OSError:
                errors += 1  # the daemon is not up (between runs)
        n += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
    print(f"polled {done} requests ({errors} refused), slowest {worst * 1000:.0f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "poll":
        poll(sys.argv[2], float(sys.argv[3]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
