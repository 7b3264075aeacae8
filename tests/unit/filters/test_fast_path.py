"""The generated fast path (codegen.py) and the traced closures must agree.

Every filter of the fixture configurations, and a set of filters using the
rest of the language, runs on a few hundred generated routes twice: untraced
(the generated code) and traced (the closures). Results must be the same
route for route, field for field.
"""

from __future__ import annotations

import logging
import random
import re
from ipaddress import IPv4Address
from typing import Any

import pytest

from bgplab import net
from bgplab.bgp.attrs import AS_SEQUENCE, AS_SET, PathAttrs
from bgplab.config import parse_file
from bgplab.filters import Filter, compile_filter
from bgplab.filters.codegen import NO
from bgplab.filters.fastset import prefix_set_matcher
from bgplab.filters.values import PrefixSet
from bgplab.rib.route import Dest, Route
from tests.interop.test_filters_vs_bird import FILTERS as BIRD_FILTERS
from tests.unit.config.helpers import FIXTURES, Origin

CONFIGS = sorted(
    [FIXTURES / "seed_rr.conf", FIXTURES / "seed_aggregate.conf"]
    + list((FIXTURES / "calico").glob("*/bird.cfg"))
)

# Filters beyond the fixtures: attribute edits, functions, case, sets, errors.
EXTRA = {
    "edits": """{
        if net ~ 10.41.0.0/16 then {
            bgp_community.add((63400, 100)); bgp_local_pref = 200;
            bgp_path.prepend(63400); accept;
        }
        reject; }""",
    "edit-then-read": """{
        bgp_local_pref = 300; bgp_med = 7;
        if bgp_local_pref = 300 && bgp_med > 5 then { bgp_community.add((1, bgp_med)); accept; }
        reject; }""",
    "communities": """{
        bgp_community.delete([(65000, 150..300)]); bgp_community.add((63400, 1));
        if (63400, 1) ~ bgp_community && bgp_community.len > 1 then accept;
        if bgp_community ~ [(*, 1)] then reject; accept; }""",
    "lists": """{
        bgp_large_community.add((1, 2, 3)); bgp_ext_community.add((rt, 63400, 7));
        bgp_community.filter([(65000, *)]); accept; }""",
    "unset": """{ unset(bgp_med); if defined(bgp_med) then reject; bgp_community.empty;
        if defined(bgp_community) then reject; accept; }""",
    "unset-only": "{ unset(bgp_local_pref); accept; }",
    "kernel": """{ if net ~ 10.41.0.0/16 then { krt_tunnel = "tunl0"; krt_metric = 20; }
        if defined(krt_metric) && krt_metric = 20 then accept; unset(krt_metric); accept; }""",
    "scope": "{ if scope = SCOPE_UNIVERSE then { scope = SCOPE_LINK; accept; } reject; }",
    "route-writes": """{ if net ~ 10.42.0.0/16 then { preference = 5; bgp_med = 1; accept; }
        if net.len = 32 then { dest = RTD_PROHIBIT; accept; } bgp_med = 2; accept; }""",
    "sets": """{ if net ~ [ 10.41.0.0/16{26,32}, 10.42.0.0/16+, 0.0.0.0/0{0,8}, 2001:db8::/32+ ]
        then accept; reject; }""",
    "net-ops": """{ if net = 10.41.113.192/26 || net.len > 30 then accept;
        if net !~ 10.42.0.0/16 && net.ip ~ 10.0.0.0/8 then accept;
        if net ~ 2001:db8::/32 then accept; reject; }""",
    "path": """{ if bgp_path ~ [= * 65001 * =] then { bgp_path.delete(65001); accept; }
        if bgp_path.len > 2 || bgp_path.first = 65003 then reject;
        if 65002 ~ bgp_path then accept; bgp_path.prepend(bgp_path.last + 1); accept; }""",
    "arith-error": "{ bgp_local_pref = bgp_local_pref + 1; accept; }",
    "compare-void": "{ if bgp_med > 500 then reject; if bgp_med < 10 then accept; reject; }",
    "no-decision": "{ if net ~ 10.41.0.0/16 then accept; }",
    "enums": """{ if source != RTS_STATIC && dest != RTD_BLACKHOLE then accept;
        if source = RTS_STATIC || dest = RTD_UNREACHABLE then reject; accept; }""",
    "route-fields": """{ if proto = "bgp1" && source = RTS_BGP && dest = RTD_ROUTER
        && preference = 100 && ifname ~ "eth*" && from = 192.168.0.25 then accept; reject; }""",
    "functions": """
        define BASE = 100;
        function score(int a; int b) int t; { t = a * b; return t + BASE; }
        function mark(pair p) { bgp_community.add(p); }
        function early(int x) {
            case x { 1: return; 2, 3: { mark((9, x)); return; } else: mark((8, x)); }
            mark((7, x));
        }
        function decide() { if net ~ 10.42.0.0/16 then reject; if net.len = 32 then accept; }
        filter f int x; {
            x = 3;
            case net.len { 26: mark((1, x)); 27..31, 8: mark((2, x)); else: mark((3, x)); }
            early(net.len - 24);
            decide();
            if bgp_local_pref > BASE then accept;
            bgp_local_pref = 150;
            accept;
        }""",
    "where": "where net ~ 10.41.0.0/16 && bgp_local_pref >= 100",
    "prints": """{ if net ~ 10.41.0.0/16 then { print "in ", net; accept; }
        if net.len = 32 then reject "host"; accept; }""",
    "value-calls": """
        function lp() { if defined(bgp_local_pref) then return bgp_local_pref; return 0; }
        function has(pair p) { return p ~ bgp_community; }
        filter f int x; {
            x = lp();
            if x > 150 || has((63400, 100)) then { bgp_med = x + 1; accept; }
            if net.len > 24 && has((1, 1)) then reject;
            accept;
        }""",
}


