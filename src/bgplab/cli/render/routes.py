"""``show route`` lines and attributes, FIB order, ``show static``: as BIRD
1.6.8's ``nest/rt-table.c``, ``proto/bgp/attrs.c`` and ``proto/static`` print them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bgplab import net as netmod
from bgplab.cli.render.framing import IGP_METRIC_UNKNOWN, Line, format_time, timeformat
from bgplab.rib.route import Dest, Route, Source

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
