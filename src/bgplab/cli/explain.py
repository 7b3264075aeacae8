"""``show route for PREFIX explain`` (bgplab extension).

For one network: every route in the table with the rule that ranked it
(:func:`bgplab.rib.decision.compare`), for every protocol of the table
whether it contributed a route and what its import filter said (filters
append ``(line, text)`` to a trace), and what each protocol's export
filter does with the best route.

Protocols that keep what they received before filtering may expose
``received(net) -> list[Route]``; then rejected routes are explained too.
Otherwise the import trace is re-run on the route as it sits in the table.
"""

from __future__ import annotations

from typing import Any

from bgplab import net as netmod
from bgplab.cli import render
from bgplab.rib.decision import compare
from bgplab.rib.route import Route

CODE = 1101


def _trace(flt: Any, route: Route) -> tuple[bool, list[str]]:
    trace: list[Any] = []
    try:
        out = flt.run(route, trace)
    except TypeError:  # a filter without trace support
        out = flt.run(route)
    steps = []
    for item in trace:
        if isinstance(item, tuple) and len(item) == 2:
            line, text = item
            steps.append(f"line {line}: {text}" if line else str(text))
        else:
            steps.append(str(item))
    return out is not None, steps


def _filter_label(flt: Any) -> str:
    return f"filter {render.filter_name(flt)}"


def explain(daemon: Any, table: Any, key: int, net: int | None) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    shown = netmod.to_str(net if net is not None else key)
    out.append((CODE, f"Explain {shown} in table {table.name}"))
    routes: list[Route] = list(table.routes(net)) if net is not None else []
    if net is None:
        out.append((CODE, "  no route covers this address"))
    elif net != key:
        out.append((CODE, f"  (longest match for {netmod.to_str(key)})"))
    out.append((CODE, "Decision:"))
    if not routes:
        out.append((CODE, "  no routes"))
    for i, r in enumerate(routes):
        tag = f"  {i + 1}. {r.origin.name:<12} {render.via_text(r)}{render.route_info(r)}"
        if i == 0:
            if len(routes) == 1:
                why = "best: only route"
            else:
                _c, reason = compare(r, routes[1])
                why = f"best: preferred over {routes[1].origin.name} by {reason.value}"
        else:
            c, reason = compare(routes[0], r)
            why = f"lost to {routes[0].origin.name}: {reason.value}"
            if c == 0:
                why = f"equal to {routes[0].origin.name}: {reason.value}"
        out.append((CODE, f"{tag}  -- {why}"))
    out.append((CODE, "Import:"))
    present = {r.origin.name: r for r in routes}
    for p in daemon.protocols.values():
        ch = getattr(p, "channel", None)
        if ch is None or ch.table is not table:
            continue
        flt = ch.import_filter
        received = None
        hook = getattr(p, "received", None)
        if hook is not None and net is not None:
            try:
                received = list(hook(net))
            except Exception:  # an optional hook must not break explain
                received = None
        if not received and net is not None:
            # `import keep filtered`: what the filter rejected is still here
            received = [r for (n, _pid), r in ch.filtered_routes().items() if n == net]
        if received:
            for r in received:
                ok, steps = _trace(flt, r)
                verdict = "accepted" if ok else "rejected"
                out.append((CODE, f"  {p.name}: received, {verdict} by {_filter_label(flt)}"))
                out.extend((CODE, f"      {s}") for s in steps)
        elif p.name in present:
            ok, steps = _trace(flt, present[p.name])
            out.append(
                (
                    CODE,
                    f"  {p.name}: in table, {_filter_label(flt)}"
                    f" {'accepts' if ok else 'now rejects'} it",
                )
            )
            out.extend((CODE, f"      {s}") for s in steps)
        else:
            filt = ch.import_stats.updates_filtered
            note = f" ({filt} updates filtered so far)" if filt else ""
            out.append((CODE, f"  {p.name}: no route for this network{note}"))
    out.append((CODE, "Export of the best route:"))
    best = routes[0] if routes else None
    for p in daemon.protocols.values():
        ch = getattr(p, "channel", None)
        if ch is None or ch.table is not table:
            continue
        if best is None:
            out.append((CODE, f"  {p.name}: nothing to export"))
            continue
        if best.origin is p:
            out.append((CODE, f"  {p.name}: not exported (the route came from it)"))
            continue
        ok, steps = _trace(ch.export_filter, best)
        out.append(
            (
                CODE,
                f"  {p.name}: {'exported' if ok else 'not exported'} by "
                f"{_filter_label(ch.export_filter)}",
            )
        )
        out.extend((CODE, f"      {s}") for s in steps)
    out.append((0, ""))
    return out
