"""Time Filter.run on the fixtures' filters and a few attribute-modifying
ones: ``python -m tests.unit.filters.bench_filters`` (not a test)."""

from __future__ import annotations

import timeit

from bgplab.config import parse_file
from bgplab.filters import compile_filter
from tests.unit.config.helpers import FIXTURES, bgp_route

ATTR_FILTERS = {
    "community.add": "{ bgp_community.add((63400, 100)); accept; }",
    "local_pref=": "{ bgp_local_pref = 200; accept; }",
    "path.prepend": "{ bgp_path.prepend(63400); accept; }",
    "all three": (
        "{ if net ~ 10.41.0.0/16 then { bgp_community.add((63400, 100));"
        " bgp_local_pref = 200; bgp_path.prepend(63400); accept; } reject; }"
    ),
    "prefix set": "{ if net ~ [ 10.41.0.0/16+, 10.42.0.0/16{24,32}, 192.168.0.0/16- ] "
    "then accept; reject; }",
}


def main() -> None:
    routes = [
        bgp_route(p, path=(65001,)) for p in ("10.41.113.192/26", "10.42.1.0/24", "8.8.8.0/24")
    ]
    cases = []
    for path in [FIXTURES / "seed_rr.conf", FIXTURES / "calico/rke-node3/bird.cfg"]:
        cfg = parse_file(path)
        for name, flt in sorted(cfg.filters.items()):
            cases.append((f"{path.parent.name}/{path.name}:{name}", flt))
    for name, text in ATTR_FILTERS.items():
        cases.append((name, compile_filter(text)))
    for label, flt in cases:
        n = 20000
        t = min(timeit.repeat(lambda f=flt: [f.run(r) for r in routes], number=n, repeat=3))
        print(f"{label:55s} {t / n / len(routes) * 1e6:7.2f} us/run")


if __name__ == "__main__":
    main()
