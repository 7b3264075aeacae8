"""Golden vectors recorded from a real BIRD 1.6.8 (see bird_capture.py).

The unit tests decode the stored bytes and rebuild them bit for bit; the
interop test records them again from a live BIRD and checks they still
match in meaning.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address as A4
from pathlib import Path

import pytest

from bgplab import net
from bgplab.bgp.attr_codec import encode_attributes
from bgplab.bgp.capabilities import LocalConfig, negotiate
from bgplab.bgp.framer import Framer
from bgplab.bgp.messages import Open, Update, decode_message, encode_message, pack_updates
from bgplab.extpeers import available

GOLDEN = Path(__file__).parent / "golden"


def load(name: str) -> bytes:
    return bytes.fromhex((GOLDEN / f"bird16_{name}.hex").read_text().strip())


def one(wire: bytes, neg=None):
    frames = Framer().feed(wire)
    assert len(frames) == 1
    return decode_message(*frames[0], neg)


LOCAL = LocalConfig(63400, A4("192.168.0.40"), add_path={(1, 1): 3}, graceful_restart=True)


def bird_negotiated(open_msg: Open):
    return negotiate(
        LOCAL, open_msg.asn, open_msg.hold_time, open_msg.router_id, open_msg.capabilities
    )


def test_bird_open() -> None:
    wire = load("open")
    msg = one(wire)
    assert isinstance(msg, Open)
    assert (msg.asn, msg.hold_time, msg.router_id) == (63400, 240, A4("192.168.0.7"))
    assert encode_message(msg) == wire
    neg = bird_negotiated(msg)
    # exactly what `birdc show protocols all` prints for a Calico node
    assert " ".join(neg.peer_caps) == (
        "refresh enhanced-refresh restart-able llgr-aware AS4 add-path-rx add-path-tx"
    )
    assert neg.add_path_rx == neg.add_path_tx == {(1, 1)}
    assert neg.peer_gr is not None and neg.peer_gr.restart_time == 120


def test_bird_open_is_what_we_send_for_the_same_config() -> None:
    # Our OPEN for the same options is byte-identical to BIRD's.
    bird = LocalConfig(
        63400, A4("192.168.0.7"), add_path={(1, 1): 3}, graceful_restart=True, llgr=True
    )
    ours = encode_message(Open.make(63400, 240, bird.router_id, bird.open_capabilities()))
    assert ours == load("open")


def test_bird_update_decodes_and_rebuilds_bit_for_bit() -> None:
    neg = bird_negotiated(one(load("open")))
    wire = load("update_1")
    u = one(wire, neg)
    assert isinstance(u, Update) and not u.problems and not u.treat_as_withdraw
    assert sorted(n for n, _ in u.nlri) == sorted(
        [net.parse("10.41.113.192/26"), net.parse("10.43.0.0/16")]
    )
    assert all(pid != 0 for _n, pid in u.nlri)  # ADD-PATH path ids present
    a = u.attrs
    assert a is not None
    assert (a.origin, a.as_path, a.med, a.local_pref) == (0, (), 5, 100)
    assert a.communities == ((63400, 100),)
    assert a.large_communities == ((63400, 1, 2),)
    assert a.next_hop is not None and a.next_hop.packed[0] == 127
    # our encoder produces BIRD's attribute block and message exactly
    block = encode_attributes(a, neg)
    assert pack_updates(block, u.nlri, replace(neg, add_path_tx=neg.add_path_rx)) == [wire]


def test_bird_end_of_rib() -> None:
    assert one(load("eor")) == Update(eor=(1, 1))


@pytest.mark.root
@pytest.mark.interop
@pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed")
def test_live_bird_matches_golden() -> None:
    from .bird_capture import capture

    got = capture()
    assert got["_established"] == b"1"
    assert got["open"] == load("open")
    neg = bird_negotiated(one(got["open"]))
    live = one(got["update_1"], neg)
    gold = one(load("update_1"), neg)
    assert sorted(live.nlri) == sorted(gold.nlri)
    assert live.attrs.replace(next_hop=None) == gold.attrs.replace(next_hop=None)
    assert got["eor"] == load("eor")
