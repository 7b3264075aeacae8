"""The looking glass's JSON documents, read through the control socket's
command layer.

Every document is the answer to one or more birdc command lines run by
:func:`bgplab.cli.execute.execute` in a *restricted* session (``birdc -r``):
the same parser, the same ``json`` mode, the same route selection as
``bgplabc``. This module never touches the daemon's tables or protocols
itself, and a restricted session cannot run ``configure``, ``disable`` or
``restart``, so nothing here can change state. What the user types
(prefix, protocol, community, AS path) is validated and rebuilt into a
command line, never pasted into one.
"""

from __future__ import annotations

import asyncio  # noqa: TID251 - only to yield to the loop between routes
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bgplab.cli import render
from bgplab.cli.client import format_line
from bgplab.cli.execute import JSON_CODE, Session, execute

YIELD_EVERY = 200  # routes produced between yields to the event loop
MAX_LIMIT = 5000  # routes per page at most
DEFAULT_LIMIT = 100

SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # protocol and table names
PREFIX = re.compile(r"^[0-9A-Fa-f:.]{1,45}(/[0-9]{1,3})?$")
COMMUNITY = re.compile(r"^([0-9]{1,5}):([0-9]{1,5})$")
LARGE_COMMUNITY = re.compile(r"^([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10})$")
PATH_TOKEN = re.compile(r"^([0-9]{1,10}|\*|\?)$")

FibLookup = Callable[[str], Awaitable[list[dict[str, Any]]]]


class ApiError(Exception):
    """A request the looking glass refuses: an HTTP status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# the command layer's error codes, as HTTP statuses
_STATUS = {8001: 404, 8003: 404, 9002: 404, 8005: 409}


async def _run(daemon: Any, line: str) -> Iterator[tuple[int, str]]:
    remote = getattr(daemon, "run_command", None)
    if remote is not None:  # another process's control socket (the lab's speakers)
        lines = iter(await remote(line))
    else:
        reply = await execute(daemon, line, Session(restricted=True, cooperative=True))
        lines = iter(reply.lines)
    first = next(lines, (0, ""))
    code, text = first
    if code >= 8000:
        raise ApiError(_STATUS.get(code, 400), text)

    def chain() -> Iterator[tuple[int, str]]:
        yield first
        yield from lines

    return chain()


async def run_json(daemon: Any, line: str) -> Any:
    """``json LINE``'s document (small replies only: not for route lists)."""
    lines = await _run(daemon, f"json {line}")
    return json.loads("".join(text for code, text in lines if code == JSON_CODE))


async def run_text(daemon: Any, line: str) -> list[str]:
    """``LINE`` as ``bgplabc`` (and birdc) prints it."""
    lines = await _run(daemon, line)
    return birdc_text(lines)


def birdc_text(lines: Iterable[tuple[int, str]]) -> list[str]:
    out = []
    for framed in render.frame(lines):
        text = format_line(framed, False)
        if text is not None:
            out.append(text)
    return out


# ---- protocols ------------------------------------------------------------------


async def status(daemon: Any) -> Any:
    return await run_json(daemon, "show status")


async def protocols(daemon: Any, detail: bool = True) -> Any:
    """``show protocols all``; without ``detail`` only names, states and
    info (``show protocols``): the route counters cost a walk over the
    table, too much to poll every second with a full table."""
    return await run_json(daemon, "show protocols all" if detail else "show protocols")


async def protocol(daemon: Any, name: str) -> dict[str, Any]:
    if not SYMBOL.match(name):
        raise ApiError(404, "no such protocol")
    doc = await run_json(daemon, f"show protocols all {name}")
    return {"protocol": doc[0], "text": await run_text(daemon, f"show protocols all {name}")}


# ---- routes -------------------------------------------------------------------


