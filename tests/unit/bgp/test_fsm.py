from __future__ import annotations

from ipaddress import IPv4Address as A4

import pytest

from bgplab import net
from bgplab.bgp import events as ev
from bgplab.bgp.attr_codec import encode_attributes
from bgplab.bgp.attrs import AS_SEQUENCE, PathAttrs
from bgplab.bgp.events import State, Timer
from bgplab.bgp.fsm import PeerConfig, PeerFsm, describe_events
from bgplab.bgp.fsm_tables import CROSSING_WINDOW
from bgplab.bgp.messages import (
    KEEPALIVE_WIRE,
    Notification,
    Open,
    Update,
    decode_message,
    encode_message,
    pack_updates,
)

from .fsm_pair import Pair, make_config


def ibgp_pair(**kw_b: object) -> Pair:
    a = make_config(63400, "192.168.0.40", 63400, add_path={(1, 1): 3}, graceful_restart=True)
    b = make_config(63400, "192.168.0.7", 63400, **{"passive": True, **kw_b})
    return Pair(a, b)


def established(p: Pair) -> None:
    p.start()
    p.advance(6)
    assert p.a.fsm.state == State.ESTABLISHED, describe_events(p.a.log)
    assert p.b.fsm.state == State.ESTABLISHED, describe_events(p.b.log)


def test_active_to_passive_reaches_established() -> None:
    p = ibgp_pair(graceful_restart=True, add_path={(1, 1): 3})
    p.start()
    assert p.a.fsm.state_text == "Active" and p.b.fsm.state_text == "Passive"
    p.advance(6)
    states = [(e.old, e.new) for e in p.a.of(ev.StateChanged)]
    assert states == [
        (State.IDLE, State.ACTIVE),
        (State.ACTIVE, State.CONNECT),
        (State.CONNECT, State.OPENSENT),
        (State.OPENSENT, State.OPENCONFIRM),
        (State.OPENCONFIRM, State.ESTABLISHED),
    ]
    neg = p.a.of(ev.Established)[0].negotiated
    assert neg.peer_router_id == A4("192.168.0.7") and neg.ibgp
    assert neg.add_path_rx == neg.add_path_tx == {(1, 1)}
    assert neg.peer_gr is not None
    assert p.a.fsm.info == "Established   "
    assert p.b.of(ev.Established)[0].negotiated.peer_router_id == A4("192.168.0.40")
    # connect delay was honoured: nothing was dialed before 5 s
    first_dial = [e for e in p.a.log if isinstance(e, ev.StartTimer)][0]
    assert first_dial.timer == Timer.CONNECT_DELAY and first_dial.seconds == 5


def test_updates_flow_and_restart_hold() -> None:
    p = ibgp_pair()
    established(p)
    attrs = PathAttrs(origin=0, as_path=(), next_hop=A4("192.168.0.7"), local_pref=100)
    neg_b = p.b.fsm.negotiated
    wires = pack_updates(
        encode_attributes(attrs, neg_b), [(net.parse("10.41.113.192/26"), 0)], neg_b
    )
    assert p.b.fsm.send_updates(wires)
    p.pump()
    ups = p.a.of(ev.UpdateReceived)
    assert len(ups) == 1 and ups[0].update.nlri == [(net.parse("10.41.113.192/26"), 0)]
    assert ups[0].update.attrs == attrs
    # the update restarted the hold timer on A
    assert p.a.timers[(Timer.HOLD, p.a.fsm.session_conn)] == p.now + 240


def test_send_when_not_established_is_refused() -> None:
    p = ibgp_pair()
    p.start()
    assert not p.a.fsm.send_update(KEEPALIVE_WIRE)
    assert not p.a.fsm.send_route_refresh()


def test_keepalives_keep_session_up() -> None:
    p = ibgp_pair()
    established(p)
    p.advance(1000)
    assert p.a.fsm.state == p.b.fsm.state == State.ESTABLISHED
    writes = [e for e in p.a.log if isinstance(e, ev.Write) and e.data == KEEPALIVE_WIRE]
    assert len(writes) >= 1000 // 80


