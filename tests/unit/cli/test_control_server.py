"""The control server on a real Unix socket, with a daemon of real rib parts."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.cli import client
from bgplab.rib.route import Dest

from .fakedaemon import FakeDaemon, ServedDaemon, StaticProto, small_daemon


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FakeDaemon, ServedDaemon]]:
    d = small_daemon()
    s = ServedDaemon(d, str(tmp_path / "bgplab.ctl"))
    try:
        yield d, s
    finally:
        s.close()


def session(path: str) -> client.Connection:
    conn = client.Connection(path, timeout=10)
    assert conn.read_reply() == ["0001 BIRD 1.6.8 ready."]
    return conn


def test_socket_permissions_are_0660(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    _d, s = served
    st = os.stat(s.path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660


# Every command with a bad argument: a BIRD-style error, then the same
# session (and the daemon) keeps answering.
BAD = [
    ("show foo", "9001 syntax error"),
    ("show status extra", "9001 syntax error"),
    ("show protocols nope", "9002 nope is not a protocol"),
    ('show protocols "zz*"', "8003 No protocols match"),
    ("show protocols all a b", "9001 syntax error"),
    ("show route table nope", "9001 nope is not a table"),
    ("show route protocol nope", "9001 nope is not a protocol"),
    ("show route filter nope", "9001 No such filter."),
    ("show route export nope", "9001 nope is not a protocol"),
    ("show route preexport peer_c", "8005 Protocol is down"),
    ("show route for garbage", "9001 syntax error"),
    ("show route 10.50.1.1/24", "9001 Invalid prefix"),
    ("show route for 10.50.1.1/24", "9001 Invalid prefix"),
    ("show route for 1.2.3.4", "8001 Network not in table"),
    ("show route where net ~~ ~~", "9001 syntax error"),
    ("show route where foo = 1", None),  # the filter compiler's message, code 9001
    ("show interfaces bogus", "9001 syntax error"),
    ("show static nope", "9001 nope: Not a protocol"),
    ("show static peer_b", "9001 peer_b: Not a Static protocol"),
    ("show symbols a b", "9001 syntax error"),
    ("show memory now", "9001 syntax error"),
    ("configure bogus", "9001 syntax error"),
    ("enable nope", "9002 nope is not a protocol"),
    ('disable "zz*"', "8003 No protocols match"),
    ("restart", "9001 syntax error"),
    ("reload in nope", "9002 nope is not a protocol"),
    ("reload sideways peer_b", "9001 syntax error"),
    ("debug nope all", "9002 nope is not a protocol"),
    ("debug peer_b { nonsense }", "9001 syntax error"),
    ("down please", "9001 syntax error"),
    ("json enable peer_b", "9001 json: only show commands"),
    ("json show foo", "9001 syntax error"),
    ("\x00\xff garbage", "9001 syntax error"),
    ("", "9001 syntax error"),
]


def test_every_command_rejects_bad_arguments(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    d, s = served
    conn = session(s.path)
    try:
        for cmd, want in BAD:
            reply = conn.command(cmd)
            assert len(reply) == 1, (cmd, reply)
            if want is None:
                assert reply[0].startswith("9001 "), (cmd, reply)
            else:
                assert reply[0] == want, cmd
            assert conn.command("show status")[-1] == "0013 Daemon is up and running"
    finally:
        conn.close()
    assert not d.down_requested


def test_configure_replies(served: tuple[FakeDaemon, ServedDaemon], tmp_path: Path) -> None:
    d, s = served
    good = tmp_path / "bird.conf"
    good.write_text("router id 1.2.3.4;\n")
    conn = session(s.path)
    try:
        assert conn.command(f'configure check "{good}"') == [
            f"0002-Reading configuration from {good}",
            "0020 Configuration OK",
        ]
        assert conn.command(f'configure soft "{good}"')[-1] == "0003 Reconfigured"
        bad = conn.command('configure "/nonexistent/bird.conf"')
        assert bad[0] == "0002-Reading configuration from /nonexistent/bird.conf"
        assert bad[1].startswith("8002 /nonexistent/bird.conf: ")
    finally:
        conn.close()
    assert d.actions[:2] == [
        ("configure", (str(good), True, False)),
        ("configure", (str(good), False, True)),
    ]


def test_protocol_actions(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    d, s = served
    conn = session(s.path)
    try:
        assert conn.command("disable peer_b") == ["0009-peer_b: disabled", "0000 "]
        assert conn.command("disable peer_b") == ["0008-peer_b: already disabled", "0000 "]
        assert conn.command('enable "peer*"') == [
            "0011-peer_b: enabled",
            "0010-peer_c: already enabled",
            "0000 ",
        ]
        assert conn.command("restart peer_b") == ["0012-peer_b: restarted", "0000 "]
        assert conn.command("reload out peer_b") == ["0015-peer_b: reloading", "0000 "]
        assert conn.command("debug peer_b { states, routes }") == ["0000 "]
    finally:
        conn.close()
    assert d.protocols["peer_b"].debug == frozenset({"states", "routes"})
    assert ("reload", ("peer_b", "out")) in d.actions


def test_restricted_session(served: tuple[FakeDaemon, ServedDaemon], tmp_path: Path) -> None:
    d, s = served
    conf = tmp_path / "bird.conf"
    conf.write_text("router id 1.2.3.4;\n")
    conn = session(s.path)
    try:
        assert conn.command("restrict") == ["0016 Access restricted"]
        for cmd in ("disable peer_b", "configure", "down", "reload peer_b", "debug all off"):
            assert conn.command(cmd) == ["8007 Access denied"]
        # BIRD lets a restricted session check a configuration
        assert conn.command(f'configure check "{conf}"')[-1] == "0020 Configuration OK"
        assert conn.command("show protocols")[0].startswith("2002-")
    finally:
        conn.close()
    assert not d.protocols["peer_b"].disabled and not d.down_requested


def test_down_replies_then_shuts_down(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    d, s = served
    conn = session(s.path)
    try:
        assert conn.command("down") == ["0007 Shutdown ordered"]
        conn.command("show status")  # the reply is written before the action runs
    finally:
        conn.close()
    assert d.down_requested


def test_json_protocols_and_routes(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    d, s = served
    conn = session(s.path)
    try:
        reply = conn.command("json show protocols all")
        assert reply[-1] == "0000 " and reply[0].startswith("1100-")
        doc = json.loads(reply[0][5:])
        by = {p["name"]: p for p in doc}
        assert by["peer_b"]["bgp"]["bgp_state"] == "Established"
        assert by["peer_b"]["imported"] == d.protocols["peer_b"].channel.imported
        reply = conn.command("json show route protocol peer_b")
        assert reply[0].startswith("1100-") and reply[-1] == "0000 "
        assert all(line.startswith(" ") for line in reply[1:-1])  # one code, continued
        routes, errors = client.json_reply(reply)
        assert not errors and isinstance(routes, dict)
        assert [r["net"] for r in routes["routes"]] == ["10.50.0.0/24", "10.50.1.0/24"]
        assert routes["routes"][1]["bgp"]["communities"] == [[65002, 100], [65002, 200]]
        assert routes["total"] == 5 and routes["shown"] == 2
    finally:
        conn.close()


def test_explain_names_the_filter_and_the_winner(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    d, s = served
    # a second, less preferred route for the same net from a static protocol
    st2 = d.add(StaticProto, "static9", preference=50)
    st2.preference = 50
    d.route(st2, "10.50.1.0/24", dest=Dest.BLACKHOLE)
    conn = session(s.path)
    try:
        reply = conn.command("show route for 10.50.1.9 explain")
    finally:
        conn.close()
    text = "\n".join(reply)
    assert "Explain 10.50.1.0/24 in table master" in text
    assert "peer_b" in text and "best: preferred over static9 by preference" in text
    assert "lost to peer_b: preference" in text
    assert "peer_c: no route for this network" in text
    assert reply[-1] == "0000 "


def test_many_clients_at_once(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    _d, s = served
    want = "\n".join(session(s.path).command("show route all"))
    results: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            conn = session(s.path)
            try:
                for _ in range(5):
                    results.append("\n".join(conn.command("show route all")))
            finally:
                conn.close()
        except BaseException as exc:  # report in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 150 and all(r == want for r in results)


def test_slow_reader_does_not_block_others(tmp_path: Path) -> None:
    d = FakeDaemon()
    st = d.add(StaticProto, "static1")
    for i in range(20000):
        d.route(st, f"10.{i >> 8}.{i & 255}.0/24", dest=Dest.BLACKHOLE)
    s = ServedDaemon(d, str(tmp_path / "big.ctl"))
    try:
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        slow.connect(s.path)
        slow.sendall(b"show route all\n")  # ~1.5 MB of reply that nobody reads
        other = session(s.path)
        try:
            assert other.command("show route count") == [
                "0014 20000 of 20000 routes for 20000 networks"
            ]
        finally:
            other.close()
        # the slow client still gets its whole reply, in order
        f = slow.makefile("rb")
        f.readline()  # greeting
        n = 0
        while True:
            line = f.readline().decode()
            assert line, "reply cut short"
            if line.startswith("1007-") or line.startswith(" ") and "blackhole" in line:
                n += 1
            if line[:5] == "0000 ":
                break
        assert n == 20000
        slow.close()
    finally:
        s.close()


def test_huge_line_and_abrupt_disconnect(served: tuple[FakeDaemon, ServedDaemon]) -> None:
    _d, s = served
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(10)
    raw.connect(s.path)
    f = raw.makefile("rwb")
    f.readline()
    f.write(b"show " + b"x" * 1_000_000 + b"\n")
    f.write(b"show status\n")
    f.flush()
    assert f.readline() == b"9000 Command too long\n"
    assert f.readline().startswith(b"1000-BIRD")
    # ask for a reply and vanish before reading it
    f.write(b"show route all\n")
    f.flush()
    raw.close()
    conn = session(s.path)
    try:
        assert conn.command("show status")[-1] == "0013 Daemon is up and running"
    finally:
        conn.close()


def test_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = str(tmp_path / "stale.ctl")
    old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old.bind(path)
    old.close()  # the file stays behind, like after a crash
    s = ServedDaemon(small_daemon(), path)
    try:
        conn = session(path)
        conn.close()
    finally:
        s.close()
    assert not os.path.exists(path)


@pytest.mark.parametrize(
    "command",
    [
        "show status",
        "show protocols",
        "show protocols all peer_b",
        "show route all",
        "show route count",
        "show interfaces",
        "show interfaces summary",
        "show static static1",
        "show symbols",
        "show memory",
    ],
)
def test_every_show_command_has_json(served: tuple[FakeDaemon, ServedDaemon], command: str) -> None:
    d, s = served
    d.protocols["static1"].config.routes = []
    conn = session(s.path)
    try:
        doc, errors = client.json_reply(conn.command(f"json {command}"))
    finally:
        conn.close()
    assert not errors
    assert doc is not None
    if command == "show status":
        assert doc["router_id"] == "127.4.0.1"  # type: ignore[index]
