"""Time Filter.run on the fixtures' filters and a few attribute-modifying
ones: ``python -m tests.unit.filters.bench_filters`` (not a test).

"warm": routes whose (interned) attribute sets the filter has seen before,
as on a reflector where many routes share a set; "cold": every route has an
attribute set never seen before, so every edit is a real replace + intern.
"""

from __future__ import annotations

import time
import timeit

from bgplab.bgp.attrs import intern
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
CPU = time.process_time  # CPU time: other jobs on the machine count less
PREFIXES = ("10.41.113.192/26", "10.42.1.0/24", "8.8.8.0/24")


def main() -> None:
    routes = [bgp_route(p, path=(65001,)) for p in PREFIXES]
    for r in routes:
        r.attrs = intern(r.attrs) if r.attrs is not None else None
    cases = []
    for path in [FIXTURES / "seed_rr.conf", FIXTURES / "calico/rke-node3/bird.cfg"]:
        cfg = parse_file(path)
        for name, flt in sorted(cfg.filters.items()):
            cases.append((f"{path.parent.name}/{path.name}:{name}", flt, False))
    for name, text in ATTR_FILTERS.items():
        cases.append((name, compile_filter(text), True))
    print(f"{'filter':50s} {'warm':>8s} {'cold':>8s}  (us per run)")
    for label, flt, edits in cases:
        n = 20000
        t = min(
            timeit.repeat(lambda f=flt: [f.run(r) for r in routes], number=n, repeat=5, timer=CPU)
        )
        warm = t / n / len(routes) * 1e6
        cold = ""
        if edits:
            fresh = [bgp_route(PREFIXES[i % 3], path=(65001,), med=i) for i in range(n)]
            fresh = [intern_route(r) for r in fresh]
            t0 = CPU()
            for r in fresh:
                flt.run(r)
            cold = f"{(CPU() - t0) / n * 1e6:8.2f}"
        print(f"{label:50s} {warm:8.2f} {cold:>8s}")


def intern_route(r):  # type: ignore[no-untyped-def]
    if r.attrs is not None:
        r.attrs = intern(r.attrs)
    return r


if __name__ == "__main__":
    main()
