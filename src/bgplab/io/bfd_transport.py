"""UDP for BFD (RFC 5881 single hop, RFC 5883 multihop).

One listener per port (3784 single hop, 4784 multihop) reports every
datagram with its source, the interface it came in on and its TTL (single
hop accepts only 255, RFC 5881 5). Each session sends from its own socket,
bound to a source port in 49152-65535 and, for single hop, to its interface,
with TTL 255.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import socket
import struct
from collections.abc import Callable

SINGLE_HOP_PORT = 3784
MULTIHOP_PORT = 4784
SOURCE_PORTS = (49152, 65535)

_IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
_IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
_IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
_IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
_IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
_IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)

# data, source address, interface index (0: unknown), TTL (-1: unknown)
PacketHandler = Callable[[bytes, str, int, int], None]


class Listener:
    """Receives BFD control packets on one port of one address family."""

    def __init__(self, handler: PacketHandler, v6: bool = False, port: int = SINGLE_HOP_PORT):
        self.handler = handler
        self.v6 = v6
        self.port = port
        self.sock: socket.socket | None = None

    def open(self, address: str | None = None) -> None:
        fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.v6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVHOPLIMIT, 1)
                s.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVPKTINFO, 1)
            else:
                s.setsockopt(socket.IPPROTO_IP, _IP_RECVTTL, 1)
                s.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
            s.bind((address or ("::" if self.v6 else "0.0.0.0"), self.port))
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        self.sock = s
        asyncio.get_running_loop().add_reader(s.fileno(), self._readable)

    def _readable(self) -> None:
        s = self.sock
        if s is None:
            return
        for _ in range(64):  # bounded: other work must not starve
            try:
                data, anc, _flags, src = s.recvmsg(512, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            ttl, ifindex = -1, 0
            for level, kind, value in anc:
                if len(value) >= 4 and (level, kind) in (
                    (socket.IPPROTO_IP, socket.IP_TTL),
                    (socket.IPPROTO_IPV6, _IPV6_HOPLIMIT),
                ):
                    ttl = struct.unpack("=i", value[:4])[0]
                elif level == socket.IPPROTO_IP and kind == _IP_PKTINFO and len(value) >= 4:
                    ifindex = struct.unpack("=i", value[:4])[0]
                elif level == socket.IPPROTO_IPV6 and kind == _IPV6_PKTINFO and len(value) >= 20:
                    ifindex = struct.unpack("=i", value[16:20])[0]
            self.handler(data, src[0], ifindex, ttl)

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None


class Sender:
    """One session's sending socket (one source port for its whole life)."""

    def __init__(
        self,
        peer: str,
        local: str | None,
        iface: str | None,
        v6: bool,
        port: int = SINGLE_HOP_PORT,
    ) -> None:
        self.peer = peer
        self.port = port
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            if v6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
            else:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
            if iface:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
            self.source_port = _bind_source_port(s, local or ("::" if v6 else "0.0.0.0"))
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        self.sock = s

    def send(self, data: bytes) -> bool:
        """False when the kernel refused it (no route, link down): BFD's
        detection time, not an exception, tells the session."""
        try:
            self.sock.sendto(data, (self.peer, self.port))
        except OSError:
            return False
        return True

    def close(self) -> None:
        self.sock.close()


def _bind_source_port(s: socket.socket, address: str) -> int:
    lo, hi = SOURCE_PORTS
    start = random.randint(lo, hi)
    for i in range(hi - lo + 1):
        port = lo + (start - lo + i) % (hi - lo + 1)
        try:
            s.bind((address, port))
            return port
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, "no free BFD source port")
