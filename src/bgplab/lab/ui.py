"""``bgplab lab ui``: the live view of a running lab in a browser.

One page: the topology picture (:mod:`bgplab.lab.diagram`) with every BGP
session coloured by its state and recoloured every second without a
reload, a session table, each host's route table and ``calicoctl node
status`` (loaded when opened), the pod ping matrix (rerun on demand), the
last check's verdicts (``bgplab lab check`` saves them; the page can run
one) and the timeline of a drill started with ``bgplab lab fault``, live.

Each bgplabd speaker also gets its looking glass (:class:`LookingGlass`) on
the next ports, read through that speaker's control socket in a restricted
session (``restrict`` first, so nothing there can change it), with the
FIB view read inside the speaker's namespace.

The server is the looking glass's (:mod:`bgplab.io.http`): loopback by
default, GET only; slow work (control sockets, ``ip``, pings) runs in
threads so one slow host never stalls the page's polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket as socketmod
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bgplab import __version__
from bgplab.errors import UserError
from bgplab.io.http import (
    JSON,
    Body,
    HttpError,
    HttpServer,
    LookingGlass,
    fib_lookup,
    serve_app,
    split_target,
    static,
)
from bgplab.lab import diagram
from bgplab.lab.check import Report, node_status_text, ping_matrix, run_checks, sessions
from bgplab.lab.lab import Lab
from bgplab.web.html import FOOT, e, head, table, when

LAST_CHECK = "last-check.json"
DRILL_LOG = "drill.jsonl"  # written by bgplab lab fault (lab/fault.py Timeline)
READ_LIMIT = 1 << 24


# ---- a speaker's control socket as a command source ----------------------------


class RemoteDaemon:
    """Runs birdc command lines on a speaker's control socket, in a
    restricted session: the looking glass's ``run_command`` source."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout

    async def run_command(self, line: str) -> list[tuple[int, str]]:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(self.path, limit=READ_LIMIT), self.timeout
        )
        try:
            await self._reply(reader)  # greeting
            writer.write(b"restrict\n")
            await self._reply(reader)
            writer.write(line.encode() + b"\n")
            return await self._reply(reader)
        finally:
            writer.close()

    async def _reply(self, reader: asyncio.StreamReader) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        code = 0
        while True:
            raw = await asyncio.wait_for(reader.readline(), self.timeout)
            if not raw:
                raise HttpError(502, f"{self.path}: the speaker closed the connection")
            text = raw.decode(errors="replace").rstrip("\n")
            if len(text) >= 5 and text[:4].isdigit() and text[4] in " -":
                code = int(text[:4])
                out.append((code, text[5:]))
                if text[4] == " ":
                    return out
            elif text.startswith(" "):
                out.append((code, text[1:]))


def fib_in(netns: str) -> Callable[[str], Any]:
    async def lookup(net: str) -> list[dict[str, Any]]:
        return await fib_lookup(net, ["ip", "netns", "exec", netns])

    return lookup


# ---- state the page shows -------------------------------------------------------


def save_last_check(lab: Lab, rep: Report, source: str) -> None:
    """Keep a check's verdicts in the run directory for the live view."""
    doc = {
        "time": time.time(),
        "source": source,
        "ok": rep.ok,
        "converged_after": rep.converged_after,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in rep.checks],
    }
    # on failure the view shows no last check; the check itself stands
    with contextlib.suppress(OSError):
        (lab.rundir / LAST_CHECK).write_text(json.dumps(doc) + "\n")


def last_check(lab: Lab) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads((lab.rundir / LAST_CHECK).read_text())
        return doc
    except (OSError, ValueError):
        return None


def drill_events(lab: Lab) -> dict[str, Any]:
    path = lab.rundir / DRILL_LOG
    try:
        mtime = path.stat().st_mtime
        lines = path.read_text().splitlines()
    except OSError:
        return {"events": [], "updated": None}
    events = []
    for ln in lines[-200:]:
        try:
            events.append(json.loads(ln))
        except ValueError:
            continue
    return {"events": events, "updated": mtime}


def live_state(lab: Lab) -> dict[str, Any]:
    """Sessions (both ends, combined per edge), speakers and the drill."""
    ss = sessions(lab)
    hosts = {}
    for host in lab.topo.host_names():
        info = lab.speakers.get(host)
        hosts[host] = {
            "kind": info.kind if info else None,
            "pid": info.pid if info else None,
            "alive": lab.speaker_alive(host),
            "sessions": ss.get(host, {}),
        }
    edges = _edges(lab, ss, "")
    if lab.topo.dual_stack:
        edges += _edges(lab, sessions(lab, 6), "v6:")
    return {"time": time.time(), "hosts": hosts, "edges": edges, "drill": drill_events(lab)}


