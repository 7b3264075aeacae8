"""The looking glass over real HTTP, against a daemon made of real rib parts
(no root): every endpoint, paging, searches, errors, access control,
hostile text from the wire and the config rendered inert, no endpoint
changing state, and the layer rule (the web code reads the daemon only
through the command layer)."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.cli.execute import Session, execute
from bgplab.rib.route import Dest
from bgplab.web import api, openapi
from tests.unit.cli.fakedaemon import FakeDaemon, small_daemon
from tests.web.served import ServedGlass

ROOT = Path(__file__).resolve().parents[2]
DESC = '<script>alert("desc")</script>'
SHUTDOWN = 'Received: Administrative shutdown: "<img src=x onerror=alert(2)>"'
IFACE = "<svg/onload=alert(3)>"
HOSTILE = (DESC, "<img src=x onerror", "<svg/onload", "<script>")


def hostile_daemon() -> FakeDaemon:
    d = small_daemon()
    d.protocols["peer_b"].config.description = DESC
    d.protocols["peer_b"].description = DESC  # type: ignore[attr-defined]
    d.protocols["peer_c"].last_error = SHUTDOWN
    st = d.protocols["static1"]
    d.route(st, "203.0.113.0/24", dest=Dest.ROUTER, gw="198.51.100.9", iface=IFACE)
    return d


@pytest.fixture
def glass() -> Iterator[tuple[FakeDaemon, ServedGlass]]:
    d = hostile_daemon()
    g = ServedGlass(d)
    try:
        yield d, g
    finally:
        g.close()


PAGES = [
    "/",
    "/protocols",
    "/protocols/peer_b",
    "/protocols/peer_c",
    "/protocols/static1",
    "/routes",
    "/routes?filtered=1",
    "/routes?prefix=203.0.113.7&match=longest",
    "/route?prefix=203.0.113.0/24&match=exact",
    "/route?prefix=10.50.1.0/24&match=exact",
]
APIS = [
    "/api/status",
    "/api/protocols",
    "/api/protocols/peer_b",
    "/api/routes",
    "/api/routes?community=65002:100",
    "/api/route?prefix=10.50.1.9",
    "/api/openapi.json",
]


def test_openapi_in_repo_is_what_the_daemon_serves(glass: tuple[FakeDaemon, ServedGlass]) -> None:
    _d, g = glass
    status, body = g.get("/api/openapi.json")
    assert status == 200
    assert json.loads(body) == json.loads((ROOT / "docs/openapi.json").read_text())
    assert set(openapi.document()["paths"]) >= {
        "/api/status", "/api/protocols", "/api/protocols/{name}", "/api/routes", "/api/route",
    }  # fmt: skip


def _bgplabc_json(d: FakeDaemon, line: str) -> object:
    async def run() -> object:
        reply = await execute(d, f"json {line}", Session())
        return json.loads("".join(t for c, t in reply.lines if c == 1100))

    import asyncio

    return asyncio.run(run())


def test_api_answers_are_the_command_layers(glass: tuple[FakeDaemon, ServedGlass]) -> None:
    d, g = glass
    status, body = g.get("/api/protocols")
    assert status == 200
    want = _bgplabc_json(d, "show protocols all")
    got = json.loads(body)
    assert [p["name"] for p in got] == [p["name"] for p in want]  # type: ignore[union-attr]
    assert [p["state"] for p in got] == [p["state"] for p in want]  # type: ignore[union-attr]
    status, body = g.get("/api/routes?limit=5000")
    page = json.loads(body)
    all_routes = _bgplabc_json(d, "show route")["routes"]  # type: ignore[index]
    # the web walks the table in its own order (no sort of every net): same routes
    assert sorted(r["net"] for r in page["routes"]) == sorted(r["net"] for r in all_routes)
    assert page["next_offset"] is None


def test_paging_walks_the_whole_table(glass: tuple[FakeDaemon, ServedGlass]) -> None:
    d, g = glass
    want = [r["net"] for r in _bgplabc_json(d, "show route")["routes"]]  # type: ignore[index]
    got: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        status, body = g.get(f"/api/routes?limit=2&offset={offset}")
        assert status == 200
        doc = json.loads(body)
        assert len(doc["routes"]) <= 2
        got += [r["net"] for r in doc["routes"]]
        offset = doc["next_offset"]
        pages += 1
    assert sorted(got) == sorted(want) and len(got) == len(set(got))
    assert pages == (len(want) + 1) // 2


@pytest.mark.parametrize(
    ("query", "nets"),
    [
        ("prefix=10.50.1.77", ["10.50.1.0/24"]),
        ("prefix=10.50.1.0/24&match=exact", ["10.50.1.0/24"]),
        ("prefix=10.50.0.0/16&match=exact", []),
        ("prefix=10.50.0.0/16&match=within", ["10.50.0.0/24", "10.50.1.0/24"]),
        ("community=65002:200", ["10.50.1.0/24"]),
        ("large_community=65002:1:2", ["10.50.1.0/24"]),
        ("as_path=65010", ["10.50.1.0/24"]),
        ("as_path=65002", ["10.50.0.0/24", "10.50.1.0/24"]),
        ("as_path=65002+%3F", []),  # "65002 ?": 65002 first, then exactly one more
        ("as_path=65010+65002", ["10.50.1.0/24"]),
        ("protocol=peer_b", ["10.50.0.0/24", "10.50.1.0/24"]),
    ],
)
def test_searches(glass: tuple[FakeDaemon, ServedGlass], query: str, nets: list[str]) -> None:
    _d, g = glass
    status, body = g.get(f"/api/routes?{query}")
    assert status == 200, body
    assert sorted(r["net"] for r in json.loads(body)["routes"]) == nets


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/routes?prefix=10.0.0.0/8;configure", 400),
        ("/api/routes?protocol=peer_b%20where", 400),
        ("/api/routes?community=1:2:3", 400),
        ("/api/routes?as_path=1+%7C+configure", 400),
        ("/api/routes?limit=0", 400),
        ("/api/routes?bogus=1", 400),
        ("/api/routes?protocol=nosuch", 400),
        ("/api/protocols/nosuch", 404),
        ("/api/protocols/a%20b", 404),
        ("/api/route?prefix=192.0.2.77/32&match=exact", 404),
        ("/api/route?prefix=192.0.2.0/24&match=exact", 200),
        ("/api/route", 400),
        ("/nosuch", 404),
        ("/static/../api.py", 404),
    ],
)
def test_bad_requests_are_refused(
    glass: tuple[FakeDaemon, ServedGlass], path: str, status: int
) -> None:
    _d, g = glass
    got, body = g.get(path)
    assert got == status, body
    if path.startswith("/api/") and status != 200:
        assert "error" in json.loads(body)


def _state(d: FakeDaemon) -> object:
    return (
        [
            (n, str(p.state), getattr(p, "bgp_state", None), p.disabled)
            for n, p in d.protocols.items()
        ],
        list(d.actions),
        d.down_requested,
        d.ctx.table("master").route_count,
    )


def test_no_endpoint_changes_state(glass: tuple[FakeDaemon, ServedGlass]) -> None:
    d, g = glass
    before = _state(d)
    for path in PAGES + APIS + ["/api/protocols/peer_b/disable", "/api/configure", "/metrics"]:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, headers, _body = g.request(method, path)
            assert status == 405, (method, path)
            assert headers["Allow"] == "GET, HEAD"
        g.request("GET", path)
        g.request("HEAD", path)
    assert _state(d) == before


def test_the_api_session_cannot_run_actions() -> None:
    """The command layer itself refuses actions in the web's session."""
    import asyncio

    d = small_daemon()
    for line in ("disable peer_b", "configure", "down", "restart all"):
        with pytest.raises(api.ApiError) as exc:
            asyncio.run(api.run_text(d, line))
        assert "denied" in exc.value.message
    assert d.actions == []


