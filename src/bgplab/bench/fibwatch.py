"""Watch a namespace's kernel routes as they are written (kernel-fib scenario).

A thread reads the namespace's IPv4 route notifications (rtnetlink
multicast) and keeps the number of ``proto bird`` routes in the main table,
with the time of every change. That gives the scenario its end points
without dumping 100,000 routes every 50 ms (which cost both daemons CPU on
a 2-core machine) and a timeline: when the first route was written after
the routes were sent, and the longest pause while writing.

Counting notifications is exact as long as none is lost; a lost one
(ENOBUFS) sets :attr:`FibWatch.overrun` and the scenario falls back to
``ip route``.
"""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time

from bgplab.io.netlink import netns_socket
from bgplab.io.netlink_types import (
    NETLINK_ADD_MEMBERSHIP,
    NLM_F_REPLACE,
    RTM_DELROUTE,
    RTM_NEWROUTE,
    RTNLGRP_IPV4_ROUTE,
    RTPROT_BIRD,
    SO_RCVBUFFORCE,
    SOL_NETLINK,
)

_NLH = struct.Struct("=IHHII")
MAIN_TABLE = 254
STEP = 10000
RCVBUF = 256 << 20  # 100k notifications are ~100 MB of socket buffer (truesize)


class FibWatch:
    """Counts ``proto bird`` IPv4 routes of the main table in ``netns``."""

    def __init__(self, netns: str) -> None:
        self.sock = self._open(netns)
        self.count = 0
        self.overrun = False
        self.first_change: float | None = None  # since the last mark()
        self.last_change = 0.0
        self.max_gap = 0.0  # longest pause between two changes since mark()
        self.gap_at = 0  # the count when that pause began
        self.steps: list[tuple[float, int]] = []  # (time, count) every STEP routes
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fibwatch", daemon=True)
        self._thread.start()

    def mark(self) -> None:
        """Start a new phase: first change and longest pause from now."""
        with self._cond:
            self.first_change = None
            self.max_gap = 0.0
            self.gap_at = self.count
            self.steps = []

    def wait(self, target: int, deadline: float) -> bool:
        """Until the count is ``target`` (or an overrun, or the deadline)."""
        with self._cond:
            while self.count != target and not self.overrun:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return self.count == target

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        self.sock.close()

    @staticmethod
    def _open(netns: str) -> socket.socket:
        sock = netns_socket(netns)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
            sock.bind((0, 0))
            sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV4_ROUTE)
            sock.settimeout(0.2)
        except BaseException:
            sock.close()
            raise
        return sock

    def _run(self) -> None:
        recv = self.sock.recv
        unpack = _NLH.unpack_from
        while not self._stop:
            try:
                data = recv(1 << 16)
            except TimeoutError:
                continue
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    with self._cond:
                        self.overrun = True
                        self._cond.notify_all()
                    continue
                return
            now = time.monotonic()
            delta = 0
            off = 0
            while off + 28 <= len(data):
                length, mtype, flags, _s, _p = unpack(data, off)
                if length < 16:
                    break
                # rtmsg: family, dst_len, src_len, tos, table, protocol, ...
                ours = data[off + 20] == MAIN_TABLE and data[off + 21] == RTPROT_BIRD
                if ours and data[off + 16] == socket.AF_INET:
                    if mtype == RTM_NEWROUTE and not flags & NLM_F_REPLACE:
                        delta += 1
                    elif mtype == RTM_DELROUTE:
                        delta -= 1
                off += (length + 3) & ~3
            if not delta:
                continue
            with self._cond:
                if self.first_change is None:
                    self.first_change = now
                elif now - self.last_change > self.max_gap:
                    self.max_gap = now - self.last_change
                    self.gap_at = self.count
                self.last_change = now
                before = self.count
                self.count += delta
                if before // STEP != self.count // STEP:
                    self.steps.append((now, self.count))
                self._cond.notify_all()
