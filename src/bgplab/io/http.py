"""The looking glass's HTTP server (``bgplabd --http ADDR:PORT``).

Standard library only: an :func:`asyncio.start_server` on the daemon's own
event loop, one request per connection (``Connection: close``), GET and
HEAD only. Running in the BGP loop is what keeps it safe: a page reads the
daemon through the control socket's command layer between two BGP events,
never at the same time as one, and long answers (route lists) are written
piece by piece with a yield every few hundred routes and a ``drain()``
after each piece, so a slow or huge reader stalls only itself.

Access: the server binds to loopback unless told otherwise, and answers
only clients inside ``--http-allow`` networks (default: loopback). When
``--metrics`` names the same address, ``/metrics`` is served here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bgplab.io.http_listen import listening_socket
from bgplab.web import api, openapi, pages
from bgplab.web.html import CSP, static_file

log = logging.getLogger("bgplab.http")

READ_LIMIT = 16 * 1024  # request line and headers
REQUEST_TIMEOUT = 10.0
DRAIN_TIMEOUT = 60.0
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Body = bytes | AsyncIterator[str]


def parse_listen(listen: str) -> tuple[str, int]:
    """``ADDR:PORT``, ``[v6]:PORT``, ``:PORT`` or ``PORT`` (loopback)."""
    host, sep, port = listen.rpartition(":")
    if not sep:
        host, port = "", listen
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"--http {listen}: want ADDR:PORT")
    host = host.strip("[]") or "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(f"--http {listen}: {host} is not an IP address") from exc
    return host, int(port)


def parse_allow(items: list[str] | None) -> list[Network]:
    """``--http-allow`` values (each may be a comma-separated list)."""
    out: list[Network] = []
    for item in items or list(DEFAULT_ALLOW):
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"--http-allow {part}: not a network") from exc
    return out


def allowed(networks: list[Network], peer: str) -> bool:
    try:
        addr = ipaddress.ip_address(peer.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    if mapped is not None:
        addr = mapped
    return any(addr.version == n.version and addr in n for n in networks)


class HttpError(api.ApiError):
    """The server's own refusals (no such page or host): a status and one line, as the API's."""


REASONS = {
    200: "OK", 301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 414: "URI Too Long",
    500: "Internal Server Error",
}  # fmt: skip


async def fib_lookup(net: str, prefix: list[str] | None = None) -> list[dict[str, Any]]:
    """The kernel's routes for exactly ``net`` in every table, from
    ``ip -j route show`` (a child process: the event loop never waits);
    ``prefix`` runs it elsewhere (``ip netns exec NS``)."""
    family = "-6" if ":" in net else "-4"
    proc = await asyncio.create_subprocess_exec(
        *(prefix or []), "ip", "-j", family, "route", "show", "table", "all", "exact", net,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 5)
    except TimeoutError:
        proc.kill()
        raise
    if proc.returncode != 0:
        raise RuntimeError(err.decode(errors="replace").strip() or "ip route failed")
    got = json.loads(out or b"[]")
    return [r for r in got if isinstance(r, dict) and r.get("type", "unicast") != "local"]


App = Callable[[str], Awaitable[tuple[int, str, Body]]]


class HttpServer:
    """Serves one application (``app(target) -> (status, content type, body)``)
    to allowed clients; ``close()`` stops it."""

    def __init__(self, app: App, allow: list[Network]) -> None:
        self.app = app
        self.allow = allow
        self.address: tuple[str, int] | None = None
        self._server: asyncio.AbstractServer | None = None
        self.requests = 0

    def host_ok(self, request: bytes) -> bool:
        """Bound to loopback, answer only requests addressed to an IP address
        or ``localhost`` (DNS rebinding: a name that some web page resolves to
        127.0.0.1 must not let that page read the router)."""
        if self.address is None or not ipaddress.ip_address(self.address[0]).is_loopback:
            return True
        for line in request.split(b"\r\n")[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() != "host":
                continue
            host = value.strip()
            host = host[1 : host.index("]")] if host.startswith("[") and "]" in host else host
            host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
            if host == "localhost":
                return True
            try:
                ipaddress.ip_address(host)
            except ValueError:
                return False
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def serve(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._client, sock=sock, limit=READ_LIMIT)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            if not peer or not allowed(self.allow, str(peer[0])):
                await _respond(writer, 403, "text/plain", b"forbidden\n")
                return
            try:
                raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            except asyncio.LimitOverrunError:
                await _respond(writer, 414, "text/plain", b"request too long\n")
                return
            parts = raw.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                await _respond(writer, 400, "text/plain", b"bad request\n")
                return
            method, target = parts[0], parts[1]
            if not self.host_ok(raw):
                # a page on some other site must not read us through a name it controls
                await _respond(writer, 403, "text/plain", b"unexpected Host header\n")
                return
            self.requests += 1
            if method not in ("GET", "HEAD"):
                # read-only by design: nothing here changes the daemon
                await _respond(
                    writer, 405, "text/plain", b"read-only: GET and HEAD only\n",
                    extra={"Allow": "GET, HEAD"},
                )  # fmt: skip
                return
            try:
                status, ctype, body = await self.app(target)
            except api.ApiError as exc:  # HttpError too
                status, ctype, body = _error(exc.status, exc.message, target)
            await _respond(writer, status, ctype, body, head_only=method == "HEAD")
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a bug in a page must not hurt the daemon
            log.exception("http request failed")
        finally:
            writer.close()


def split_target(target: str) -> tuple[str, dict[str, str]]:
    """Path and query parameters of a request target."""
    split = urlsplit(target)
    return unquote(split.path), dict(parse_qsl(split.query, keep_blank_values=True))


def static(path: str) -> tuple[int, str, Body]:
    """``/static/NAME``: the web package's script and style sheets."""
    data = static_file(path.removeprefix("/static/"))
    if data is None:
        raise HttpError(404, "no such file")
    ctype = "text/css" if path.endswith(".css") else "text/javascript"
    return 200, f"{ctype}; charset=utf-8", data