@dataclass
class RouteSearch:
    """``/api/routes`` query parameters, validated."""

    prefix: str | None = None
    match: str = "longest"  # longest | exact | within (every net inside the prefix)
    table: str | None = None
    protocol: str | None = None
    community: str | None = None
    large_community: str | None = None
    as_path: str | None = None
    filtered: bool = False
    primary: bool = False
    offset: int = 0
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_query(cls, q: dict[str, str]) -> RouteSearch:
        s = cls()
        known = {
            "prefix", "match", "table", "protocol", "community", "large_community",
            "as_path", "filtered", "primary", "offset", "limit",
        }  # fmt: skip
        for k in q:
            if k not in known:
                raise ApiError(400, f"unknown parameter {k}")
        s.prefix = q.get("prefix") or None
        s.match = q.get("match") or "longest"
        s.table = q.get("table") or None
        s.protocol = q.get("protocol") or None
        s.community = q.get("community") or None
        s.large_community = q.get("large_community") or None
        s.as_path = (q.get("as_path") or "").strip() or None
        s.filtered = _flag(q.get("filtered"))
        s.primary = _flag(q.get("primary"))
        s.offset = _int(q.get("offset"), 0, "offset", 0, 10**9)
        s.limit = _int(q.get("limit"), DEFAULT_LIMIT, "limit", 1, MAX_LIMIT)
        s.command()  # validate everything now
        return s

    def command(self) -> str:
        """The ``show route`` line this search runs (without ``json``)."""
        words = ["show", "route"]
        if self.prefix is not None:
            if not PREFIX.match(self.prefix):
                raise ApiError(400, f"prefix = {self.prefix}: not a prefix or address")
            if self.match == "longest":
                words += ["for", self.prefix]
            elif self.match == "exact":
                words.append(self.prefix)
            elif self.match != "within":
                raise ApiError(400, f"match = {self.match}: want longest, exact or within")
        for key in ("table", "protocol"):
            value = getattr(self, key)
            if value is not None:
                if not SYMBOL.match(value):
                    raise ApiError(400, f"{key} = {value}: not a name")
                words += [key, value]
        if self.filtered:
            words.append("filtered")
        if self.primary:
            words.append("primary")
        conds = self.conditions()
        if conds:
            words += ["where", " && ".join(conds)]
        return " ".join(words)

    def conditions(self) -> list[str]:
        conds = []
        if self.prefix is not None and self.match == "within":
            conds.append(f"net ~ [ {self.prefix}+ ]")
        if self.community is not None:
            m = COMMUNITY.match(self.community)
            if not m or max(int(m[1]), int(m[2])) > 65535:
                raise ApiError(400, f"community = {self.community}: want ASN:VALUE")
            conds.append(f"({int(m[1])},{int(m[2])}) ~ bgp_community")
        if self.large_community is not None:
            m = LARGE_COMMUNITY.match(self.large_community)
            if not m or max(int(x) for x in m.groups()) > 0xFFFFFFFF:
                raise ApiError(400, f"large_community = {self.large_community}: want A:B:C")
            conds.append(f"({int(m[1])},{int(m[2])},{int(m[3])}) ~ bgp_large_community")
        if self.as_path is not None:
            toks = self.as_path.split()
            if len(toks) > 32 or not all(PATH_TOKEN.match(t) for t in toks):
                raise ApiError(400, f"as_path = {self.as_path}: want ASNs, * and ?")
            if len(toks) == 1 and toks[0].isdigit():
                toks = ["*", toks[0], "*"]  # one ASN: anywhere in the path
            conds.append(f"bgp_path ~ [= {' '.join(toks)} =]")
        return conds

    def query(self, **changes: Any) -> dict[str, str]:
        """This search as URL parameters (for links to other pages)."""
        out = {}
        for k in ("prefix", "table", "protocol", "community", "large_community", "as_path"):
            v = changes.get(k, getattr(self, k))
            if v is not None:
                out[k] = str(v)
        if out.get("prefix"):
            out["match"] = changes.get("match", self.match)
        for k in ("filtered", "primary"):
            if changes.get(k, getattr(self, k)):
                out[k] = "1"
        offset = changes.get("offset", self.offset)
        if offset:
            out["offset"] = str(offset)
        limit = changes.get("limit", self.limit)
        if limit != DEFAULT_LIMIT:
            out["limit"] = str(limit)
        return out