def _edges(lab: Lab, ss: dict[str, dict[str, str]], tag: str) -> list[dict[str, Any]]:
    """Sessions as the page shows them; IPv6 ones (dual stack) are ``v6:``-tagged
    and listed in the table only (the picture draws the IPv4 ones)."""
    return [
        {
            "id": tag + ed.id,
            "family": 6 if tag else 4,
            "a": ed.a,
            "b": ed.b,
            "proto_a": ed.proto_a,
            "proto_b": ed.proto_b,
            "state_a": ed.state_a,
            "state_b": ed.state_b,
            "state": ed.state,
            "colour": diagram.colour(ed.state),
        }
        for ed in diagram.edges(lab.topo, ss)
    ]


def host_detail(lab: Lab, host: str) -> dict[str, Any]:
    if host not in lab.topo.host_names():
        raise HttpError(404, "no such host")
    info = lab.speakers.get(host)
    status = None
    if info is not None and not lab.topo.is_router(host):
        info6 = lab.speakers6.get(host)
        status = node_status_text(info.socket, info6.socket if info6 else None)
    return {"host": host, "routes": lab.route_text(host), "node_status": status}


def ping_doc(lab: Lab) -> dict[str, Any]:
    matrix = ping_matrix(lab)
    pods = [{"name": p.name, "address": p.address, "subnet": p.subnet} for p in lab.pods()]
    return {
        "time": time.time(),
        "pods": pods,
        "matrix": [[a, b, ok] for (a, b), ok in sorted(matrix.items())],
        "ok": all(matrix.values()),
    }


# ---- the page -------------------------------------------------------------------


def page(lab: Lab, state: dict[str, Any], glasses: dict[str, str]) -> str:
    topo = lab.topo
    rr = lab.scenario.router_kind == "rr" if hasattr(lab.scenario, "router_kind") else True
    sess = {h: v["sessions"] for h, v in state["hosts"].items()}
    lay = diagram.layout(topo, sess, rr)
    out = [head(f"bgplab lab: {lab.scenario.name}", (("Lab", "/"), ("API", "/api/lab")),
                ' data-live="lab"')]  # fmt: skip
    out.append(
        f'<p class="status">scenario <b>{e(lab.scenario.name)}</b> ({e(lab.scenario.title)}) · '
        f"topology {e(topo.source or 'seed (built in)')} · router speaker "
        f"{e(lab.router_speaker)}, node speaker {e(lab.node_speaker)} · run directory "
        f"{e(lab.rundir)} · bgplab {e(__version__)} on {e(socketmod.gethostname())} · "
        f'<span id="live">waiting</span></p>'
    )
    out.append('<div id="drill"></div>')
    out.append(diagram.svg(lay))
    rows = []
    for ed in state["edges"]:
        rows.append(
            (
                e(ed["a"]),
                e(ed["b"] + (" (IPv6)" if ed["family"] == 6 else "")),
                f'<span data-edge="{e(ed["id"])}" class="{_cls(ed["state"])}">'
                f"{e(ed['state'])}</span>",
                e(f"{ed['proto_a'] or '-'}: {ed['state_a'] or '-'}"),
                e(f"{ed['proto_b'] or '-'}: {ed['state_b'] or '-'}"),
            )
        )
    out.append("<h2>BGP sessions</h2>")
    out.append(table(("host", "peer", "state", "seen by host", "seen by peer"), rows,
                     ' id="sessions"'))  # fmt: skip
    out.append("<h2>Hosts</h2>")
    hrows = []
    for host, h in state["hosts"].items():
        glass = glasses.get(host)
        link = f'<a class="glass" href="{e(glass)}">looking glass</a>' if glass else ""
        hrows.append(
            (
                e(host),
                e(h["kind"]),
                f'<span data-pid="{e(host)}">{e(h["pid"])}</span>',
                f'<span data-alive="{e(host)}" class="{"st-up" if h["alive"] else "st-down"}">'
                f"{'running' if h['alive'] else 'not running'}</span>",
                link,
            )
        )
    out.append(table(("host", "speaker", "pid", "speaker state", ""), hrows, ' id="hosts"'))
    for host in topo.host_names():
        out.append(
            f'<details class="host-detail" data-host="{e(host)}"><summary>{e(host)}: route '
            "table"
            + ("" if topo.is_router(host) else " and calicoctl node status")
            + '</summary><div class="detail">loading…</div></details>'
        )
    out.append(
        '<h2>Pod reachability</h2><p><button type="button" id="run-ping">Run the ping '
        'matrix</button> <span id="ping-info"></span></p><div id="ping"></div>'
    )
    out.append('<h2>Last check</h2><p><button type="button" id="run-check">Run a check now'
               '</button> <span id="check-info"></span></p>')  # fmt: skip
    out.append(f'<div id="check">{check_html(last_check(lab))}</div>')
    out.append(FOOT.replace("</body>", '<script src="/static/lab.js" defer></script></body>'))
    return "".join(out)


def _cls(state: str) -> str:
    return {"Established": "st-up", "unknown": "st-start"}.get(state, "st-down")


