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