def _flag(v: str | None) -> bool:
    return (v or "").lower() in ("1", "true", "yes", "on")


def _int(v: str | None, default: int, name: str, lo: int, hi: int) -> int:
    if v is None or v == "":
        return default
    if not v.isdigit() or not lo <= int(v) <= hi:
        raise ApiError(400, f"{name} = {v}: want a number from {lo} to {hi}")
    return int(v)


@dataclass
class Page:
    """Filled in while :func:`route_pieces` runs: whether more routes follow."""

    more: bool = False
    count: int = 0


async def open_routes(daemon: Any, search: RouteSearch) -> Iterator[tuple[int, str]]:
    """Run the search's ``json show route``: errors (unknown protocol or
    table, bad filter) raise here, before a page has started."""
    return await _run(daemon, f"json {search.command()}")


async def route_pieces(
    lines: Iterator[tuple[int, str]], search: RouteSearch, page: Page
) -> AsyncIterator[str]:
    """The routes of one page, each as a JSON object (the command layer's
    ``json show route`` pieces, passed through), produced while the caller
    writes them and yielding to the event loop every few hundred routes."""
    seen = 0
    end = search.offset + search.limit
    head = True
    for code, piece in lines:
        if code == JSON_CODE and not piece:
            await asyncio.sleep(0)  # the walk paused (a cooperative session)
            continue
        if code != JSON_CODE or head or piece[0] not in "{,":
            head = head and code != JSON_CODE
            continue  # the document's head ('{"routes":[') and tail, the final line
        if seen % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
        if seen >= end:
            page.more = True
            break
        seen += 1
        if seen > search.offset:
            page.count += 1
            yield piece.removeprefix(",")
    close = getattr(lines, "close", None)
    if close is not None:
        close()  # stop the selection: the rest of the table is not walked


async def route_page(lines: Iterator[tuple[int, str]], search: RouteSearch) -> AsyncIterator[str]:
    """``/api/routes``: one page as a JSON document, in pieces."""
    page = Page()
    yield '{"routes":['
    sep = ""
    async for piece in route_pieces(lines, search, page):
        yield sep + piece
        sep = ","
    nxt = search.offset + page.count if page.more else None
    yield (
        f'],"offset":{search.offset},"limit":{search.limit},"count":{page.count},'
        f'"next_offset":{json.dumps(nxt)},"command":{json.dumps(search.command())}}}'
    )


async def route_detail(
    daemon: Any, prefix: str, match: str, table: str | None, fib: FibLookup | None
) -> dict[str, Any]:
    """``/api/route``: one network's routes with attributes, ``explain``,
    what the kernel protocols export for it and what the FIB holds."""
    if match not in ("longest", "exact"):
        raise ApiError(400, f"match = {match}: want longest or exact")
    search = RouteSearch(prefix=prefix, match=match, table=table)
    base = search.command()
    doc: dict[str, Any] = {"prefix": prefix, "match": match, "command": base}
    doc.update(await run_json(daemon, f"{base} all"))
    doc["text"] = await run_text(daemon, f"{base} all")
    doc["explain"] = await run_text(daemon, f"{base} explain")
    kernel = []
    for p in await protocols(daemon, detail=False):  # counters are not needed here
        if p["proto"] != "Kernel" or p.get("table") != (table or "master"):
            continue
        entry: dict[str, Any] = {"protocol": p["name"], "state": p["state"], "routes": []}
        try:
            got = await run_json(daemon, f"{base} export {p['name']}")
            entry["routes"] = got["routes"]
        except ApiError as exc:  # a kernel protocol that is down exports nothing
            entry["error"] = exc.message
        kernel.append(entry)
    doc["kernel"] = kernel
    doc["fib"] = None
    if fib is not None and doc["routes"]:
        try:
            doc["fib"] = await fib(doc["routes"][0]["net"])
        except Exception as exc:  # netlink unavailable: say so, do not fail the page
            doc["fib_error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return doc
