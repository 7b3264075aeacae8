"""BIRD's export "Route change stats" for each member of an update group.

BIRD 1.6 counts per protocol: zero when the protocol goes down, then the
feed when it comes up (every route offered is an update received, then
rejected, filtered or accepted), then every change. A group counts once
for all its members, from its creation; a member's numbers are the group's
since it joined, read off a baseline taken at join, plus its feed, which
is counted from running counts of what the table offers the group now (no
walk of the table per joining member), plus what it carried over (a
graceful restart keeps BIRD's protocol up, so its stats go on).
"""

from __future__ import annotations

from typing import Any

from bgplab.rib.channel import ChangeStats

Counts = tuple[int, int, int, int, int]  # received, rejected, filtered, wd received, wd accepted


class ExportStats:
    """The counting half of :class:`~bgplab.rib.adjrib_out.UpdateGroup`."""

    key: Any  # the group's GroupKey
    entries: Any
    per_source: dict[int, int]

    def _no_reflection(self, src: Any) -> bool:
        raise NotImplementedError

    def _init_stats(self) -> None:
        self.stats = ChangeStats()  # group-wide; see member_stats()
        self.offered_from: dict[int, int] = {}  # id(source) -> routes offered from it
        self.rejected_from: dict[int, int] = {}  # id(source) -> of those, not reflected
        self.filtered_from: dict[int, int] = {}  # id(source) -> of those, export filter said no
        self.withdrawn_from: dict[int, int] = {}  # id(source) -> its entries withdrawn
        self.moved_to: dict[int, int] = {}  # id(source) -> entries it took from another
        # what the table offers the group now (best routes, or every route with
        # ADD-PATH): a joining member's feed is counted from these, not walked
        self.held: dict[int, int] = {}  # id(source) -> routes offered from it
        self.held_rejected: dict[int, int] = {}  # id(source) -> of those, not reflected
        self.held_total = 0
        # only an iBGP group of non-clients has routes it does not reflect
        self._may_reject = bool(self.key.ibgp and not self.key.rr_client)
        self.held_rejected_total = 0
        # id(member) -> its counters at join less what it brought (see join())
        self._base: dict[int, Counts] = {}

    def _per_source_counts(self) -> tuple[dict[int, int], ...]:
        return (self.offered_from, self.rejected_from, self.filtered_from, self.withdrawn_from,
                self.moved_to, self.held, self.held_rejected)

    def _held_moves(self, old: Any, new: Any) -> None:
        """The group is offered route ``new`` instead of ``old`` (either may
        be None); a route replaced by one from the same source changes
        nothing here, the usual case."""
        old_src = old.origin if old is not None else None
        new_src = new.origin if new is not None else None
        if old_src is not new_src:
            if old_src is not None:
                self._hold(old_src, -1)
            if new_src is not None:
                self._hold(new_src, 1)

    def _hold(self, src: Any, n: int) -> None:
        """``n`` more (or fewer) routes from ``src`` offered to the group now."""
        sid = id(src)
        self.held[sid] = self.held.get(sid, 0) + n
        self.held_total += n
        if self._may_reject and self._no_reflection(src):
            self.held_rejected[sid] = self.held_rejected.get(sid, 0) + n
            self.held_rejected_total += n

    def member_stats(self, member: Any) -> ChangeStats:
        """BIRD's export "Route change stats" as one member sees them: routes
        that came from the member itself count as rejected (and their
        withdrawals are not exported to it). Counted since it joined, from
        what it brought (see :meth:`join`)."""
        mid = id(member)
        now = self._since_created(mid)
        base = self._base.get(mid, (0, 0, 0, 0, 0))
        received, rejected, filtered, wd_received, wd_accepted = (
            n - b for n, b in zip(now, base, strict=True))
        return ChangeStats(
            updates_received=received,
            updates_rejected=rejected,
            updates_filtered=filtered,
            updates_accepted=max(0, received - rejected - filtered),
            withdraws_received=wd_received,
            withdraws_accepted=wd_accepted,
        )

    def _since_created(self, mid: int) -> Counts:
        """A member's export counters had it been a member since the group
        was created: received, rejected, filtered, withdraws received and
        accepted. Linear in the group's counters, so a difference of two
        of these is what happened in between."""
        g = self.stats
        rejected = (g.updates_rejected - self.rejected_from.get(mid, 0)
                    + self.offered_from.get(mid, 0))
        # a member's own routes stop at "rejected", before the export filter
        filtered = g.updates_filtered - self.filtered_from.get(mid, 0)
        wd_accepted = (g.withdraws_accepted - self.withdrawn_from.get(mid, 0)
                       + self.moved_to.get(mid, 0))
        return (g.updates_received, rejected, filtered, g.withdraws_received, wd_accepted)

    def _join_base(self, member: Any, carried: ChangeStats | None,
                   refeed: bool) -> Counts:
        """What member_stats subtracts: the counters at join less the
        carried ones and the feed's. The feed is counted from the running
        counts of what the table offers now, without a walk: what is held
        from the member itself is rejected for it, and what it is sent
        (the entries not from it) is accepted; the rest was filtered."""
        mid = id(member)
        own = self.held.get(mid, 0)
        received = self.held_total
        rejected = self.held_rejected_total - self.held_rejected.get(mid, 0) + own
        accepted = len(self.entries) - self.per_source.get(mid, 0)
        filtered = received - rejected - accepted
        # BIRD's refeed hands the route itself in as the old one: a route
        # refused now counts as a withdrawal accepted
        wd_accepted = rejected + filtered if refeed else 0
        if carried is not None:
            received += carried.updates_received
            rejected += carried.updates_rejected
            filtered += carried.updates_filtered
            wd_accepted += carried.withdraws_accepted
        now = self._since_created(mid)
        wd_received = carried.withdraws_received if carried is not None else 0
        return (now[0] - received, now[1] - rejected, now[2] - filtered,
                now[3] - wd_received, now[4] - wd_accepted)


def unchanged(new: Any, old: Any) -> bool:
    """A route replaced by one that differs at most in BIRD's route flags
    (a graceful restart's stale mark, the same route sent again fresh):
    BIRD ignores it at import (rte_same), so no export counts it, and the
    group would send nothing new anyway."""
    return new is not None and old is not None and new.same_as(old, flags=False)
