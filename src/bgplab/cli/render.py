"""BIRD 1.6 text for the control socket: reply lines as ``(code, text)``.

Every function here is pure: it reads the daemon's state (protocols,
tables, interfaces) and returns reply lines. The server turns them into
``CCCC-text`` / `` text`` / ``CCCC text`` framing (:func:`frame`), so the
layout rules of BIRD's ``cli_printf`` live in one place.

Formats follow BIRD 1.6.8's format strings (``nest/proto.c``,
``nest/rt-table.c``, ``proto/bgp/bgp.c``, ``proto/bgp/attrs.c``,
``nest/iface.c``, ``nest/cmds.c``); the golden tests compare them with a
running BIRD 1.6.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from bgplab import net as netmod
from bgplab.rib.route import Dest, Route, Source

Line = tuple[int, str]

VERSION = "1.6.8"  # what BIRD clients parse; bgplab identifies itself in `help`
IGP_METRIC_UNKNOWN = 0x80000000

# ---- framing --------------------------------------------------------------


def frame(lines: Iterable[Line]) -> Iterator[str]:
    """BIRD's ``cli_printf`` rules: every line but the last is a
    continuation (``CCCC-``), a repeat of the previous code is sent as a
    single leading space, and the last line is ``CCCC text``."""
    last = -1
    pending: Line | None = None
    for item in _split(lines):
        if pending is not None:
            code, text = pending
            yield (" " if code == last else f"{code:04d}-") + text
            last = code
        pending = item
    if pending is not None:
        yield f"{pending[0]:04d} {pending[1]}"


def _split(lines: Iterable[Line]) -> Iterator[Line]:
    """A text with newlines becomes several lines of the same code."""
    for code, text in lines:
        if "\n" in text:
            for part in text.split("\n"):
                yield code, part
        else:
            yield code, text


# ---- time -----------------------------------------------------------------

DEFAULT_TF = {
    "route": ("%T", "72000", "%F"),
    "protocol": ("%T", "72000", "%F"),
    "base": ("%F %T",),
    "log": ("%F %T",),
}


def timeformat(daemon: Any, what: str) -> tuple[str, ...]:
    cfg = getattr(daemon, "config", None)
    getter = getattr(cfg, "timeformat_for", None)
    if getter is not None:
        try:
            tf = tuple(getter(what))
            if tf:
                return tf
        except Exception:  # a partial config object: fall back to BIRD's defaults
            pass
    return DEFAULT_TF[what]


def format_time(t: float, tf: tuple[str, ...], now: float | None = None) -> str:
    """BIRD's ``tm_format_datetime``: the first format, or the second one
    when the time is at least ``limit`` seconds old."""
    now = time.time() if now is None else now
    fmt = tf[0]
    if len(tf) >= 3 and tf[2]:
        try:
            limit = float(tf[1])
        except ValueError:
            limit = 0
        if now - t >= limit:
            fmt = tf[2]
    if fmt == "%s":  # seconds since the epoch, used by bird_exporter setups
        return str(int(t))
    return time.strftime(fmt, time.localtime(t))


# ---- show status ------------------------------------------------------------


def show_status(daemon: Any, now: float | None = None) -> list[Line]:
    now = time.time() if now is None else now
    tf = timeformat(daemon, "base")
    out: list[Line] = [
        (1000, f"BIRD {VERSION}"),
        (1011, f"Router ID is {daemon.ctx.router_id}"),
        (1011, f"Current server time is {format_time(now, tf, now)}"),
        (1011, f"Last reboot on {format_time(daemon.started, tf, now)}"),
        (1011, f"Last reconfiguration on {format_time(daemon.last_reconfig, tf, now)}"),
    ]
    if getattr(daemon, "graceful_recovery", False):
        out.append((24, "Graceful restart recovery in progress"))
        info = daemon.gr_wait_info() if hasattr(daemon, "gr_wait_info") else None
        if info:
            for part in str(info).splitlines():
                out.append((24, f"  {part}"))
    if getattr(daemon, "shutting_down", False):
        out.append((13, "Shutdown in progress"))
    elif getattr(daemon, "reconfiguring", False):
        out.append((13, "Reconfiguration in progress"))
    else:
        out.append((13, "Daemon is up and running"))
    return out


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


# ---- show route ----------------------------------------------------------------


def bird_hash(net: int) -> int:
    """BIRD 1.6's FIB hash of a prefix address (``ipv4_hash``/``ipv6_hash``):
    ``show route`` walks the table in this order, not sorted."""
    addr = netmod.address(net)
    if netmod.is_v6(net):
        x = (
            (addr >> 96)
            ^ ((addr >> 64) & 0xFFFFFFFF)
            ^ ((addr >> 32) & 0xFFFFFFFF)
            ^ (addr & 0xFFFFFFFF)
        )
        return (x ^ (x >> 16) ^ (x >> 8)) & 0xFFFF
    a = addr
    a ^= a >> 16
    a ^= (a << 10) & 0xFFFFFFFF
    return a & 0xFFFF


def fib_order(nets: Iterable[int]) -> list[int]:
    """Nets in the order BIRD 1.6 lists them (family, hash, then length)."""
    return sorted(nets, key=lambda n: (netmod.is_v6(n), bird_hash(n), n & 0xFF, n))


_SRC_NAMES = {
    Source.DUMMY: "dummy",
    Source.STATIC: "static",
    Source.INHERIT: "inherit",
    Source.DEVICE: "device",
    Source.STATIC_DEVICE: "static-device",
    Source.REDIRECT: "redirect",
    Source.RIP: "RIP",
    Source.OSPF: "OSPF",
    Source.OSPF_IA: "OSPF-IA",
    Source.OSPF_EXT1: "OSPF-E1",
    Source.OSPF_EXT2: "OSPF-E2",
    Source.BGP: "BGP",
    Source.PIPE: "pipe",
}


def is_recursive(route: Route) -> bool:
    """Does the route have a BIRD host entry (``gateway recursive``)? That
    decides whether the IGP metric is printed in ``(100/0)``."""
    ext = route.ext or {}
    if "recursive" in ext:
        return bool(ext["recursive"])
    origin = route.origin
    cfg = getattr(origin, "config", None)
    gw = getattr(cfg, "gateway", None)
    if gw in ("direct", "recursive"):
        return gw == "recursive"
    multihop = getattr(cfg, "multihop", None)
    return bool(getattr(origin, "is_ibgp", False) or multihop)


def via_text(route: Route) -> str:
    d = route.dest
    if d == Dest.ROUTER:
        return f"via {route.gw} on {route.iface}"
    if d == Dest.DEVICE:
        return f"dev {route.iface}"
    if d == Dest.BLACKHOLE:
        return "blackhole"
    if d in (Dest.UNREACHABLE, Dest.NONE):
        return "unreachable"
    if d == Dest.PROHIBIT:
        return "prohibited"
    if d == Dest.MULTIPATH:
        return "multipath"
    return "???"


def route_info(route: Route) -> str:
    """The part after ``*``: ``(pref)`` or BGP's ``(pref/metric) [ASNo]``."""
    if route.origin.source_type != Source.BGP:
        return f" ({route.pref})"
    s = f" ({route.pref}"
    if is_recursive(route):
        if route.dest in (Dest.UNREACHABLE, Dest.NONE):
            s += "/-"
        elif route.igp_metric >= IGP_METRIC_UNKNOWN:
            s += "/?"
        else:
            s += f"/{route.igp_metric}"
    s += ") ["
    a = route.attrs
    if a is not None:
        flat = a.as_path_flat()
        if flat:
            s += f"AS{flat[-1]}"
        if a.origin is not None:
            s += "ie?"[a.origin] if 0 <= a.origin <= 2 else "?"
    return s + "]"


