"""A minimal blocking socket shell around a PeerFsm, for interop tests with
real daemons on loopback (the daemon's asyncio shell lives in bgplab.io;
this one only has to be simple and obviously right)."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from bgplab.bgp import events as ev
from bgplab.bgp.fsm import PeerFsm


class SockDriver:
    def __init__(self, fsm: PeerFsm, local_ip: str, peer: tuple[str, int], listen_port: int = 0):
        self.fsm = fsm
        self.peer = peer
        self.local_ip = local_ip
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((local_ip, listen_port))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.socks: dict[Any, socket.socket] = {}
        self.closing: list[tuple[socket.socket, float]] = []  # draining after our FIN
        self.accepted: list[Any] = []
        self.timers: dict[tuple[ev.Timer, Any], float] = {}
        self.log: list[Any] = []

    def close(self) -> None:
        for s in self.socks.values():
            s.close()
        for s, _t in self.closing:
            s.close()
        self.socks.clear()
        self.listener.close()

    def _process(self) -> None:
        for e in self.fsm.events():
            self.log.append(e)
            if isinstance(e, ev.Write):
                s = self.socks.get(e.conn_id)
                if s is not None:
                    with contextlib.suppress(OSError):
                        s.sendall(e.data)
            elif isinstance(e, ev.StartTimer):
                self.timers[(e.timer, e.conn_id)] = time.monotonic() + e.seconds
            elif isinstance(e, ev.StopTimer):
                self.timers.pop((e.timer, e.conn_id), None)
            elif isinstance(e, ev.CloseConnection):
                s = self.socks.pop(e.conn_id, None)
                if s is not None:
                    # FIN after the NOTIFICATION, then drain: closing with
                    # unread data would send a RST that can overtake it.
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_WR)
                    self.closing.append((s, time.monotonic() + 2))
            elif isinstance(e, ev.OpenConnection):
                s = socket.socket()
                s.bind((self.local_ip, 0))
                s.settimeout(2)
                try:
                    s.connect(self.peer)
                except OSError as exc:
                    s.close()
                    self.fsm.connection_lost(e.conn_id, exc.strerror or str(exc))
                    continue
                self.socks[e.conn_id] = s
                self.fsm.connection_made(e.conn_id, incoming=False)

    def run(self, until: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        self._process()
        while time.monotonic() < end:
            self._process()
            if until():
                return True
            now = time.monotonic()
            for key, t in sorted(self.timers.items(), key=lambda kv: kv[1]):
                if t <= now:
                    del self.timers[key]
                    self.fsm.timer_expired(key[0], key[1])
                    self._process()
            for s, t in list(self.closing):
                if t <= now:
                    self.closing.remove((s, t))
                    s.close()
            rlist = [self.listener, *self.socks.values(), *(s for s, _t in self.closing)]
            ready, _, _ = select.select(rlist, [], [], 0.05)
            for s in ready:
                if s is self.listener:
                    c, _addr = self.listener.accept()
                    cid = self.fsm.new_conn_id()
                    self.socks[cid] = c
                    self.accepted.append(cid)
                    self.fsm.connection_made(cid, incoming=True)
                    continue
                cid = next((k for k, v in self.socks.items() if v is s), None)
                if cid is None:
                    for item in [c for c in self.closing if c[0] is s]:
                        with contextlib.suppress(OSError):
                            if s.recv(65536):
                                continue
                        self.closing.remove(item)
                        s.close()
                    continue
                try:
                    data = s.recv(65536)
                except OSError as exc:
                    data, reason = b"", exc.strerror or ""
                else:
                    reason = ""
                if data:
                    self.fsm.data_received(cid, data)
                else:
                    self.socks.pop(cid, None)
                    s.close()
                    self.fsm.connection_lost(cid, reason)
                self._process()
        return until()
