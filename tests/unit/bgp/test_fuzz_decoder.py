"""Property tests: whatever bytes arrive, the codec raises only BgpError and
the FSM never raises at all."""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address as A4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgplab.bgp import events as ev
from bgplab.bgp.capabilities import LocalConfig
from bgplab.bgp.errors import BgpError
from bgplab.bgp.framer import Framer
from bgplab.bgp.fsm import PeerConfig, PeerFsm
from bgplab.bgp.messages import KEEPALIVE_WIRE, Open, decode_message, encode_message

from .corpus import NEG2, NEG4, NEG_AP, seed_messages

SEEDS = seed_messages()
NEGS = [None, NEG4, NEG2, NEG_AP]
FAST = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))


def decode_all(data: bytes, neg: object, max_size: int = 65535) -> None:
    f = Framer(max_size)
    try:
        for t, body in f.feed(data):
            decode_message(t, body, neg)
    except BgpError:
        pass


@FAST
@given(st.sampled_from([1, 2, 3, 4, 5]), st.binary(max_size=600), st.sampled_from(NEGS))
def test_random_bodies(msg_type: int, body: bytes, neg: object) -> None:
    try:
        decode_message(msg_type, body, neg)
    except BgpError as e:
        assert 1 <= e.code <= 7


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    _name, wire = draw(st.sampled_from(SEEDS))
    data = bytearray(wire)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
    # keep the header length honest half of the time, so bodies get parsed
    if len(data) >= 19 and draw(st.booleans()):
        data[16:18] = min(len(data), 65535).to_bytes(2)
    return bytes(data)


@FAST
@given(mutated(), st.sampled_from(NEGS))
def test_mutated_messages(data: bytes, neg: object) -> None:
    decode_all(data, neg)


@FAST
@given(mutated())
def test_mutated_body_direct(data: bytes) -> None:
    if len(data) < 19:
        return
    for neg in NEGS:
        with contextlib.suppress(BgpError):
            decode_message(data[18], data[19:], neg)


@FAST
@given(
    st.lists(st.sampled_from([w for _n, w in SEEDS]), max_size=6),
    st.lists(st.integers(1, 50), max_size=6),
)
def test_framer_any_split(msgs: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(msgs)
    f = Framer(65535)
    got = []
    pos = 0
    for c in cuts + [len(stream)]:
        got += f.feed(stream[pos : pos + c])
        pos += c
    got += f.feed(stream[pos:])
    assert [t for t, _ in got] == [m[18] for m in msgs]


def _fsm() -> PeerFsm:
    return PeerFsm(PeerConfig(LocalConfig(63400, A4("192.168.0.40")), 63400))


PEER_OPEN = encode_message(
    Open.make(
        63400, 90, A4("192.168.0.7"), LocalConfig(63400, A4("192.168.0.7")).open_capabilities()
    )
)

inputs = st.one_of(
    st.tuples(st.just("start")),
    st.tuples(st.just("stop")),
    st.tuples(st.just("made"), st.sampled_from([1, 2, "x"]), st.booleans()),
    st.tuples(st.just("lost"), st.sampled_from([1, 2, "x"])),
    st.tuples(
        st.just("timer"), st.sampled_from(list(ev.Timer)), st.sampled_from([None, 1, 2, "x"])
    ),
    st.tuples(
        st.just("data"),
        st.sampled_from([1, 2, "x"]),
        st.one_of(
            st.sampled_from(
                [PEER_OPEN, KEEPALIVE_WIRE, PEER_OPEN + KEEPALIVE_WIRE] + [w for _n, w in SEEDS]
            ),
            mutated(),
        ),
    ),
    st.tuples(st.just("send")),
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(inputs, max_size=30))
def test_fsm_never_raises(steps: list[tuple]) -> None:
    fsm = _fsm()
    for step in steps:
        kind = step[0]
        if kind == "start":
            fsm.start()
        elif kind == "stop":
            fsm.stop()
        elif kind == "made":
            fsm.connection_made(step[1], step[2])
        elif kind == "lost":
            fsm.connection_lost(step[1], "")
        elif kind == "timer":
            fsm.timer_expired(step[1], step[2])
        elif kind == "data":
            fsm.data_received(step[1], step[2])
        else:
            fsm.send_update(KEEPALIVE_WIRE)
        out = fsm.events()
        assert isinstance(fsm.state, ev.State)
        # a session is Established iff the FSM says so, and writes only go to
        # connections it knows or just closed
        assert fsm.established == (fsm.state == ev.State.ESTABLISHED)
        for e in out:
            assert not isinstance(e, ev.Write) or e.data[:16] == b"\xff" * 16
