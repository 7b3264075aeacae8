#!/usr/bin/env python3
"""Coverage-guided fuzzing of the BGP wire decoder and session FSM.

One input = one selector byte + a byte stream from a peer. The selector picks
the session parameters (4- or 2-octet AS, ADD-PATH, extended messages); the
stream goes through the framer and the decoder, and through an Established
:class:`PeerFsm`. The only exception the decoder may raise is ``BgpError``;
the FSM may raise nothing at all. Anything else is a crash.

With atheris (``pip install atheris``; libFuzzer flags apply)::

    mkdir -p /tmp/fuzz-decoder
    python fuzz/fuzz_decoder.py /tmp/fuzz-decoder fuzz/corpus/decoder -max_total_time=600

New interesting inputs go to the first directory; crashes to ``crash-*``
files in the current directory. Copy a crash into ``fuzz/corpus/decoder/``
and it becomes a regression test (``tests/unit/bgp/test_fuzz_corpus.py``
replays the whole corpus).

Without atheris the same target runs under a plain random mutator::

    python fuzz/fuzz_decoder.py --seconds 600 fuzz/corpus/decoder

Rebuild the seed corpus from the test vectors::

    python fuzz/fuzz_decoder.py --write-corpus fuzz/corpus/decoder
"""

from __future__ import annotations

import contextlib
import random
import sys
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runner  # noqa: E402

try:
    import atheris
except ImportError:  # the random mutator below still works
    atheris = None

# Coverage instrumentation only when fuzzing, not when tests import the target.
_INSTRUMENT = atheris is not None and __name__ == "__main__"
with atheris.instrument_imports() if _INSTRUMENT else contextlib.nullcontext():
    from bgplab.bgp.capabilities import LocalConfig, Negotiated
    from bgplab.bgp.errors import BgpError
    from bgplab.bgp.framer import Framer
    from bgplab.bgp.fsm import PeerConfig, PeerFsm
    from bgplab.bgp.messages import KEEPALIVE_WIRE, Open, decode_message, encode_message

_BASE = Negotiated.default()
NEGS = [
    _BASE,
    replace(_BASE, as4=False),
    Negotiated.default(add_path=[(1, 1), (2, 1)]),
    replace(_BASE, extended_message=True, max_message_size=65535),
]

_LOCAL = LocalConfig(63400, IPv4Address("192.168.0.40"), families=((1, 1), (2, 1)))
_PEER = LocalConfig(
    63400,
    IPv4Address("192.168.0.7"),
    families=((1, 1), (2, 1)),
    add_path={(1, 1): 3, (2, 1): 3},
    graceful_restart=True,
)
_PEER_OPEN = encode_message(Open.make(63400, 90, _PEER.router_id, _PEER.open_capabilities()))


def _established_fsm(add_path: bool) -> PeerFsm:
    local = replace(_LOCAL, add_path={(1, 1): 3, (2, 1): 3} if add_path else {})
    fsm = PeerFsm(PeerConfig(local, 63400, passive=True))
    fsm.start()
    fsm.connection_made("c", incoming=True)
    fsm.data_received("c", _PEER_OPEN + KEEPALIVE_WIRE)
    fsm.events()
    return fsm


def one_input(data: bytes) -> None:
    """The fuzz target. Raises only on a real bug."""
    if not data:
        return
    neg = NEGS[data[0] % len(NEGS)]
    stream = data[1:]
    framer = Framer(neg.max_message_size)
    try:
        for msg_type, body in framer.feed(stream):
            decode_message(msg_type, body, neg)
    except BgpError:
        pass
    # the raw body parser too, without the framer's header checks
    if len(stream) >= 19:
        with contextlib.suppress(BgpError):
            decode_message(stream[18], stream[19:], neg)
    # and the session machine, which must absorb anything
    fsm = _established_fsm(add_path=bool(data[0] & 4))
    fsm.data_received("c", stream)
    fsm.events()


def _mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[pos % len(b)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[pos % len(b)] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:
            b[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 3 and b:
            del b[pos : pos + rng.randint(1, 16)]
        elif op == 4:
            other = rng.choice(pool)
            s = rng.randrange(len(other) + 1)
            b[pos:pos] = other[s : s + rng.randint(1, 64)]
        elif op == 5 and len(b) >= 20:
            # keep the outer length honest so the body is parsed
            b[17:19] = (len(b) - 1).to_bytes(2)
        elif op == 6:
            del b[pos:]
    return bytes(b)


def run_random(corpus: Path, seconds: float, seed: int | None = None) -> int:
    return runner.run_random(one_input, _mutate, corpus, seconds, seed, tag="")


def write_corpus(target: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.unit.bgp.corpus import seed_messages

    target.mkdir(parents=True, exist_ok=True)
    for i, (name, wire) in enumerate(seed_messages()):
        for sel in (0, 1, 2):
            (target / f"{name}_{sel}").write_bytes(bytes((sel + 4 * (i % 2),)) + wire)
    golden = Path(__file__).resolve().parents[1] / "tests/unit/bgp/golden"
    for p in sorted(golden.glob("*.hex")):
        (target / p.stem).write_bytes(b"\x06" + bytes.fromhex(p.read_text().strip()))


def main(argv: list[str]) -> None:
    runner.main(argv, one_input, _mutate, Path(__file__).parent / "corpus/decoder",
                write_corpus, atheris, tag="")


if __name__ == "__main__":
    main(sys.argv)
