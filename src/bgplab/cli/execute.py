"""Run one parsed command against the daemon; produce reply lines.

The control server calls :func:`execute` with a command line and a
:class:`Session`; it gets back a :class:`Reply`: reply lines (an iterator,
so a large ``show route`` is produced while it is written) and an optional
action to run after the reply was sent (``down``).

Everything BIRD validates before printing (unknown table, protocol, filter)
is checked here before the first line, so an error is always the whole
reply: one ``8xxx``/``9xxx`` line.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bgplab import net as netmod
from bgplab.cli import jsonview, render
from bgplab.cli.commands import Command, CommandError, RouteQuery, help_all, parse
from bgplab.rib.route import Dest, Route, Source

Line = render.Line

# commands a restricted session (`restrict`, birdc -r) may run, besides
# `configure check` (as in BIRD 1.6)
SAFE = ("show", "help", "restrict")
JSON_CODE = 1100
EXPLAIN_CODE = 1101


@dataclass
class Session:
    restricted: bool = False
    # the web view's session: route lists walk the table in its own order
    # (no sort of every net) and pause every PULSE_EVERY routes (a ``None``
    # from RoutePlan.select, an empty JSON piece) so the caller can yield
    cooperative: bool = False


PULSE_EVERY = 500


@dataclass
class Reply:
    lines: Iterable[Line]
    after: Callable[[], Awaitable[Any]] | None = None


def error(code: int, msg: str) -> Reply:
    return Reply([(code, msg)])


async def execute(daemon: Any, line: str, session: Session) -> Reply:
    try:
        cmd = parse(line)
    except CommandError as exc:
        return error(exc.code, exc.msg)
    if cmd.name == "restrict":
        session.restricted = True
        return error(16, "Access restricted")
    allowed = cmd.name.split()[0] in SAFE or (cmd.name == "configure" and cmd.check)
    if session.restricted and not allowed:
        return error(8007, "Access denied")
    try:
        if cmd.name.startswith("show"):
            return _show(daemon, cmd, session)
        return await _action(daemon, cmd)
    except CommandError as exc:
        return error(exc.code, exc.msg)


# ---- show ---------------------------------------------------------------------


def _show(daemon: Any, cmd: Command, session: Session | None = None) -> Reply:
    now = time.time()
    name = cmd.name
    if name == "show route":
        assert cmd.route is not None
        plan = RoutePlan(daemon, cmd.route, cooperative=bool(session and session.cooperative))
        if cmd.json:
            return Reply(_json_stream(jsonview.routes_stream(plan)))
        if cmd.route.explain:
            return Reply(plan.explain())
        return Reply(plan.lines(now))
    if name == "show status":
        if cmd.json:
            return _json(jsonview.status(daemon))
        return Reply(render.show_status(daemon, now))
    if name == "show protocols":
        protos = select_protocols(daemon, cmd.target, cmd.pattern)
        if cmd.json:
            return _json(jsonview.protocols(protos, cmd.verbose))
        return Reply(render.show_protocols(daemon, protos, cmd.verbose, now))
    if name == "show interfaces":
        ifaces = daemon.ctx.ifaces
        if cmd.json:
            return _json(jsonview.interfaces(ifaces))
        v6 = bool(getattr(daemon, "ipv6", False))
        return Reply(render.show_interfaces(ifaces, "summary" in cmd.flags, v6))
    if name == "show static":
        proto = _static_proto(daemon, cmd.target)
        if cmd.json:
            return _json(jsonview.static(proto))
        return Reply(render.static_lines(proto))
    if name == "show bfd sessions":
        from bgplab.cli.bfd_show import show_bfd_sessions

        return Reply(show_bfd_sessions(daemon, proto_named(daemon, cmd.target, "BFD"), now))
    if name == "show symbols":
        if cmd.json:
            return _json(
                [
                    {"name": n, "kind": k}
                    for n, k in render.symbols(daemon)
                    if cmd.target is None or n == cmd.target
                ]
            )
        lines = render.show_symbols(daemon, cmd.target)
        if cmd.target is not None and len(lines) == 1:
            lines = [(1010, f"{cmd.target:<8}\tundefined"), (0, "")]
        return Reply(lines)
    if name == "show memory":
        if cmd.json:
            return _json({k.strip(":"): v for k, v in _memory_pairs(daemon)})
        return Reply(render.show_memory(daemon))
    raise CommandError(9001, "syntax error")


def _memory_pairs(daemon: Any) -> list[tuple[str, str]]:
    out = []
    for _code, text in render.show_memory(daemon)[1:-1]:
        label, _, value = text.partition(":")
        out.append((label, value.strip()))
    return out


def _json(doc: Any) -> Reply:
    import json  # on the first JSON reply: an idle daemon does without the module

    return Reply([(JSON_CODE, json.dumps(doc, separators=(",", ":"), default=str)), (0, "")])


def _json_stream(pieces: Iterable[str]) -> Iterator[Line]:
    """A JSON document as consecutive 1100 lines (clients concatenate them)."""
    for piece in pieces:
        yield (JSON_CODE, piece)
    yield (0, "")


def select_protocols(daemon: Any, target: str | None, pattern: bool) -> list[Any]:
    protos = list(daemon.protocols.values())
    if target is None or (target == "all" and not pattern):
        return protos
    if not pattern:
        p = daemon.protocols.get(target)
        if p is None:
            raise CommandError(9002, f"{target} is not a protocol")
        return [p]
    got = [p for p in protos if fnmatch.fnmatchcase(p.name, target)]
    if not got:
        raise CommandError(8003, "No protocols match")
    return got


def _static_proto(daemon: Any, name: str | None) -> Any:
    return proto_named(daemon, name, "Static")


def proto_named(daemon: Any, name: str | None, kind: str) -> Any:
    """The protocol a ``show static|bfd sessions [<name>]`` is about
    (BIRD's ``proto_get_named``): the named one, else the only one of its kind."""
    if name is not None:
        p = daemon.protocols.get(name)
        if p is None:
            raise CommandError(9001, f"{name}: Not a protocol")
        if p.proto_name != kind:
            raise CommandError(9001, f"{name}: Not a {kind} protocol")
        return p
    found = [p for p in daemon.protocols.values() if p.proto_name == kind]
    if not found:
        raise CommandError(9001, f"There is no {kind} protocol running")
    if len(found) > 1:
        raise CommandError(9001, f"There are multiple {kind} protocols running")
    return found[0]


def compile_where(daemon: Any, expr: str) -> Any:
    """A ``where EXPR`` filter, compiled by the filter engine."""
    try:
        from bgplab.filters import standalone
    except ImportError as exc:
        raise CommandError(9001, "where: filter engine not available") from exc
    fn = getattr(standalone, "compile_where", None)
    try:
        if fn is not None:
            return fn(expr, getattr(daemon, "config", None))
        return standalone.compile_standalone(f"where {expr}", None, "<cli>")
    except Exception as exc:  # ConfigError and friends: one line, like BIRD's 9001
        text = str(exc)
        msg = getattr(exc, "msg", None) or (text.splitlines()[0] if text else "")
        if not msg or msg.startswith("syntax error"):
            msg = "syntax error"  # BIRD 1.6 does not say what was unexpected
        raise CommandError(9001, msg) from exc


class RoutePlan:
    """A validated ``show route`` query (BIRD's ``rt_show_data``)."""

    def __init__(self, daemon: Any, q: RouteQuery, cooperative: bool = False) -> None:
        self.daemon = daemon
        self.q = q
        family = getattr(daemon, "family", None)  # bird's (4) or bird6's (6) drop-in
        for key in (q.exact, q.for_addr):
            if key is not None and family in (4, 6) and netmod.is_v6(key) != (family == 6):
                # what bird and bird6 answer for the other family's address
                raise CommandError(9001, "syntax error" if family == 6 else
                                   "This is an IPv4 router, therefore IPv6 addresses are not supported")
        self.pulse = PULSE_EVERY if cooperative else 0
        tname = q.table or "master"
        self.table = daemon.ctx.tables.get(tname)
        if self.table is None:
            raise CommandError(9001, f"{tname} is not a table")
        self.proto = None
        if q.protocol is not None:
            self.proto = daemon.protocols.get(q.protocol)
            if self.proto is None:
                raise CommandError(9001, f"{q.protocol} is not a protocol")
        self.filter = None
        if q.filter_name is not None:
            filters = getattr(getattr(daemon, "config", None), "filters", {}) or {}
            self.filter = filters.get(q.filter_name)
            if self.filter is None:
                raise CommandError(9001, "No such filter.")
        elif q.where is not None:
            self.filter = compile_where(daemon, q.where)
        self.export_ch = None
        if q.export_mode is not None:
            ep = daemon.protocols.get(q.export_proto)
            if ep is None:
                raise CommandError(9001, f"{q.export_proto} is not a protocol")
            if render.proto_state(ep) != "up":
                raise CommandError(8005, "Protocol is down")
            self.export_proto = ep
            self.export_ch = ep.channel
            if self.export_ch is None or self.export_ch.table is not self.table:
                self.export_ch = None
        self.single = q.for_addr is not None or q.exact is not None

    def _nets(self) -> list[int]:
        q = self.q
        if q.exact is not None:
            return [q.exact] if q.exact in self.table.nets else []
        if q.for_addr is not None:
            found = self.net_route(q.for_addr)
            return [found] if found is not None else []
        if q.stats == 2 or self.pulse:
            return list(self.table.nets)  # counted, or cooperative: order does not matter
        return render.fib_order(list(self.table.nets))

    def net_route(self, key: int) -> int | None:
        """BIRD's ``net_route``: the longest prefix covering ``key``."""
        return self.table.longest_match(netmod.address(key), netmod.is_v6(key),
                                        max_len=netmod.length(key))

    def _kept_filtered(self) -> dict[int, list[Route]]:
        """Routes import filters rejected and channels kept (``import keep
        filtered``), by net: what ``show route filtered`` lists."""
        out: dict[int, list[Route]] = {}
        for p in self.daemon.protocols.values():
            ch = getattr(p, "channel", None)
            if ch is None or ch.table is not self.table:
                continue
            for (net, _pid), r in ch.filtered_routes().items():
                out.setdefault(net, []).append(r)
        return out

    def _select_filtered(self) -> Iterator[tuple[int, Route, bool, bool] | None]:
        q = self.q
        kept = self._kept_filtered()
        if q.exact is not None:
            nets = [q.exact] if q.exact in kept else []
        elif q.for_addr is not None:
            # as BIRD: the longest match among nets with a valid route
            found = self.net_route(q.for_addr)
            nets = [found] if found in kept else []
        else:
            nets = list(kept) if self.pulse else render.fib_order(list(kept))
        for net in nets:
            first_shown = True
            self.nets += 1
            # BIRD lists filtered routes after the valid ones: one heads its
            # net's list (and gets the `*`) only when nothing valid is there
            head = not self.table.nets.get(net)
            for idx, r in enumerate(kept[net]):
                self.total += 1
                if self.pulse and self.total % self.pulse == 0:
                    yield None  # cooperative: let the caller yield
                e: Route | None = r
                if self.proto is not None and r.origin is not self.proto:
                    e = None
                if e is not None and self.filter is not None:
                    e = self.filter.run(e)
                if e is not None:
                    self.shown += 1
                    yield net, e, head and idx == 0, first_shown
                    first_shown = False
                if q.primary:
                    break

    def select(self) -> Iterator[tuple[int, Route, bool, bool] | None]:
        """(net, route to show, is primary, first shown of its net) and
        counters in ``self.counts`` once exhausted; a cooperative plan also
        yields ``None`` now and then."""
        q = self.q
        self.shown = self.total = self.nets = 0
        if q.filtered:
            yield from self._select_filtered()
            return
        if (q.stats == 2 and self.proto is None and self.filter is None and q.export_mode is None
                and not q.primary and q.exact is None and q.for_addr is None):
            # `show route count` of a whole table: the table keeps the counts
            # (a walk costs seconds at a full table and holds up everything else)
            self.shown = self.total = self.table.route_count
            self.nets = len(self.table.nets)
            return
        export_mode = q.export_mode
        ch = self.export_ch
        for net in self._nets():
            routes = list(self.table.routes(net))
            first = True
            first_shown = True
            done = False
            for idx, r in enumerate(routes):
                self.total += 1
                if self.pulse and self.total % self.pulse == 0:
                    yield None  # cooperative: let the caller yield
                self.nets += first
                first = False
                if done:
                    continue
                e: Route | None = r
                if export_mode is not None:
                    if ch is None:
                        e = None
                    else:
                        if ch.mode in ("optimal", "merged"):
                            done = True
                        if not self._import_control(r):
                            e = None
                        elif export_mode != "preexport":
                            out = self._export_view(r)
                            if (out is not None) != (export_mode == "export"):
                                e = None
                            elif out is not None:
                                e = out
                if e is not None and self.proto is not None and r.origin is not self.proto:
                    e = None
                if e is not None and self.filter is not None:
                    e = self.filter.run(e)
                if e is not None:
                    self.shown += 1
                    yield net, e, idx == 0, first_shown
                    first_shown = False
                if q.primary:
                    break

    def _import_control(self, r: Route) -> bool:
        """What the exporting protocol refuses before any filter (BIRD's
        ``import_control``): its own routes; the kernel also device routes."""
        ep = self.export_proto
        if r.origin is ep:
            return False
        if getattr(ep, "proto_name", "") == "Kernel" and r.dest == Dest.DEVICE:
            return bool(getattr(getattr(ep, "config", None), "device_routes", False))
        return True

    def _export_view(self, r: Route) -> Route | None:
        """The route as the protocol would send it, or None if refused.

        A protocol may offer ``export_view(route)`` (export filter plus its
        own rewrite, e.g. BGP's AS prepend and next hop, without touching
        counters); otherwise the channel's export filter decides."""
        ep = self.export_proto
        view = getattr(ep, "export_view", None)
        if view is not None:
            try:
                return view(r)  # type: ignore[no-any-return]
            except Exception:  # an optional hook must not break `show route`
                pass
        group_view = _update_group_view(ep, r)
        if group_view is not False:
            return group_view  # type: ignore[return-value]
        assert self.export_ch is not None
        return self.export_ch.export_filter.run(r)  # type: ignore[no-any-return]

    def lines(self, now: float) -> Iterator[Line]:
        q = self.q
        for item in self.select():
            if item is None:
                continue
            net, r, primary, first = item
            if q.stats < 2:
                yield from render.route_lines(
                    netmod.to_str(net) if first else "", r, primary, q.verbose, self.daemon, now
                )
        if self.single:
            if self.total:
                yield (0, "")
            else:
                yield (8001, "Network not in table")
        elif q.stats:
            yield render.route_count_line(self.shown, self.total, self.nets)
        else:
            yield (0, "")

    def explain(self) -> list[Line]:
        from bgplab.cli.explain import explain

        nets = self._nets()
        key = self.q.exact if self.q.exact is not None else self.q.for_addr
        assert key is not None
        return explain(self.daemon, self.table, key, nets[0] if nets else None)


def _update_group_view(proto: Any, r: Route) -> Route | None | bool:
    """bgplabd's BGP peers export through an update group (filter, then an
    attribute rewrite); show what it would send. ``False``: no group."""
    group = getattr(proto, "group", None)
    key = getattr(group, "key", None)
    rewrite = getattr(group, "rewrite", None)
    if key is None or rewrite is None:
        return False
    try:
        src = r.origin
        if (
            src.source_type == Source.BGP
            and key.ibgp
            and src.is_ibgp
            and not (src.is_rr_client or key.rr_client)
        ):
            return None  # iBGP route to an iBGP peer, no reflection
        out = key.export_filter.run(r)
        if out is None:
            return None
        attrs = rewrite(out)
        return None if attrs is None else out.copy(attrs=attrs)
    except Exception:  # internals changed: fall back to the channel's filter
        return False


# ---- actions ------------------------------------------------------------------------

_MSG_CODES = (
    ("already disabled", 8),
    ("disabled", 9),
    ("already enabled", 10),
    ("enabled", 11),
    ("restarted", 12),
    ("reloading", 15),
    ("reload failed", 8006),
)


def _proto_reply(name: str, ok: bool, message: str) -> list[Line]:
    if not ok:
        if "No protocols match" in message:
            return [(8003, "No protocols match")]
        return [(8006, message or "failed")]
    out: list[Line] = []
    for part in message.splitlines():
        if not part.strip():
            continue
        code = 8006
        for suffix, c in _MSG_CODES:
            if part.endswith(suffix):
                code = c
                break
        out.append((code, part))
    out.append((0, ""))
    return out


def _target(daemon: Any, cmd: Command) -> str:
    """The name handed to the daemon: ``all``, a pattern, or a known name."""
    t = cmd.target or ""
    if cmd.pattern or t == "all":
        return t
    if t not in daemon.protocols:
        raise CommandError(9002, f"{t} is not a protocol")
    return t


async def _action(daemon: Any, cmd: Command) -> Reply:
    name = cmd.name
    if name == "help":
        return Reply(
            [(1, f"bgplab (BIRD {render.VERSION} compatible) commands:")]
            + [(1, line) for line in help_all()]
            + [(0, "")]
        )
    if name == "down":
        return Reply([(7, "Shutdown ordered")], after=daemon.shutdown)
    if name == "configure":
        path = cmd.path or daemon.config_path
        ok, msg = await daemon.configure(cmd.path, check_only=cmd.check, soft=cmd.soft)
        lines: list[Line] = [(2, f"Reading configuration from {path}")]
        if not ok:
            lines.append((8002, msg.splitlines()[0] if msg else "Configuration error"))
        elif cmd.check:
            lines.append((20, "Configuration OK"))
        elif msg and "in progress" in msg:
            lines.append((4, msg))
        else:
            lines.append((3, msg or "Reconfigured"))
        return Reply(lines)
    if name in ("enable", "disable", "restart"):
        target = _target(daemon, cmd)
        ok, msg = await getattr(daemon, name)(target)
        return Reply(_proto_reply(target, ok, msg))
    if name == "reload":
        target = _target(daemon, cmd)
        ok, msg = await daemon.reload(target, cmd.direction)
        return Reply(_proto_reply(target, ok, msg))
    if name == "debug":
        target = _target(daemon, cmd)
        ok, msg = daemon.set_debug(target, set(cmd.flags))
        if not ok:
            return error(8003, "No protocols match")
        return Reply([(0, "")])
    raise CommandError(9001, "syntax error")
