"""BIRD 1.6's keywords as names: what real ``bird -p`` and ``bird6 -p``
refuse, bgplabd and bgplabd6 refuse, at the same line and column.

Every keyword of each daemon is tried as a protocol name; a sample of
keywords, near-keywords and the names our generators produce is tried in
every position where a configuration defines a name. ``bird -p`` only parses
(no root, no sockets), so this runs anywhere BIRD 1.6 is unpacked.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bgplab import extpeers
from bgplab.config import ConfigError, parse_file
from bgplab.config.reserved import BIRD6_KEYWORDS, reserved_words

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not extpeers.available("bird1"), reason="BIRD 1.6 is not installed"),
]

HEAD = "router id 10.0.0.1;\nprotocol device { }\n"  # the name goes on line 3
# every place a BIRD 1.6 configuration defines a name; @ is the name
POSITIONS = {
    "protocol": "protocol static @ { }\n",
    "template": "template bgp @ { local as 1; }\n",
    "filter": "filter @ { accept; }\n",
    "function": "function @() { return 1; }\n",
    "table": "table @;\n",
    "define": "define @ = 1;\n",
    "parameter": "function f(int @) { return @; }\n",
    "filter variable": "filter g int @; { @ = 1; accept; }\n",
    "function variable": "function h() int @; { @ = 1; return @; }\n",
}
# places that refer to a name: a keyword there is a syntax error too
REFERENCES = {
    "filter": "protocol static s1 {{ export filter @; }}\n",
    "template": "protocol static s1 from @ {{ }}\n",
    "table": "protocol static s1 {{ table @; }}\n",
    "peer table": "protocol pipe p1 {{ peer table @; }}\n",
    "igp table": "protocol bgp b1 {{ igp table @; local as 1; neighbor {nbr} as 2; }}\n",
}
SAMPLE = (
    # keywords of both daemons, the ones people reach for first
    "peer", "out", "in", "s", "rr", "base", "client", "router", "filter", "table", "bgp",
    "RTS_STATIC", "type", "version",
    # bird6 only
    "ra", "mtu", "RA_PREF_LOW",
    # not keywords: case matters; master is a predefined table, not a keyword
    "PEER", "Out", "peer1", "master", "calico_export_to_bgp_peers",
    # the names our generators give (Calico's templates, the lab, bench)
    "Mesh_10_0_0_2", "Node_10_0_0_3", "Global_10_0_0_4", "bgp1", "kernel1", "static1",
    "uplink", "peer_out", "upstream",
)  # fmt: skip
_BIRD_ERR = re.compile(r":(\d+):(\d+) (.*)$")


def bird_verdict(ipv6: bool, text: str, tmp: Path) -> tuple[int, int, str] | None:
    """None if ``bird -p`` accepts ``text``, else (line, col, message)."""
    path = tmp / "bird.conf"
    path.write_text(text)
    r = subprocess.run(
        [str(extpeers.bird_binary(1, ipv6)), "-p", "-c", str(path)],
        capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    if r.returncode == 0:
        return None
    m = _BIRD_ERR.search(r.stderr.strip())
    assert m, r.stderr
    return int(m.group(1)), int(m.group(2)), m.group(3)


def our_verdict(family: int, text: str, tmp: Path) -> tuple[int, int, str] | None:
    path = tmp / "bgplab.conf"
    path.write_text(text)
    try:
        parse_file(path, family)
    except ConfigError as exc:
        return exc.line, exc.col, exc.msg
    return None


def same(bird: tuple[int, int, str] | None, ours: tuple[int, int, str] | None) -> bool:
    """Both accept, or both refuse on the same line with the same message
    (ours may say more after BIRD's "syntax error"). A syntax error is at
    the same column too; BIRD places its other errors where its parser
    stands after the lookahead token, which we do not copy."""
    if bird is None or ours is None:
        return bird is ours
    if bird[2] == "syntax error":
        return bird[:2] == ours[:2] and ours[2].startswith("syntax error")
    return bird[0] == ours[0] and bird[2] == ours[2]


@pytest.mark.parametrize("family", [4, 6])
def test_every_keyword_refused_as_a_protocol_name(family: int, tmp_path: Path) -> None:
    words = reserved_words(family)
    others = BIRD6_KEYWORDS - words  # bird6's words that bird takes as names
    wrong = []
    for w in sorted(BIRD6_KEYWORDS):
        text = HEAD + POSITIONS["protocol"].replace("@", w)
        bird = bird_verdict(family == 6, text, tmp_path)
        ours = our_verdict(family, text, tmp_path)
        # at the name, or for `from` at the `{` where a template name was due
        refused = bird is not None and bird[2] == "syntax error" and bird[0] == 3
        if not (same(bird, ours) and refused == (w in words)):
            wrong.append((w, bird, ours))
    assert not wrong, wrong
    assert (family == 4) == bool(others)


@pytest.mark.parametrize("family", [4, 6])
def test_names_in_every_position(family: int, tmp_path: Path) -> None:
    wrong = []
    refused = set()
    for w in SAMPLE:
        for where, line in POSITIONS.items():
            text = HEAD + line.replace("@", w)
            bird = bird_verdict(family == 6, text, tmp_path)
            ours = our_verdict(family, text, tmp_path)
            if not same(bird, ours):
                wrong.append((w, where, bird, ours))
            if bird is not None and bird[2] == "syntax error":
                refused.add(w)
    assert not wrong, wrong
    # the sample's keywords are the ones refused, in every position
    assert refused == {w for w in SAMPLE if w in reserved_words(family)}


def generated_configs() -> dict[str, str]:
    """Every IPv4 configuration the project writes for a BIRD 1.6 router:
    the lab's for each built-in topology, router and kind, and the bench's.
    (Calico's rendered ones go through bird -p in test_calico_nodes, the lab's
    IPv6 one in tests/unit/lab/test_dualstack_plan.)"""
    from bgplab.bench.targets import KernelSpec, bird1_config
    from bgplab.lab.builtin import builtin_names, builtin_path
    from bgplab.lab.routerconf import KINDS, router_config
    from bgplab.lab.topoload import load_topology

    out = {}
    for name in builtin_names():
        topo = load_topology(builtin_path(name))
        for router in topo.routers:
            for kind in KINDS:
                out[f"lab {name} {router.name} {kind}"] = router_config(topo, kind, router)
    peers = ["127.0.0.2", "127.0.0.3"]
    out["bench"] = bird1_config("127.0.0.1", 1179, peers, KernelSpec("lo"))
    out["bench soak"] = bird1_config("127.0.0.1", 179, peers, template="soak", proto_prefix="peer")
    return out


def test_generated_configs_are_bird_configs(tmp_path: Path) -> None:
    wrong = {}
    for what, text in generated_configs().items():
        bird = bird_verdict(False, text, tmp_path)
        ours = our_verdict(4, text, tmp_path)
        if bird is not None or ours is not None:
            wrong[what] = (bird, ours)
    assert not wrong, wrong


@pytest.mark.parametrize("family", [4, 6])
def test_keywords_refused_where_a_name_is_referred_to(family: int, tmp_path: Path) -> None:
    nbr = "10.0.0.2" if family == 4 else "2001:db8::2"
    wrong = []
    for w in (w for w in SAMPLE if w in reserved_words(family)):
        for where, line in REFERENCES.items():
            text = HEAD + line.format(nbr=nbr).replace("@", w)
            bird = bird_verdict(family == 6, text, tmp_path)
            ours = our_verdict(family, text, tmp_path)
            if bird is None or bird[2] != "syntax error" or not same(bird, ours):
                wrong.append((w, where, bird, ours))
    assert not wrong, wrong