def test_hold_timer_expiry() -> None:
    p = ibgp_pair()
    established(p)
    p.drop_writes["B"] = True  # B goes silent
    p.advance(241)
    a = p.a
    assert a.fsm.last_error == "Error: Hold timer expired"
    sent = a.of(ev.NotificationSent)
    assert sent and (sent[0].notification.code, sent[0].notification.subcode) == (4, 0)
    down = a.of(ev.SessionDown)
    assert len(down) == 1 and down[0].error is not None and not down[0].graceful
    assert p.b.fsm.last_error == "Received: Hold timer expired"
    # error wait: A is Idle for 60 s before trying again
    assert a.fsm.state == State.IDLE
    waits = [e for e in a.log if isinstance(e, ev.StartTimer) and e.timer == Timer.ERROR_WAIT]
    assert [w.seconds for w in waits] == [60] and (Timer.ERROR_WAIT, None) in a.timers


@pytest.mark.parametrize(
    "forget,want",
    [
        # BIRD's defaults: wait 60..300 s, forget after 300 s without error;
        # the 300 s wait itself outlasts the forget time, so it starts over.
        (300, [60, 120, 240, 300, 60, 120]),
        (1000, [60, 120, 240, 300, 300, 300]),
    ],
)
def test_error_wait_back_off(forget: int, want: list[int]) -> None:
    # A expects the wrong AS: every attempt ends with 2/2 from A.
    a = make_config(63400, "192.168.0.40", 65000, error_forget_time=forget)
    b = make_config(63400, "192.168.0.7", 63400, passive=True)
    p = Pair(a, b)
    p.start()
    p.advance(2000)
    delays = [
        e.seconds for e in p.a.log if isinstance(e, ev.StartTimer) and e.timer == Timer.ERROR_WAIT
    ]
    assert delays[:6] == want
    sent = p.a.of(ev.NotificationSent)
    assert sent and all((s.notification.code, s.notification.subcode) == (2, 2) for s in sent)
    assert p.b.fsm.last_error == "Received: Bad peer AS"
    assert p.a.fsm.last_error == "Error: Bad peer AS"
    assert (
        p.a.fsm.info.startswith("Idle          Error: Bad peer AS") or p.a.fsm.state != State.IDLE
    )
    p.a.fsm.stop()
    assert p.a.fsm.startup_delay == 0


def test_error_forget_timer_resets_delay() -> None:
    fsm = PeerFsm(make_config(1, "1.1.1.1", 2))
    fsm.start()
    fsm._bump_delay()
    fsm._bump_delay()
    assert fsm.startup_delay == 120
    fsm.timer_expired(Timer.ERROR_FORGET)
    assert fsm.startup_delay == 0


def test_connection_refused_retries_after_connect_delay() -> None:
    p = ibgp_pair()
    p.b.listening = False
    p.start()
    p.advance(5)
    assert p.a.fsm.last_error == "Socket: Connection refused"
    assert p.a.fsm.state_text == "Active"
    assert p.a.fsm.info == "Active        Socket: Connection refused"
    p.advance(5)
    assert len(p.a.of(ev.OpenConnection)) == 2
    p.b.listening = True
    p.advance(5)
    assert p.a.fsm.state == State.ESTABLISHED and p.a.fsm.last_error == ""


def test_connect_retry_when_dial_hangs() -> None:
    p = ibgp_pair()
    p.b.hang = True
    p.start()
    p.advance(5)
    assert p.a.fsm.state_text == "Connect"
    p.advance(120)
    dials = p.a.of(ev.OpenConnection)
    assert len(dials) == 2
    closes = [e.conn_id for e in p.a.of(ev.CloseConnection)]
    assert dials[0].conn_id in closes