def route_lines(
    prefix: str, route: Route, primary: bool, verbose: bool, daemon: Any, now: float
) -> list[Line]:
    tm = format_time(route.since or now, timeformat(daemon, "route"), now)
    frm = ""
    if route.from_addr and route.from_addr != route.gw:
        frm = f" from {route.from_addr}"
    mark = ""
    if primary:
        mark = " !" if (route.ext or {}).get("sync_error") else " *"
    out: list[Line] = [
        (
            1007,
            f"{prefix:<18} {via_text(route)} [{route.origin.name} {tm}{frm}]"
            f"{mark}{route_info(route)}",
        )
    ]
    for nh in route.nexthops:
        out.append((1007, f"\tvia {nh.gw} on {nh.iface} weight {nh.weight}"))
    if verbose:
        out.extend(route_attr_lines(route))
    return out


def route_attr_lines(route: Route) -> list[Line]:
    scope = (route.ext or {}).get("scope", "univ")
    src = _SRC_NAMES.get(route.origin.source_type, "dummy")
    out: list[Line] = [(1008, f"\tType: {src} unicast {scope}")]
    out.extend((1012, f"\t{t}") for t in bgp_attr_texts(route))
    out.extend((1012, f"\t{t}") for t in krt_attr_texts(route))
    return out


