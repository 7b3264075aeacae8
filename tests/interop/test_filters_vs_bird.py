"""Differential test: our compiled filters against real BIRD 1.6.

BIRD instance S announces a corpus of routes (every prefix length,
AS paths, communities, large communities, MED, local pref, next hops,
origins) over iBGP to instance T. T imports them all into table ``raw``
and pipes ``raw`` into one table per filter under test, with that filter as
the pipe's import filter. We read ``raw`` (the input) and every output
table from T's ``show route … all``, run our compilation of the very same
configuration text on each input route, and require the same accept/reject
decision and the same resulting attributes, route for route.
"""

from __future__ import annotations

import os
import random
import re
import time
from dataclasses import dataclass
from ipaddress import IPv4Address

import pytest

from bgplab import extpeers
from bgplab import net as netmod
from bgplab.bgp.attrs import AS_SEQUENCE, AS_SET, PathAttrs
from bgplab.config import parse_text
from bgplab.rib.route import Route, Source

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(not extpeers.available("bird1"), reason="BIRD 1.6 is not installed"),
]

# Filters under test: written once, run by BIRD and by us.
FILTERS = """
define POOL = 10.41.0.0/16;
define MYAS = 65000;

function calico_aggr ()
{
  if ( net = 10.41.113.192/26 ) then { accept; }
  if ( net ~ 10.41.113.192/26 ) then { reject; }
}

function apply_communities ()
{
  if ( net ~ 10.42.0.0/16 ) then {
    bgp_community.add((63400, 100));
    bgp_large_community.add((63400, 1, 2));
  }
}

filter calico_export_to_bgp_peers {
  apply_communities();
  calico_aggr();
  if ( net ~ POOL ) then {
    accept;
  }
  if ( net ~ 10.42.0.0/16 ) then {
    accept;
  }
  reject;
}

filter seed_export {
  if ( net ~ 10.41.0.0/16 ) then {
    accept;
  }
  if ( net ~ 10.42.0.0/16 ) then {
    accept;
  }
  reject;
}

filter prefix_sets
prefix set ps;
{
  ps = [ 10.0.0.0/8{16,24}, 192.168.0.0/16+, 172.16.0.0/12-, 0.0.0.0/0{30,32}, 100.64.0.0/10 ];
  if net ~ ps then accept;
  if net.len < 4 then accept;
  if net.ip ~ 198.18.0.0/15 then accept;
  reject;
}

filter path_masks {
  if bgp_path ~ [= * 65001 * =] then { bgp_local_pref = 300; accept; }
  if bgp_path ~ [= 65002 ? =] then { bgp_med = 42; accept; }
  if bgp_path ~ [= * 64512..64600 =] then accept;
  if bgp_path.len > 3 then { bgp_path.prepend(MYAS); accept; }
  if bgp_path.first = 65003 || bgp_path.last = 65004 then accept;
  if 65005 ~ bgp_path then { bgp_path.delete(65005); accept; }
  if bgp_path ~ [ 65006, 65007..65009 ] then { bgp_path.filter([65006, 65007]); accept; }
  reject;
}

filter community_ops
int n;
{
  if (65000, 100) ~ bgp_community then {
    bgp_community.delete([(65000, 100..199)]);
    bgp_community.add((65000, 999));
    accept;
  }
  if bgp_community ~ [(65010, *)] then {
    bgp_community.filter([(65010, 0..50)]);
    bgp_local_pref = bgp_local_pref + 10;
    accept;
  }
  if (65000, 7, 7) ~ bgp_large_community then {
    bgp_large_community.delete((65000, 7, 7));
    bgp_large_community.add((MYAS, 1, 1));
    accept;
  }
  if bgp_large_community ~ [(65020, 1..5, *)] then accept;
  n = bgp_community.len;
  if n >= 3 then { bgp_community.delete([(*, 1)]); accept; }
  reject;
}

filter more
int set odd;
{
  odd = [ 1, 3, 5..7, 9, 25..27 ];
  if net.len ~ odd && net.ip.mask(8) = 10.0.0.0 then { bgp_med = net.len; accept; }
  if !defined(bgp_med) && bgp_path.len = 0 then reject;
  if bgp_med > 500 then reject "big med";
  if proto ~ "from*" && bgp_next_hop.mask(24) = 192.0.2.0 then {
    bgp_local_pref = bgp_local_pref - 1;
    accept;
  }
  if bgp_community.len = 0 && bgp_large_community.len > 0 then {
    bgp_community.add((65000, bgp_path.len));
    accept;
  }
  if bgp_path.last ~ [64512..65534] && bgp_path.first != bgp_path.last then {
    bgp_path.prepend(bgp_path.last);
    accept;
  }
  bgp_community.delete([(*, 1), (65010, *)]);
  if bgp_community ~ [(65000, *)] then accept;
  reject;
}

function score(int a; int b)
int t;
{
  t = a * 10 + b;
  return t;
}

function tagged(pair p) { return p ~ bgp_community; }

function pick()
clist c;
{
  c = bgp_community;
  c = add(c, (65000, 1));
  c = delete(c, [(65010, 10..20)]);
  return c;
}

filter funcs
int sc;
bgppath pth;
{
  sc = score(bgp_path.len, net.len);
  if sc > 40 then { bgp_med = sc; accept; }
  if tagged((65000, 250)) then { bgp_community = pick(); accept; }
  pth = bgp_path;
  pth = prepend(pth, 64999);
  if pth.len = 1 then { bgp_path = pth; accept; }
  case bgp_path.first {
    65001, 65002: bgp_local_pref = 111; accept;
    65003..65005: reject;
  }
  if bgp_community.len > 0 then {
    bgp_community = filter(bgp_community, [(65000, *), (1, 1)]);
    accept;
  }
  reject;
}

filter misc {
  if bgp_origin = ORIGIN_EGP then { bgp_origin = ORIGIN_INCOMPLETE; accept; }
  if bgp_next_hop ~ 198.51.100.0/25 then { bgp_next_hop = 203.0.113.9; accept; }
  if defined(bgp_med) && bgp_med > 500 then { bgp_med = bgp_med - 500; accept; }
  case net.len {
    8, 12..14: bgp_local_pref = 77; accept;
    30: reject;
    else: if bgp_local_pref >= 150 then accept;
  }
  if source = RTS_BGP && proto = "from_s" && from ~ 127.3.0.0/16 then reject;
  accept;
}
"""

