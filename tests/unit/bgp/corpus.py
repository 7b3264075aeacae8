"""Valid messages used as seeds for mutation tests and the fuzz corpus."""

from __future__ import annotations

from ipaddress import IPv4Address as A4
from ipaddress import IPv6Address as A6

from bgplab import net
from bgplab.bgp.attrs import AS_SEQUENCE, AS_SET, PathAttrs
from bgplab.bgp.capabilities import LocalConfig, Negotiated
from bgplab.bgp.messages import (
    Keepalive,
    Notification,
    Open,
    RouteRefresh,
    Update,
    encode_message,
    pack_eor,
)

NEG4 = Negotiated.default(as4=True)
NEG2 = Negotiated.default(as4=False)
NEG_AP = Negotiated.default(add_path=[(1, 1), (2, 1)])

ATTRS = PathAttrs(
    origin=0,
    as_path=((AS_SEQUENCE, (63400, 4200000000)), (AS_SET, (1, 2))),
    next_hop=A4("192.168.0.7"),
    med=10,
    local_pref=100,
    atomic_aggregate=True,
    aggregator=(4200000000, A4("1.2.3.4")),
    communities=((63400, 1),),
    ext_communities=(1 << 60,),
    large_communities=((1, 2, 3),),
    originator_id=A4("192.168.0.7"),
    cluster_list=(A4("192.168.0.40"),),
    unknown=((0xC0, 99, b"ab"),),
)


def seed_messages() -> list[tuple[str, bytes]]:
    """(name, complete wire message) pairs."""
    local = LocalConfig(
        4200000000,
        A4("192.168.0.40"),
        families=((1, 1), (2, 1)),
        add_path={(1, 1): 3},
        graceful_restart=True,
        llgr=True,
        extended_message=True,
    )
    v4 = [(net.parse("10.41.113.192/26"), 1), (net.parse("10.43.0.0/16"), 2)]
    v6 = [(net.parse("2001:db8::/32"), 3)]
    a6 = ATTRS.replace(next_hop=A6("2001:db8::1"), next_hop_ll=A6("fe80::1"))
    out = [
        (
            "open",
            encode_message(Open.make(local.asn, 240, local.router_id, local.open_capabilities())),
        ),
        ("keepalive", encode_message(Keepalive())),
        ("notification", encode_message(Notification.cease(2, "bye"))),
        ("refresh", encode_message(RouteRefresh(1, 1, 1))),
        ("eor4", pack_eor(1, 1)),
        ("eor6", pack_eor(2, 1)),
    ]
    for name, neg in (("as4", NEG4), ("as2", NEG2), ("addpath", NEG_AP)):
        out.append(
            (
                f"update_v4_{name}",
                encode_message(Update(withdrawn=v4[:1], nlri=v4, attrs=ATTRS), neg),
            )
        )
        out.append(
            (f"update_v6_{name}", encode_message(Update(withdrawn=v6, nlri=v6, attrs=a6), neg))
        )
    return out
