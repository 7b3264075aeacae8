"""bgplabd's keepalives while its update group is writing UPDATEs.

The fan-out writes UPDATEs straight to the members' sockets, outside the
session machine; the keepalive timer runs on its own. RFC 4271 4.4 asks for
a KEEPALIVE within the keepalive time of the last message *sent*, so while
UPDATEs flow one is not needed, but sending one anyway is allowed, and a
member that gets no UPDATEs (the source of the churn) must get them on time.
Here: three raw peers of a real bgplabd (hold time 3 s, keepalive 1 s), one
withdraws and re-announces a route 50 times a second for 3.5 s; every peer
must see a KEEPALIVE at least every second (plus scheduling slack), the
watchers must see the churn, and no session may end.
"""

from __future__ import annotations

import os
import select
import socket
import time

import pytest

from bgplab.bench import wire
from bgplab.launch import BgplabDaemon

pytestmark = [pytest.mark.root, pytest.mark.interop]

NET = f"127.61.{os.getpid() % 250 + 1}"  # per run: tests may run side by side
RR = f"{NET}.1"
PEERS = [f"{NET}.{11 + i}" for i in range(3)]
KEEPALIVE_S = 1.0
SLACK_S = 0.5  # a loaded 2-core CI machine


def config() -> str:
    peers = "\n".join(
        f"protocol bgp p{i} {{\n  local as 63400;\n  neighbor {a} as 63400;\n  rr client;\n"
        f"  passive on;\n  hold time 3;\n  keepalive time 1;\n  import all;\n  export all;\n"
        f"  source address {RR};\n}}"
        for i, a in enumerate(PEERS)
    )
    return f"router id {RR};\nlisten bgp address {RR};\n{peers}\n"


class Peer:
    def __init__(self, addr: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((addr, 0))
        self.sock.settimeout(10)
        self.sock.connect((RR, 179))
        self.buf = b""
        self.rid = int.from_bytes(socket.inet_aton(addr))
        self.keepalives: list[float] = []
        self.updates: list[float] = []
        self.notifications = 0

    def open(self) -> None:
        self.sock.sendall(wire.encode_open(63400, 3, self.rid, addpath=False))
        self.sock.sendall(wire.message(4, b""))
        deadline = time.monotonic() + 10
        while not self.keepalives and time.monotonic() < deadline:
            self.read()
        assert self.keepalives, "no KEEPALIVE after OPEN"
        self.sock.setblocking(False)

    def read(self) -> None:
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        assert data, "bgplabd closed the session"
        now = time.monotonic()
        msgs, used = wire.split_messages(self.buf + data)
        self.buf = (self.buf + data)[used:]
        for mtype, _body in msgs:
            if mtype == 4:
                self.keepalives.append(now)
            elif mtype == 2:
                self.updates.append(now)
            elif mtype == 3:
                self.notifications += 1


def test_keepalives_go_out_on_time_while_the_group_writes_updates() -> None:
    d = BgplabDaemon(config()).start()
    peers: list[Peer] = []
    try:
        for a in PEERS:
            p = Peer(a)
            p.open()
            peers.append(p)
        src = peers[0]
        entry = wire.nlri_entry(0x0A2A0000, 26)
        ann = b"".join(wire.pack_announces([entry], wire.ibgp_attributes(0xC6120001)))
        wd = b"".join(wire.pack_withdraws([entry]))
        start = time.monotonic()
        end = start + 3.5
        k = 0
        next_event = start
        next_ka = start
        while (now := time.monotonic()) < end:
            if now >= next_event:
                src.sock.send(ann if k % 2 == 0 else wd)
                k += 1
                next_event += 0.02
            if now >= next_ka:  # ours, so that bgplabd's hold timer holds
                for p in peers[1:]:
                    p.sock.send(wire.message(4, b""))
                next_ka += 0.5
            ready, _, _ = select.select([p.sock for p in peers], [], [], 0.005)
            for p in peers:
                if p.sock in ready:
                    p.read()
        for p in peers:
            assert p.notifications == 0
            kas = [t for t in p.keepalives if t >= start]
            marks = [start, *kas, end]
            gaps = [b - a for a, b in zip(marks, marks[1:], strict=False)]
            assert len(kas) >= 3 and max(gaps) <= KEEPALIVE_S + SLACK_S, (p.sock.getsockname(), gaps)
        for p in peers[1:]:  # the watchers got the churn
            assert len([t for t in p.updates if t >= start]) >= 100
        assert "Established" in d.birdc("show protocols")
    finally:
        for p in peers:
            p.sock.close()
        d.stop()