def check_html(doc: dict[str, Any] | None) -> str:
    if not doc:
        return "<p>No check yet (run <code>bgplab lab check</code>, or the button).</p>"
    failing = [c for c in doc["checks"] if not c["ok"]]
    rows = [
        (e(c["name"]), f'<span class="{"st-up" if c["ok"] else "st-down"}">'
         f"{'PASS' if c['ok'] else 'FAIL'}</span>", e(c["detail"]))
        for c in failing + [c for c in doc["checks"] if c["ok"]]
    ]  # fmt: skip
    verdict = "ALL PASS" if doc["ok"] else f"FAILED ({len(failing)} of {len(doc['checks'])})"
    return (
        f'<p class="{"verdict-pass" if doc["ok"] else "verdict-fail"}">{e(verdict)} — '
        f"{e(when(doc['time']))}, by {e(doc['source'])}</p>"
        + table(("check", "verdict", "detail"), rows)
    )


class LabApp:
    """The live view's routes."""

    def __init__(self, lab: Lab, glasses: dict[str, str]) -> None:
        self.lab = lab
        self.glasses = glasses
        self._check_lock = asyncio.Lock()

    def fresh(self) -> Lab:
        """The lab as its state file says now: drills and restarts started
        elsewhere change speakers and pids."""
        with contextlib.suppress(Exception):  # mid-write or gone: keep the last one seen
            self.lab = Lab.load(self.lab.rundir)
        return self.lab

    async def __call__(self, target: str) -> tuple[int, str, Body]:
        path, query = split_target(target)
        lab = await asyncio.to_thread(self.fresh)
        if path.startswith("/static/"):
            return static(path)
        if path == "/":
            state = await asyncio.to_thread(live_state, lab)
            html = page(lab, state, self.glasses)
            return 200, "text/html; charset=utf-8", html.encode()
        if path == "/api/lab":
            doc = {
                "scenario": lab.scenario.name,
                "topology": str(lab.topo.source or "seed"),
                "hosts": lab.topo.host_names(),
                "glasses": self.glasses,
                "version": __version__,
            }
            return _json(doc)
        if path == "/api/lab/state":
            return _json(await asyncio.to_thread(live_state, lab))
        if path.startswith("/api/lab/host/"):
            host = path.removeprefix("/api/lab/host/")
            return _json(await asyncio.to_thread(host_detail, lab, host))
        if path == "/api/lab/ping":
            return _json(await asyncio.to_thread(ping_doc, lab))
        if path == "/api/lab/check":
            if query.get("run") == "1":
                async with self._check_lock:  # one check at a time
                    rep = await asyncio.to_thread(run_checks, lab, 0)
                    save_last_check(lab, rep, "bgplab lab ui")
            last = last_check(lab)
            return _json({"check": last, "html": check_html(last)})
        raise HttpError(404, "no such page")


def _json(doc: Any) -> tuple[int, str, Body]:
    return 200, JSON, json.dumps(doc, default=str).encode()


# ---- running it -----------------------------------------------------------------


async def serve(lab: Lab, listen: str, port: int, say: Callable[[str], None]) -> None:
    servers: list[HttpServer] = []
    glasses: dict[str, str] = {}
    next_port = port + 1 if port else 0
    for host in lab.topo.host_names():
        info = lab.speakers.get(host)
        if info is None or info.kind != "bgplabd":
            continue  # BIRD answers no `json` command: no looking glass for it
        app = LookingGlass(RemoteDaemon(info.socket), fib=fib_in(info.netns))
        srv = _listen(app, listen, next_port)
        servers.append(srv)
        assert srv.address is not None
        glasses[host] = f"http://{_host(srv.address[0])}:{srv.address[1]}/"
        if next_port:
            next_port += 1
    main = _listen(LabApp(lab, glasses), listen, port)
    servers.append(main)
    assert main.address is not None
    say(f"lab view on http://{_host(main.address[0])}:{main.address[1]}/")
    for host, link in glasses.items():
        say(f"  looking glass of {host}: {link}")
    try:
        await asyncio.Event().wait()
    finally:
        for s in servers:
            s.close()


def _listen(app: Any, listen: str, port: int) -> HttpServer:
    """Serve ``app`` on listen:port, or say in one line why it cannot."""
    try:
        return serve_app(app, f"{listen}:{port}")
    except OSError as e:
        hint = " (--port 0 picks free ports)" if port else ""
        raise UserError(f"cannot listen on {_host(listen)}:{port}: {e.strerror or e}{hint}") from None


def _host(addr: str) -> str:
    return f"[{addr}]" if ":" in addr else addr


def run(rundir: Path, listen: str, port: int, say: Callable[[str], None]) -> int:
    lab = Lab.load(rundir)
    try:
        asyncio.run(serve(lab, listen, port, say))
    except KeyboardInterrupt:
        return 0
    return 0
