"""`import keep filtered`: rejected routes are held, never best, never exported."""

from __future__ import annotations

from types import SimpleNamespace

from bgplab import net
from bgplab.config.model import Limit
from bgplab.rib.channel import ACCEPT
from bgplab.rib.route import Dest, Route
from tests.unit.rib.test_table import Recorder, ctx

A = net.parse("10.41.0.0/26")
B = net.parse("10.42.0.0/26")


class Only41:
    """An import filter that accepts 10.41.0.0/16 only."""

    name = "only41"

    def run(self, route: Route, trace: object = None) -> Route | None:
        return route if net.to_str(route.net).startswith("10.41.") else None


def setup(keep: bool, **opts: object) -> tuple[Recorder, Recorder]:
    c = ctx()
    src, dst = Recorder("src", c), Recorder("dst", c)
    src.channel.import_filter = Only41()
    src.channel.apply_options(SimpleNamespace(import_keep_filtered=keep, **opts))
    return src, dst


def announce(p: Recorder, n: int) -> Route:
    r = Route(n, None, p, dest=Dest.BLACKHOLE)
    p.channel.import_route(n, r)
    return r


def test_rejected_route_is_kept_but_neither_in_table_nor_exported() -> None:
    src, dst = setup(keep=True)
    announce(src, A)
    rb = announce(src, B)
    ch = src.channel
    assert (ch.imported, ch.filtered) == (1, 1)
    assert ch.filtered_routes() == {(B, 0): rb}
    assert ch.table.best(B) is None
    assert [n for n, _new, _old in dst.events] == [A]
    assert ch.import_stats.updates_filtered == 1


def test_without_keep_nothing_is_held() -> None:
    src, _dst = setup(keep=False)
    announce(src, B)
    assert src.channel.filtered == 0 and src.channel.filtered_routes() == {}
    assert src.channel.import_stats.updates_filtered == 1


def test_withdraw_of_a_filtered_route_forgets_it() -> None:
    src, _dst = setup(keep=True)
    announce(src, B)
    st = src.channel.import_stats
    # BIRD books the rejected update as an ignored withdraw (nothing valid was there)
    assert (st.withdraws_accepted, st.withdraws_ignored) == (0, 1)
    src.channel.import_withdraw(B)
    assert src.channel.filtered == 0
    # ... and the withdraw of a filtered route as ignored too
    assert (st.withdraws_received, st.withdraws_accepted, st.withdraws_ignored) == (1, 0, 2)


def test_rejected_update_replacing_a_valid_route_is_an_accepted_withdraw() -> None:
    src, dst = setup(keep=False)
    announce(src, A)
    src.channel.import_filter = ACCEPT
    announce(src, B)
    src.channel.import_filter = Only41()
    announce(src, B)  # the new filter rejects what was valid: withdrawn
    st = src.channel.import_stats
    assert (st.updates_filtered, st.withdraws_accepted, st.withdraws_ignored) == (1, 1, 0)
    assert dst.events[-1][0] == B and dst.events[-1][1] is None


def test_new_filter_moves_routes_between_held_and_table() -> None:
    src, dst = setup(keep=True)
    announce(src, A)
    announce(src, B)
    src.channel.import_filter = ACCEPT  # e.g. after `configure` and a route refresh
    announce(src, B)
    assert (src.channel.imported, src.channel.filtered) == (2, 0)
    assert src.channel.table.best(B) is not None
    src.channel.import_filter = Only41()
    announce(src, B)
    assert (src.channel.imported, src.channel.filtered) == (1, 1)
    assert dst.events[-1][0] == B and dst.events[-1][1] is None  # withdrawn downstream


def test_receive_limit_counts_filtered_routes_too() -> None:
    # BIRD: `receive limit` counts everything received, `import limit` what was accepted
    src, _dst = setup(keep=True, receive_limit=Limit(2, "block"))
    announce(src, B)
    announce(src, A)
    announce(src, net.parse("10.41.1.0/26"))  # third route: over the limit, ignored
    ch = src.channel
    assert (ch.imported, ch.filtered) == (1, 1)
    assert ch.import_stats.updates_ignored == 1


def test_flush_forgets_filtered_routes() -> None:
    src, _dst = setup(keep=True)
    announce(src, B)
    src.channel.flush()
    assert src.channel.filtered == 0
