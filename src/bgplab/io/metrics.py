"""Prometheus metrics of bgplabd (``--metrics ADDR:PORT``).

The values are read from the daemon at scrape time by a custom collector,
so nothing in the routing path updates counters. Inside a running event
loop the HTTP endpoint is served by that loop (the collector then never
races with route processing); without one, prometheus-client's own thread
serves it.

Metric names (all prefixed ``bgplab_``): ``up``, ``uptime_seconds``,
``protocol_up``/``protocol_state``, ``protocol_uptime_seconds``,
``bgp_session_established``, ``bgp_session_flaps_total``,
``protocol_routes_{imported,filtered,exported,preferred}``,
``protocol_changes_total{direction,kind,result}`` (BIRD's route change
stats: updates/withdraws in/out), ``table_routes``, ``table_networks``,
``fib_routes``, ``process_resident_memory_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bgplab.cli import render
from bgplab.io.http_listen import listening_socket

log = logging.getLogger("bgplab.metrics")

STATES = ("down", "start", "up", "stop", "flush")


class DaemonCollector:
    """Reads a daemon's protocols and tables on every scrape."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.flaps: dict[str, int] = {}
        self._last_bgp: dict[str, str] = {}

    def describe(self) -> list[Any]:
        return []  # collected dynamically; nothing to pre-register

    def observe(self) -> None:
        """Count BGP sessions leaving Established (called on every scrape
        and, when the daemon offers it, on every state change)."""
        for name, p in list(self.daemon.protocols.items()):
            st = getattr(p, "bgp_state", None)
            if st is None:
                continue
            prev = self._last_bgp.get(name)
            if prev == "Established" and st != "Established":
                self.flaps[name] = self.flaps.get(name, 0) + 1
            self._last_bgp[name] = st

    def collect(self) -> Iterator[Any]:
        d = self.daemon
        now = time.time()
        self.observe()
        up = GaugeMetricFamily("bgplab_up", "The daemon answers")
        up.add_metric([], 1)
        yield up
        uptime = GaugeMetricFamily("bgplab_uptime_seconds", "Seconds since the daemon started")
        uptime.add_metric([], now - d.started)
        yield uptime
        labels = ["name", "proto", "table"]
        pup = GaugeMetricFamily("bgplab_protocol_up", "1 if the protocol is up", labels=labels)
        pstate = GaugeMetricFamily(
            "bgplab_protocol_state", "Protocol state (one-hot)", labels=labels + ["state"]
        )
        puptime = GaugeMetricFamily(
            "bgplab_protocol_uptime_seconds", "Seconds in the current state", labels=labels
        )
        est = GaugeMetricFamily(
            "bgplab_bgp_session_established",
            "1 if the BGP session is Established",
            labels=labels + ["neighbor", "neighbor_as"],
        )
        flaps = CounterMetricFamily(
            "bgplab_bgp_session_flaps", "Times the session left Established", labels=labels
        )
        counts = {
            k: GaugeMetricFamily(f"bgplab_protocol_routes_{k}", f"Routes {k}", labels=labels)
            for k in ("imported", "filtered", "exported", "preferred")
        }
        changes = CounterMetricFamily(
            "bgplab_protocol_changes",
            "BIRD route change stats (updates/withdraws in/out)",
            labels=labels + ["direction", "kind", "result"],
        )
        for name, p in list(d.protocols.items()):
            ch = getattr(p, "channel", None)
            table = ch.table.name if ch is not None else "master"
            lv = [name, getattr(p, "proto_name", "?"), table]
            state = str(getattr(getattr(p, "state", None), "value", "down"))
            pup.add_metric(lv, 1 if state == "up" else 0)
            for s in STATES:
                pstate.add_metric(lv + [s], 1 if s == state else 0)
            puptime.add_metric(lv, max(0.0, now - getattr(p, "state_since", now)))
            if getattr(p, "proto_name", "") == "BGP":
                est.add_metric(
                    lv
                    + [str(getattr(p, "neighbor_address", "")), str(getattr(p, "neighbor_as", ""))],
                    1 if getattr(p, "bgp_state", "") == "Established" else 0,
                )
                flaps.add_metric(lv, self.flaps.get(name, 0))
            if ch is None:
                continue
            counts["imported"].add_metric(lv, ch.imported)
            counts["filtered"].add_metric(lv, ch.filtered)
            counts["exported"].add_metric(lv, render.exported_count(p))
            counts["preferred"].add_metric(lv, ch.preferred())
            for direction, stats in (("import", ch.import_stats), ("export", ch.export_stats)):
                for f in fields(stats):
                    kind, _, result = f.name.partition("_")
                    changes.add_metric(lv + [direction, kind, result], getattr(stats, f.name))
        yield pup
        yield pstate
        yield puptime
        yield est
        yield flaps
        yield from counts.values()
        yield changes
        troutes = GaugeMetricFamily("bgplab_table_routes", "Routes in the table", labels=["table"])
        tnets = GaugeMetricFamily(
            "bgplab_table_networks", "Networks in the table", labels=["table"]
        )
        for tname, t in list(d.ctx.tables.items()):
            troutes.add_metric([tname], t.route_count)
            tnets.add_metric([tname], len(t.nets))
        yield troutes
        yield tnets
        fib = GaugeMetricFamily(
            "bgplab_fib_routes", "Routes installed in the kernel FIB", labels=["name"]
        )
        for name, p in list(d.protocols.items()):
            if getattr(p, "proto_name", "") == "Kernel" and getattr(p, "channel", None):
                fib.add_metric([name], p.channel.exported_count())
        yield fib
        mem = GaugeMetricFamily("bgplab_process_resident_memory_bytes", "Resident set size")
        mem.add_metric([], _rss())
        yield mem


