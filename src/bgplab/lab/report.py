"""The lab report (``bgplab lab report --html/--png``, ``lab run --html``):
a snapshot of the live view (``bgplab lab ui``) in one self-contained file.

Top to bottom: the verdict with every failing check first; when, where and
with which bgplab it was made; the topology picture (:mod:`bgplab.lab.diagram`:
AS numbers, router ids, reflector role, sessions coloured by state, labels
never crossed by a wire); each router's per-peer view (state, uptime,
routes imported/exported); each node's BGP routes with next hop,
originator and cluster list; expected-versus-actual route diffs per host;
the ping matrix; the Calico resources and which BGPPeer each node matched;
every speaker's rendered configuration. ``--png`` draws the same layout.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bgplab import __version__
from bgplab.errors import UserError
from bgplab.lab import ctl, diagram
from bgplab.lab.check import Report
from bgplab.lab.lab import Lab
from bgplab.web.html import e, static_file, table, when

_where: Callable[[Any], str] | None
try:  # the router container's helper (lab/container.py), when present
    from bgplab.lab.container import where as _where
except ImportError:  # pragma: no cover - older trees
    _where = None

GREEN, RED, GREY = diagram.GREEN, diagram.RED, diagram.GREY


# ---- what the speakers say ---------------------------------------------------------


@dataclass
class Peer:
    """One BGP protocol of a speaker, from ``show protocols all``."""

    name: str
    state: str
    since: str
    info: str
    details: dict[str, str] = field(default_factory=dict)


def peers(sock: str) -> list[Peer]:
    """The BGP protocols of a speaker with their detail lines (BIRD or bgplabd)."""
    out: list[Peer] = []
    cur: Peer | None = None
    for code, text in ctl.query(sock, "show protocols all", timeout=5):
        if code == "1002":
            parts = text.split(None, 5)
            cur = None
            if len(parts) >= 5 and parts[1] == "BGP":
                cur = Peer(parts[0], parts[3], parts[4], parts[5].strip() if len(parts) > 5 else "")
                out.append(cur)
        elif code == "1006" and cur is not None and ":" in text:
            key, _, value = text.strip().partition(":")
            cur.details.setdefault(key.strip(), value.strip())
    return out


@dataclass
class BgpRoute:
    net: str
    via: str
    attrs: dict[str, str] = field(default_factory=dict)


_ROUTE = re.compile(r"^(\S+)?\s+(.*?)\s*\[(\S+)")


def bgp_routes(sock: str) -> tuple[list[BgpRoute], str]:
    """The BGP routes of ``show route all`` (with their BGP.* attributes) and its text."""
    lines = [
        t for c, t in ctl.query(sock, "show route all", timeout=10) if c in ("1007", "1008", "1012")
    ]
    routes: list[BgpRoute] = []
    net = ""
    cur: BgpRoute | None = None
    for text in lines:
        if text.startswith("\t"):
            key, _, value = text.strip().partition(":")
            if cur is not None and key.startswith("BGP."):
                cur.attrs[key.removeprefix("BGP.")] = value.strip()
            continue
        m = _ROUTE.match(text)
        if not m:
            cur = None
            continue
        net = m.group(1) or net
        cur = BgpRoute(net, m.group(2))
        routes.append(cur)
    return [r for r in routes if r.attrs], "\n".join(lines)


def _safe(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (ctl.CtlError, OSError) as exc:
        return exc


# ---- Calico: which BGPPeer each node matched ---------------------------------------


def bgp_peer_matches(lab: Lab) -> list[tuple[str, str, str]]:
    """(node, BGPPeer name, peer IP) for every BGPPeer that selects the node."""
    from bgplab.calico.selector import SelectorError, parse_selector

    out = []
    for doc in lab.topo.calico:
        if doc.get("kind") != "BGPPeer":
            continue
        spec = doc.get("spec") or {}
        name = (doc.get("metadata") or {}).get("name", "?")
        for n in lab.topo.nodes:
            if spec.get("node"):
                hit = spec["node"] == n.name
            elif spec.get("nodeSelector"):
                try:
                    hit = parse_selector(spec["nodeSelector"])(n.labels)
                except SelectorError:
                    hit = False
            else:
                hit = True  # a global peer
            if hit:
                out.append((n.name, name, str(spec.get("peerIP", ""))))
    return out


# ---- the page ---------------------------------------------------------------------


def _section(title: str, body: str, anchor: str) -> str:
    return f'<h2 id="{e(anchor)}">{e(title)}</h2>\n{body}'


def _verdict(rep: Report) -> str:
    failing = [c for c in rep.checks if not c.ok]
    waited = (
        f"converged after {rep.converged_after:.1f} s"
        if rep.converged_after is not None
        else "did not converge within the wait"
    )
    if not failing:
        return (
            f'<p class="verdict-pass"><b>ALL PASS</b> — {len(rep.checks)} checks, {e(waited)}</p>'
        )
    items = "".join(f"<li><b>{e(c.name)}</b>: {e(c.detail)}</li>" for c in failing)
    return (
        f'<div class="verdict-fail"><b>FAILED: {len(failing)} of {len(rep.checks)} checks</b>'
        f" ({e(waited)})<ul>{items}</ul></div>"
    )


def _made(lab: Lab) -> str:
    speakers = "; ".join(
        e(_where(s)) if _where is not None else e(f"{s.host}: {s.kind} pid {s.pid} in {s.netns}")
        for s in lab.speakers.values()
    )
    return (
        f'<p class="status">Made {e(when(time.time()))} ({e(time.strftime("%Z"))}) on '
        f"{e(socket.gethostname())} by bgplab {e(__version__)}. Scenario "
        f"<b>{e(lab.scenario.name)}</b>: {e(lab.scenario.title)}. Topology "
        f"{e(lab.topo.source or 'seed (built in)')}; router speaker {e(lab.router_speaker)}, "
        f"node speaker {e(lab.node_speaker)}; node configs by {e(lab.renderer)}; run directory "
        f'{e(lab.rundir)}.</p><p class="status">What runs where: {speakers}.</p>'
    )


def _per_host(lab: Lab, hosts: list[str], ask: Any, show: Any) -> str:
    """A section per host: ``show(ask(control socket))``, or what went wrong."""
    out = []
    for host in hosts:
        info = lab.speakers.get(host)
        got = _safe(ask, info.socket) if info else UserError("no speaker")
        out.append(f"<h3>{e(host)}</h3>")
        out.append(f'<p class="err">{e(got)}</p>' if isinstance(got, Exception) else show(got))
    return "".join(out)


def _peer_table(got: list[Peer]) -> str:
    rows = [
        (
            e(p.name),
            e(p.details.get("Neighbor address", "")),
            e(p.details.get("Neighbor AS", "")),
            f'<span class="{"st-up" if p.info.startswith("Established") else "st-down"}">'
            f"{e(p.info or p.state)}</span>",
            e(p.since),
            e(p.details.get("Routes", "")),
        )
        for p in got
    ]
    heads = ("protocol", "neighbor", "AS", "state", "since", "routes")
    return table(heads, rows, ' class="peers"')


def _route_table(got: tuple[list[BgpRoute], str]) -> str:
    routes, text = got
    rows = [
        (
            e(r.net),
            e(r.attrs.get("next_hop", "")),
            e(r.attrs.get("as_path", "")),
            e(r.attrs.get("local_pref", "")),
            e(r.attrs.get("originator_id", "")),
            e(r.attrs.get("cluster_list", "")),
            e(r.attrs.get("community", "")),
        )
        for r in routes
    ]
    heads = ("network", "next hop", "AS path", "local pref", "originator", "cluster list",
             "communities")  # fmt: skip
    return (
        table(heads, rows, ' class="reflected"')
        + f"<details><summary>show route all</summary><pre>{e(text)}</pre></details>"
    )


def _diffs(lab: Lab, rep: Report, family: int = 4) -> str:
    """Expected versus actual ``proto bird`` routes per host (``family=6``: the IPv6 side
    of a dual-stack lab)."""
    expected, actual = (rep.expected6, rep.actual6) if family == 6 else (rep.expected, rep.actual)
    routes = rep.routes6 if family == 6 else rep.routes
    out = []
    hosts = sorted(
        lab.topo.host_names(),
        key=lambda h: expected.get(h, set()) == actual.get(h, set()),
    )
    for host in hosts:
        exp, got = expected.get(host, set()), actual.get(host, set())
        missing, extra, same = sorted(exp - got, key=str), sorted(got - exp, key=str), exp & got
        rows = [('<span class="st-down">missing</span>', e(r)) for r in missing]
        rows += [('<span class="st-down">unexpected</span>', e(r)) for r in extra]
        rows += [('<span class="st-up">as expected</span>', e(r)) for r in sorted(same, key=str)]
        ok = not missing and not extra
        head = "as expected" if ok else f"{len(missing)} missing, {len(extra)} unexpected"
        out.append(
            f'<h3>{e(host)}: <span class="{"st-up" if ok else "st-down"}">{e(head)}</span>'
            f" ({len(exp)} expected proto bird routes)</h3>"
        )
        out.append(table(("", "route"), rows, ' class="diff"'))
        out.append(
            f"<details><summary>{'ip -6 route' if family == 6 else 'ip route'} on {e(host)}"
            "</summary>"
            f"<pre>{e(chr(10).join(routes.get(host, [])))}</pre></details>"
        )
        status = rep.node_status.get(host) if family == 4 else None
        if status:
            out.append(
                f"<details><summary>calicoctl node status on {e(host)}</summary>"
                f"<pre>{e(status)}</pre></details>"
            )
    return "".join(out)


def _matrix(lab: Lab, rep: Report, family: int = 4) -> str:
    pods = lab.pods()
    matrix = rep.matrix6 if family == 6 else rep.matrix
    head = "<tr><th>from \\ to</th>" + "".join(f"<th>{e(p.name)}</th>" for p in pods) + "</tr>"
    rows = [head]
    for a in pods:
        cells = []
        for b in pods:
            if a.name == b.name:
                cells.append("<td>·</td>")
            else:
                ok = matrix.get((a.name, b.name), False)
                cells.append(
                    f'<td class="{"st-up" if ok else "st-down"}">{"ok" if ok else "✗"}</td>'
                )
        addr = a.address6 if family == 6 else a.address
        rows.append(f"<tr><th>{e(a.name)} ({e(str(addr))})</th>{''.join(cells)}</tr>")
    return f"<table>{''.join(rows)}</table>"


def _calico(lab: Lab) -> str:
    rows = [(e(n), e(p), e(ip)) for n, p, ip in bgp_peer_matches(lab)]
    matched = table(("node", "BGPPeer", "peer IP"), rows, ' class="matches"')
    docs = yaml.safe_dump_all(list(lab.topo.calico), sort_keys=False)
    return matched + f"<details><summary>resources</summary><pre>{e(docs)}</pre></details>"


def _configs(lab: Lab) -> str:
    out = []
    for host, info in lab.speakers.items():
        conf = Path(info.config)
        files = [conf] + sorted(p for p in conf.parent.glob("*.cfg") if p != conf and p.is_file())
        for f in files:
            try:
                text = f.read_text()
            except OSError as exc:
                text = f"cannot read: {exc.strerror}"
            out.append(
                f"<details><summary>{e(host)}: {e(f)}</summary><pre>{e(text)}</pre></details>"
            )
    return "".join(out)


def html_report(lab: Lab, rep: Report) -> str:
    rr = getattr(lab.scenario, "router_kind", "rr") == "rr"
    lay = diagram.layout(lab.topo, rep.sessions, rr)
    css = (static_file("lg.css") or b"").decode()
    verdict = "ALL PASS" if rep.ok else "FAILED"
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>bgplab lab '
        f"report: {e(lab.scenario.name)} — {verdict}</title><style>{css}</style></head><body>"
        f"<main><h1>bgplab lab report: scenario {e(lab.scenario.name)} — {verdict}</h1>",
        _verdict(rep),
        _made(lab),
        diagram.svg(lay),
        _section(
            "Routers: per-peer view",
            _per_host(lab, lab.topo.router_names(), peers, _peer_table),
            "peers",
        ),
        _section(
            "Routes each node learned over BGP",
            _per_host(lab, lab.topo.node_names(), bgp_routes, _route_table),
            "reflected",
        ),
        _section("Route tables: expected versus actual", _diffs(lab, rep), "diffs"),
        _section("Pod reachability (row pings column)", _matrix(lab, rep), "pings"),
        *(
            [  # dual stack: the IPv6 side
                _section(
                    "IPv6 route tables: expected versus actual", _diffs(lab, rep, 6), "diffs6"
                ),
                _section("Pod reachability over IPv6", _matrix(lab, rep, 6), "pings6"),
            ]
            if rep.expected6
            else []
        ),
        _section(
            "Checks",
            table(
                ("check", "verdict", "detail"),
                [
                    (
                        e(c.name),
                        f'<span class="{"st-up" if c.ok else "st-down"}">'
                        f"{'PASS' if c.ok else 'FAIL'}</span>",
                        e(c.detail),
                    )
                    for c in sorted(rep.checks, key=lambda c: c.ok)
                ],
            ),
            "checks",
        ),
        _section("Calico resources and the BGPPeer each node matched", _calico(lab), "calico"),
        _section("Rendered configurations", _configs(lab), "configs"),
        "</main></body></html>\n",
    ]
    return "\n".join(parts)


def write_html(lab: Lab, rep: Report, path: Path) -> None:
    try:
        path.write_text(html_report(lab, rep))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def write_png(lab: Lab, rep: Report, path: Path) -> None:
    """The topology picture of the report, drawn by matplotlib from the same layout."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyBboxPatch, Rectangle
    except ImportError:
        raise UserError("--png needs matplotlib (pip install 'bgplab[bench]')") from None
    rr = getattr(lab.scenario, "router_kind", "rr") == "rr"
    lay = diagram.layout(lab.topo, rep.sessions, rr)
    scale = 90.0
    fig, ax = plt.subplots(figsize=(lay.width / scale, (lay.height + 40) / scale), dpi=120)
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, -40)
    ax.axis("off")
    for w in lay.wires:
        xs, ys = [p[0] for p in w.points], [p[1] for p in w.points]
        if w.kind == "session" and w.edge is not None:
            ax.plot(xs, ys, color=diagram.colour(w.edge.state), lw=1.6, ls="--")
        else:
            ax.plot(xs, ys, color="#444" if w.kind == "link" else "#999",
                    lw=1.5 if w.kind == "link" else 0.8)  # fmt: skip
    for bar in lay.bars.values():
        ax.add_patch(Rectangle((bar.left, bar.y - 4), bar.right - bar.left, 8, color="#5477b8"))
        ax.text(bar.label_x, bar.label_y, bar.label, ha="left", va="baseline", fontsize=7,
                fontweight="bold", color="#23364d")  # fmt: skip
    fills = {"router": "#f3d98b", "node": "#cfe3f7", "pod": "#eeeeee"}
    for b in lay.boxes.values():
        ax.add_patch(
            FancyBboxPatch((b.x - b.w / 2, b.top), b.w, b.h,
                           boxstyle="round,pad=0,rounding_size=6", fc=fills[b.kind], ec="#555")
        )  # fmt: skip
        ax.text(b.x, b.y, "\n".join(b.lines), ha="center", va="center",
                fontsize=5.5 if b.kind == "pod" else 6.5, linespacing=1.35)  # fmt: skip
    verdict = (
        "all checks pass"
        if rep.ok
        else "FAILED: " + ", ".join(c.name for c in rep.checks if not c.ok)
    )
    ax.text(
        10, -20,
        f"bgplab lab: {lab.scenario.name} — {verdict} (router {lab.router_speaker}, nodes "
        f"{lab.node_speaker}) · {when(time.time())} · bgplab {__version__}",
        fontsize=7, color=RED if not rep.ok else "#222",
    )  # fmt: skip
    ax.text(10, lay.height - 8, "dashed: BGP sessions (green Established, amber connecting, "
            "red down); solid: links", fontsize=6, color="#444")  # fmt: skip
    try:
        fig.savefig(path, bbox_inches="tight")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        plt.close(fig)
