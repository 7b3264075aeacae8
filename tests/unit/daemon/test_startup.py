"""bgplabd's start-up order on loopback (no root: ports above 1024).

A Calico node that dials the reflector the moment it starts listening must
meet its protocol, not "unexpected connect from unknown address"; a listening
address that is taken ends the daemon with one clear line.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bgplab.config import parse_text
from bgplab.daemon import Daemon
from bgplab.io.bgp_runtime import BgpRuntime

ADDR, PORT = "127.2.9.1", 17979
NEIGHBORS = ["127.2.9.10", "127.2.9.11", "127.2.9.12"]


def config_text(port: int = PORT) -> str:
    lines = [f"router id {ADDR};", f"listen bgp address {ADDR} port {port};"]
    for i, n in enumerate(NEIGHBORS):
        lines.append(
            f"protocol bgp n{i} {{ local {ADDR} as 64512; neighbor {n} as 64512; passive on; "
            "import all; export all; }"
        )
    return "\n".join(lines) + "\n"


def test_listener_opens_after_the_bgp_protocols_know_their_neighbors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known_at_listen: list[set[str]] = []
    real = BgpRuntime.start_listener

    async def spy(self: BgpRuntime, protocols: object) -> None:
        known_at_listen.append(set(self.peers))
        await real(self, protocols)  # type: ignore[arg-type]

    monkeypatch.setattr(BgpRuntime, "start_listener", spy)

    async def main() -> None:
        d = Daemon(parse_text(config_text()), "<test>", None)
        await d.start()
        try:
            # and a connection right away is handed to its protocol
            _, w = await asyncio.open_connection(ADDR, PORT, local_addr=(NEIGHBORS[1], 0))
            for _ in range(100):
                if d.protocols["n1"].conns:
                    break
                await asyncio.sleep(0.01)
            assert d.protocols["n1"].conns, "the incoming connection met no protocol"
            w.close()
        finally:
            await d._shutdown()

    asyncio.run(main())
    assert known_at_listen == [set(NEIGHBORS)]


def test_listen_address_in_use_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind((ADDR, 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        conf = tmp_path / "bird.conf"
        conf.write_text(config_text(port))
        res = subprocess.run(
            [sys.executable, "-m", "bgplab.daemon", "-f", "-c", str(conf),
             "-s", str(tmp_path / "ctl")],
            capture_output=True, text=True, timeout=60,
        )
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "Address already in use" in res.stderr.splitlines()[-1]


async def _connects(port: int, neighbor: str) -> bool:
    try:
        _, w = await asyncio.open_connection(ADDR, port, local_addr=(neighbor, 0))
    except ConnectionRefusedError:
        return False
    w.close()
    return True


def test_configure_moves_the_listening_socket(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text(config_text(PORT + 1))

    async def main() -> None:
        d = Daemon(parse_text(conf.read_text()), str(conf), None)
        await d.start()
        try:
            assert await _connects(PORT + 1, NEIGHBORS[0])
            conf.write_text(config_text(PORT + 2))
            ok, msg = await d.configure()
            assert ok, msg
            assert await _connects(PORT + 2, NEIGHBORS[0])
            assert not await _connects(PORT + 1, NEIGHBORS[0])
        finally:
            await d._shutdown()

    asyncio.run(main())


def test_configure_to_a_taken_address_is_refused_whole(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text(config_text(PORT + 3))
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind((ADDR, 0))
        taken.listen(1)
        busy = taken.getsockname()[1]

        async def main() -> None:
            d = Daemon(parse_text(conf.read_text()), str(conf), None)
            await d.start()
            try:
                before = d.config
                # also a new protocol: it must not appear
                conf.write_text(config_text(busy) + "protocol bgp extra { local as 64512; "
                                "neighbor 127.2.9.20 as 64512; }\n")
                ok, msg = await d.configure()
                assert not ok
                assert msg == f"Cannot listen on {ADDR} port {busy}: Address already in use"
                assert d.config is before and "extra" not in d.protocols
                assert await _connects(PORT + 3, NEIGHBORS[0])  # the old socket still listens
            finally:
                await d._shutdown()

        asyncio.run(main())
