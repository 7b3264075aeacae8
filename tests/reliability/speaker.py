"""A scripted BGP speaker for fault tests, built on bgplab's own codec.

It is deliberately simple and synchronous: connect from a loopback address,
exchange OPENs, then announce, withdraw, read or *not* read exactly as the
test says — things a well-behaved daemon would never do.
"""

from __future__ import annotations

import socket
import time
from ipaddress import IPv4Address

from bgplab.bgp import attr_codec, messages
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import LocalConfig, negotiate
from bgplab.bgp.framer import Framer


class Speaker:
    def __init__(self, local: str, remote: str, asn: int = 63400) -> None:
        self.local, self.remote, self.asn = local, remote, asn
        self.sock: socket.socket | None = None
        self.framer = Framer()
        self.neg = None
        self.cfg = LocalConfig(asn=asn, router_id=IPv4Address(local))
        self.held: set[int] = set()  # nets the peer has announced to us

    def connect(self, timeout: float = 10) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.local, 0))
        s.settimeout(timeout)
        s.connect((self.remote, 179))
        self.sock = s
        caps = self.cfg.open_capabilities()
        s.sendall(messages.encode_message(messages.Open.make(self.asn, 90, self.cfg.router_id,
                                                              caps)))
        peer_open = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for mtype, body in self._read():
                msg = messages.decode_message(mtype, body, None)
                if isinstance(msg, messages.Open):
                    peer_open = msg
                    self.neg = negotiate(self.cfg, msg.asn, msg.hold_time, msg.router_id,
                                         msg.capabilities, caps)
                    s.sendall(messages.encode_keepalive())
                elif isinstance(msg, messages.Keepalive) and peer_open is not None:
                    return
                elif isinstance(msg, messages.Notification):
                    raise ConnectionError(msg.describe())
        raise TimeoutError("no session")

    def _read(self) -> list[tuple[int, bytes]]:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by peer")
        return self.framer.feed(data)

    def announce(self, nets: list[int], next_hop: str, **attrs: object) -> None:
        a = PathAttrs(origin=0, next_hop=IPv4Address(next_hop), local_pref=100, **attrs)
        block = attr_codec.encode_attributes(a, self.neg)
        self.send(b"".join(messages.pack_updates(block, [(n, 0) for n in nets], self.neg)))

    def withdraw(self, nets: list[int]) -> None:
        self.send(b"".join(messages.pack_withdraws([(n, 0) for n in nets], self.neg)))

    def keepalive(self) -> None:
        self.send(messages.encode_keepalive())

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def received_nets(self, want: int, timeout: float = 30) -> set[int]:
        """Read UPDATEs until ``want`` distinct nets are held (or time out)."""
        held = self.held
        deadline = time.monotonic() + timeout
        assert self.sock is not None
        while len(held) < want and time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                frames = self._read()
            except TimeoutError:
                break
            for mtype, body in frames:
                msg = messages.decode_message(mtype, body, self.neg)
                if isinstance(msg, messages.Update):
                    for n, _ in msg.withdrawn:
                        held.discard(n)
                    for n, _ in msg.nlri:
                        held.add(n)
        return set(held)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
