"""An update group's flush through ``io.bgp_transport.FanOut`` (writes straight
to the members' sockets) sends every member exactly the bytes the plain
path (``send_wire`` per member) sends: sources never get their own routes,
a source that took a route over gets its withdrawal, partial and refused
writes continue through ``send_wire`` in order, and a member that leaves
during the flush does not cost another member its bytes."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

import pytest

from bgplab import net
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import Negotiated
from bgplab.io.bgp_transport import FanOut
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.route import Route
from tests.unit.rib.helpers import Member, bgp_origin
from tests.unit.rib.test_adjrib_out import Codec, decode_all, key

F_SETPIPE_SZ = 1031  # linux/fcntl.h
NEG = Negotiated.default()


@dataclass(eq=False)
class PipeMember(Member):
    """A member whose connection is the write end of a pipe: what the
    fan-out writes directly is read back from it, in order with what goes
    through ``send_wire``."""

    active_conn: Any = None
    stream: bytearray = field(default_factory=bytearray)
    read_fd: int = -1
    on_send: Any = None

    def send_wire(self, chunks: list[bytes]) -> None:
        self.drain()
        self.stream += b"".join(chunks)
        if self.on_send is not None:
            self.on_send(self)

    def drain(self) -> None:
        if self.read_fd < 0:
            return
        try:
            while chunk := os.read(self.read_fd, 1 << 16):
                self.stream += chunk
        except BlockingIOError:
            pass


def _members(kind: str) -> list[Member]:
    """The same five peers, as plain recording members (the reference) or
    with connections: direct, small pipe (partial writes), no connection,
    one that is not direct (queued) and one more direct."""
    out: list[Member] = []
    for i in range(5):
        addr = f"192.168.0.{i + 1}"
        if kind == "plain":
            out.append(Member(f"n{i}", peer_address=addr, peer_router_id=int(IPv4Address(addr)),
                              negotiated=NEG))
            continue
        m = PipeMember(f"n{i}", peer_address=addr, peer_router_id=int(IPv4Address(addr)),
                       negotiated=NEG)
        if i in (0, 1, 4):
            r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            if i == 1:
                fcntl.fcntl(w, F_SETPIPE_SZ, 4096)  # big flushes go in part
            m.read_fd = r
            m.active_conn = SimpleNamespace(_direct=True, _fd=w)
        elif i == 3:
            m.active_conn = SimpleNamespace(_direct=False, _fd=-1)
        out.append(m)
    return out


def _close(members: list[Member]) -> None:
    for m in members:
        if isinstance(m, PipeMember) and m.read_fd >= 0:
            os.close(m.read_fd)
            os.close(m.active_conn._fd)


def _received(m: Member) -> bytes:
    if isinstance(m, PipeMember):
        m.drain()
        return bytes(m.stream)
    return b"".join(m.sent)


def _run(kind: str) -> tuple[list[Member], list[bytes]]:
    pending: list[Any] = []
    g = UpdateGroup(key(), pending.append, Codec)
    if kind == "fan_out":
        g.fan_out = FanOut()
    members = _members("plain" if kind == "plain" else "pipes")
    for m in members[:4]:  # member 4 joins later (new slots at the end)
        g.join(m)
    other = bgp_origin("outside", "192.168.1.1")  # a source that is not a member

    def attrs(k: int) -> PathAttrs:
        return PathAttrs(origin=0, next_hop=IPv4Address(0xC6120000 + k), local_pref=100)

    def flush() -> None:
        while pending:
            pending.pop()()

    routes: dict[int, Route] = {}

    def change(n: int, r: Route | None) -> None:
        old = routes.pop(n, None)
        if r is not None:
            routes[n] = r
        g.notify(n, [r] if r else [], old, r, old)

    # 1. one route from each member and from outside, one flush each
    for i, m in enumerate([*members, other]):
        change(net.make(0x0A000000 + (i << 8), 24), Route(net.make(0x0A000000 + (i << 8), 24),
                                                          attrs(i), m))
        flush()
        if i == 2:  # a route refresh moves member 0 to the end, then 4 joins
            g.resend(members[0])
            g.join(members[4])
    # 2. 400 routes with their own attribute sets in one flush (about 20 KB:
    # the small pipe takes it in part), from member 2
    for k in range(400):
        n = net.make(0x0B000000 + (k << 8), 24)
        change(n, Route(n, attrs(100 + k), members[2]))
    flush()
    # the members change: a route refresh (member 1 leaves and joins again,
    # at the end) and member 3 goes for good
    g.resend(members[1])
    flush()
    g.leave(members[3])
    # 3. a route moves from member 0 to member 4 (4 gets its withdrawal),
    # another is withdrawn, in one flush
    n0 = net.make(0x0A000000, 24)
    change(n0, Route(n0, attrs(7), members[4]))
    change(net.make(0x0A000100, 24), None)
    flush()
    # 4. the pipes are not read: the next flushes meet full or partly full pipes
    for k in range(400):
        n = net.make(0x0B000000 + (k << 8), 24)
        change(n, Route(n, attrs(600 + k), other))
        if k % 100 == 99:
            flush()
    flush()
    got = [_received(m) for m in members]
    _close(members)
    return members, got


def test_the_fan_out_sends_every_member_what_send_wire_would() -> None:
    _, want = _run("plain")
    members, got = _run("fan_out")
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a == b, f"member {i}: {len(a)} bytes, the plain path sent {len(b)}"
    # and the plain path's bytes are the group's rules: nobody gets its own route back
    n0 = net.make(0x0A000000, 24)
    for i, blob in enumerate(want):
        ups = decode_all([blob], NEG)
        own = net.make(0x0A000000 + (i << 8), 24)
        if i:  # (member 0's route went to member 4: then 0 gets it)
            assert all((own, 0) not in u.nlri for u in ups), i
        if i == 4:  # it took 10.0.0.0/24 over: what it had from us is withdrawn
            assert any((n0, 0) in u.withdrawn for u in ups)
    assert any(isinstance(m, PipeMember) and m.stream for m in members)


def test_a_member_leaving_during_the_flush_costs_no_one_else_their_bytes() -> None:
    pending: list[Any] = []
    g = UpdateGroup(key(), pending.append, Codec)
    g.fan_out = FanOut()
    members = _members("pipes")
    for m in members:
        g.join(m)
    # member 3 (not direct) leaves the group when it is written to, as a
    # peer over its output queue limit does (BgpProtocol.send_wire)
    members[3].on_send = lambda m: g.leave(m)  # type: ignore[attr-defined]
    src = bgp_origin("outside", "192.168.1.1")
    n = net.make(0x0A000000, 24)
    r = Route(n, PathAttrs(origin=0, next_hop=IPv4Address("198.18.0.1"), local_pref=100), src)
    g.notify(n, [r], None, r, None)
    pending.pop()()
    assert members[3] not in g.members
    for m in members:
        ups = [u for u in decode_all([_received(m)], NEG) if u.nlri]
        assert [u.nlri for u in ups] == [[(n, 0)]], m.name
    _close(members)


@pytest.mark.parametrize("skip_all", [False, True])
def test_fan_out_skips_the_given_members(skip_all: bool) -> None:
    members = _members("pipes")
    skip = {id(m) for m in members} if skip_all else {id(members[0]), id(members[2])}
    FanOut()(members, b"x" * 100, skip)
    for m in members:
        assert (_received(m) == b"") == (id(m) in skip), m.name
    _close(members)