FILTER_NAMES = (
    "calico_export_to_bgp_peers",
    "seed_export",
    "prefix_sets",
    "path_masks",
    "community_ops",
    "more",
    "funcs",
    "misc",
)


@dataclass
class CorpusRoute:
    prefix: str
    path: list[int]
    set_part: list[int]
    communities: list[tuple[int, int]]
    large: list[tuple[int, int, int]]
    local_pref: int
    med: int | None
    next_hop: str
    origin: str


def make_corpus(n: int = 240) -> list[CorpusRoute]:
    rnd = random.Random(1997)
    seen: set[int] = set()
    fixed = ["10.41.113.192/26", "10.41.113.193/32", "10.41.57.192/26", "10.42.0.0/16",
             "10.42.57.192/26", "0.0.0.0/0", "192.168.0.0/16", "172.16.0.0/12", "172.0.0.0/8",
             "198.18.5.0/24", "100.64.0.0/10", "10.0.0.0/8"]  # fmt: skip
    nets = []
    for p in fixed:
        k = netmod.parse(p)
        seen.add(k)
        nets.append(k)
    bases = [0x0A290000, 0x0A2A0000, 0x0A000000, 0xC0A80000, 0xAC100000, 0xC6120000, 0x64400000]
    attempt = 0
    while len(nets) < n:
        attempt += 1
        plen = attempt % 33  # every length, many times
        # unicast space only: BIRD ignores class D/E networks
        base = rnd.choice(bases) if rnd.random() < 0.8 else rnd.randint(1 << 24, 0xDFFFFFFF)
        addr = (base | rnd.getrandbits(16)) if plen > 16 else base
        k = netmod.make(addr, plen)
        if k not in seen:
            seen.add(k)
            nets.append(k)
    asns = [65001, 65002, 65003, 65004, 65005, 65006, 65007, 65008, 64512, 64550, 64700, 65100]
    comms = [(65000, 100), (65000, 150), (65000, 250), (65010, 10), (65010, 60), (65020, 1),
             (1, 1), (2, 1), (65000, 7)]  # fmt: skip
    larges = [(65000, 7, 7), (65020, 3, 9), (65020, 9, 9), (1, 2, 3)]
    out = []
    for k in nets:
        path = [rnd.choice(asns) for _ in range(rnd.randint(0, 5))]
        set_part = [rnd.choice(asns) for _ in range(2)] if rnd.random() < 0.05 else []
        out.append(
            CorpusRoute(
                prefix=netmod.to_str(k),
                path=path,
                set_part=sorted(set(set_part)),
                communities=rnd.sample(comms, rnd.randint(0, 4)),
                large=rnd.sample(larges, rnd.randint(0, 2)),
                local_pref=rnd.choice([100, 100, 150, 200, 50]),
                med=rnd.choice([None, None, 10, 600, 1000]),
                next_hop=rnd.choice(["198.51.100.1", "198.51.100.200", "192.0.2.7", "203.0.113.1"]),
                origin=rnd.choice(["ORIGIN_IGP", "ORIGIN_IGP", "ORIGIN_EGP", "ORIGIN_INCOMPLETE"]),
            )
        )
    return out