def _rss() -> int:
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def parse_listen(listen: str) -> tuple[str, int]:
    """``ADDR:PORT``, ``[v6]:PORT`` or ``:PORT`` (port 0: any free port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"invalid metrics address {listen!r} (want ADDR:PORT)")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class MetricsServer:
    """The running endpoint; ``close()`` stops it."""

    def __init__(self, registry: CollectorRegistry, collector: DaemonCollector) -> None:
        self.registry = registry
        self.collector = collector
        self.address: tuple[str, int] | None = None
        self._server: Any = None
        self._http: Any = None

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._http is not None:
            self._http.shutdown()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            line = request.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            if len(parts) < 2 or parts[0] != "GET":
                status, body, ctype = "405 Method Not Allowed", b"GET only\n", "text/plain"
            elif parts[1].split("?")[0] in ("/metrics", "/"):
                status, body, ctype = "200 OK", self.render(), CONTENT_TYPE_LATEST
            else:
                status, body, ctype = "404 Not Found", b"see /metrics\n", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: "
                f"{len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await asyncio.wait_for(writer.drain(), 30)
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            pass
        except Exception:  # never let a scrape hurt the daemon
            log.exception("metrics request failed")
        finally:
            writer.close()


def start_metrics(daemon: Any, listen: str) -> MetricsServer:
    """Serve the daemon's metrics on ``ADDR:PORT``. Binds synchronously (so a
    bad address raises ``OSError``/``ValueError`` here)."""
    host, port = parse_listen(listen)
    registry = CollectorRegistry(auto_describe=False)
    collector = DaemonCollector(daemon)
    registry.register(collector)  # type: ignore[arg-type]
    srv = MetricsServer(registry, collector)
    ctx = getattr(daemon, "ctx", None)
    if ctx is not None and hasattr(ctx, "on_protocol_state"):
        ctx.on_protocol_state(lambda _p: collector.observe())
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        from prometheus_client import start_http_server

        srv._http, _thread = start_http_server(port, addr=host, registry=registry)
        srv.address = (host, srv._http.server_port)
        return srv
    sock = listening_socket(host, port)
    srv.address = sock.getsockname()[:2]

    async def serve() -> None:
        srv._server = await asyncio.start_server(srv._handle, sock=sock)

    task = loop.create_task(serve())
    srv._task = task  # type: ignore[attr-defined]
    log.info("metrics on http://%s:%d/metrics", *srv.address)
    return srv