def _route(rng: random.Random) -> Route:
    kind = rng.random()
    if kind < 0.15:
        prefix = net.make(rng.getrandbits(128), rng.choice((32, 48, 64, 128)), v6=True)
    elif kind < 0.7:
        base = rng.choice((10 << 24 | 41 << 16, 10 << 24 | 42 << 16))
        prefix = net.make(base | rng.getrandbits(16), rng.choice((16, 24, 26, 30, 32)))
    else:
        prefix = net.make(rng.getrandbits(32), rng.randint(0, 32))
    origin = Origin()
    if rng.random() < 0.15:  # a static route: no BGP attributes
        o = Origin("static1", origin.source_type.STATIC, 200)
        return Route(prefix, None, o, dest=rng.choice((Dest.BLACKHOLE, Dest.UNREACHABLE)))
    path: tuple[Any, ...] = ()
    if rng.random() < 0.8:
        path = ((AS_SEQUENCE, tuple(rng.choice((65001, 65002, 65003, 63400))
                                    for _ in range(rng.randint(1, 4)))),)  # fmt: skip
        if rng.random() < 0.2:
            path += ((AS_SET, (7, 8)),)
    comms = tuple(sorted({(rng.choice((65000, 63400, 1)), rng.choice((1, 100, 200)))
                          for _ in range(rng.randint(0, 3))}))  # fmt: skip
    attrs = PathAttrs(
        origin=rng.choice((0, 1, 2)),
        as_path=path,
        next_hop=IPv4Address("192.168.0.25"),
        local_pref=rng.choice((None, 100, 200)),
        med=rng.choice((None, 0, 7, 600)),
        communities=comms,
    )
    ext = {"krt_metric": 20} if rng.random() < 0.1 else None
    return Route(prefix, attrs, origin, from_addr="192.168.0.25", gw="192.168.0.25",
                 iface=rng.choice(("eth1", "tunl0")), ext=ext)  # fmt: skip


ROUTES = [_route(random.Random(i)) for i in range(300)]


def _filters() -> list[tuple[str, Filter]]:
    out = []
    for path in CONFIGS:
        for name, flt in sorted(parse_file(path).filters.items()):
            out.append((f"{path.relative_to(FIXTURES)}:{name}", flt))
    for name, text in EXTRA.items():
        out.append((name, compile_filter(text)))
    # and the filters checked against BIRD 1.6 itself
    for name in re.findall(r"^filter (\w+)", BIRD_FILTERS, re.M):
        out.append((f"vs-bird:{name}", compile_filter(BIRD_FILTERS, name)))
    return out


FILTERS = _filters()


def _fields(r: Route | None) -> Any:
    if r is None:
        return None
    return tuple(getattr(r, s) for s in Route.FIELDS)


def _route_fields(r: Route) -> Any:
    return tuple(getattr(r, s) for s in Route.FIELDS if s not in ("attrs", "ext"))


