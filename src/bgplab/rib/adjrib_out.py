"""BGP update groups: one export computation and one encoding for many peers.

A route reflector sends the same routes to every client. Doing the export
filter, the attribute rewrite and the UPDATE encoding once per peer makes
the work grow with peers × routes; a group of peers that share an export
policy (same filter, same session type, same capabilities) does it once.

The group is the table's exporter for all its members. It keeps the
group's Adj-RIB-Out as *buckets*: routes that leave with the same outgoing
attribute set and come from the same source. A bucket caches its encoded
UPDATEs, so a peer that joins gets the whole state by concatenating bytes.

The one thing members differ in is the source rule: a route is never sent
back to the peer it came from. Each bucket has one source, so a flush sends
the shared bytes to everyone except the few members that are a source of
something in it. A group whose only member is the source of a change has
nobody to tell: the change is kept (for a member that joins later) but
queues nothing.

What makes peers share a group (:class:`GroupKey`) and the attribute
rewrite it implies live in :mod:`bgplab.rib.group_policy`; the members'
export statistics in :mod:`bgplab.rib.export_stats`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Collection, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from bgplab import net as netmod
from bgplab.bgp.attrs import PathAttrs
from bgplab.rib import group_wire
from bgplab.rib.channel import MODE_ANY, MODE_OPTIMAL, ChangeStats
from bgplab.rib.export_stats import ExportStats, unchanged
from bgplab.rib.group_policy import GroupKey, rewrite
from bgplab.rib.intmap import IntMap
from bgplab.rib.pathkeyed import PathKeyed
from bgplab.rib.route import Route, Source

log = logging.getLogger("bgplab.adjrib_out")


class Member(Protocol):
    """What a group needs of a BGP peer (implemented by BgpProtocol)."""

    name: str
    negotiated: Any

    def send_wire(self, chunks: list[bytes]) -> None: ...


@dataclass(eq=False, slots=True)
class Bucket:
    attrs: PathAttrs
    source: Any  # the protocol the route came from
    afi: int
    # entries in this bucket; the keys themselves are only in the group's
    # `entries` (a set per bucket cost about 100 bytes per route)
    count: int = 0
    wire: bytes | None = None  # cached encoding of all its keys


Key = Any  # net (optimal mode) or (net, out_path_id) (ADD-PATH)

_GROUP_IDS = itertools.count(1)


class UpdateGroup(ExportStats):
    """The shared Adj-RIB-Out of peers with one :class:`GroupKey`."""

    def __init__(self, key: GroupKey, schedule: Callable[[Callable[[], None]], None],
                 codec: Any) -> None:
        self.key = key
        self.mode = MODE_ANY if key.add_path_tx else MODE_OPTIMAL
        self._schedule = schedule
        self._codec = codec  # module-like: encode_attributes, pack_updates, pack_withdraws
        self.members: list[Any] = []
        # key -> the bucket it leaves in; with ADD-PATH keyed by (net, out
        # path id) without a tuple per entry; nets stored inline (rib.intmap)
        self.entries: MutableMapping[Key, Bucket] = PathKeyed() if key.add_path_tx else IntMap()
        self.buckets: dict[tuple[PathAttrs, int, int], Bucket] = {}
        self.per_source: dict[int, int] = {}  # id(source) -> entries from it
        self.pending_ann: dict[Key, Bucket] = {}
        self.pending_wd: set[Key] = set()
        self.pending_src_wd: dict[int, tuple[Any, set[Key]]] = {}
        self._flush_scheduled = False
        # Rewrites and encodings are cached in each attribute set's memo
        # (PathAttrs.memo_get), so they die with the set; routes without
        # attributes (static, kernel) use this one.
        self._export_all = bool(getattr(key.export_filter, "accepts_all", False))
        self._memo_key = ("group", next(_GROUP_IDS))  # unique, unlike id() of a dead group
        self._wire_key = (self._memo_key, "wire")  # its encoding in the set's memo
        self._local_cache: dict[tuple[Any, ...], PathAttrs | None] = {}
        self._cache_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._path_ids: dict[tuple[int, int], int] = {}
        self._init_stats()  # see ExportStats
        # one blob to many members but those whose id() is given
        # (io.bgp_transport.FanOut, set by the runtime); else send_wire each
        self.fan_out: Callable[[list[Any], bytes, Collection[int]], None] | None = None
        self.limit_hit: Callable[[str], None] | None = None  # action -> members' fate
        self._limit_logged = False

    # ---- table side --------------------------------------------------
    def notify(self, net: int, routes: list[Route], old_best: Route | None,
               new: Route | None, old: Route | None) -> None:
        if self.mode == MODE_OPTIMAL:
            best = routes[0] if routes else None
            if best is old_best or best is new and old_best is old and unchanged(new, old):
                return
            self._held_moves(old_best, best)
            self._set(net, best)
            return
        if unchanged(new, old):
            return
        self._held_moves(old, new)
        if old is not None and (new is None or new.origin is not old.origin
                                or new.path_id != old.path_id):
            self._set((net, self._out_path_id(old)), None)
        if new is not None:
            self._set((net, self._out_path_id(new)), new)

    def notify_batch(self, changes: list[tuple[int, list[Route], Route | None,
                                               Route | None, Route | None]]) -> None:
        """Many new nets at once (:meth:`Table.update_batch`). Routes that
        share an attribute set, source and forwarding data leave through one
        bucket, so with ``export all`` the export and rewrite run once per
        such run and the keys join their bucket in bulk; the counters move
        as :meth:`_set` would move them per route. Anything else (an export
        filter, an export limit, a key already held) is :meth:`notify`."""
        if changes and changes[0][3] is None:
            self._withdraw_batch(changes)
            return
        if not self._export_all or self.key.export_limit is not None:
            for c in changes:
                self.notify(*c)
            return
        add_path = self.mode == MODE_ANY
        entries = self.entries
        runs: dict[int, tuple[Bucket, list[Key]]] = {}
        # the current run: routes with the same attributes, source, path id
        # and forwarding leave alike; its counters are booked when it ends
        r_attrs: Any = None
        r_src: Any = None
        r_dest: Any = None
        r_gw: Any = None
        r_tail: Any = None
        r_pid = r_v6 = -1
        out_pid = 0
        held: Any = entries  # what the group holds under the run's out path id
        keys: list[Key] | None = None
        rejected = False
        n = 0
        for net, routes, old_best, new, old in changes:
            if new is None or old is not None or old_best is not None:
                self.notify(net, routes, old_best, new, old)
                continue
            src = new.origin
            v6 = net >= netmod.V6_FLAG
            # (routes of one UPDATE share their forwarding tuple, Route._t)
            same = (new.attrs is r_attrs and src is r_src and new.path_id == r_pid
                    and v6 == r_v6 and (new._t is r_tail
                                        or new.dest is r_dest and new.gw == r_gw))
            if not same and add_path:
                out_pid = self._out_path_id(new)
                held = entries.of_path_id(out_pid)  # type: ignore[attr-defined]
            if net in held:
                key = (net, out_pid) if add_path else net
                self._hold(src, 1)
                self._set(key, new)
                continue
            key = (net, out_pid) if add_path else net
            if not same:
                self._book_run(r_src, n, rejected)
                r_attrs, r_src, r_pid, r_dest, r_gw, r_v6, r_tail = (
                    new.attrs, src, new.path_id, new.dest, new.gw, v6, new._t)
                n = 0
                out = self._export(new)  # counts a rejection itself
                rejected = out is None and self._no_reflection(src)
                keys = None
                if out is not None:
                    afi = 2 if v6 else 1
                    bk = (out, id(src), afi)
                    b = self.buckets.get(bk)
                    if b is None:
                        b = self.buckets[bk] = Bucket(out, src, afi)
                    run = runs.get(id(b))
                    if run is None:
                        run = runs[id(b)] = (b, [])
                    keys = run[1]
            n += 1
            if keys is not None:
                keys.append(key)
        self._book_run(r_src, n, rejected)
        for b, ks in runs.values():
            self._add_new(b, ks)

    def _withdraw_batch(self, changes: list[tuple[int, list[Route], Route | None,
                                                  Route | None, Route | None]]) -> None:
        """Nets that lost their only route (:meth:`Table.withdraw_batch`):
        what :meth:`notify` and :meth:`_set` do for each, counters booked per
        source at the end. Anything else is :meth:`notify`."""
        add_path = self.mode == MODE_ANY
        entries = self.entries
        pending_ann, pending_wd = self.pending_ann, self.pending_wd
        sole = self._sole()  # (only its own routes can be quiet withdrawals)
        offered: dict[int, tuple[Any, int]] = {}  # id(source) -> (source, routes it took back)
        gone: dict[int, int] = {}  # id(bucket source) -> entries withdrawn
        received = 0
        for net, routes, old_best, new, old in changes:
            if new is not None or routes or old is None or old is not old_best:
                self.notify(net, routes, old_best, new, old)
                continue
            src = old.origin
            sid = id(src)
            ent = offered.get(sid)
            offered[sid] = (src, 1 if ent is None else ent[1] + 1)
            received += 1
            if add_path:
                key: Key = (net, self._out_path_id(old))
                b = entries.take(*key)  # type: ignore[attr-defined]
            else:
                key = net
                b = entries.pop(net, None)  # type: ignore[attr-defined]
            if b is None:
                continue
            self._release(b)
            bsid = id(b.source)
            pending_ann.pop(key, None)
            if b.source is not sole or not self._quiet_withdrawal(sole, key):
                pending_wd.add(key)
            gone[bsid] = gone.get(bsid, 0) + 1
        for src, n in offered.values():
            self._hold(src, -n)
        self.stats.withdraws_received += received
        wd_from = self.withdrawn_from
        for bsid, n in gone.items():
            self.stats.withdraws_accepted += n
            wd_from[bsid] = wd_from.get(bsid, 0) + n
        if gone and not self._flush_scheduled and self.members:
            self._flush_scheduled = True
            self._schedule(self.flush)

    def _book_run(self, src: Any, n: int, rejected: bool) -> None:
        """Counters of ``n`` routes offered from ``src`` (the first one's
        rejection, if any, is already booked by :meth:`_export`)."""
        if not n:
            return
        sid = id(src)
        self.stats.updates_received += n
        self.offered_from[sid] = self.offered_from.get(sid, 0) + n
        self.held[sid] = self.held.get(sid, 0) + n
        self.held_total += n
        if rejected:
            self.held_rejected[sid] = self.held_rejected.get(sid, 0) + n
            self.held_rejected_total += n
        if rejected and n > 1:
            self.stats.updates_rejected += n - 1
            self.rejected_from[sid] = self.rejected_from.get(sid, 0) + n - 1

    def _add_new(self, b: Bucket, keys: list[Key]) -> None:
        """Keys no entry holds yet join bucket ``b`` (``_set`` in bulk)."""
        if not keys:
            return
        b.count += len(keys)
        b.wire = None
        fresh = dict.fromkeys(keys, b)
        entries = self.entries
        if isinstance(entries, PathKeyed):
            entries.set_all(keys, b)
        else:
            entries.update(fresh)
        sid = id(b.source)
        self.per_source[sid] = self.per_source.get(sid, 0) + len(keys)
        if b.source is not self._sole():  # else nobody to announce them to
            self.pending_ann.update(fresh)
        wd = self.pending_wd
        if wd:
            back = [k for k in keys if k in wd]  # as in _set
            if back:
                wd.difference_update(back)
                self._withdraw_from_source(b.source, back)
        if not self._flush_scheduled and self.members:
            self._flush_scheduled = True
            self._schedule(self.flush)

    def _sole(self) -> Any:
        """The group's only member, or None."""
        return self.members[0] if len(self.members) == 1 else None

    def _quiet_withdrawal(self, source: Any, key: Key) -> bool:
        """Whether withdrawing ``key``, whose entry came from ``source``, is
        news to nobody: a group whose only member is the source tells nobody
        (a peer withdrawing its table from a router with no other peer),
        unless that member is still owed a withdrawal of another source's
        route for the key."""
        if source is not self._sole():
            return False
        owed = self.pending_src_wd.get(id(source))
        return owed is None or key not in owed[1]

    def _withdraw_from_source(self, source: Any, keys: Iterable[Key]) -> None:
        """The next flush withdraws ``keys`` from ``source`` alone (while it
        is still their entries' source then): it held another route for
        them from us, and is not sent its own."""
        sid = id(source)
        ent = self.pending_src_wd.get(sid)
        if ent is None:
            ent = self.pending_src_wd[sid] = (source, set())
        ent[1].update(keys)

    def _out_path_id(self, route: Route) -> int:
        k = (id(route.origin), route.path_id)
        pid = self._path_ids.get(k)
        if pid is None:
            pid = len(self._path_ids) + 1
            self._path_ids[k] = pid
        return pid

    def _set(self, key: Key, route: Route | None) -> None:
        new_bucket: Bucket | None = None
        st = self.stats
        if route is None:
            st.withdraws_received += 1
        else:
            st.updates_received += 1
            sid = id(route.origin)
            self.offered_from[sid] = self.offered_from.get(sid, 0) + 1
        if route is not None:
            out = self._export(route)
            if out is not None:
                net = key if isinstance(key, int) else key[0]
                afi = 2 if net >= netmod.V6_FLAG else 1
                bk = (out, id(route.origin), afi)
                new_bucket = self.buckets.get(bk)
                if new_bucket is None:
                    new_bucket = self.buckets[bk] = Bucket(out, route.origin, afi)
        old_bucket = self.entries.get(key)
        if old_bucket is new_bucket:
            return
        lim = self.key.export_limit
        if (lim is not None and new_bucket is not None and old_bucket is None
                and len(self.entries) >= lim.count and self._export_limit(lim.action)):
            if not new_bucket.count:
                del self.buckets[(new_bucket.attrs, id(new_bucket.source), new_bucket.afi)]
            return
        if old_bucket is not None:
            self._release(old_bucket)
        if new_bucket is not None:
            new_bucket.count += 1
            new_bucket.wire = None
            self.entries[key] = new_bucket
            sid = id(new_bucket.source)
            self.per_source[sid] = self.per_source.get(sid, 0) + 1
            if new_bucket.source is self._sole():
                self.pending_ann.pop(key, None)  # nobody to announce it to
            else:
                self.pending_ann[key] = new_bucket
            if key in self.pending_wd:
                # a withdrawal not sent yet: the new route replaces it for
                # everyone but its source, which is not sent its own route
                self.pending_wd.discard(key)
                self._withdraw_from_source(new_bucket.source, (key,))
            if old_bucket is not None and old_bucket.source is not new_bucket.source:
                # the new source had received the old route from us
                self.moved_to[sid] = self.moved_to.get(sid, 0) + 1
                self._withdraw_from_source(new_bucket.source, (key,))
        else:
            del self.entries[key]
            self.pending_ann.pop(key, None)
            if not self._quiet_withdrawal(old_bucket.source, key):  # type: ignore[union-attr]
                self.pending_wd.add(key)
            st.withdraws_accepted += 1
            sid = id(old_bucket.source)  # type: ignore[union-attr]  # set: it differs from None
            self.withdrawn_from[sid] = self.withdrawn_from.get(sid, 0) + 1
        if not self._flush_scheduled and self.members:
            self._flush_scheduled = True
            self._schedule(self.flush)

    def _release(self, b: Bucket) -> None:
        """One entry left bucket ``b`` (it goes when it holds none)."""
        b.count -= 1
        b.wire = None
        sid = id(b.source)
        self.per_source[sid] -= 1
        if not b.count:
            del self.buckets[(b.attrs, sid, b.afi)]

    def _export_limit(self, action: str) -> bool:
        """The export limit is reached; True if the route must not go out."""
        if not self._limit_logged:
            log.warning("export limit %d exceeded for %s, action %s", self.key.export_limit.count,
                        ", ".join(m.name for m in self.members) or "(no members)", action)
            self._limit_logged = True
        if action == "warn":
            return False
        if action != "block" and self.limit_hit is not None:
            self.limit_hit(action)
        return True

    # ---- export policy -----------------------------------------------
    def _export(self, route: Route) -> PathAttrs | None:
        """Export filter, then the attribute rewrite for this group."""
        src = route.origin
        k = self.key
        if self._no_reflection(src):
            self.stats.updates_rejected += 1
            sid = id(src)
            self.rejected_from[sid] = self.rejected_from.get(sid, 0) + 1
            return None  # iBGP route to iBGP peer without reflection
        filtered = route if self._export_all else k.export_filter.run(route)
        if filtered is None:
            self.stats.updates_filtered += 1
            sid = id(src)
            self.filtered_from[sid] = self.filtered_from.get(sid, 0) + 1
            return None
        a = filtered.attrs
        # BIRD sets the BGP attributes before the export filter runs, so a next hop the
        # filter assigns (`bgp_next_hop = X`) is the one sent, whatever the rewrite says.
        nh_by_filter = a is not route.attrs and a is not None and a.next_hop != (
            route.attrs.next_hop if route.attrs is not None else None
        )
        # the key starts with the group's: the set's one memo dict is shared
        ck = (self._memo_key, id(src), filtered.dest, filtered.gw, nh_by_filter)
        if a is None:
            out = self._local_cache.get(ck, False)
        else:
            out = a.memo_get(ck, False)
        if out is False:
            # every set of a source has the same key: one tuple for all of
            # them (about 100 bytes a set)
            ck = self._cache_keys.setdefault(ck, ck)
            out = rewrite(self.key, filtered, nh_by_filter)
            if a is None:
                self._local_cache[ck] = out
            else:
                a.memo_set(ck, out)
        return out  # type: ignore[return-value]

    def _no_reflection(self, src: Any) -> bool:
        """An iBGP route to an iBGP peer, neither a reflector client."""
        k = self.key
        return (src.source_type == Source.BGP and k.ibgp and src.is_ibgp
                and not (src.is_rr_client or k.rr_client))

    def rewrite(self, route: Route, nh_by_filter: bool = False) -> PathAttrs | None:
        """What this group sends for ``route`` after its export filter
        (uncached; ``show route export``'s view uses it)."""
        return rewrite(self.key, route, nh_by_filter)

    # ---- members -----------------------------------------------------
    def join(self, member: Any, previous: UpdateGroup | None = None,
             carried: ChangeStats | None = None, refeed: bool = False) -> None:
        """A member reached Established: send it the whole state.

        With ``previous`` (the member's export policy changed), first
        withdraw what the old group sent that this one does not send.
        Its export counters start from ``carried`` (what it showed before
        a graceful restart or a refeed; zero after a real restart), plus
        the feed, as BIRD counts a protocol's feed: every route offered is
        an update received, then rejected, filtered or accepted.
        """
        if member in self.members:
            return
        self.flush()
        self._base[id(member)] = self._join_base(member, carried, refeed)
        chunks: list[bytes] = []
        if previous is not None:
            previous.flush()
            gone = [k for k, b in previous.entries.items()
                    if b.source is not member
                    and (self.mode == MODE_ANY or k not in self.entries)]
            if gone:
                self._by_family_withdraws(gone, member.negotiated, chunks)
        # the keys of buckets whose encoding is not cached, in one pass
        stale: dict[int, list[Key]] = {id(b): [] for b in self.buckets.values()
                                       if b.wire is None and b.source is not member}
        if stale:
            for k, b in self.entries.items():
                ks = stale.get(id(b))
                if ks is not None:
                    ks.append(k)
        for b in list(self.buckets.values()):
            if b.source is member or not b.count:
                continue
            if b.wire is None:
                b.wire = b"".join(self._pack(b, sorted(stale[id(b)]), member.negotiated))
            chunks.append(b.wire)
        self.members.append(member)
        chunks.extend(self._codec.pack_eor(afi, 1) for afi in self._families(member))
        member.send_wire(chunks)

    def _families(self, member: Any) -> list[int]:
        fams = getattr(member.negotiated, "families", None) or {(1, 1)}
        return sorted({afi for afi, safi in fams if safi == 1})

    def leave(self, member: Any) -> ChangeStats | None:
        """A member goes; returns its export counters as they stand (None
        if it was not a member)."""
        if member not in self.members:
            return None
        final = self.member_stats(member)
        self.members.remove(member)
        del self._base[id(member)]
        return final

    def resend(self, member: Any) -> None:
        """Route refresh: send the whole state to one member again (BIRD
        refeeds it, counting on from what it shows)."""
        joined = member in self.members
        carried = self.leave(member)
        self.join(member, carried=carried, refeed=joined)

    def exported_to(self, member: Any) -> int:
        return len(self.entries) - self.per_source.get(id(member), 0)

    def forget_source(self, source: Any) -> None:
        """Drop cached rewrites that mention a protocol that went away."""
        sid = id(source)
        # (memo entries of live sets that name the source are keyed by its id
        # and may outlive it; they are only looked up with a live source's id)
        for cache in (self._local_cache, self._cache_keys):
            for k in [k for k in cache if k[1] == sid]:
                del cache[k]
        # a later protocol object may get the same id(): no stale counts
        for counts in (self.per_source, *self._per_source_counts()):
            if not counts.get(sid):
                counts.pop(sid, None)
        for k in [k for k in self._path_ids if k[0] == sid]:
            del self._path_ids[k]

    # ---- flushing ----------------------------------------------------
    def flush(self) -> None:
        self._flush_scheduled = False
        if not self.members:
            self.pending_ann.clear()
            self.pending_wd.clear()
            self.pending_src_wd.clear()
            return
        if not (self.pending_ann or self.pending_wd or self.pending_src_wd):
            return
        neg = self.members[0].negotiated
        shared: list[bytes] = []
        if self.pending_wd:
            self._by_family_withdraws(self.pending_wd, neg, shared)
        # announcements, grouped by bucket
        per_bucket: dict[int, tuple[Bucket, list[Key]]] = {}
        for key, b in self.pending_ann.items():
            ent = per_bucket.get(id(b))
            if ent is None:
                per_bucket[id(b)] = (b, [key])
            else:
                ent[1].append(key)
        excluded: dict[int, list[bytes]] = {}  # id(member) -> bytes it must not get
        ann_parts: list[bytes] = []
        for b, keys in per_bucket.values():
            msgs = self._pack(b, keys, neg)
            blob = b"".join(msgs)
            ann_parts.append(blob)
            excluded.setdefault(id(b.source), []).append(blob)
        src_wd = self.pending_src_wd
        self.pending_ann = {}
        self.pending_wd = set()
        self.pending_src_wd = {}
        all_bytes = b"".join(shared + ann_parts)
        # the sources of something in this flush (usually one) get bytes of
        # their own, after the others: the rest get all_bytes as it is, the
        # first of them without a pass over the members first
        sources: dict[int, Any] = {sid: ent[0] for sid, ent in src_wd.items()}
        for bucket, _ in per_bucket.values():
            sources[id(bucket.source)] = bucket.source
        members = self.members
        if all_bytes:
            if self.fan_out is not None:
                self.fan_out(members, all_bytes, sources.keys())
            else:
                for m in list(members):
                    if id(m) not in sources:
                        m.send_wire([all_bytes])
        for mid, m in sources.items():
            if m not in members:  # not a member (or it left on a failed write)
                continue
            ex = excluded.get(mid)
            wd = src_wd.get(mid)
            chunks: list[bytes] = []
            if wd is not None:
                keys = [k for k in wd[1] if (eb := self.entries.get(k)) is not None
                        and eb.source is m]
                if keys:
                    self._by_family_withdraws(keys, neg, chunks)
            chunks.extend(shared)
            if ex is None:
                chunks.extend(ann_parts)
            else:
                ex_ids = {id(x) for x in ex}
                chunks.extend(p for p in ann_parts if id(p) not in ex_ids)
            if chunks:
                m.send_wire(chunks)

    def _pack(self, b: Bucket, keys: Iterable[Key], neg: Any) -> list[bytes]:
        return group_wire.pack_announces(self._codec, self._wire_key, b.attrs, b.afi, keys, neg)

    def _by_family_withdraws(self, keys: Iterable[Key], neg: Any, out: list[bytes]) -> None:
        group_wire.pack_withdraws(self._codec, keys, neg, out)
