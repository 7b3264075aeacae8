"""Small HTML helpers shared by the looking glass and the lab's live view.

Every string that reaches a page goes through :func:`e` (text and
attribute values) or :func:`url` (query strings): text from the wire or the
configuration can hold ``<script>``, quotes or ``&``, and must stay text.
Pages load no inline script: the Content-Security-Policy that
:mod:`bgplab.io.http` sends allows only the server's own ``/static/`` files,
so even a missed escape could not run anything.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from importlib import resources
from typing import Any
from urllib.parse import urlencode

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def e(value: Any) -> str:
    """Text or an attribute value, escaped (``None`` is empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def url(path: str, query: dict[str, str] | None = None) -> str:
    """A link, escaped for an ``href`` attribute."""
    return e(path + ("?" + urlencode(query) if query else ""))


def when(epoch: float | None) -> str:
    if not epoch:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(epoch)))


def static_file(name: str) -> bytes | None:
    """A file of ``bgplab/web/static`` (None when there is no such file)."""
    if "/" in name or name.startswith("."):
        return None
    res = resources.files("bgplab.web").joinpath("static", name)
    try:
        return res.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def head(title: str, nav: Iterable[tuple[str, str]], body_attrs: str = "") -> str:
    links = " ".join(f'<a href="{url(href)}">{e(label)}</a>' for label, href in nav)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/lg.css">'
        '<script src="/static/lg.js" defer></script>'
        f"</head><body{body_attrs}><header><nav>{links}</nav></header><main>"
        f"<h1>{e(title)}</h1>\n"
    )


FOOT = "</main></body></html>\n"


def pre(lines: Iterable[str], cls: str = "birdc") -> str:
    return f'<pre class="{e(cls)}">' + e("\n".join(lines)) + "</pre>\n"


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], attrs: str = "") -> str:
    """A table from already-escaped cell HTML."""
    headers = list(headers)
    out = [f"<table{attrs}>"]
    if any(headers):
        out += ["<thead><tr>", *(f"<th>{e(h)}</th>" for h in headers), "</tr></thead>"]
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>\n")
    return "".join(out)


def state_class(state: str) -> str:
    """A CSS class for a protocol or session state."""
    s = (state or "").lower()
    if s in ("up", "established"):
        return "st-up"
    if s in ("start", "connect", "active", "opensent", "openconfirm", "passive"):
        return "st-start"
    return "st-down"
