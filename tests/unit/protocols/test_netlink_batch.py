"""Batched route writes: the fast encoder changes no byte, one ACK per send,
and a route the kernel refuses is reported for that route only.

The batching tests talk to a stand-in kernel on the other end of a
datagram socket pair: it answers like rtnetlink (an error for each failed
request, an ACK where NLM_F_ACK is set, in order). The real kernel does the
same in tests/interop/test_kernel_batch_netns.py.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import threading
from typing import Any

from bgplab import net
from bgplab.io.netlink import (
    CHUNK,
    NLM_F_ACK,
    NLMSG_DONE,
    NLMSG_ERROR,
    RTM_GETLINK,
    RTM_NEWLINK,
    FibAttrs,
    FibNextHop,
    FibOp,
    FibRoute,
    NetlinkPort,
    encode_op,
    encode_route,
    iter_messages,
    with_ack,
)

IDX = {"eth0": 2, "eth1": 3}


def _routes() -> list[FibRoute]:
    one = (FibNextHop("192.0.2.1", "eth0"),)
    ecmp = (FibNextHop("192.0.2.1", "eth0", 3), FibNextHop("192.0.2.2", "eth1", 1, True))
    v6 = (FibNextHop("2001:db8::1", "eth1"),)
    return [
        FibRoute(net.parse("10.0.0.0/24"), one),
        FibRoute(net.parse("10.0.1.0/24"), one),  # same attrs, other destination
        FibRoute(net.parse("10.0.2.0/23"), one),  # same attrs, other length
        FibRoute(net.parse("0.0.0.0/0"), one),  # no RTA_DST at all
        FibRoute(net.parse("10.0.2.0/24"), one, metric=20, prefsrc="192.0.2.9"),
        FibRoute(net.parse("10.0.3.0/25"), ecmp, table=1000),
        FibRoute(net.parse("10.9.0.0/16"), (), kind="blackhole"),
        FibRoute(net.parse("2001:db8:1::/48"), v6),
        FibRoute(net.parse("2001:db8:1::/64"), v6),
        FibRoute(net.parse("::/0"), v6),
        FibRoute(net.parse("10.0.4.0/24"), (FibNextHop(None, "eth1"),)),  # device route
    ]


def test_fast_encoding_is_byte_identical_to_the_plain_one() -> None:
    packers: dict = {}
    interned: dict = {}
    for op in ("add", "replace", "delete"):
        for seq, r in enumerate(_routes(), 1):
            plain = encode_route(op, r, seq, IDX)
            a = interned.setdefault(r.attrs, r.attrs)
            for _ in range(2):  # made, then from the packer cache
                fast = encode_op(op, r.dst, a, seq, IDX, packers)
                assert with_ack(fast) == plain
                flags = struct.unpack_from("=H", fast, 6)[0]
                assert flags == struct.unpack_from("=H", plain, 6)[0] & ~NLM_F_ACK
            [(_mtype, _flags, mseq, payload)] = list(iter_messages(plain))
            assert mseq == seq and len(payload) + 16 == len(plain)
    # one packer per (op, attrs object, family and prefix length): the two
    # /24s through eth0 share one
    assert len(packers) == 3 * (len(_routes()) - 1)
    assert len(interned) == len(_routes()) - 5  # 4 through eth0 share, 3 IPv6 share


class StandInKernel:
    """Answers route requests like rtnetlink, from a thread."""

    def __init__(self, sock: socket.socket, refuse: dict[int, int]) -> None:
        self.sock = sock
        self.refuse = refuse  # dst key -> errno
        self.sends: list[list[tuple[int, int]]] = []  # per datagram: (seq, flags)
        self.payloads: list[bytes] = []  # every route request's, in order
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except OSError:
                return
            if not data:
                return
            seen = []
            answers = b""
            for mtype, flags, seq, payload in iter_messages(data):
                if mtype == RTM_GETLINK:  # a dump of the interfaces: IDX
                    self.sock.send(self._links(seq))
                    continue
                seen.append((seq, flags))
                self.payloads.append(bytes(payload))
                dst = self._dst(bytes(payload))
                err = self.refuse.get(dst, 0)
                if err or flags & NLM_F_ACK:
                    answers += struct.pack("=IHHII", 36, NLMSG_ERROR, 0x100, seq, 0)
                    answers += struct.pack("=i", -err) + b"\0" * 16
            self.sends.append(seen)
            if answers:
                self.sock.send(answers)

    @staticmethod
    def _links(seq: int) -> bytes:
        out = b""
        for name, index in IDX.items():
            raw = name.encode() + b"\0"
            attr = struct.pack("=HH", 4 + len(raw), 3) + raw  # IFLA_IFNAME
            attr += b"\0" * (-len(attr) % 4)
            body = struct.pack("=BxHiII", 0, 1, index, 1, 0) + attr
            out += struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, 2, seq, 0) + body
        return out + struct.pack("=IHHII", 20, NLMSG_DONE, 2, seq, 0) + b"\0" * 4

    @staticmethod
    def _dst(payload: bytes) -> int:
        family, plen = payload[0], payload[1]
        off = 12
        while off + 4 <= len(payload):
            alen, kind = struct.unpack_from("=HH", payload, off)
            if kind == 1:  # RTA_DST
                addr = int.from_bytes(payload[off + 4 : off + alen], "big")
                return net.make(addr, plen, family == socket.AF_INET6)
            off += (alen + 3) & ~3
        return net.make(0, 0, family == socket.AF_INET6)


def _write(ops: list, refuse: dict[int, int], stale: bytes = b"") -> tuple[Any, StandInKernel]:
    """``port.write(ops)``, or ``port.apply(ops)`` for FibOps, against the stand-in."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    kernel = StandInKernel(theirs, refuse)
    if stale:
        theirs.send(stale)
    port = NetlinkPort()
    port._sock = ours
    port._ifindex = dict(IDX)  # as after open()

    async def main() -> Any:
        if ops and isinstance(ops[0], FibOp):
            return await port.apply(ops)
        return await port.write(ops)

    try:
        return asyncio.run(main()), kernel
    finally:
        ours.close()
        theirs.close()