def s_config(corpus: list[CorpusRoute], s_ip: str, t_ip: str) -> str:
    statics = "\n".join(f"  route {r.prefix} blackhole;" for r in corpus)
    sets = []
    for r in corpus:
        body = []
        # prepend in reverse so the path reads as listed
        for asn in reversed(r.path):
            body.append(f"bgp_path.prepend({asn});")
        for c in r.communities:
            body.append(f"bgp_community.add(({c[0]}, {c[1]}));")
        for lc in r.large:
            body.append(f"bgp_large_community.add(({lc[0]}, {lc[1]}, {lc[2]}));")
        body.append(f"bgp_local_pref = {r.local_pref};")
        if r.med is not None:
            body.append(f"bgp_med = {r.med};")
        body.append(f"bgp_next_hop = {r.next_hop};")
        body.append(f"bgp_origin = {r.origin};")
        sets.append(f"  if net = {r.prefix} then {{ {' '.join(body)} accept; }}")
    return f"""
router id {s_ip};
listen bgp address {s_ip} port 179;
protocol device {{ scan time 60; }}
protocol static {{
{statics}
}}
filter attrs_for_t {{
{chr(10).join(sets)}
  reject;
}}
protocol bgp to_t {{
  local {s_ip} as 65000;
  neighbor {t_ip} as 65000;
  multihop;
  source address {s_ip};
  import none;
  export filter attrs_for_t;
  connect delay time 1;
  connect retry time 2;
  error wait time 1,2;
}}
"""


def t_config(s_ip: str, t_ip: str) -> str:
    tables = "\n".join(f"table out_{n};" for n in FILTER_NAMES)
    pipes = "\n".join(
        f"""protocol pipe p_{n} {{
  table out_{n};
  peer table raw;
  import filter {n};
  export none;
}}"""
        for n in FILTER_NAMES
    )
    return f"""
router id {t_ip};
listen bgp address {t_ip} port 179;
table raw;
table igptab;
{tables}
{FILTERS}
protocol device {{ scan time 60; }}
protocol static nh {{
  table igptab;
  route 0.0.0.0/0 blackhole;
}}
protocol bgp from_s {{
  table raw;
  local {t_ip} as 65000;
  neighbor {s_ip} as 65000;
  multihop;
  gateway recursive;
  igp table igptab;
  source address {t_ip};
  import all;
  export none;
  connect delay time 1;
  connect retry time 2;
  error wait time 1,2;
}}
{pipes}
"""


# ---- reading BIRD's `show route all` ------------------------------------------

_ROUTE_LINE = re.compile(r"^(\d+\.\d+\.\d+\.\d+/\d+)\s+.*?\[(\S+)")


def parse_show_route_all(text: str) -> dict[int, dict[str, str]]:
    """net -> {attribute name: value text} for BGP routes."""
    routes: dict[int, dict[str, str]] = {}
    cur: dict[str, str] | None = None
    for line in text.splitlines():
        m = _ROUTE_LINE.match(line)
        if m:
            cur = {"proto": m.group(2)}
            routes[netmod.parse(m.group(1))] = cur
            continue
        s = line.strip()
        if cur is not None and s.startswith("BGP."):
            key, _, val = s.partition(":")
            cur[key[4:]] = val.strip()
    return routes


def _path_of(text: str) -> tuple:
    segs: list[tuple[int, tuple[int, ...]]] = []
    for tok in re.findall(r"\{[^}]*\}|\d+", text):
        if tok.startswith("{"):
            segs.append((AS_SET, tuple(int(x) for x in re.findall(r"\d+", tok))))
        elif segs and segs[-1][0] == AS_SEQUENCE:
            segs[-1] = (AS_SEQUENCE, segs[-1][1] + (int(tok),))
        else:
            segs.append((AS_SEQUENCE, (int(tok),)))
    return tuple(segs)


