"""``show status``, ``show symbols`` and ``show memory``: the daemon as a whole."""

from __future__ import annotations

import os
import time
from typing import Any

from bgplab.cli.render.framing import VERSION, Line, format_time, timeformat

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