@pytest.mark.parametrize(("label", "flt"), FILTERS, ids=[x[0] for x in FILTERS])
def test_traced_and_untraced_agree(label: str, flt: Filter, caplog: Any) -> None:
    caplog.set_level(logging.CRITICAL, logger="bgplab.filters")
    for r in ROUTES:
        before = _fields(r)
        fast = flt.run(r)
        fast_prints = list(flt.last_prints)
        trace: list[Any] = []
        slow = flt.run(r, trace)
        assert fast_prints == flt.last_prints, (label, r)
        assert _fields(fast) == _fields(slow), (label, r, trace)
        assert (fast is r) == (slow is r), (label, r)  # a copy exactly when modified
        if fast is not None and slow is not None and fast.attrs is not None:
            assert fast.attrs is slow.attrs  # both interned
        assert _fields(r) == before  # the input is never touched


@pytest.mark.parametrize(("label", "flt"), FILTERS, ids=[x[0] for x in FILTERS])
def test_the_generated_code_decides(label: str, flt: Filter, caplog: Any) -> None:
    """The generated code must itself decide every route the closures decide
    without a run-time error, a print or a write to a route field such as
    ``preference`` (and hand back only the others)."""
    caplog.set_level(logging.CRITICAL, logger="bgplab.filters")
    assert flt.fast_source is not None, label
    run = flt._fast
    decided = 0
    for r in ROUTES:
        try:
            out = run(r)
        except Exception:
            out = NO
        trace: list[Any] = []
        slow = flt.run(r, trace)
        plain = (
            not flt.last_prints
            and not any(
                t.partition(":")[0] in ("runtime error", "no accept nor reject") for _, t in trace
            )
            and (slow is None or _route_fields(slow) == _route_fields(r))
        )
        assert (out is not NO) == plain, (label, r, trace)
        decided += out is not NO
    if label not in ("arith-error", "no-decision"):
        assert decided > len(ROUTES) // 2, label


def test_errors_and_no_decision_fall_back_with_the_same_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = next(x for x in ROUTES if x.attrs is None)
    flt = compile_filter(EXTRA["arith-error"])
    with caplog.at_level(logging.WARNING, logger="bgplab.filters"):
        assert flt.run(r) is None
    assert [m for m in caplog.messages if "Incompatible types" in m]
    caplog.clear()
    flt = compile_filter(EXTRA["no-decision"])
    r = next(x for x in ROUTES if not net.contains(net.parse("10.41.0.0/16"), x.net))
    with caplog.at_level(logging.WARNING, logger="bgplab.filters"):
        assert flt.run(r) is None
    assert [m for m in caplog.messages if "did not return accept nor reject" in m]


def test_runs_reaching_a_route_field_write_or_print_use_the_closures() -> None:
    flt = compile_filter('{ if net ~ 10.41.0.0/16 then { print "x"; preference = 5; } accept; }')
    inside = next(r for r in ROUTES if net.contains(net.parse("10.41.0.0/16"), r.net))
    outside = next(r for r in ROUTES if r.net < net.V6_FLAG and r.net >> 24 != 10)
    assert flt._fast(outside) is outside  # decided by the generated code
    assert flt._fast(inside) is NO  # handed back …
    out = flt.run(inside)  # … and done by the closures
    assert out is not None and out.pref == 5 and flt.last_prints == ["x"]
    assert flt.run(outside) is outside and flt.last_prints == []


def test_prefix_set_table_matches_pattern_walk() -> None:
    rng = random.Random(7)
    for _ in range(200):
        pats = []
        for _ in range(rng.randint(0, 5)):
            plen = rng.randint(0, 32)
            addr = rng.getrandbits(32) >> (32 - plen) << (32 - plen) if plen else 0
            lo = rng.randint(0, 32)
            pats.append((net.make(addr, plen), lo, rng.randint(lo, 32)))
        ps = PrefixSet(tuple(pats))
        fast = prefix_set_matcher(ps)
        for _ in range(100):
            if pats and rng.random() < 0.6:  # near a pattern, to hit both answers
                base = rng.choice(pats)[0] >> 8
                n = net.make(base | (rng.getrandbits(32) >> rng.randint(0, 32)), rng.randint(0, 32))
            else:
                n = net.make(rng.getrandbits(32), rng.randint(0, 32))
            assert fast(n) == ps.contains(n), (ps, net.to_str(n))
