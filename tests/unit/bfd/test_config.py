"""`protocol bfd` and `bfd on` in BIRD 1.6's syntax, its errors at BIRD's
positions, the request broker and `show bfd sessions`' layout."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bgplab.bfd.packet import Diag, State
from bgplab.bfd.requests import Broker
from bgplab.bfd.session import Options, Session
from bgplab.cli.bfd_show import show_bfd_sessions
from bgplab.config import parse_text
from bgplab.config.bfd import BfdConfig, BfdOptions
from bgplab.config.errors import ConfigError

CONF = """
router id 10.106.0.3;
protocol bfd {
  interface "a*", "-b*" { interval 50 ms; multiplier 3; passive yes; };
  interface "eth0" { min rx interval 200 ms; min tx interval 1 s; idle tx interval 2 s; };
  multihop { min rx interval 300 ms; };
  neighbor 10.1.1.1;
  neighbor 10.1.1.2 dev "eth0" local 10.1.1.3 multihop off;
}
protocol bgp x { local as 1; neighbor 10.106.0.9 as 1; direct; bfd on; }
protocol bgp y { local 10.106.0.3 as 1; neighbor 10.106.0.8 as 1; bfd yes; }
protocol bgp z { local 10.106.0.3 as 1; neighbor 10.106.0.7 as 1; bfd graceful; }
"""


def test_protocol_bfd_options() -> None:
    c = parse_text(CONF)
    bfd = next(p for p in c.protocols if p.kind == "bfd")
    assert isinstance(bfd, BfdConfig) and bfd.name == "bfd1" and bfd.preference == 0
    assert bfd.options_for("a0", False) == BfdOptions(50_000, 50_000, 1_000_000, 3, True)
    assert bfd.options_for("eth0", False) == BfdOptions(200_000, 1_000_000, 2_000_000, 5)
    assert bfd.options_for("b0", False) == BfdOptions()  # excluded: defaults
    assert bfd.options_for("a0", True).min_rx == 300_000
    assert [n.address for n in bfd.neighbors] == ["10.1.1.1", "10.1.1.2"]
    assert bfd.neighbors[1].iface == "eth0" and bfd.neighbors[1].local == "10.1.1.3"
    assert [p.bfd for p in c.protocols if p.kind == "bgp"] == [True, True, "graceful"]


@pytest.mark.parametrize(
    ("text", "where", "msg"),
    [
        # BIRD 1.6.8 at the same line:col (bird -p)
        ('protocol bfd { interface "a*" { min rx interval 5; }; }', "2:50", "syntax error"),
        ('protocol bfd { interface "a*" { foo 5; }; }', "2:33", "syntax error"),
        (
            "protocol bgp x { local as 1; neighbor 10.1.1.1 as 1; bfd on; }",
            "2:62",
            "Multihop BGP with BFD requires specified source address",
        ),
        # ours alone: BIRD 1.6 takes 0 and would send packets RFC 5880 discards
        ('protocol bfd { interface "a*" { multiplier 0; }; }', "2:33", "range 1-255"),
    ],
)
def test_errors(text: str, where: str, msg: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_text("router id 10.106.0.3;\n" + text + "\n")
    assert f":{where}:" in str(exc.value) and msg in str(exc.value)


class Provider:
    def __init__(self) -> None:
        self.got: list = []

    def add_request(self, req) -> None:
        self.got.append(req)
        req.update(State.DOWN, Diag.NONE)

    def remove_request(self, req) -> None:
        self.got.remove(req)


def test_broker_serves_waiting_requests_and_reports_only_up_to_down() -> None:
    b = Broker()
    seen: list[tuple[State, bool]] = []
    req = b.request("10.0.0.2", notify=lambda r: seen.append((r.state, r.down)))
    assert req.provider is None and req.state == State.DOWN  # no BFD protocol yet
    p = Provider()
    b.attach(p)
    assert p.got == [req]
    req.update(State.INIT, Diag.NONE)
    req.update(State.DOWN, Diag.EXPIRED)  # never was Up: not "down"
    req.update(State.UP, Diag.NONE)
    req.update(State.DOWN, Diag.EXPIRED)
    assert seen == [(State.INIT, False), (State.DOWN, False), (State.UP, False), (State.DOWN, True)]
    req.update(State.UP, Diag.NONE)
    b.detach(p)  # the BFD protocol stops: AdminDown, which is no neighbor failure
    assert req.state == State.ADMIN_DOWN and not req.down and req.provider is None
    req.cancel()
    assert b.requests == []


def test_show_bfd_sessions_layout() -> None:
    s = Session(7, Options(100_000, 100_000, 1_000_000, 3))
    s.state, s.sent, s.remote_min_rx, s.des_min_tx = State.UP, True, 100_000, 100_000
    s.remote_min_tx, s.remote_detect_mult = 100_000, 3
    row = SimpleNamespace(addr="10.106.0.2", iface="a0", session=s, since=0.0)
    proto = SimpleNamespace(name="bfd1", session_rows=lambda: [row])
    daemon = SimpleNamespace(config=None)
    lines = show_bfd_sessions(daemon, proto, 0.0)
    assert lines[0] == (1020, "bfd1:")
    assert lines[1] == (
        1020,
        "IP address                Interface  State      Since       Interval  Timeout",
    )
    code, text = lines[2]
    assert code == 1020 and text.startswith("10.106.0.2                a0         Up         ")
    assert text.endswith("      0.100    0.300")
    assert lines[-1] == (0, "")


def test_show_bfd_sessions_errors_as_bird() -> None:
    from bgplab.cli.commands import CommandError
    from bgplab.cli.execute import proto_named

    daemon = SimpleNamespace(protocols={"b": SimpleNamespace(proto_name="BGP")})
    for name, msg in (
        (None, "There is no BFD protocol running"),
        ("b", "b: Not a BFD protocol"),
        ("x", "x: Not a protocol"),
    ):
        with pytest.raises(CommandError, match=msg):
            proto_named(daemon, name, "BFD")