def test_collision_keeps_connection_of_higher_router_id() -> None:
    a = make_config(63400, "192.168.0.40", 63400)
    b = make_config(63400, "192.168.0.7", 63400)  # both active
    p = Pair(a, b)
    p.start()
    p.advance(6)
    assert p.a.fsm.state == p.b.fsm.state == State.ESTABLISHED
    # A (192.168.0.40) has the higher id: the connection A opened survives.
    assert len(p.a.of(ev.Established)) == 1 and len(p.b.of(ev.Established)) == 1
    sess_a = p.a.fsm.session_conn
    assert isinstance(sess_a, int)  # A's own dial (incoming ids are tuples)
    peer_side, peer_id = p.links[("A", sess_a)]
    assert peer_side is p.b and peer_id == p.b.fsm.session_conn
    ceases = [e.notification for s in (p.a, p.b) for e in s.of(ev.NotificationSent)]
    assert ceases and all((n.code, n.subcode) == (6, 7) for n in ceases)
    assert not p.a.of(ev.SessionDown) and not p.b.of(ev.SessionDown)
    # both stay up afterwards
    p.advance(600)
    assert p.a.fsm.state == p.b.fsm.state == State.ESTABLISHED


def _to_openconfirm(fsm: PeerFsm, cid: object, incoming: bool, peer_open: bytes) -> None:
    if not incoming:
        fsm.timer_expired(Timer.CONNECT_DELAY)
        fsm.connection_made(cid, incoming=False)
    else:
        fsm.connection_made(cid, incoming=True)
    fsm.data_received(cid, peer_open)


@pytest.mark.parametrize("first_incoming", [True, False])
def test_collision_with_equal_router_ids_keeps_incoming(first_incoming: bool) -> None:
    # A misconfigured reflector with the same router id as its client: like
    # BIRD's peer (which keeps the connection it opened), keep the incoming one.
    fsm = PeerFsm(make_config(63400, "10.0.0.1", 63400, reject_same_router_id=False))
    fsm.start()
    fsm.timer_expired(Timer.CONNECT_DELAY)
    out_id = [e for e in fsm.events() if isinstance(e, ev.OpenConnection)][0].conn_id
    peer_open = _open_from(63400, "10.0.0.1")
    order = [("in", True), (out_id, False)]
    if not first_incoming:
        order.reverse()
    for cid, inc in order:
        fsm.connection_made(cid, incoming=inc)
        fsm.data_received(cid, peer_open)
    out = fsm.events()
    assert ev.CloseConnection(out_id) in out and ev.CloseConnection("in") not in out
    fsm.data_received("in", KEEPALIVE_WIRE)
    assert fsm.state == State.ESTABLISHED and fsm.session_conn == "in"


@pytest.mark.parametrize("local_id,keep", [("10.0.0.9", "out"), ("10.0.0.1", "in")])
def test_collision_by_router_id(local_id: str, keep: str) -> None:
    fsm = PeerFsm(make_config(63400, local_id, 63400))
    fsm.start()
    fsm.timer_expired(Timer.CONNECT_DELAY)
    out_id = [e for e in fsm.events() if isinstance(e, ev.OpenConnection)][0].conn_id
    fsm.connection_made(out_id, incoming=False)
    fsm.connection_made("in", incoming=True)
    fsm.data_received(out_id, _open_from(63400, "10.0.0.5"))
    fsm.data_received("in", _open_from(63400, "10.0.0.5"))
    out = fsm.events()
    closed = out_id if keep == "in" else "in"
    kept = "in" if keep == "in" else out_id
    assert ev.CloseConnection(closed) in out and ev.CloseConnection(kept) not in out
    sent = [e for e in out if isinstance(e, ev.NotificationSent)]
    assert [(e.conn_id, e.notification.subcode) for e in sent] == [(closed, 7)]


def test_same_router_id_refused_by_default() -> None:
    a = make_config(63400, "10.0.0.1", 63400)
    b = make_config(63400, "10.0.0.1", 63400, passive=True)
    p = Pair(a, b)
    p.start()
    p.advance(6)
    assert p.a.fsm.last_error == "Error: Bad BGP identifier"