_ORIGINS = ("IGP", "EGP", "Incomplete")


def as_path_text(as_path: Any) -> str:
    parts = []
    for seg_type, asns in as_path:
        body = " ".join(str(a) for a in asns)
        if seg_type == 1:
            parts.append("{" + body + "}")
        elif seg_type == 3:
            parts.append("(" + body + ")")
        elif seg_type == 4:
            parts.append("[" + body + "]")
        else:
            parts.append(body)
    return " ".join(p for p in parts if p)


def ext_community_text(ec: int) -> str:
    typ = (ec >> 56) & 0xFF
    sub = (ec >> 48) & 0xFF
    kind = {2: "rt", 3: "ro"}.get(sub)
    if kind is None or typ & 0x3F > 2:
        return f"(generic, 0x{ec >> 32:x}, 0x{ec & 0xFFFFFFFF:x})"
    t = typ & 0x3F
    if t == 0:
        return f"({kind}, {(ec >> 32) & 0xFFFF}, {ec & 0xFFFFFFFF})"
    if t == 1:
        ip = netmod.addr_str((ec >> 16) & 0xFFFFFFFF)
        return f"({kind}, {ip}, {ec & 0xFFFF})"
    return f"({kind}, {(ec >> 16) & 0xFFFFFFFF}, {ec & 0xFFFF})"


def bgp_attr_texts(route: Route) -> list[str]:
    """``BGP.*`` lines in attribute type-code order, as BIRD sorts them."""
    a = route.attrs
    if a is None or route.origin.source_type != Source.BGP:
        return []
    out: list[str] = []
    if a.origin is not None:
        out.append(f"BGP.origin: {_ORIGINS[a.origin] if 0 <= a.origin <= 2 else a.origin}")
    out.append(f"BGP.as_path: {as_path_text(a.as_path)}")
    if a.next_hop is not None:
        nh = str(a.next_hop)
        if a.next_hop_ll is not None:
            nh += f" {a.next_hop_ll}"
        out.append(f"BGP.next_hop: {nh}")
    if a.med is not None:
        out.append(f"BGP.med: {a.med}")
    if a.local_pref is not None:
        out.append(f"BGP.local_pref: {a.local_pref}")
    if a.atomic_aggregate:
        out.append("BGP.atomic_aggr: ")
    if a.aggregator is not None:
        out.append(f"BGP.aggregator: {a.aggregator[1]} AS{a.aggregator[0]}")
    if a.communities:
        out.append("BGP.community: " + " ".join(f"({x},{y})" for x, y in a.communities))
    if a.originator_id is not None:
        out.append(f"BGP.originator_id: {a.originator_id}")
    if a.cluster_list:
        out.append("BGP.cluster_list: " + " ".join(str(c) for c in a.cluster_list))
    if a.ext_communities:
        out.append(
            "BGP.ext_community: " + " ".join(ext_community_text(e) for e in a.ext_communities)
        )
    if a.large_communities:
        out.append(
            "BGP.large_community: "
            + " ".join(f"({x}, {y}, {z})" for x, y, z in a.large_communities)
        )
    for flags, code, value in a.unknown:
        tflag = " [t]" if flags & 0x40 else ""
        out.append(f"BGP.{code:02x}{tflag}: " + ":".join(f"{b:02x}" for b in value))
    return out


