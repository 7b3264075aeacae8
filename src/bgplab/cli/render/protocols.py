"""``show protocols [all]``: the table row and the details (filters, route
statistics, the BGP session), as BIRD 1.6.8's ``nest/proto.c`` and
``proto/bgp/bgp.c`` print them."""

from __future__ import annotations

import time
from typing import Any

from bgplab.cli.render.framing import Line, format_time, timeformat

# ---- show protocols -----------------------------------------------------------

PROTO_HEADER = "name     proto    table    state  since       info"


def proto_table(proto: Any) -> str:
    ch = getattr(proto, "channel", None)
    if ch is not None:
        return ch.table.name
    return getattr(getattr(proto, "config", None), "table", None) or "master"


def proto_state(proto: Any) -> str:
    st = getattr(proto, "state", None)
    return str(getattr(st, "value", st) or "down")


def proto_info(proto: Any) -> str:
    """The ``info`` column. A protocol's own ``info()`` wins; for a BGP
    protocol without one it is ``"%-14s%s"`` of state and last error (only
    the error once the protocol is down), as BIRD's ``bgp_get_status``."""
    from bgplab.rib.protocol import Protocol

    own_info = getattr(type(proto), "info", None)
    if (
        own_info is Protocol.info
        and getattr(proto, "proto_name", "") == "BGP"
        and hasattr(proto, "bgp_state")
    ):
        err = getattr(proto, "last_error", "") or ""
        if proto_state(proto) == "down":
            return err
        return f"{proto.bgp_state:<14}{err}"
    try:
        return str(proto.info() or "")
    except Exception:  # a protocol bug must not break `show protocols`
        return ""


def proto_row(proto: Any, daemon: Any, now: float) -> str:
    since = format_time(getattr(proto, "state_since", now), timeformat(daemon, "protocol"), now)
    return (
        f"{proto.name:<8} {proto.proto_name:<8} {proto_table(proto):<8} "
        f"{proto_state(proto):<5}  {since:<10}  {proto_info(proto)}"
    )


def exported_count(proto: Any) -> int:
    """Routes a protocol exports: its own count if it keeps one (BGP
    update groups), else its channel's."""
    own = getattr(proto, "exported_count", None)
    if callable(own):
        return int(own())
    ch = getattr(proto, "channel", None)
    return ch.exported_count() if ch is not None else 0


def filter_name(f: Any) -> str:
    if f is None:
        return "ACCEPT"
    name = getattr(f, "name", None)
    return "(unnamed)" if name is None else str(name)


def show_protocols(
    daemon: Any, protos: list[Any], verbose: bool, now: float | None = None
) -> list[Line]:
    now = time.time() if now is None else now
    out: list[Line] = [(2002, PROTO_HEADER)]
    for p in protos:
        out.append((1002, proto_row(p, daemon, now)))
        if verbose:
            out.extend(proto_details(p))
            out.append((1006, ""))
    out.append((0, ""))
    return out


def _limit_lines(label: str, lim: Any, hit: bool) -> list[Line]:
    if lim is None:
        return []
    return [
        (1006, f"  {label:<16}{lim.count}{' [HIT]' if hit else ''}"),
        (1006, f"    Action:       {getattr(lim, 'action', 'warn')}"),
    ]


def proto_details(p: Any) -> list[Line]:
    """``show protocols all``: the block under the protocol's row."""
    out: list[Line] = []
    cfg = getattr(p, "config", None)
    dsc = getattr(p, "description", None) or getattr(cfg, "description", None)
    if dsc:
        out.append((1006, f"  Description:    {dsc}"))
    ch = getattr(p, "channel", None)
    out.append((1006, f"  Preference:     {p.preference}"))
    out.append((1006, f"  Input filter:   {filter_name(ch.import_filter if ch else None)}"))
    out.append((1006, f"  Output filter:  {filter_name(ch.export_filter if ch else _REJECT_NAME)}"))
    if ch is not None:
        hit = getattr(ch, "limit_hit", None)
        out += _limit_lines("Receive limit:", getattr(ch, "receive_limit", None), hit == "receive")
        out += _limit_lines("Import limit:", getattr(ch, "import_limit", None), hit == "import")
        out += _limit_lines("Export limit:", getattr(ch, "export_limit", None), hit == "export")
    if proto_state(p) != "down":
        out.extend(_route_stats(p, ch, cfg))
    if getattr(p, "proto_name", "") == "BGP" and hasattr(p, "bgp_state"):
        out.extend(_bgp_details(p))
    else:
        try:
            extra = p.show_details()
        except Exception:  # keep `show protocols all` working whatever a protocol does
            extra = []
        out.extend((1006, line) for line in extra)
    return out