def test_admin_stop_sends_cease_with_message() -> None:
    p = ibgp_pair()
    established(p)
    p.a.fsm.stop(2, "maintenance")
    p.pump()
    assert p.a.fsm.state_text == "Down"
    got = p.b.of(ev.NotificationReceived)[0].notification
    assert got.shutdown_message == "maintenance"
    assert p.b.fsm.last_error == 'Received: Administrative shutdown: "maintenance"'
    down = p.b.of(ev.SessionDown)[0]
    assert down.notification == got and not down.graceful
    # a Cease is not an error: no back-off on B, which just listens again
    assert p.b.fsm.startup_delay == 0 and p.b.fsm.state_text == "Passive"
    # and A comes back when started again
    p.a.fsm.start()
    p.advance(6)
    assert p.a.fsm.state == p.b.fsm.state == State.ESTABLISHED


def test_tcp_loss_with_graceful_restart_peer_is_graceful() -> None:
    p = ibgp_pair(graceful_restart=True)
    established(p)
    cid = p.a.fsm.session_conn
    p.a.fsm.connection_lost(cid, "Connection reset by peer")
    down = [e for e in p.a.fsm.events() if isinstance(e, ev.SessionDown)]
    assert down and down[0].graceful and down[0].notification is None
    assert p.a.fsm.last_error == "Socket: Connection reset by peer"


def test_tcp_loss_without_gr_is_not_graceful() -> None:
    p = ibgp_pair()
    established(p)
    p.a.fsm.connection_lost(p.a.fsm.session_conn, "")
    down = [e for e in p.a.fsm.events() if isinstance(e, ev.SessionDown)]
    assert down and not down[0].graceful
    assert p.a.fsm.last_error == "Socket: Connection closed"


def test_new_connection_from_gr_peer_restarts_session() -> None:
    p = ibgp_pair(graceful_restart=True)
    established(p)
    # A dialed this session: a connection from B while it is new may be B's
    # own dial crossing A's (test below); later it can only be a restart
    p.advance(CROSSING_WINDOW)
    b_fsm = p.b.fsm
    p.b.fsm.events()
    # B restarts: the new incarnation connects while A still has the session.
    old = p.a.fsm.session_conn
    p.a.fsm.connection_made("new", incoming=True)
    out = p.a.fsm.events()
    down = [e for e in out if isinstance(e, ev.SessionDown)]
    assert down and down[0].graceful and down[0].reason == "Graceful restart"
    assert ev.CloseConnection(old) in out
    opens = [e for e in out if isinstance(e, ev.Write) and e.conn_id == "new" and e.data[18] == 1]
    assert opens
    assert b_fsm is p.b.fsm


def _open_of(cfg: PeerConfig) -> bytes:
    """The OPEN a speaker with ``cfg`` sends on a new connection."""
    fsm = PeerFsm(cfg)
    fsm.start()
    fsm.connection_made("c", incoming=True)
    return next(e.data for e in fsm.events() if isinstance(e, ev.Write))


def test_peers_crossing_dial_is_a_collision_not_a_restart() -> None:
    """Both ends dial at once (a restarted reflector and a node, as in the
    lab's swap drill): A's dial comes up first, and B's own connection, begun
    before B's end came up, reaches A only then. It is collision detection's
    to close, not a restart of B's: ending the session (as BIRD does) would
    make a BIRD peer count a second restart and flush the routes it kept."""
    p = ibgp_pair(graceful_restart=True)
    established(p)
    old = p.a.fsm.session_conn
    assert p.a.fsm.negotiated is not None and p.a.fsm.negotiated.peer_gr_ready
    assert (Timer.CROSSING, old) in p.a.timers
    p.a.fsm.events()
    p.a.fsm.connection_made("cross", incoming=True)
    out = p.a.fsm.events()
    assert not [e for e in out if isinstance(e, ev.SessionDown)]
    assert [e for e in out if isinstance(e, ev.Write) and e.conn_id == "cross"]  # our OPEN
    # B's OPEN on it: the Established session wins (RFC 4271 6.8)
    p.a.fsm.data_received("cross", _open_of(p.b.fsm.config))
    out = p.a.fsm.events()
    sent = [e.notification for e in out if isinstance(e, ev.NotificationSent)]
    assert [(n.code, n.subcode) for n in sent] == [(6, 7)]
    assert ev.CloseConnection("cross") in out
    assert not [e for e in out if isinstance(e, ev.SessionDown)]
    assert p.a.fsm.session_conn == old and p.a.fsm.state == State.ESTABLISHED
    assert p.a.fsm.last_error == ""