_KRT_ATTRS = (
    ("krt_source", "source"),
    ("krt_metric", "metric"),
    ("krt_prefsrc", "prefsrc"),
    ("krt_realm", "realm"),
)


def krt_attr_texts(route: Route) -> list[str]:
    ext = route.ext or {}
    return [f"Kernel.{label}: {ext[key]}" for key, label in _KRT_ATTRS if key in ext]


def route_count_line(shown: int, total: int, nets: int) -> Line:
    return (14, f"{shown} of {total} routes for {nets} networks")


# ---- show interfaces ------------------------------------------------------------


def _scope(addr: Any) -> str:
    """BIRD 1.6's ``ipv4_classify``: loopback is host, RFC 1918 is site."""
    a = addr.address
    if addr.v6:
        return "link" if a.lower().startswith("fe80") else "univ"
    try:
        n, _v6 = netmod.ip_to_int(a)
    except netmod.PrefixError:
        return "univ"
    if n >> 24 == 127:
        return "host"
    if n >> 24 == 10 or n >> 16 == 0xC0A8 or n >> 20 == 0xAC1:
        return "site"
    return "univ"


def show_interfaces(ifaces: dict[str, Any], summary: bool, v6: bool = False) -> list[Line]:
    """BIRD 1.6 runs one daemon per family (bird, bird6): only addresses of
    the daemon's family are listed."""
    out: list[Line] = []
    if summary:
        out.append((2005, "interface state address"))
    for iface in sorted(ifaces.values(), key=lambda i: i.index):
        addrs = [a for a in iface.addrs if a.v6 == v6]
        up = "up" if iface.up else "DOWN"
        if summary:
            primary = next((a for a in addrs if not a.v6), addrs[0] if addrs else None)
            text = f"{primary.address}/{netmod.length(primary.prefix)}" if primary else ""
            out.append((1005, f"{iface.name:<9} {up:<5} {text}"))
            continue
        out.append((1001, f"{iface.name} {up} (index={iface.index})"))
        fl = {f.lower() for f in iface.flags}
        typ = "PtP" if ("ptp" in fl or "pointopoint" in fl) else "MultiAccess"
        admin = "Up" if (iface.up or "admin_up" in fl or "up" in fl) else "Down"
        link = "Up" if iface.link_up else "Down"
        out.append(
            (
                1004,
                f"\t{typ}{' Broadcast' if 'broadcast' in fl else ''}"
                f"{' Multicast' if 'multicast' in fl else ''} Admin{admin} Link{link}"
                f"{' Loopback' if 'loopback' in fl else ''}"
                f"{' Ignored' if 'loopback' in fl or 'ignored' in fl else ''}"
                f" MTU={iface.mtu}",
            )
        )
        seen_family: set[bool] = set()
        for a in addrs:
            kind = "Secondary" if a.v6 in seen_family else "Primary"
            seen_family.add(a.v6)
            out.append(
                (1003, f"\t{a.address}/{netmod.length(a.prefix)} ({kind}, scope {_scope(a)})")
            )
    out.append((0, ""))
    return out


