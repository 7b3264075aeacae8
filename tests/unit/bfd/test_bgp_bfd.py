"""What a BGP session does when BFD says its neighbor is gone (BIRD's
``bgp_bfd_notify``), on the sans-I/O BGP machine."""

from __future__ import annotations

from bgplab.bgp import events as ev
from bgplab.bgp.events import State, Timer
from tests.unit.bgp.test_fsm import established, ibgp_pair


def test_bfd_down_ends_the_session_with_a_cease_and_error_wait() -> None:
    p = ibgp_pair(graceful_restart=True)
    established(p)
    p.a.fsm.events()
    p.a.fsm.bfd_down()
    out = p.a.fsm.events()
    down = [e for e in out if isinstance(e, ev.SessionDown)]
    assert down and not down[0].graceful  # routes go at once
    assert down[0].notification is not None and down[0].notification.code == 6
    assert p.a.fsm.info.startswith("Idle") and p.a.fsm.last_error == "Error: BFD session down"
    assert any(isinstance(e, ev.StartTimer) and e.timer == Timer.ERROR_WAIT for e in out)


def test_bfd_graceful_drops_the_session_as_a_lost_connection() -> None:
    p = ibgp_pair(graceful_restart=True)  # b lists IPv4 in its GR capability
    established(p)
    p.a.fsm.events()
    p.a.fsm.bfd_down(graceful=True)
    down = [e for e in p.a.fsm.events() if isinstance(e, ev.SessionDown)]
    assert down and down[0].graceful and down[0].notification is None
    assert p.a.fsm.last_error == "Error: BFD session down"
    assert p.a.fsm.state != State.ESTABLISHED


def test_bfd_down_when_stopped_does_nothing() -> None:
    p = ibgp_pair()
    p.a.fsm.bfd_down()
    assert not p.a.fsm.events()