def test_peers_crossing_dial_closed_by_the_peer_leaves_the_session() -> None:
    """The other order: B meets A's OPEN on its own connection first and
    closes it with a collision Cease (BIRD's way); A's session stays."""
    p = ibgp_pair(graceful_restart=True)
    established(p)
    old = p.a.fsm.session_conn
    p.a.fsm.connection_made("cross", incoming=True)
    p.a.fsm.events()
    cease = encode_message(Notification(6, 7))
    p.a.fsm.data_received("cross", cease)
    out = p.a.fsm.events()
    assert ev.CloseConnection("cross") in out
    assert not [e for e in out if isinstance(e, (ev.SessionDown, ev.OpenConnection))]
    assert p.a.fsm.session_conn == old and p.a.fsm.state == State.ESTABLISHED
    assert p.a.fsm.startup_delay == 0  # a Cease is no error: no back-off either


def test_second_dial_on_a_session_the_peer_dialed_is_a_restart_at_once() -> None:
    """B's session is A's dial: another connection from A can only be A
    restarted, however new the session (no crossing is possible)."""
    p = ibgp_pair(graceful_restart=True)
    established(p)
    assert not [k for k in p.b.timers if k[0] is Timer.CROSSING]
    p.b.fsm.events()
    p.b.fsm.connection_made("again", incoming=True)
    down = [e for e in p.b.fsm.events() if isinstance(e, ev.SessionDown)]
    assert down and down[0].graceful and down[0].reason == "Graceful restart"


def test_crossing_window_ends_with_its_session() -> None:
    p = ibgp_pair(graceful_restart=True)
    established(p)
    old = p.a.fsm.session_conn
    p.a.fsm.connection_lost(old, "Connection reset by peer")
    out = p.a.fsm.events()
    assert ev.StopTimer(Timer.CROSSING, old) in out


def test_restart_aware_peer_is_not_restart_able() -> None:
    """BIRD 1.6's default: a GR capability that lists no family. Such a peer
    cannot restart gracefully: its session loss is a plain loss, and a second
    connection from it (a dial collision) must not end the session."""
    p = ibgp_pair(graceful_restart=True, gr_able=False)
    established(p)
    neg = p.a.fsm.negotiated
    assert neg is not None and neg.peer_gr is not None and not neg.peer_gr_able
    p.a.fsm.events()
    old = p.a.fsm.session_conn
    p.a.fsm.connection_made("late", incoming=True)
    out = p.a.fsm.events()
    # a candidate like any other (collision detection decides at its OPEN);
    # the Established session is not touched
    assert not [e for e in out if isinstance(e, ev.SessionDown)]
    assert p.a.fsm.session_conn == old and p.a.fsm.state == State.ESTABLISHED
    p.a.fsm.connection_lost("late", "Connection reset by peer")
    assert p.a.fsm.session_conn == old
    p.a.fsm.connection_lost(old, "Connection reset by peer")
    down = [e for e in p.a.fsm.events() if isinstance(e, ev.SessionDown)]
    assert down and not down[0].graceful


def test_unexpected_message_is_fsm_error() -> None:
    fsm = PeerFsm(make_config(1, "1.1.1.1", 2, passive=True))
    fsm.start()
    fsm.connection_made("c", incoming=True)
    fsm.events()
    fsm.data_received("c", KEEPALIVE_WIRE)
    out = fsm.events()
    sent = [e for e in out if isinstance(e, ev.NotificationSent)]
    assert (sent[0].notification.code, sent[0].notification.subcode) == (5, 1)
    assert ev.CloseConnection("c") in out
    assert fsm.last_error == "Error: Unexpected message in OpenSent state"


def test_garbage_gives_notification_not_exception() -> None:
    fsm = PeerFsm(make_config(1, "1.1.1.1", 2, passive=True))
    fsm.start()
    fsm.connection_made("c", incoming=True)
    fsm.data_received("c", b"\x00" * 40)
    out = fsm.events()
    sent = [e for e in out if isinstance(e, ev.NotificationSent)]
    assert (sent[0].notification.code, sent[0].notification.subcode) == (1, 1)
    assert fsm.last_error == "Error: Connection not synchronized"


