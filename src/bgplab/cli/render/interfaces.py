"""``show interfaces [summary]`` as BIRD 1.6.8's ``nest/iface.c`` prints it."""

from __future__ import annotations

from typing import Any

from bgplab import net as netmod
from bgplab.cli.render.framing import Line

# ---- show interfaces ------------------------------------------------------------


def _scope(addr: Any) -> str:
    """BIRD 1.6's ``ipv4_classify``: loopback is host, RFC 1918 is site."""
    a = addr.address
    if addr.v6:  # bird6's ipv6_classify: ::1 host, fe80::/10 link, fc00::/7, fec0::/10 site
        n, _v6 = netmod.ip_to_int(a.split("%")[0])
        if n == 1:
            return "host"
        if n >> 118 == 0x3FA:
            return "link"
        return "site" if n >> 121 == 0x7E or n >> 118 == 0x3FB else "univ"
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
        # BIRD 1.6 (if_recalc_flags): up needs a primary address of its family
        up = "up" if iface.up and addrs else "DOWN"
        # bird6: the first address that is not link-local is primary, the
        # others unselected (IPv6 has no secondary addresses)
        primary = next((a for a in addrs if not a.v6 or _scope(a) != "link"),
                       addrs[0] if addrs else None)
        if summary:
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
            if a.v6:
                kind = "Primary" if a is primary else "Unselected"
            else:
                kind = "Secondary" if a.v6 in seen_family else "Primary"
            seen_family.add(a.v6)
            out.append(
                (1003, f"\t{a.address}/{netmod.length(a.prefix)} ({kind}, scope {_scope(a)})")
            )
    out.append((0, ""))
    return out