class LookingGlass:
    """The looking glass of one daemon: in-process (bgplabd ``--http``), or
    any object with ``run_command(line)`` (the lab's speakers, through their
    control sockets)."""

    def __init__(
        self,
        daemon: Any,
        metrics: Callable[[], bytes] | None = None,
        fib: api.FibLookup | None = fib_lookup,
    ) -> None:
        self.daemon = daemon
        self.metrics = metrics
        self.fib = fib

    async def __call__(self, target: str) -> tuple[int, str, Body]:
        path, query = split_target(target)
        d = self.daemon
        if path == "/metrics" and self.metrics is not None:
            return 200, "text/plain; version=0.0.4; charset=utf-8", self.metrics()
        if path.startswith("/static/"):
            return static(path)
        if path == "/api/openapi.json" or path == "/openapi.json":
            return 200, JSON, openapi.text().encode()
        if path == "/api/status":
            return _json(await api.status(d))
        if path == "/api/protocols":
            detail = query.get("detail", "1") not in ("0", "false", "no")
            return _json(await api.protocols(d, detail))
        if path.startswith("/api/protocols/"):
            return _json(await api.protocol(d, path.removeprefix("/api/protocols/")))
        if path == "/api/routes":
            search = api.RouteSearch.from_query(query)
            return 200, JSON, api.route_page(await api.open_routes(d, search), search)
        if path == "/api/route":
            return _json(await self._route_doc(query))
        if path in ("/", "/protocols"):
            status = await api.status(d)
            return 200, HTML, pages.protocols_page(status, await api.protocols(d)).encode()
        if path.startswith("/protocols/"):
            status = await api.status(d)
            doc = await api.protocol(d, path.removeprefix("/protocols/"))
            return 200, HTML, pages.protocol_page(status, doc).encode()
        if path == "/routes":
            search = api.RouteSearch.from_query(query)
            status = await api.status(d)
            protos = await api.protocols(d, detail=False)  # names for the form only
            lines = await api.open_routes(d, search)
            return 200, HTML, pages.routes_page(lines, status, protos, search)
        if path == "/route":
            doc = await self._route_doc(query)
            return 200, HTML, pages.route_page(await api.status(d), doc).encode()
        raise HttpError(404, "no such page")

    async def _route_doc(self, query: dict[str, str]) -> dict[str, Any]:
        prefix = query.get("prefix")
        if not prefix:
            raise HttpError(400, "prefix: missing")
        extra = set(query) - {"prefix", "match", "table"}
        if extra:
            raise HttpError(400, f"unknown parameter {sorted(extra)[0]}")
        return await api.route_detail(
            self.daemon, prefix, query.get("match") or "longest", query.get("table"), self.fib
        )