def _open_from(asn: int, rid: str, caps=()) -> bytes:
    return encode_message(Open.make(asn, 90, A4(rid), caps))


def test_capability_refusal_retries_without_capabilities() -> None:
    fsm = PeerFsm(make_config(65000, "1.1.1.1", 65001))
    fsm.start()
    fsm.timer_expired(Timer.CONNECT_DELAY)
    cid = [e for e in fsm.events() if isinstance(e, ev.OpenConnection)][0].conn_id
    fsm.connection_made(cid, incoming=False)
    first_open = [e for e in fsm.events() if isinstance(e, ev.Write)][0].data
    assert decode_message(1, first_open[19:]).capabilities
    fsm.data_received(cid, encode_message(Notification(2, 4)))
    out = fsm.events()
    assert fsm.startup_delay == 0  # not counted as an error
    assert any(isinstance(e, ev.StartTimer) and e.timer == Timer.CONNECT_DELAY for e in out)
    fsm.timer_expired(Timer.CONNECT_DELAY)
    cid2 = [e for e in fsm.events() if isinstance(e, ev.OpenConnection)][0].conn_id
    fsm.connection_made(cid2, incoming=False)
    second = [e for e in fsm.events() if isinstance(e, ev.Write)][0].data
    assert decode_message(1, second[19:]).capabilities == ()
    # and the session comes up with an old-style peer
    fsm.data_received(cid2, _open_from(65001, "2.2.2.2") + KEEPALIVE_WIRE)
    assert fsm.state == State.ESTABLISHED
    assert not fsm.negotiated.as4


def test_hold_time_zero_means_no_timers() -> None:
    fsm = PeerFsm(make_config(65000, "1.1.1.1", 65001, passive=True, hold_time=0))
    fsm.start()
    fsm.connection_made("c", incoming=True)
    fsm.events()
    fsm.data_received("c", _open_from(65001, "2.2.2.2") + KEEPALIVE_WIRE)
    out = fsm.events()
    assert fsm.state == State.ESTABLISHED
    assert not [
        e for e in out if isinstance(e, ev.StartTimer) and e.timer in (Timer.HOLD, Timer.KEEPALIVE)
    ]


def test_incoming_refused_during_error_wait_and_when_stopped() -> None:
    fsm = PeerFsm(make_config(65000, "1.1.1.1", 65001))
    fsm.connection_made("x", incoming=True)
    assert ev.CloseConnection("x") in fsm.events()
    fsm.start()
    fsm.connection_made("c", incoming=True)
    fsm.data_received("c", _open_from(65002, "2.2.2.2"))  # bad AS -> error wait
    fsm.events()
    assert fsm.state == State.IDLE and fsm.startup_delay == 60
    fsm.connection_made("d", incoming=True)
    assert ev.CloseConnection("d") in fsm.events()


def test_route_refresh_received() -> None:
    p = ibgp_pair()
    established(p)
    assert p.b.fsm.send_route_refresh(1, 1)
    p.pump()
    got = p.a.of(ev.RouteRefreshReceived)
    assert got and (got[0].msg.afi, got[0].msg.safi, got[0].msg.subtype) == (1, 1, 0)


def test_treat_as_withdraw_update_is_delivered_with_problems() -> None:
    p = ibgp_pair()
    established(p)
    # ORIGIN value 7: RFC 7606 treat-as-withdraw, session stays up.
    attrs = bytes.fromhex("40010107" + "400200" + "400304c0a80007")
    nlri = bytes([26, 10, 41, 113, 192])
    body = b"\x00\x00" + len(attrs).to_bytes(2) + attrs + nlri
    wire = b"\xff" * 16 + (19 + len(body)).to_bytes(2) + b"\x02" + body
    p.b.fsm.send_update(wire)
    p.pump()
    up = p.a.of(ev.UpdateReceived)[0].update
    assert isinstance(up, Update) and up.treat_as_withdraw
    assert up.withdrawn == [(net.parse("10.41.113.192/26"), 0)]
    assert p.a.fsm.state == State.ESTABLISHED
    assert any("ORIGIN" in e.text for e in p.a.of(ev.Log))


