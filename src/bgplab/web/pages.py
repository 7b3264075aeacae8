"""The looking glass's HTML pages, rendered from the documents of
:mod:`bgplab.web.api` (the same ones ``/api/`` serves).

Pages are plain server-rendered HTML; ``static/lg.js`` keeps the protocol
table live by polling ``/api/protocols``. The route list is an async
iterator of HTML pieces, written while the routes are selected.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from bgplab.web import api
from bgplab.web.html import FOOT, e, head, pre, state_class, table, url, when

NAV = (
    ("Protocols", "/protocols"),
    ("Routes", "/routes"),
    ("Filtered", "/routes?filtered=1"),
    ("API", "/api/openapi.json"),
)


def _title(status: dict[str, Any], what: str) -> str:
    return f"{what} — bgplabd {status.get('router_id', '')}"


def _proto_link(name: str) -> str:
    return f'<a href="{url("/protocols/" + name)}">{e(name)}</a>'


def _net_link(net: str, table_name: str | None = None) -> str:
    q = {"prefix": net, "match": "exact"}
    if table_name and table_name != "master":
        q["table"] = table_name
    return f'<a class="net" href="{url("/route", q)}">{e(net)}</a>'


def _state(state: str) -> str:
    return f'<span class="{state_class(state)}">{e(state)}</span>'


PROTO_COLUMNS = (
    "name", "proto", "table", "state", "since", "info", "imported", "filtered",
    "exported", "preferred", "import filter", "export filter",
)  # fmt: skip


def protocols_page(status: dict[str, Any], protos: list[dict[str, Any]]) -> str:
    rows = []
    for p in protos:
        rows.append(
            f'<tr data-proto="{e(p["name"])}">'
            f"<td>{_proto_link(p['name'])}</td><td>{e(p['proto'])}</td>"
            f"<td>{e(p.get('table'))}</td>"
            f'<td data-k="state">{_state(p["state"])}</td>'
            f'<td data-k="since">{e(when(p.get("since")))}</td>'
            f'<td data-k="info">{e(p.get("info"))}</td>'
            + "".join(
                f'<td data-k="{k}" class="num">{e(p.get(k, ""))}</td>'
                for k in ("imported", "filtered", "exported", "preferred")
            )
            + f"<td>{e(p.get('import_filter', ''))}</td><td>{e(p.get('export_filter', ''))}</td>"
            "</tr>"
        )
    body = (
        '<table id="protocols"><thead><tr>'
        + "".join(f"<th>{e(c)}</th>" for c in PROTO_COLUMNS)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>\n"
    )
    return (
        head(_title(status, "Protocols"), NAV, ' data-live="protocols"')
        + _status_line(status)
        + body
        + '<p class="hint">Live: states from <a href="/api/protocols?detail=0">'
        "/api/protocols?detail=0</a> every 2 s, counters every 20 s "
        '(<span id="live">waiting</span>).</p>' + FOOT
    )


def _status_line(status: dict[str, Any]) -> str:
    return (
        f'<p class="status">router id <b>{e(status.get("router_id"))}</b> · '
        f"{e(status.get('status'))} · started {e(when(status.get('last_reboot')))} · "
        f"last reconfiguration {e(when(status.get('last_reconfiguration')))} · "
        f"BIRD {e(status.get('version'))} compatible</p>\n"
    )


def _timer(v: Any) -> str:
    if isinstance(v, list) and len(v) == 2:
        return f"{v[0]}/{v[1]} s"
    return "" if v is None else str(v)


def protocol_page(status: dict[str, Any], doc: dict[str, Any]) -> str:
    p = doc["protocol"]
    name = p["name"]
    out = [head(_title(status, f"Protocol {name}"), NAV), _status_line(status)]
    links = [
        f'<a id="routes-link" href="{url("/routes", {"protocol": name})}">Routes from {e(name)}</a>'
    ]
    if p.get("filtered"):
        links.append(
            f'<a href="{url("/routes", {"protocol": name, "filtered": "1"})}">Filtered routes</a>'
        )
    out.append("<p>" + " · ".join(links) + "</p>")
    bgp = p.get("bgp")
    if bgp:
        rows = [
            ("State", _state(bgp.get("bgp_state") or "")),
            ("Neighbor", e(f"{bgp.get('neighbor_address')} AS{bgp.get('neighbor_as')}")),
            ("Neighbor router id", e(bgp.get("neighbor_id"))),
            ("Capabilities", e(" ".join(bgp.get("neighbor_caps") or []))),
            ("Session", e(" ".join(bgp.get("session_flags") or []))),
            ("Source address", e(bgp.get("source_address"))),
            ("Hold timer", e(_timer(bgp.get("hold_timer")))),
            ("Keepalive timer", e(_timer(bgp.get("keepalive_timer")))),
            ("Connect delay", e(_timer(bgp.get("connect_delay")))),
            ("Error wait", e(_timer(bgp.get("error_wait")))),
            ("Last error", f'<span class="err">{e(bgp.get("last_error"))}</span>'),
        ]
        out.append("<h2>Session</h2>")
        out.append(table(("", ""), rows, ' class="kv" id="session"'))
    out.append("<h2><code>show protocols all " + e(name) + "</code></h2>")
    out.append(pre(doc["text"]))
    out.append(FOOT)
    return "".join(out)


def _search_form(s: api.RouteSearch, protos: list[dict[str, Any]]) -> str:
    def opt(value: str, label: str, chosen: str | None) -> str:
        sel = " selected" if value == (chosen or "") else ""
        return f'<option value="{e(value)}"{sel}>{e(label)}</option>'

    proto_opts = opt("", "any protocol", s.protocol) + "".join(
        opt(p["name"], p["name"], s.protocol) for p in protos if p["proto"] != "Device"
    )
    match_opts = "".join(
        opt(m, label, s.match)
        for m, label in (
            ("longest", "longest match"),
            ("exact", "exact"),
            ("within", "all inside"),
        )
    )
    return (
        '<form method="get" action="/routes" id="search">'
        f'<label>Prefix or address <input name="prefix" value="{e(s.prefix)}" size="20"></label> '
        f'<select name="match">{match_opts}</select> '
        f'<select name="protocol">{proto_opts}</select> '
        f'<label>Community <input name="community" value="{e(s.community)}" size="12"'
        ' placeholder="65000:100"></label> '
        f'<label>Large <input name="large_community" value="{e(s.large_community)}"'
        ' size="14"></label> '
        f'<label>AS path <input name="as_path" value="{e(s.as_path)}" size="14"'
        ' placeholder="65001 or * 65001 ?"></label> '
        '<label><input type="checkbox" name="filtered" value="1"'
        f"{' checked' if s.filtered else ''}> filtered</label> "
        '<button type="submit">Search</button></form>\n'
    )


ROUTE_COLUMNS = ("network", "via", "protocol", "best", "AS path", "communities", "next hop")


def _via(r: dict[str, Any]) -> str:
    hops = r.get("nexthops") or []
    if hops:
        return " ".join(f"{h.get('gateway')} on {h.get('interface')}" for h in hops)
    if r.get("gateway"):
        return f"{r['gateway']} on {r.get('interface')}"
    if r.get("interface"):
        return f"dev {r['interface']}"
    return str(r.get("dest", ""))


def _communities(b: dict[str, Any]) -> str:
    parts = [f"({a},{v})" for a, v in b.get("communities") or []]
    parts += ["(" + ", ".join(str(x) for x in c) + ")" for c in b.get("large_communities") or []]
    parts += list(b.get("ext_communities") or [])
    return " ".join(parts)


def route_row(r: dict[str, Any], table_name: str | None) -> str:
    b = r.get("bgp") or {}
    return (
        "<tr>"
        f"<td>{_net_link(r['net'], table_name)}</td><td>{e(_via(r))}</td>"
        f"<td>{_proto_link(r['protocol'])}</td><td>{'*' if r.get('primary') else ''}</td>"
        f"<td>{e(b.get('as_path_text', ''))}</td><td>{e(_communities(b))}</td>"
        f"<td>{e(b.get('next_hop', ''))}</td></tr>\n"
    )


async def routes_page(
    lines: Iterator[tuple[int, str]],
    status: dict[str, Any],
    protos: list[dict[str, Any]],
    s: api.RouteSearch,
) -> AsyncIterator[str]:
    what = "Filtered routes" if s.filtered else "Routes"
    yield head(_title(status, what), NAV)
    yield _search_form(s, protos)
    yield f'<p class="command">bgplabc <code id="command">{e(s.command())}</code></p>\n'
    yield (
        '<table id="routes"><thead><tr>'
        + "".join(f"<th>{e(c)}</th>" for c in ROUTE_COLUMNS)
        + "</tr></thead><tbody>\n"
    )
    page = api.Page()
    async for piece in api.route_pieces(lines, s, page):
        yield route_row(json.loads(piece), s.table)
    yield "</tbody></table>\n"
    first = s.offset + 1 if page.count else 0
    nav = [f'<span id="page-info">routes {first}–{s.offset + page.count}</span>']
    if s.offset:
        prev = max(0, s.offset - s.limit)
        nav.insert(0, f'<a id="prev" href="{url("/routes", s.query(offset=prev))}">« previous</a>')
    if page.more:
        nxt = s.offset + page.count
        nav.append(f'<a id="next" href="{url("/routes", s.query(offset=nxt))}">next »</a>')
    yield '<p class="pager">' + " · ".join(nav) + "</p>\n"
    yield (
        f'<p class="hint">JSON: <a href="{url("/api/routes", s.query())}">'
        f"/api/routes?{e(api_query(s))}</a></p>\n"
    )
    yield FOOT


def api_query(s: api.RouteSearch) -> str:
    from urllib.parse import urlencode

    return urlencode(s.query())


def _attrs_table(r: dict[str, Any]) -> str:
    b = r.get("bgp") or {}
    rows = [
        ("Network", e(r["net"])),
        ("Protocol", _proto_link(r["protocol"])),
        ("Best", "yes" if r.get("primary") else "no"),
        ("Via", e(_via(r))),
        ("From", e(r.get("from"))),
        ("Type", e(r.get("type"))),
        ("Preference", e(r.get("preference"))),
        ("Since", e(when(r.get("since")))),
    ]
    if b:
        rows += [
            ("Origin", e(b.get("origin"))),
            ("AS path", e(b.get("as_path_text"))),
            ("Next hop", e(b.get("next_hop"))),
            ("MED", e(b.get("med"))),
            ("Local preference", e(b.get("local_pref"))),
            ("Communities", e(_communities(b))),
            ("Originator id", e(b.get("originator_id"))),
            ("Cluster list", e(" ".join(b.get("cluster_list") or []))),
            ("Atomic aggregate", "yes" if b.get("atomic_aggregate") else ""),
        ]
    return table(("attribute", "value"), rows, ' class="kv attrs"')


def route_page(status: dict[str, Any], doc: dict[str, Any]) -> str:
    title = f"Route {doc['routes'][0]['net'] if doc['routes'] else doc['prefix']}"
    out = [head(_title(status, title), NAV)]
    out.append(f'<p class="command">bgplabc <code>{e(doc["command"])} all</code></p>')
    if not doc["routes"]:
        out.append('<p class="err">Network not in table</p>')
    for i, r in enumerate(doc["routes"]):
        out.append(f"<h2>Route {i + 1} from {e(r['protocol'])}</h2>")
        out.append(_attrs_table(r))
    out.append("<h2>What bgplabc prints</h2>")
    out.append(pre(doc["text"]))
    out.append("<h2>Explain</h2>")
    out.append(pre(doc["explain"], "birdc explain"))
    out.append("<h2>Kernel</h2>")
    for k in doc["kernel"]:
        got = ", ".join(f"{r['net']} via {_via(r)}" for r in k["routes"]) or "nothing"
        note = f" ({k['error']})" if k.get("error") else ""
        out.append(
            f"<p>{_proto_link(k['protocol'])} ({e(k['state'])}) exports: "
            f'<span class="kexport">{e(got)}</span>{e(note)}</p>'
        )
    if doc.get("fib") is not None:
        rows = [
            (
                e(f.get("dst")),
                e(
                    f.get("gateway")
                    or " ".join(str(h.get("gateway")) for h in f.get("nexthops", []))
                ),
                e(f.get("dev", "")),
                e(f.get("protocol", "")),
                e(f.get("table", "main")),
            )
            for f in doc["fib"]
        ]
        if not rows:
            rows = [("nothing", "", "", "", "")]
        out.append("<p>In the FIB (<code>ip route show table all exact</code>):</p>")
        out.append(table(("dst", "gateway", "dev", "proto", "table"), rows, ' id="fib"'))
    elif doc.get("fib_error"):
        out.append(f'<p class="err">FIB: {e(doc["fib_error"])}</p>')
    out.append(FOOT)
    return "".join(out)


def error_page(status: int, message: str) -> str:
    return head(f"{status}", NAV) + f'<p class="err">{e(message)}</p>' + FOOT