def test_wire_and_config_text_is_escaped(glass: tuple[FakeDaemon, ServedGlass]) -> None:
    _d, g = glass
    seen = {"desc": False, "shutdown": False, "iface": False}
    for path in PAGES:
        status, headers, body = g.request("GET", path)
        assert status == 200, path
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        text = body.decode()
        for bad in HOSTILE:
            assert bad not in text, (path, bad)
        assert text.count("<script") == 1  # our own lg.js only
        seen["desc"] |= "&lt;script&gt;alert(&quot;desc&quot;)&lt;/script&gt;" in text
        seen["shutdown"] |= "&lt;img src=x onerror=alert(2)&gt;" in text
        seen["iface"] |= "&lt;svg/onload=alert(3)&gt;" in text
    assert all(seen.values()), seen  # the text is shown, as text


def test_access_list(glass: tuple[FakeDaemon, ServedGlass]) -> None:
    d, _g = glass
    g = ServedGlass(d, allow=["10.0.0.0/8", "2001:db8::/32"])
    try:
        status, body = g.get("/api/status")
        assert status == 403
    finally:
        g.close()


def test_listen_and_allow_parsing() -> None:
    from bgplab.io.http import allowed, parse_allow, parse_listen

    assert parse_listen("8080") == ("127.0.0.1", 8080)
    assert parse_listen(":8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:80") == ("::1", 80)
    assert parse_listen("0.0.0.0:80") == ("0.0.0.0", 80)
    for bad in ("x:80", "1.2.3.4:99999", "1.2.3.4:"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    nets = parse_allow(None)
    assert allowed(nets, "127.0.0.1") and allowed(nets, "::1")
    assert not allowed(nets, "192.0.2.1")
    nets = parse_allow(["192.0.2.0/24,2001:db8::/32"])
    assert allowed(nets, "192.0.2.9") and allowed(nets, "::ffff:192.0.2.9")
    assert not allowed(nets, "127.0.0.1")
    with pytest.raises(ValueError):
        parse_allow(["nonsense"])


WEB_FILES = [ROOT / "src/bgplab/io/http.py", *sorted((ROOT / "src/bgplab/web").glob("*.py"))]


@pytest.mark.parametrize("path", WEB_FILES, ids=lambda p: p.name)
def test_web_layer_reads_only_through_the_command_layer(path: Path) -> None:
    """docs/architecture.md: the HTTP layer may not reach into the RIB or the
    protocols; the daemon object is only handed to the command layer."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module
            assert not mod.startswith(("bgplab.rib", "bgplab.protocols", "bgplab.bgp")), mod
            if mod.startswith("bgplab.cli"):
                names = {a.name for a in node.names}
                allowed_names = {"execute", "Session", "JSON_CODE", "format_line", "render"}
                assert names <= allowed_names, names
        if isinstance(node, ast.Attribute) and node.attr in (
            "protocols", "ctx", "tables", "channel", "bgp",
        ):  # fmt: skip
            # reading a daemon attribute would be a second path into the RIB
            assert not (isinstance(node.value, ast.Name) and node.value.id in ("d", "daemon")), (
                f"{path.name}:{node.lineno}"
            )


def test_loopback_glass_refuses_foreign_host_names(glass: tuple[FakeDaemon, ServedGlass]) -> None:
    """DNS rebinding: bound to loopback, a request naming another host is refused."""
    import http.client

    _d, g = glass

    def get(host: str | None) -> int:
        conn = http.client.HTTPConnection(g.host, g.port, timeout=10)
        try:
            conn.putrequest("GET", "/api/status", skip_host=True)
            if host is not None:
                conn.putheader("Host", host)
            conn.endheaders()
            return conn.getresponse().status
        finally:
            conn.close()

    assert get("evil.example:80") == 403
    assert get("evil.example") == 403
    for ok in (f"127.0.0.1:{g.port}", "localhost", f"localhost:{g.port}", "[::1]:80", None):
        assert get(ok) == 200, ok