def test_one_ack_per_send_and_errors_for_the_refused_routes_only() -> None:
    hop = FibAttrs((FibNextHop("192.0.2.1", "eth0"),))
    n = 5000
    nets = [net.make(0x0A000000 + (i << 8), 24, False) for i in range(n)]
    ops = [("replace", d, hop) for d in nets]
    first_send = CHUNK // len(encode_op("replace", nets[0], hop, 1, IDX, {})) + 1
    refused = {
        0: errno.ENETUNREACH,  # the first request
        1234: errno.EEXIST,  # in the middle of a send
        first_send - 1: errno.ENETUNREACH,  # the last of a send: carries the ACK
        first_send: errno.EINVAL,  # the first of the next
        n - 1: errno.ENETUNREACH,  # the very last
    }
    failed, kernel = _write(ops, {nets[i]: e for i, e in refused.items()})
    assert failed == refused
    assert len(kernel.sends) > 3  # several sends, each with one ACK, on its last request
    seqs = []
    for seen in kernel.sends:
        assert [bool(f & NLM_F_ACK) for _s, f in seen] == [False] * (len(seen) - 1) + [True]
        seqs += [s for s, _f in seen]
    assert len(seqs) == n and len(set(seqs)) == n
    assert len(kernel.sends[0]) == first_send
    # byte for byte what the plain encoder packs (the header's flags above)
    for k, ((op, d, a), got) in enumerate(zip(ops, kernel.payloads)):
        assert got == encode_route(op, a.route(d), seqs[k], IDX)[16:], k


def test_mixed_requests_in_one_write_are_packed_like_the_plain_encoder() -> None:
    routes = _routes()
    interned: dict = {}
    # runs of one op: the same attrs with other lengths (/24, /24, /23, /0)
    # and families follow each other; then (op, attrs, length) change at
    # every step
    ops = [
        (op, r.dst, interned.setdefault(r.attrs, r.attrs))
        for op in ("add", "replace", "delete")
        for r in routes
    ]
    ops += [(op, d, a) for d, a in {d: a for _o, d, a in ops}.items() for op in ("delete", "add")]
    failed, kernel = _write(ops, {})
    assert failed == {}
    seqs = [s for seen in kernel.sends for s, _f in seen]
    assert len(kernel.payloads) == len(ops)
    for k, ((op, d, a), got) in enumerate(zip(ops, kernel.payloads)):
        assert got == encode_route(op, a.route(d), seqs[k], IDX)[16:], k


def test_per_route_errors_through_fibops_and_unpackable_routes() -> None:
    hop = (FibNextHop("192.0.2.1", "eth0"),)
    good = [FibRoute(net.make(0x0A000000 + (i << 8), 24, False), hop) for i in range(10)]
    nodev = FibRoute(net.parse("10.99.0.0/16"), (FibNextHop("192.0.2.1", "nosuch0"),))
    mixed = [*good[:5], nodev, *good[5:]]
    ops = [FibOp("replace", r) for r in mixed]
    # a stale answer (an abandoned request's) waiting in the socket is ignored
    stale = struct.pack("=IHHII", 36, NLMSG_ERROR, 0x100, 999_999, 0) + struct.pack("=i", -1)
    _ops, kernel = _write(ops, {good[7].dst: errno.ENETUNREACH}, stale + b"\0" * 16)
    # ENODEV is found before sending: that route is never sent
    assert [o.error for o in ops] == [0] * 5 + [errno.ENODEV, 0, 0, errno.ENETUNREACH, 0, 0]
    assert sum(len(s) for s in kernel.sends) == 10
