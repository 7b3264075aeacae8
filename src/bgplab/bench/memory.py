"""Bytes per route in bgplabd's own structures, measured with tracemalloc.

A full table (the fulltable scenario's prefixes and attribute sets) is
imported in-process through the path a BGP session uses: UPDATE by UPDATE
into a channel, the table, and one ADD-PATH update group with ten members,
then flushed (encoded) once. tracemalloc attributes every live allocation
to the file that made it, so the bytes per route split into:

- table: the routes (made by the session for the table) and the table's
  per-net lists and dict;
- channel: what the channel keeps of its routes (a list of its nets; older
  trees: an index by (net, path id));
- adj-rib-out: the update group's entries, buckets and path ids;
- attributes: the interned attribute sets and their caches (per set, not
  per route; shown per route for comparison);
- prefixes: the int of each net, made as a session decodes it, then the
  table's key (older versions of this measurement made them untraced).

It is deterministic (no daemon, no sockets), so it compares trees; BIRD's
numbers come from its peak RSS in the same invocation of the fulltable
scenario (``(RSS - RSS of an empty daemon) / routes``).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from bgplab import net as netmod

COMPONENTS = {
    "table": ("rib/table.py", "rib/route.py", "bench/memory.py"),
    "channel": ("rib/channel.py", "rib/own_routes.py"),
    "adj-rib-out": ("rib/adjrib_out.py",),
    "attributes": (
        "bgp/attrs.py",
        "bgp/attr_codec.py",
        "bgp/attr_table.py",
        "bgp/messages.py",
    ),
    # the net of each route: an int, the table's key (32 bytes each)
    "prefixes": ("bgplab/net.py",),
}


class _Member:
    """A BGP peer as its update group sees it; what it is sent is dropped."""

    source_type: Any = None
    preference = 100
    is_ibgp = True
    is_rr_client = True
    peer_as = local_as = 63400

    def __init__(self, name: str, addr: str, neg: Any) -> None:
        from bgplab.rib.route import Source

        self.name = name
        self.peer_address = addr
        self.peer_router_id = int(IPv4Address(addr))
        self.negotiated = neg
        self.source_type = Source.BGP
        self.ctx = None
        self.state = None

    def send_wire(self, chunks: list[bytes]) -> None:
        pass


# containers the components share: their bytes belong to whoever called them
SHARED = ("rib/pathkeyed.py", "rib/intmap.py")


def _component(frames: Any) -> str:
    """The component of the innermost frame that is not a shared container."""
    for frame in reversed(frames):  # tracemalloc lists the oldest frame first
        if frame.filename.endswith(SHARED):
            continue
        for name, suffixes in COMPONENTS.items():
            if frame.filename.endswith(suffixes):
                return name
        return "other"
    return "other"


def _bucket_bytes(snap: Any) -> float:
    """The update group's bytes that are per attribute set, not per route:
    what rib/adjrib_out.py allocated in blocks smaller than 1 KiB (buckets,
    their keys, memo entries; the per-route dicts are few large blocks)."""
    total = 0
    for stat in snap.statistics("traceback"):
        if _component(stat.traceback) == "adj-rib-out" and stat.size < 1024 * stat.count:
            total += stat.size
    return float(total)


def measure(
    prefixes: int = 500_000, members: int = 10, log: Callable[[str], None] | None = None
) -> dict[str, float]:
    """Bytes per route of each component after a full table is loaded."""
    from bgplab.bench.scenarios import fulltable_prefixes
    from bgplab.bgp import attr_codec, messages
    from bgplab.bgp.attrs import PathAttrs, intern
    from bgplab.bgp.capabilities import Negotiated
    from bgplab.rib.adjrib_out import UpdateGroup
    from bgplab.rib.channel import ACCEPT, Channel
    from bgplab.rib.group_policy import GroupKey
    from bgplab.rib.route import Route
    from bgplab.rib.table import Table

    class Codec:
        encode_attributes = staticmethod(attr_codec.encode_attributes)
        pack_updates = staticmethod(messages.pack_updates)
        pack_withdraws = staticmethod(messages.pack_withdraws)
        pack_eor = staticmethod(messages.pack_eor)

    pre = fulltable_prefixes(prefixes)
    neg = Negotiated.default(add_path=[(1, 1)])
    updates = []
    for k in range(0, len(pre), 20):  # 20 prefixes per attribute set, as in fulltable
        j = k // 20
        a = PathAttrs(
            origin=0,
            next_hop=IPv4Address("198.18.0.1"),
            local_pref=100,
            as_path=((2, (64512 + j % 1000, 65000 + (j // 1000) % 500, 13335 + j)),),
        )
        # the attribute block as it arrives: the set is decoded under
        # tracemalloc, as the session decodes it (its objects are counted)
        updates.append((attr_codec.encode_attributes(a, neg), pre[k : k + 20]))
    del a
    decode = attr_codec.decode_attributes
    gc.collect()
    tracemalloc.start(2)  # the caller of a shared container too
    t0 = time.process_time()
    table = Table()
    pending: list[Callable[[], None]] = []
    key = GroupKey(
        ACCEPT,
        True,
        True,
        63400,
        IPv4Address("127.10.0.1"),
        False,
        False,
        "127.10.0.1",
        True,
        True,
        False,
        100,
        "master",
    )
    group = UpdateGroup(key, pending.append, Codec)
    table.attach(group)
    for i in range(members):
        group.join(_Member(f"c{i}", f"127.11.0.{i + 2}", neg))
    src: Any = _Member("src", "127.11.0.1", neg)  # a RouteOrigin (not declared so)
    ch = Channel(src, table, ACCEPT, export_to_proto=False)  # type: ignore[arg-type]
    batched = hasattr(ch, "import_routes")  # older trees import route by route
    shared = hasattr(Route, "shared")  # older trees: a whole route object each
    make_net = netmod.make
    for wire, part in updates:
        # the prefixes as the session decodes them: the ints live on as the
        # table's keys, the UPDATE's list and tuples do not
        nlri = [(make_net(addr, plen), 1) for addr, plen in part]
        decoded = decode(wire, neg, has_nlri=True).attrs
        assert decoded is not None
        ia = intern(decoded)
        # as the BGP session makes them: the routes of an UPDATE share their tail
        tail = Route.tail(src, since=1.0, from_addr="127.11.0.1") if shared else None

        def make(n: int, pid: int, ia: Any = ia, tail: Any = tail) -> Route:
            if tail is not None:
                return Route.shared(n, ia, src, pid, tail)
            return Route(n, ia, src, path_id=pid, since=1.0, from_addr="127.11.0.1")

        if batched:
            ch.import_routes(nlri, make)
        else:
            for n, pid in nlri:
                ch.import_route(n, make(n, pid), pid)
        while pending:
            pending.pop()()
    cpu = time.process_time() - t0
    # the peak: what was live at the worst moment of the load (a dict
    # resizing holds its old and new tables; an UPDATE's short-lived lists)
    _, peak = tracemalloc.get_traced_memory()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    out = {name: 0.0 for name in (*COMPONENTS, "other")}
    for stat in snap.statistics("traceback"):
        out[_component(stat.traceback)] += stat.size
    n = len(pre)
    per = {k: v / n for k, v in out.items()}
    per["total"] = sum(out.values()) / n
    per["peak"] = peak / n
    per["cpu_us"] = cpu / n * 1e6
    # per attribute set: the set, its group's rewrite, their memos and the
    # intern table (attributes), and the group's bucket for it
    sets = len(updates)
    per["set_bytes"] = out["attributes"] / sets
    per["bucket_bytes"] = _bucket_bytes(snap) / sets
    if log is not None:
        log(
            f"{n:,} routes, {members} ADD-PATH members: "
            + ", ".join(f"{k} {v:.0f} B" for k, v in per.items() if k in (*out, "total"))
            + f" (peak {per['peak']:.0f} B)"
            + f"; {per['cpu_us']:.1f} us/route under tracemalloc"
        )
        log(
            f"{sets:,} attribute sets: {per['set_bytes']:.0f} B each in attributes"
            + f" + {per['bucket_bytes']:.0f} B of the group's (bucket, rewrite memo)"
        )
    # keep everything alive until measured
    del table, group, ch
    return per
