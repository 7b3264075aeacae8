"""Parse birdc's human output (``show route all``, ``show protocols``) into
plain data, for tests that compare what real BIRD peers hold."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ROUTE = re.compile(
    r"^(?P<net>\S+/\d+)?\s+(?P<how>.*?)\s*\[(?P<proto>\S+) (?P<since>[^\]]*?)(?: from (?P<from>\S+))?\]"
    r"(?P<primary> \*)?\s*\((?P<pref>[^)]*)\)"
)


@dataclass
class RouteLine:
    net: str
    how: str
    proto: str
    primary: bool
    from_addr: str | None
    attrs: dict[str, str] = field(default_factory=dict)


def parse_routes(text: str) -> list[RouteLine]:
    routes: list[RouteLine] = []
    last_net = ""
    for raw in text.splitlines():
        if raw.startswith("BIRD ") or not raw.strip():
            continue
        if raw.startswith("\t") or raw.startswith("    "):
            line = raw.strip()
            if routes and ":" in line:
                k, _, v = line.partition(":")
                routes[-1].attrs[k.strip()] = v.strip()
            continue
        m = _ROUTE.match(raw)
        if not m:
            continue
        net = m.group("net") or last_net
        last_net = net
        routes.append(RouteLine(net, m.group("how"), m.group("proto"), bool(m.group("primary")),
                                m.group("from")))
    return routes


def bgp_routes(text: str) -> dict[str, list[RouteLine]]:
    out: dict[str, list[RouteLine]] = {}
    for r in parse_routes(text):
        if r.attrs.get("Type", "").startswith("BGP"):
            out.setdefault(r.net, []).append(r)
    return out


def protocol_states(text: str) -> dict[str, tuple[str, str]]:
    """name -> (state, info) from `show protocols`."""
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) >= 5 and parts[0] not in ("name", "BIRD"):
            out[parts[0]] = (parts[3], parts[5] if len(parts) > 5 else "")
    return out