def test_keepalive_timer_fires() -> None:
    p = ibgp_pair()
    established(p)
    n0 = len([e for e in p.a.log if isinstance(e, ev.Write)])
    p.advance(80)
    n1 = len([e for e in p.a.log if isinstance(e, ev.Write)])
    assert n1 == n0 + 1


def test_as_path_segment_type_constant() -> None:
    assert AS_SEQUENCE == 2


def test_new_connection_without_gr_loses_to_established_session() -> None:
    p = ibgp_pair()
    established(p)
    sess = p.a.fsm.session_conn
    p.a.fsm.connection_made("late", incoming=True)
    p.a.fsm.data_received("late", _open_from(63400, "192.168.0.7"))
    out = p.a.fsm.events()
    sent = [e for e in out if isinstance(e, ev.NotificationSent)]
    assert [(e.conn_id, e.notification.subcode) for e in sent] == [("late", 7)]
    assert not [e for e in out if isinstance(e, ev.SessionDown)]
    assert p.a.fsm.session_conn == sess and p.a.fsm.established


def test_no_common_family_is_open_error() -> None:
    fsm = PeerFsm(make_config(65000, "1.1.1.1", 65001, passive=True, families=((2, 1),)))
    fsm.start()
    fsm.connection_made("c", incoming=True)
    fsm.data_received("c", _open_from(65001, "2.2.2.2"))  # no MP: IPv4 only
    sent = [e for e in fsm.events() if isinstance(e, ev.NotificationSent)]
    assert (sent[0].notification.code, sent[0].notification.subcode) == (2, 7)
    assert sent[0].notification.data == bytes.fromhex("010400020001")


def test_error_on_one_connection_restarts_protocol_and_closes_the_other() -> None:
    fsm = PeerFsm(make_config(63400, "10.0.0.9", 63400))
    fsm.start()
    fsm.timer_expired(Timer.CONNECT_DELAY)
    out_id = [e for e in fsm.events() if isinstance(e, ev.OpenConnection)][0].conn_id
    fsm.connection_made(out_id, incoming=False)
    fsm.connection_made("in", incoming=True)
    fsm.events()
    fsm.data_received("in", b"\x00" * 19)  # garbage on the incoming one
    out = fsm.events()
    assert ev.CloseConnection("in") in out and ev.CloseConnection(out_id) in out
    sent = {(e.conn_id, e.notification.code) for e in out if isinstance(e, ev.NotificationSent)}
    assert sent == {("in", 1), (out_id, 6)}
    assert fsm.state == State.IDLE and fsm.startup_delay == 60


def test_stop_while_dialing_cancels_the_dial() -> None:
    fsm = PeerFsm(make_config(63400, "10.0.0.9", 63400))
    fsm.start()
    fsm.timer_expired(Timer.CONNECT_DELAY)
    out_id = [e for e in fsm.events() if isinstance(e, ev.OpenConnection)][0].conn_id
    fsm.stop()
    out = fsm.events()
    assert ev.CloseConnection(out_id) in out
    assert not [e for e in out if isinstance(e, ev.NotificationSent)]
    # a dial that completes afterwards is closed right away
    fsm.connection_made(out_id, incoming=False)
    assert ev.CloseConnection(out_id) in fsm.events()
    assert fsm.state_text == "Down"


def test_session_loss_restarts_after_pending_error_wait() -> None:
    # After an earlier error the back-off still applies when the next
    # session is simply lost (BIRD restarts the protocol with its delay).
    p = ibgp_pair()
    established(p)
    p.a.fsm._bump_delay()
    p.a.fsm.events()
    p.a.fsm.connection_lost(p.a.fsm.session_conn, "Connection reset by peer")
    out = p.a.fsm.events()
    assert ev.StartTimer(Timer.ERROR_WAIT, 60) in out
    assert p.a.fsm.state == State.IDLE
    assert p.a.fsm.info == "Idle          Socket: Connection reset by peer"
