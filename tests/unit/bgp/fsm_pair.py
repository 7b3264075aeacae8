"""Two PeerFsm joined by an in-memory link and a manual clock (like h11's
ConnectionPair): no sockets, no real time."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from bgplab.bgp import events as ev
from bgplab.bgp.capabilities import LocalConfig
from bgplab.bgp.fsm import PeerConfig, PeerFsm


def make_config(asn: int, rid: str, peer_asn: int | None, **kw: Any) -> PeerConfig:
    local_kw = {k: kw.pop(k) for k in list(kw) if k in LocalConfig.__dataclass_fields__}
    return PeerConfig(LocalConfig(asn, IPv4Address(rid), **local_kw), peer_asn, **kw)


@dataclass
class Side:
    name: str
    fsm: PeerFsm
    log: list[Any] = field(default_factory=list)  # every event seen
    listening: bool = True  # accepts incoming TCP
    hang: bool = False  # dials to this side never complete
    timers: dict[tuple[ev.Timer, Any], float] = field(default_factory=dict)
    received: bytearray = field(default_factory=bytearray)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.log if isinstance(e, kind)]


class Pair:
    """A and B; A's conn ids are paired with B's conn ids by the link."""

    def __init__(self, cfg_a: PeerConfig, cfg_b: PeerConfig) -> None:
        self.a = Side("A", PeerFsm(cfg_a))
        self.b = Side("B", PeerFsm(cfg_b))
        self.now = 0.0
        self.links: dict[tuple[str, Any], tuple[Side, Any]] = {}
        self.work: deque[Callable[[], None]] = deque()
        self.drop_writes = {"A": False, "B": False}  # simulate a dead peer
        self._seq = 0

    def other(self, s: Side) -> Side:
        return self.b if s is self.a else self.a

    def pump(self) -> None:
        for _ in range(100000):
            for s in (self.a, self.b):
                for e in s.fsm.events():
                    s.log.append(e)
                    self._act(s, e)
            if not self.work:
                if not (self.a.fsm._out or self.b.fsm._out):
                    return
                continue
            self.work.popleft()()
        raise AssertionError("pump did not settle")

    def _act(self, s: Side, e: Any) -> None:
        peer = self.other(s)
        if isinstance(e, ev.StartTimer):
            s.timers[(e.timer, e.conn_id)] = self.now + e.seconds
        elif isinstance(e, ev.StopTimer):
            s.timers.pop((e.timer, e.conn_id), None)
        elif isinstance(e, ev.OpenConnection):
            cid = e.conn_id

            def dial() -> None:
                if peer.hang:
                    return
                if not peer.listening:
                    s.fsm.connection_lost(cid, "Connection refused")
                    return
                pid = ("in", self._next())
                self.links[(s.name, cid)] = (peer, pid)
                self.links[(peer.name, pid)] = (s, cid)
                peer.fsm.connection_made(pid, incoming=True)
                s.fsm.connection_made(cid, incoming=False)

            self.work.append(dial)
        elif isinstance(e, ev.Write):
            target = self.links.get((s.name, e.conn_id))
            if target is not None and not self.drop_writes[s.name]:
                side, pid = target
                self.work.append(lambda: side.fsm.data_received(pid, e.data))
        elif isinstance(e, ev.CloseConnection):
            target = self.links.pop((s.name, e.conn_id), None)
            if target is not None:
                side, pid = target
                self.links.pop((side.name, pid), None)
                self.work.append(lambda: side.fsm.connection_lost(pid, ""))

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def advance(self, seconds: float) -> None:
        """Move the clock, firing due timers in order; timers due at the
        same instant all fire before the link delivers anything."""
        end = self.now + seconds
        self.pump()
        while True:
            due = [
                (t, s.name, k) for s in (self.a, self.b) for k, t in s.timers.items() if t <= end
            ]
            if not due:
                break
            first = min(d[0] for d in due)
            self.now = first
            for _t, name, key in sorted((d for d in due if d[0] == first), key=lambda d: d[1]):
                side = self.a if name == "A" else self.b
                if side.timers.get(key) == first:
                    del side.timers[key]
                    side.fsm.timer_expired(key[0], key[1])
                    for e in side.fsm.events():
                        side.log.append(e)
                        self._act(side, e)
            self.pump()
        self.now = end

    def start(self) -> None:
        self.a.fsm.start()
        self.b.fsm.start()
        self.pump()