class _RejectName:
    name = "REJECT"


_REJECT_NAME = _RejectName()


def _route_stats(proto: Any, ch: Any, cfg: Any) -> list[Line]:
    if ch is None:
        imp = exp = pref = filt = 0
        i = e = None
    else:
        imp, filt = ch.imported, ch.filtered
        exp, pref = ch.exported_count(), ch.preferred()
        i, e = ch.import_stats, ch.export_stats
    # a protocol that exports around its channel (BGP update groups) may
    # report its own export side
    if ch is not None:
        exp = exported_count(proto)
    e = getattr(proto, "export_stats", None) or e
    keep = bool(getattr(cfg, "import_keep_filtered", False))
    if keep:
        routes = f"{imp} imported, {filt} filtered, {exp} exported, {pref} preferred"
    else:
        routes = f"{imp} imported, {exp} exported, {pref} preferred"

    def g(s: Any, name: str) -> int:
        return int(getattr(s, name, 0)) if s is not None else 0

    return [
        (1006, f"  Routes:         {routes}"),
        (1006, "  Route change stats:     received   rejected   filtered    ignored   accepted"),
        (
            1006,
            f"    Import updates:     {g(i, 'updates_received'):10d} "
            f"{g(i, 'updates_rejected'):10d} {g(i, 'updates_filtered'):10d} "
            f"{g(i, 'updates_ignored'):10d} {g(i, 'updates_accepted'):10d}",
        ),
        (
            1006,
            f"    Import withdraws:   {g(i, 'withdraws_received'):10d} "
            f"{g(i, 'withdraws_rejected'):10d}        --- "
            f"{g(i, 'withdraws_ignored'):10d} {g(i, 'withdraws_accepted'):10d}",
        ),
        (
            1006,
            f"    Export updates:     {g(e, 'updates_received'):10d} "
            f"{g(e, 'updates_rejected'):10d} {g(e, 'updates_filtered'):10d}        --- "
            f"{g(e, 'updates_accepted'):10d}",
        ),
        (
            1006,
            f"    Export withdraws:   {g(e, 'withdraws_received'):10d}        ---        "
            f"---        --- {g(e, 'withdraws_accepted'):10d}",
        ),
    ]


def _bgp_details(p: Any) -> list[Line]:
    state = proto_state(p)
    out: list[Line] = [
        (1006, f"  BGP state:          {'Down' if state == 'down' else p.bgp_state}"),
        (1006, f"    Neighbor address: {p.neighbor_address}"),
        (1006, f"    Neighbor AS:      {p.neighbor_as}"),
    ]
    if getattr(p, "gr_active", False):
        out.append((1006, "    Neighbor graceful restart active"))
    if state == "start":
        ew = getattr(p, "error_wait", None)
        if ew:
            out.append((1006, f"    Error wait:       {ew[0]}/{ew[1]}"))
        rt = getattr(p, "restart_timer", None)
        if rt is not None:
            out.append((1006, f"    Restart timer:    {rt}/-"))
        cd = getattr(p, "connect_delay", None)
        if cd:
            out.append((1006, f"    Connect delay:    {cd[0]}/{cd[1]}"))
    elif state == "up":
        out.append((1006, f"    Neighbor ID:      {getattr(p, 'neighbor_id', None) or '0.0.0.0'}"))
        caps = "".join(f" {c}" for c in getattr(p, "neighbor_caps", ()) or ())
        out.append((1006, f"    Neighbor caps:   {caps}"))
        flags = "".join(f" {c}" for c in getattr(p, "session_flags", ()) or ())
        out.append((1006, f"    Session:         {flags}"))
        out.append((1006, f"    Source address:   {getattr(p, 'source_address', None) or ''}"))
        ht = getattr(p, "hold_timer", None)
        if ht:
            out.append((1006, f"    Hold timer:       {ht[0]}/{ht[1]}"))
        kt = getattr(p, "keepalive_timer", None)
        if kt:
            out.append((1006, f"    Keepalive timer:  {kt[0]}/{kt[1]}"))
    err = getattr(p, "last_error", "") or ""
    if err:
        out.append((1006, f"    Last error:       {err}"))
    return out