def _pairs(text: str) -> tuple:
    return tuple((int(a), int(b)) for a, b in re.findall(r"\((\d+),(\d+)\)", text))


def _larges(text: str) -> tuple:
    return tuple(
        (int(a), int(b), int(c)) for a, b, c in re.findall(r"\((\d+), (\d+), (\d+)\)", text)
    )


_ORIGINS = {"IGP": 0, "EGP": 1, "Incomplete": 2}


def attrs_from_bird(a: dict[str, str]) -> PathAttrs:
    return PathAttrs(
        origin=_ORIGINS[a["origin"]] if "origin" in a else None,
        as_path=_path_of(a.get("as_path", "")),
        next_hop=IPv4Address(a["next_hop"]) if "next_hop" in a else None,
        med=int(a["med"]) if "med" in a else None,
        local_pref=int(a["local_pref"]) if "local_pref" in a else None,
        communities=_pairs(a.get("community", "")),
        large_communities=_larges(a.get("large_community", "")),
    )


def comparable(p: PathAttrs) -> tuple:
    # Communities are sets in effect; BIRD keeps insertion order, so compare in order
    # but also fall back to sorted when BIRD normalises.
    return (p.origin, p.as_path, p.next_hop, p.med, p.local_pref, tuple(sorted(p.communities)),
            tuple(sorted(p.large_communities)))  # fmt: skip


@dataclass
class Origin:
    name: str = "from_s"
    source_type: Source = Source.BGP
    preference: int = 100
    peer_address: str | None = None
    peer_router_id: int | None = None
    peer_as: int | None = 65000
    local_as: int | None = 65000
    is_ibgp: bool = True
    is_rr_client: bool = False


def _wait_routes(t: extpeers.BirdDaemon, table: str, want: int, timeout: float = 40) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = t.birdc(f"show route table {table} count")
        m = re.search(r"(\d+) of \d+ routes", out)
        if m and int(m.group(1)) >= want:
            return out
        time.sleep(0.3)
    raise AssertionError(f"table {table} did not fill: {out}\n{t.log()}")


def test_filters_agree_with_bird16() -> None:
    corpus = make_corpus()
    assert len(corpus) >= 200
    third = 1 + os.getpid() % 250
    s_ip, t_ip = f"127.3.{third}.1", f"127.3.{third}.2"
    t_text = t_config(s_ip, t_ip)
    ours = parse_text(t_text, "t.conf")  # the same text BIRD runs
    s_text = s_config(corpus, s_ip, t_ip)
    assert len(parse_text(s_text, "s.conf").protocol("static1").routes) == len(corpus)
    t = extpeers.BirdDaemon(1, t_text)
    s = extpeers.BirdDaemon(1, s_text)
    try:
        t.start()
        s.start()
        t.wait_established("from_s", timeout=40)
        _wait_routes(t, "raw", len(corpus))
        time.sleep(0.5)  # let the pipes settle
        raw = parse_show_route_all(t.birdc("show route table raw all"))
        raw = {k: v for k, v in raw.items() if v["proto"] == "from_s"}
        assert len(raw) == len(corpus)
        origin = Origin()
        mismatches = []
        checked = 0
        for name in FILTER_NAMES:
            out = parse_show_route_all(t.birdc(f"show route table out_{name} all"))
            # the corpus must exercise both outcomes of every filter
            assert 0 < len(out) < len(raw), f"{name}: {len(out)} of {len(raw)} accepted"
            flt = ours.filters[name]
            for k, a in raw.items():
                route = Route(k, attrs_from_bird(a), origin, from_addr=s_ip, gw=None)
                got = flt.run(route)
                want = out.get(k)
                checked += 1
                if (got is None) != (want is None):
                    mismatches.append(
                        f"{name} {netmod.to_str(k)}: bird {'accepts' if want else 'rejects'}, "
                        f"we {'accept' if got else 'reject'} (input {a})"
                    )
                elif got is not None and want is not None:
                    assert got.attrs is not None
                    if comparable(got.attrs) != comparable(attrs_from_bird(want)):
                        mismatches.append(
                            f"{name} {netmod.to_str(k)}: attrs differ: bird {want} ours {got.attrs}"
                        )
        assert checked == len(FILTER_NAMES) * len(corpus)
        assert not mismatches, "\n".join(mismatches[:20])
    finally:
        s.stop()
        t.stop()
