"""Mangled configurations never crash the parser: a Config or a ConfigError."""

from __future__ import annotations

import random

from bgplab.config import ConfigError, parse_text
from bgplab.filters import compile_filter
from tests.unit.config.helpers import FIXTURES, bgp_route

PIECES = [";", "{", "}", "(", ")", "[", "]", "=", "~", "..", "/", "+", "-", ",", "\"", "/*",
          "1.2.3.4", "10.0.0.0/8", "999999999999", "0x", "as", "filter", "where", "if", "then",
          "else", "accept", "net", "bgp_path", "[=", "=]", "*", "?", "!", "&&", "case", ":",
          "include", "define", "function", "(1,2)", "protocol", "bgp", "template", "from",
          "\n", " ", "\x00", "é"]  # fmt: skip


def _mangle(rnd: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rnd.randint(1, 4)):
        pos = rnd.randrange(len(chars))
        op = rnd.random()
        if op < 0.4:
            del chars[pos : pos + rnd.randint(1, 8)]
        elif op < 0.8:
            chars.insert(pos, rnd.choice(PIECES))
        else:
            chars[pos] = rnd.choice(PIECES)
    return "".join(chars)


def test_mangled_configs_give_config_errors_only(tmp_path) -> None:
    base = [
        (FIXTURES / "seed_rr.conf").read_text(),
        (FIXTURES / "calico" / "rke-node3" / "bird_ipam.cfg").read_text()
        + (FIXTURES / "calico" / "rke-node3" / "bird_aggr.cfg").read_text()
        + "function apply_communities () { }\n",
    ]
    rnd = random.Random(4271)
    ok = errors = 0
    for i in range(400):
        text = _mangle(rnd, base[i % 2])
        try:
            cfg = parse_text(text, "fuzz.conf", base_dir=tmp_path)
        except ConfigError as exc:
            assert "\n" not in str(exc)
            errors += 1
            continue
        ok += 1
        for f in cfg.filters.values():  # whatever parsed also runs without raising
            f.run(bgp_route("10.41.113.192/26"))
    assert errors > 100 and ok > 0


def test_filter_fragments_never_crash() -> None:
    rnd = random.Random(1997)
    body = "if net ~ [ 10.0.0.0/8+ ] && bgp_path ~ [= * 65000 =] then { bgp_community.add((1,2)); accept; } reject;"
    for _ in range(300):
        text = "{ " + _mangle(rnd, body) + " }"
        try:
            f = compile_filter(text)
        except ConfigError:
            continue
        f.run(bgp_route("10.1.0.0/16", path=(65000,)))