# ---- show static ------------------------------------------------------------------


def static_lines(proto: Any) -> list[Line]:
    cfg = getattr(proto, "config", None)
    routes = list(getattr(cfg, "routes", ()) or ())
    ch = getattr(proto, "channel", None)
    own = ch.own_routes() if ch is not None else {}
    installed_nets = {k[0] for k in own}
    # BIRD lists interface routes (``via "ifname"``) first, then the others
    routes.sort(key=lambda r: 0 if getattr(r, "dest", None) == Dest.DEVICE else 1)
    out: list[Line] = []
    for r in routes:
        d = getattr(r, "dest", Dest.ROUTER)
        if d == Dest.ROUTER:
            via = f"via {r.gw}" + (f"%{r.iface}" if getattr(r, "iface", None) else "")
            if getattr(r, "recursive", False):
                via = f"recursive {r.gw}"
        elif d == Dest.DEVICE:
            via = f"dev {r.iface}"
        elif d == Dest.BLACKHOLE:
            via = "blackhole"
        elif d in (Dest.UNREACHABLE, Dest.NONE):
            via = "unreachable"
        elif d == Dest.PROHIBIT:
            via = "prohibited"
        elif d == Dest.MULTIPATH:
            via = "multipath"
        else:
            via = "???"
        dormant = "" if r.net in installed_nets else " (dormant)"
        out.append((1009, f"{netmod.to_str(r.net)} {via}{dormant}"))
        if d == Dest.MULTIPATH:
            for nh in getattr(r, "nexthops", ()) or ():
                ifs = f"%{nh.iface}" if nh.iface else ""
                out.append((1009, f"\tvia {nh.gw}{ifs} weight {nh.weight}{dormant}"))
    out.append((0, ""))
    return out


# ---- show symbols / memory ----------------------------------------------------------


def symbols(daemon: Any) -> list[tuple[str, str]]:
    cfg = getattr(daemon, "config", None)
    out: list[tuple[str, str]] = []
    for name in getattr(cfg, "constants", {}) or {}:
        out.append((name, "constant"))
    for name in daemon.ctx.tables:
        out.append((name, "routing table"))
    for name in getattr(cfg, "functions", {}) or {}:
        out.append((name, "function"))
    for name in getattr(cfg, "filters", {}) or {}:
        out.append((name, "filter"))
    for name in getattr(cfg, "templates", {}) or {}:
        out.append((name, "template"))
    for name in daemon.protocols:
        out.append((name, "protocol"))
    return out


def show_symbols(daemon: Any, name: str | None) -> list[Line]:
    syms = symbols(daemon)
    if name is not None:
        syms = [s for s in syms if s[0] == name]
    out: list[Line] = [(1010, f"{n:<8}\t{kind}") for n, kind in syms]
    out.append((0, ""))
    return out


def _size(label: str, val: int) -> Line:
    units = " kMG"
    i = 0
    while val >= 10000 and i < 3:
        val = (val + 512) // 1024
        i += 1
    return (1018, f"{label:<17} {val:4d} {units[i]}B")


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def show_memory(daemon: Any) -> list[Line]:
    """Estimates in BIRD's layout; ``Total`` is the process RSS."""
    from bgplab.bgp import attrs as attrs_mod

    routes = sum(t.route_count for t in daemon.ctx.tables.values())
    nets = sum(len(t.nets) for t in daemon.ctx.tables.values())
    n_attrs = attrs_mod.interned_count()
    tables = nets * 200 + routes * 180
    rattrs = n_attrs * 400
    protos = len(daemon.protocols) * 4096
    total = max(_rss_bytes(), tables + rattrs + protos)
    return [
        (1018, "BIRD memory usage"),
        _size("Routing tables:", tables),
        _size("Route attributes:", rattrs),
        _size("ROA tables:", 0),
        _size("Protocols:", protos),
        _size("Total:", total),
        (0, ""),
    ]
