"""One BFD session's state machine (RFC 5880 6.8), driven without a clock:
two sessions wired back to back through a tiny event simulator that keeps
their timers and a link that can be cut."""

from __future__ import annotations

import heapq
import itertools

from bgplab.bfd.packet import Diag, State, decode
from bgplab.bfd.session import (
    US,
    Options,
    Send,
    Session,
    StartTimer,
    StateChanged,
    StopTimer,
    Timer,
)

FAST = Options(min_rx=100_000, min_tx=100_000, idle_tx=1_000_000, multiplier=3)


class Link:
    """Two sessions, their timers and a wire with a delay of 1 ms."""

    def __init__(self, a: Session, b: Session) -> None:
        self.s = {"a": a, "b": b}
        self.now = 0.0
        self.up = True
        self.q: list[tuple[float, int, str, object]] = []
        self.ids = itertools.count()
        self.deadline: dict[tuple[str, Timer], float] = {}
        self.changes: list[tuple[float, str, StateChanged]] = []
        self.sent: dict[str, list] = {"a": [], "b": []}

    def start(self) -> None:
        for name, s in self.s.items():
            s.start()
            self._drain(name)

    def _drain(self, name: str) -> None:
        other = "b" if name == "a" else "a"
        for e in self.s[name].events():
            if isinstance(e, Send):
                self.sent[name].append((self.now, decode(e.data)))
                if self.up:
                    heapq.heappush(self.q, (self.now + 0.001, next(self.ids), other, e.data))
            elif isinstance(e, StartTimer):
                at = self.now + e.seconds
                self.deadline[(name, e.timer)] = at
                heapq.heappush(self.q, (at, next(self.ids), name, e.timer))
            elif isinstance(e, StopTimer):
                self.deadline.pop((name, e.timer), None)
            elif isinstance(e, StateChanged):
                self.changes.append((self.now, name, e))

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        while self.q and self.q[0][0] <= end:
            at, _, name, what = heapq.heappop(self.q)
            self.now = at
            s = self.s[name]
            if isinstance(what, Timer):
                if self.deadline.get((name, what)) != at:
                    continue  # re-armed or stopped since
                del self.deadline[(name, what)]
                s.timer_expired(what)
            else:
                s.packet_received(decode(what))  # type: ignore[arg-type]
            self._drain(name)
        self.now = end


def pair(a: Options = FAST, b: Options = FAST) -> Link:
    rnd = itertools.cycle([0.0, 0.5, 0.99]).__next__
    return Link(Session(1001, a, rnd), Session(2002, b, rnd))


def test_three_way_handshake_comes_up() -> None:
    link = pair()
    link.start()
    link.run(3)
    a, b = link.s["a"], link.s["b"]
    assert a.state == b.state == State.UP
    assert a.remote_disc == 2002 and b.remote_disc == 1001
    # every state seen on the way, in order (Down -> Init -> Up or Down -> Up)
    for name in "ab":
        seq = [c.new for _t, n, c in link.changes if n == name]
        assert seq[-1] == State.UP and State.DOWN not in seq


def test_rates_follow_the_state() -> None:
    lonely = pair()
    lonely.s["a"].start()  # the peer says nothing
    lonely._drain("a")
    lonely.run(5)
    # not Up: 0.75-1 s between packets (6.8.3, BIRD's idle tx interval 1 s)
    times = [t for t, _p in lonely.sent["a"]]
    assert 5 <= len(times) <= 7
    assert all(0.75 - 1e-9 <= b - a <= 1 + 1e-9 for a, b in itertools.pairwise(times))
    link = pair()
    link.start()
    link.run(3)
    a = link.s["a"]
    assert a.des_min_tx == 100_000 and a.tx_interval == 100_000
    assert a.detect_time == 300_000
    times = [t for t, p in link.sent["a"] if not p.final][-10:]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.075 - 1e-9 <= g <= 0.1 + 1e-9 for g in gaps), gaps


def test_going_up_polls_and_the_peer_answers_final() -> None:
    link = pair()
    link.start()
    link.run(3)
    polls = [p for _t, p in link.sent["a"] if p.poll]
    finals = [p for _t, p in link.sent["b"] if p.final]
    assert polls and finals
    assert not link.s["a"].poll_active and not link.s["b"].poll_active


def test_cut_link_goes_down_within_detection_time() -> None:
    link = pair()
    link.start()
    link.run(3)
    link.up = False
    cut = link.now
    link.run(1)
    downs = [(t, n, c) for t, n, c in link.changes if c.new == State.DOWN]
    assert {n for _t, n, _c in downs} == {"a", "b"}
    for t, _n, c in downs:
        assert c.old == State.UP and c.diag == Diag.EXPIRED
        assert t - cut <= 0.3 + 1e-9  # multiplier 3 x 100 ms
    a = link.s["a"]
    assert a.remote_disc == 0 and a.detect_time == 0  # forgotten (6.8.1)
    assert a.des_min_tx == US  # back to one packet a second
    # the link heals: Up again
    link.up = True
    link.run(4)
    assert link.s["a"].state == link.s["b"].state == State.UP


def test_neighbor_signals_down() -> None:
    link = pair()
    link.start()
    link.run(3)
    b = link.s["b"]
    b.stop()  # b's session is removed: it stops talking...
    link._drain("b")
    # ...and a peer that says AdminDown takes us Down with diag 3
    from bgplab.bfd.packet import Packet

    a = link.s["a"]
    a.packet_received(Packet(State.ADMIN_DOWN, 2002, 1001, US, US, 3, Diag.ADMIN_DOWN))
    changes = [e for e in a.events() if isinstance(e, StateChanged)]
    assert changes == [StateChanged(State.UP, State.DOWN, Diag.NEIGHBOR_DOWN)]


def test_passive_waits_to_be_spoken_to() -> None:
    passive = Options(min_rx=100_000, min_tx=100_000, multiplier=3, passive=True)
    link = pair(a=passive, b=passive)
    link.start()
    link.run(5)
    assert not link.sent["a"] and not link.sent["b"]
    link2 = pair(a=passive, b=FAST)
    link2.start()
    link2.run(4)
    assert link2.s["a"].state == link2.s["b"].state == State.UP


def test_multiplier_one_jitter_stays_below_90_percent() -> None:
    one = Options(min_rx=100_000, min_tx=100_000, multiplier=1)
    s = Session(5, one, lambda: 0.0)
    s.start()
    s.events()
    s.timer_expired(Timer.TX)
    arm = [e for e in s.events() if isinstance(e, StartTimer)]
    assert arm and arm[0].seconds <= 0.9 * 1.0 + 1e-9