JSON = "application/json"
HTML = "text/html; charset=utf-8"


def _json(doc: Any) -> tuple[int, str, Body]:
    return 200, JSON, json.dumps(doc, separators=(",", ":"), default=str).encode()


def _error(status: int, message: str, target: str) -> tuple[int, str, Body]:
    if urlsplit(target).path.startswith("/api/"):
        return status, JSON, json.dumps({"error": message, "status": status}).encode()
    return status, HTML, pages.error_page(status, message).encode()


async def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    ctype: str,
    body: Body,
    head_only: bool = False,
    extra: dict[str, str] | None = None,
) -> None:
    headers = {
        "Content-Type": ctype,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "no-referrer",
        "Connection": "close",
    }
    if isinstance(body, bytes):
        headers["Content-Length"] = str(len(body))
    headers.update(extra or {})
    head = f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    writer.write((head + "\r\n").encode())
    if head_only:
        if not isinstance(body, bytes):
            await body.aclose()  # type: ignore[attr-defined]
    elif isinstance(body, bytes):
        writer.write(body)
    else:
        # streamed: no length, the end of the body is the end of the connection
        try:
            async for piece in body:
                writer.write(piece.encode())
                if writer.transport.get_write_buffer_size() > 64 * 1024:
                    await asyncio.wait_for(writer.drain(), DRAIN_TIMEOUT)
        except api.ApiError as exc:
            # the status line is gone already: end the document visibly
            writer.write(f"\n<!-- error: {exc.status} -->\n".encode())
    await asyncio.wait_for(writer.drain(), DRAIN_TIMEOUT)


def start_http(
    daemon: Any,
    listen: str,
    allow: list[str] | None = None,
    metrics: Callable[[], bytes] | None = None,
) -> HttpServer:
    """Serve the looking glass on ``listen``. Binds synchronously (a bad or
    busy address raises ``OSError``/``ValueError`` here); needs a running loop."""
    return serve_app(LookingGlass(daemon, metrics), listen, allow)


def serve_app(app: App, listen: str, allow: list[str] | None = None) -> HttpServer:
    """Serve ``app`` on ``listen`` (binds now; needs a running loop)."""
    host, port = parse_listen(listen)
    srv = HttpServer(app, parse_allow(allow))
    sock = listening_socket(host, port)
    srv.address = sock.getsockname()[:2]
    loop = asyncio.get_running_loop()
    srv._task = loop.create_task(srv.serve(sock))  # type: ignore[attr-defined]
    log.info("looking glass on http://%s:%d/", *srv.address)
    return srv


def metrics_renderer(daemon: Any) -> Callable[[], bytes]:
    """``/metrics`` for a shared port: the same collector ``--metrics`` uses."""
    from prometheus_client import CollectorRegistry, generate_latest

    from bgplab.io.metrics import DaemonCollector

    registry = CollectorRegistry(auto_describe=False)
    collector = DaemonCollector(daemon)
    registry.register(collector)  # type: ignore[arg-type]
    ctx = getattr(daemon, "ctx", None)
    if ctx is not None and hasattr(ctx, "on_protocol_state"):
        ctx.on_protocol_state(lambda _p: collector.observe())
    return lambda: generate_latest(registry)


def serve_http(daemon: Any, listen: str, allow: list[str] | None, metrics: str | None) -> bool:
    """``bgplabd --http``: start the looking glass; True when ``--metrics``
    names the same address and ``/metrics`` is served here as well."""
    shared = False
    if metrics:
        from bgplab.io.metrics import parse_listen as metrics_listen

        with contextlib.suppress(ValueError):
            shared = metrics_listen(metrics) == parse_listen(listen)
    start_http(daemon, listen, allow, metrics_renderer(daemon) if shared else None)
    return shared
