#!/usr/bin/env python3
"""Coverage-guided fuzzing of the BIRD configuration parser and filter compiler.

One input = the text of a configuration file. ``parse_text`` may raise only
``ConfigError`` (a one-line ``file:line:col: message`` for the user);
anything else is a crash. A configuration that parses has its filters run
on a few routes, which may reject but must not raise.

With atheris (``pip install atheris``)::

    mkdir -p /tmp/fuzz-config
    python fuzz/fuzz_config.py /tmp/fuzz-config fuzz/corpus/config -max_total_time=600

Without atheris, a plain random mutator::

    python fuzz/fuzz_config.py --seconds 600 fuzz/corpus/config

Rebuild the seed corpus from the test fixtures::

    python fuzz/fuzz_config.py --write-corpus fuzz/corpus/config
"""

from __future__ import annotations

import contextlib
import random
import sys
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runner  # noqa: E402

try:
    import atheris
except ImportError:
    atheris = None

_INSTRUMENT = atheris is not None and __name__ == "__main__"
with atheris.instrument_imports() if _INSTRUMENT else contextlib.nullcontext():
    from bgplab import net
    from bgplab.bgp.attrs import PathAttrs
    from bgplab.config import ConfigError, parse_text
    from bgplab.rib.route import Route, Source

ROOT = Path(__file__).resolve().parents[1]


class _Origin:
    name = "fuzz"
    source_type = Source.BGP
    preference = 100
    peer_address = "192.168.0.7"
    peer_router_id = 1
    peer_as = 63400
    local_as = 63400
    is_ibgp = True
    is_rr_client = True


_ROUTES = [
    Route(net.parse(p), PathAttrs(origin=0, next_hop=IPv4Address("192.168.0.7"),
                                  as_path=((2, (65000, 65001)),), communities=((65000, 1),)),
          _Origin())  # type: ignore[arg-type]
    for p in ("10.41.57.192/26", "10.43.0.0/16", "0.0.0.0/0", "10.41.113.193/32")
]


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        cfg = parse_text(text, "fuzz.conf", base_dir=Path("/nonexistent"))
    except ConfigError:
        return
    for f in cfg.filters.values():
        for r in _ROUTES:
            f.run(r)


def _mutate(rng: random.Random, text: bytes, pool: list[bytes]) -> bytes:
    b = bytearray(text)
    tokens = [b"{", b"}", b";", b"(", b")", b"[", b"]", b"~", b"=", b"/", b"+", b"-", b",",
              b"if", b"then", b"else", b"accept", b"reject", b"net", b"bgp_path", b"filter",
              b"protocol", b"bgp", b"static", b"route", b"as", b"\"", b"/*", b"*/", b"#",
              b"10.41.0.0/16", b"{26,32}", b"include", b"define", b"function", b"case"]
    for _ in range(rng.randint(1, 5)):
        op = rng.randrange(5)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            del b[pos: pos + rng.randint(1, 12)]
        elif op == 1:
            b[pos:pos] = rng.choice(tokens)
        elif op == 2 and b:
            b[pos % len(b)] = rng.randrange(256)
        elif op == 3:
            other = rng.choice(pool)
            s = rng.randrange(len(other) + 1)
            b[pos:pos] = other[s: s + rng.randint(1, 80)]
        else:
            b[pos:pos] = b[pos: pos + rng.randint(1, 30)]
    return bytes(b)


def run_random(corpus: Path, seconds: float, seed: int | None = None) -> int:
    return runner.run_random(one_input, _mutate, corpus, seconds, seed, tag="config-")


def write_corpus(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    fixtures = ROOT / "tests/fixtures/config"
    for p in sorted(fixtures.rglob("*.conf")) + sorted(fixtures.rglob("*.cfg")):
        name = "_".join(p.relative_to(fixtures).parts)
        (target / name).write_bytes(p.read_bytes())


def main(argv: list[str]) -> None:
    runner.main(argv, one_input, _mutate, Path(__file__).parent / "corpus/config",
                write_corpus, atheris, tag="config-")


if __name__ == "__main__":
    main(sys.argv)
