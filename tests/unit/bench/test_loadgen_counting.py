"""The load generator counts what a target sends exactly as an independent
reading does, however the bytes are cut into reads.

The UPDATEs are the router's own encoding (bgplab.bgp.messages, as bgplabd
sends them), with and without ADD-PATH, multi-prefix announcements, repeats
under another path id, withdrawals, MP_REACH/MP_UNREACH for IPv4 unicast,
unknown prefixes, the session's own prefixes reflected back, keepalives and
End-of-RIB. The reference decodes each whole message with the router's
decoder and keeps the generator's rules: a prefix is held once whatever its
path id, a withdrawal un-holds it, announcements of an UPDATE are applied
before its withdrawals, own prefixes never count, unknown ones are counted
apart. The generator's reads are fed whole, in random pieces and byte by
byte, and through its own epoll over a real socket.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest

from bgplab import net as netmod
from bgplab.bench import wire
from bgplab.bench.loadgen import LoadGen
from bgplab.bench.loadsession import FAST_COUNT_FROM, Session
from bgplab.bench.peerplan import PeerPlan
from bgplab.bgp import messages
from bgplab.bgp.attr_codec import encode_attributes
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import Negotiated


def _plans() -> list[PeerPlan]:
    """Session 0 is the one under test; 1..3 announce what it should get."""
    plans = []
    for i in range(4):
        base = (10 << 24) | (i << 16)
        routes = [(base | (k << 8), 24) for k in range(30)] + [
            (base | 0xFF00 | k, 32) for k in range(5)
        ]
        attrs = [wire.ibgp_attributes((127 << 24) | (203 << 8) | (i + 2))]
        plans.append(PeerPlan(f"127.203.0.{i + 2}", routes, attrs, expect=3 * 35 if i == 0 else 0))
    return plans


def _mp(code: int, value: bytes) -> bytes:
    return bytes((0x90, code)) + len(value).to_bytes(2) + value


def _mp_update(reach: bytes, unreach: bytes, attrs: bytes) -> bytes:
    """An IPv4 unicast UPDATE carrying its prefixes in MP_REACH/MP_UNREACH."""
    block = b""
    if unreach:
        block += _mp(15, b"\x00\x01\x01" + unreach)
    if reach:
        block += _mp(14, b"\x00\x01\x01\x04" + bytes((192, 0, 2, 1)) + b"\x00" + reach)
        block += attrs
    body = b"\x00\x00" + len(block).to_bytes(2) + block
    return wire.message(wire.UPDATE, body)


def _stream(plans: list[PeerPlan], addpath: bool, seed: int) -> bytes:
    rng = random.Random(seed)
    neg = Negotiated.default(add_path=[(1, 1)] if addpath else ())
    theirs = [r for p in plans[1:] for r in p.routes]
    own = plans[0].routes
    unknown = [((172 << 24) | (16 << 16) | (k << 8), 24) for k in range(10)] + [(0, 0)]
    pool = theirs + own + unknown
    out = [wire.KEEPALIVE_MSG]
    for step in range(60):
        attrs = PathAttrs(
            origin=0, next_hop=IPv4Address(f"198.18.0.{1 + step % 200}"), local_pref=100
        )
        block = encode_attributes(attrs, neg)
        ann = rng.sample(pool, rng.randint(1, 12))
        wd = [r for r in rng.sample(pool, rng.randint(0, 6)) if r not in ann]
        pid = rng.choice((1, 2))  # a repeat under another path id is the same prefix
        a_items = [(netmod.make(a, plen), pid) for a, plen in ann]
        w_items = [(netmod.make(a, plen), pid) for a, plen in wd]
        kind = rng.random()
        if kind < 0.2:
            reach = messages.encode_nlri(a_items, addpath)
            out.append(_mp_update(reach, messages.encode_nlri(w_items, addpath), block))
        elif kind < 0.35:
            # withdrawals and announcements in one classic UPDATE
            out.extend(messages.encode_update(messages.Update(w_items, a_items, attrs), neg))
        else:
            out.extend(messages.pack_updates(block, a_items, neg))
            if w_items:
                out.extend(messages.pack_withdraws(w_items, neg))
        if rng.random() < 0.2:
            out.append(wire.KEEPALIVE_MSG)
    out.append(messages.pack_eor())
    return b"".join(out)


def _reference(plans: list[PeerPlan], stream: bytes, addpath: bool) -> dict[str, object]:
    neg = Negotiated.default(add_path=[(1, 1)] if addpath else ())
    known = {netmod.make(a, plen) for p in plans for a, plen in p.routes}
    own = {netmod.make(a, plen) for a, plen in plans[0].routes}
    msgs, used = wire.split_messages(stream)
    assert used == len(stream)
    held: set[int] = set()
    ann = wd = updates = unknown = 0
    for mtype, body in msgs:
        if mtype != wire.UPDATE:
            continue
        updates += 1
        u = messages.decode_update(body, neg)
        assert not u.treat_as_withdraw
        for net, _pid in u.nlri:
            ann += 1
            if net not in known:
                unknown += 1
            elif net not in own:
                held.add(net)
        for net, _pid in u.withdrawn:
            wd += 1
            held.discard(net)
    return {
        "prefixes_in": ann,
        "withdrawn_in": wd,
        "updates_in": updates,
        "unknown_prefixes": unknown,
        "held": held,
    }


def _session(gen: LoadGen, addpath: bool) -> Session:
    s = gen.sessions[0]
    s.state = "established"
    s.addpath_rx = addpath
    return s


def _held_nets(gen: LoadGen, s: Session) -> set[int]:
    by_idx = {i: k for k, i in gen.index.items()}
    out = set()
    for i, v in enumerate(s.bitmap):
        if v == 1:
            plen = by_idx[i][0]
            raw = by_idx[i][1:] + bytes(4 - len(by_idx[i][1:]))
            out.add(netmod.make(int.from_bytes(raw, "big"), plen))
    return out


def _observed(gen: LoadGen, s: Session) -> dict[str, object]:
    c = gen.counters
    return {
        "prefixes_in": c.prefixes_in,
        "withdrawn_in": c.withdrawn_in,
        "updates_in": c.updates_in,
        "unknown_prefixes": c.unknown_prefixes,
        "held": _held_nets(gen, s),
    }


def _cuts(n: int, how: str, rng: random.Random) -> list[int]:
    if how == "whole":
        return [0, n]
    if how == "bytes":
        return list(range(n + 1))
    points = sorted(rng.sample(range(1, n), min(n - 1, n // 23)))
    return [0, *points, n]


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.set_event_loop(None)
    lp.close()


@pytest.mark.parametrize("addpath", [False, True])
@pytest.mark.parametrize("how", ["whole", "random", "bytes"])
@pytest.mark.parametrize("fast", [False, True])
def test_counts_match_an_independent_decoding(
    loop: asyncio.AbstractEventLoop, addpath: bool, how: str, fast: bool
) -> None:
    plans = _plans()
    for seed in range(3):
        stream = _stream(plans, addpath, seed)
        want = _reference(plans, stream, addpath)
        gen = LoadGen(plans, "127.0.0.1")
        s = _session(gen, addpath)
        if fast:
            s.exact = False  # as a session expecting >= FAST_COUNT_FROM prefixes
            assert s.plan.expect < FAST_COUNT_FROM
        cuts = _cuts(len(stream), how, random.Random(seed))
        for a, b in zip(cuts, cuts[1:], strict=False):
            s.data_received(stream[a:b])
        assert not s.buf  # nothing left over: every message was whole
        if not s.exact:
            # counted raw so far (a raw count reaching ``expect`` makes the
            # generator check exactly at once, and count exactly from then on)
            assert s.count() == want["prefixes_in"] - want["withdrawn_in"]
            s.verify()
        got = _observed(gen, s)
        assert got == want, f"seed {seed}"
        assert s.held == len(want["held"]) == s.count()
        assert s.converged == (s.held >= s.plan.expect)


def test_convergence_follows_the_exact_count(loop: asyncio.AbstractEventLoop) -> None:
    plans = _plans()
    gen = LoadGen(plans, "127.0.0.1")
    s = _session(gen, True)
    neg = Negotiated.default(add_path=[(1, 1)])
    block = encode_attributes(
        PathAttrs(origin=0, next_hop=IPv4Address("198.18.0.1"), local_pref=100), neg
    )
    theirs = [(netmod.make(a, plen), 1) for p in plans[1:] for a, plen in p.routes]
    first = b"".join(messages.pack_updates(block, theirs[:-1], neg))
    again = b"".join(messages.pack_updates(block, [(n, 2) for n, _ in theirs[:-1]], neg))
    s.data_received(first + again)  # repeats do not make up the missing one
    assert s.held == len(theirs) - 1 and not s.converged and gen.n_converged == 0
    s.data_received(b"".join(messages.pack_updates(block, theirs[-1:], neg)))
    assert s.converged and gen.n_converged == 1 and gen.converged_at is not None
    s.data_received(b"".join(messages.pack_withdraws(theirs[:1], neg)))
    assert not s.converged and gen.n_converged == 0


async def _over_a_socket(
    plans: list[PeerPlan], stream: bytes, addpath: bool
) -> tuple[LoadGen, dict]:
    """A target that sends OPEN, KEEPALIVE and ``stream`` in uneven writes,
    then closes; the generator reads it through its own epoll."""
    done = asyncio.Event()

    async def target(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(19)  # the generator's OPEN header is enough
        writer.write(wire.encode_open(63401, 240, 0x0A000001, addpath=addpath) + wire.KEEPALIVE_MSG)
        rng = random.Random(7)
        pos = 0
        while pos < len(stream):
            n = rng.randint(1, 700)
            writer.write(stream[pos : pos + n])
            pos += n
            await writer.drain()
            await asyncio.sleep(0)
        await done.wait()
        writer.close()

    server = await asyncio.start_server(target, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gen = LoadGen([plans[0]], "127.0.0.1", port, reconnect=False)
    gen.index = LoadGen(plans, "127.0.0.1").index  # every peer's prefixes are known
    gen.sessions[0].bitmap = gen.sessions[0]._fresh_bitmap()
    gen.start()
    s = gen.sessions[0]
    want_updates = sum(1 for t, _ in wire.split_messages(stream)[0] if t == wire.UPDATE)
    for _ in range(500):
        if gen.counters.updates_in >= want_updates:
            break
        await asyncio.sleep(0.01)
    assert s.fd >= 0 and s.fd in gen._reading  # read by the generator's epoll
    got = _observed(gen, s)
    done.set()
    for _ in range(300):
        if gen.counters.drops:
            break
        await asyncio.sleep(0.01)
    got["drops"] = gen.counters.drops
    got["reading"] = dict(gen._reading)
    await gen.stop()
    server.close()
    await server.wait_closed()
    return gen, got


@pytest.mark.parametrize("addpath", [False, True])
def test_a_real_socket_through_the_generators_epoll(addpath: bool) -> None:
    plans = _plans()
    stream = _stream(plans, addpath, 11)
    want = _reference(plans, stream, addpath)
    gen, got = asyncio.run(_over_a_socket(plans, stream, addpath))
    assert got.pop("drops") == 1  # the target closed: seen as a drop
    assert got.pop("reading") == {}  # and no longer read
    assert got == want
