"""``--json`` documents for the show commands (bgplab extension).

The same state as the BIRD text, as plain JSON values: times are epoch
seconds, prefixes and addresses strings, counters integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bgplab import net as netmod
from bgplab.cli import render
from bgplab.rib.route import Route

BGP_FIELDS = (
    "bgp_state",
    "neighbor_address",
    "neighbor_as",
    "neighbor_id",
    "neighbor_caps",
    "session_flags",
    "source_address",
    "hold_timer",
    "keepalive_timer",
    "last_error",
    "error_wait",
    "connect_delay",
)


def status(daemon: Any) -> dict[str, Any]:
    return {
        "version": render.VERSION,
        "router_id": str(daemon.ctx.router_id),
        "last_reboot": daemon.started,
        "last_reconfiguration": daemon.last_reconfig,
        "graceful_recovery": bool(getattr(daemon, "graceful_recovery", False)),
        "status": render.show_status(daemon)[-1][1],
    }


def protocol(p: Any, verbose: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": p.name,
        "proto": p.proto_name,
        "table": render.proto_table(p),
        "state": render.proto_state(p),
        "since": getattr(p, "state_since", None),
        "info": render.proto_info(p),
    }
    if not verbose:
        return doc
    ch = getattr(p, "channel", None)
    doc["preference"] = p.preference
    doc["description"] = getattr(getattr(p, "config", None), "description", None)
    if ch is not None:
        doc.update(ch.describe())
    if p.proto_name == "BGP":
        doc["bgp"] = {f: _plain(getattr(p, f, None)) for f in BGP_FIELDS}
    return doc


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if v is None or isinstance(v, (int, str, float, bool, list)):
        return v
    return str(v)


def protocols(protos: list[Any], verbose: bool) -> list[dict[str, Any]]:
    return [protocol(p, verbose) for p in protos]


def attrs_doc(route: Route) -> dict[str, Any] | None:
    a = route.attrs
    if a is None:
        return None
    return {
        "origin": ("IGP", "EGP", "Incomplete")[a.origin] if a.origin in (0, 1, 2) else None,
        "as_path": list(a.as_path_flat()),
        "as_path_segments": [[t, list(asns)] for t, asns in a.as_path],
        "as_path_text": render.as_path_text(a.as_path),
        "next_hop": str(a.next_hop) if a.next_hop is not None else None,
        "med": a.med,
        "local_pref": a.local_pref,
        "atomic_aggregate": a.atomic_aggregate,
        "communities": [list(c) for c in a.communities],
        "large_communities": [list(c) for c in a.large_communities],
        "ext_communities": [render.ext_community_text(e) for e in a.ext_communities],
        "originator_id": str(a.originator_id) if a.originator_id is not None else None,
        "cluster_list": [str(c) for c in a.cluster_list],
    }


def route(net: int, r: Route, primary: bool) -> dict[str, Any]:
    return {
        "net": netmod.to_str(net),
        "protocol": r.origin.name,
        "primary": primary,
        "dest": r.dest.name.lower(),
        "gateway": r.gw,
        "interface": r.iface,
        "nexthops": [
            {"gateway": n.gw, "interface": n.iface, "weight": n.weight} for n in r.nexthops
        ],
        "preference": r.pref,
        "igp_metric": r.igp_metric,
        "since": r.since,
        "from": r.from_addr,
        "path_id": r.path_id,
        "stale": r.stale,
        "type": render.route_attr_lines(r)[0][1].removeprefix("\tType: "),
        "bgp": attrs_doc(r),
    }


def routes(plan: Any) -> dict[str, Any]:
    """A :class:`~bgplab.cli.execute.RoutePlan`'s routes and its counters."""
    selected: Iterable[tuple[int, Route, bool, bool] | None] = plan.select()
    out = [route(item[0], item[1], item[2]) for item in selected if item is not None]
    return {"routes": out, "shown": plan.shown, "total": plan.total, "networks": plan.nets}


def routes_stream(plan: Any) -> Iterator[str]:
    """The same document as :func:`routes`, in pieces (one per route), so a
    big table is written while it is produced."""
    import json  # at the first JSON reply, as in cli.execute: an idle daemon does without it

    yield '{"routes":['
    sep = ""
    for item in plan.select():
        if item is None:
            yield ""  # a cooperative plan's pause: nothing to write
            continue
        net, r, primary, _first = item
        yield sep + json.dumps(route(net, r, primary), separators=(",", ":"), default=str)
        sep = ","
    yield (f'],"shown":{plan.shown},"total":{plan.total},"networks":{plan.nets}}}')


def interfaces(ifaces: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": i.name,
            "index": i.index,
            "up": i.up,
            "link_up": i.link_up,
            "mtu": i.mtu,
            "flags": sorted(i.flags),
            "addresses": [f"{a.address}/{netmod.length(a.prefix)}" for a in i.addrs],
        }
        for i in sorted(ifaces.values(), key=lambda i: i.index)
    ]


def static(proto: Any) -> list[dict[str, Any]]:
    out = []
    for code, text in render.static_lines(proto)[:-1]:
        if code == 1009 and not text.startswith("\t"):
            net, _, rest = text.partition(" ")
            out.append(
                {
                    "net": net,
                    "dest": rest.replace(" (dormant)", ""),
                    "installed": not rest.endswith("(dormant)"),
                }
            )
    return out
