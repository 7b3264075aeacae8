"""Route attributes as the filter language sees them: name -> type.

The compiler turns each name into a getter/setter closure over the route
being filtered; this table is the single place that says which names exist,
what type they have and whether they may be written.
"""

from __future__ import annotations

# name: (type, writable)
ROUTE_ATTRS: dict[str, tuple[str, bool]] = {
    "net": ("prefix", False),
    "scope": ("enum scope", True),
    "preference": ("int", True),
    "from": ("ip", True),
    "gw": ("ip", True),
    "proto": ("string", False),
    "source": ("enum source", False),
    "cast": ("enum cast", False),
    "dest": ("enum dest", True),
    "ifname": ("string", True),
    "ifindex": ("int", False),
    "igp_metric": ("int", True),
}

BGP_ATTRS: dict[str, tuple[str, bool]] = {
    "bgp_path": ("bgppath", True),
    "bgp_local_pref": ("int", True),
    "bgp_med": ("int", True),
    "bgp_origin": ("enum origin", True),
    "bgp_next_hop": ("ip", True),
    "bgp_atomic_aggr": ("void", True),
    "bgp_community": ("clist", True),
    "bgp_ext_community": ("eclist", True),
    "bgp_large_community": ("lclist", True),
    "bgp_originator_id": ("quad", True),
    "bgp_cluster_list": ("clist", True),
}

KRT_ATTRS: dict[str, tuple[str, bool]] = {
    "krt_source": ("int", False),
    "krt_metric": ("int", True),
    "krt_prefsrc": ("ip", True),
    "krt_realm": ("int", True),
    "krt_scope": ("int", True),
    # Calico's BIRD fork: the IPIP tunnel device for a route.
    "krt_tunnel": ("string", True),
}
for _n in ("mtu", "window", "rtt", "rttvar", "sstresh", "cwnd", "advmss", "reordering",
           "hoplimit", "rto_min"):  # fmt: skip
    KRT_ATTRS[f"krt_{_n}"] = ("int", True)
    KRT_ATTRS[f"krt_lock_{_n}"] = ("bool", True)
for _n in ("initcwnd", "initrwnd", "quickack"):
    KRT_ATTRS[f"krt_{_n}"] = ("int", True)
for _n in ("ecn", "allfrag"):
    KRT_ATTRS[f"krt_feature_{_n}"] = ("bool", True)


def lookup(name: str) -> tuple[str, bool] | None:
    return ROUTE_ATTRS.get(name) or BGP_ATTRS.get(name) or KRT_ATTRS.get(name)
