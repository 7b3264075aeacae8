"""The control socket answers while a burst of BGP sessions is being set up.

A real daemon (no root: loopback, a port above 1024) with 64 passive
neighbors; all 64 connect and send their OPEN at once, and a control client
asks ``show status`` at the same moment. The BGP input budget is set to
zero (one read per loop turn beyond the first), so the burst takes many
turns: the reply must come while OPENs are still waiting, not after all of
them (before the shared input budget, every OPEN was handled in the one
turn they arrived in, ahead of the control socket's accept and greeting).
No timing is asserted: ordering and progress only.
"""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address
from pathlib import Path

from bgplab.bgp import messages
from bgplab.config import parse_text
from bgplab.daemon import Daemon
from bgplab.io.bgp_input import InputQueue
from bgplab.io.control import ControlServer

ADDR, PORT = "127.30.5.1", 17305
NEIGHBORS = [f"127.30.5.{10 + i}" for i in range(64)]


def _config() -> str:
    lines = [f"router id {ADDR};", f"listen bgp address {ADDR} port {PORT};"]
    for i, n in enumerate(NEIGHBORS):
        lines.append(
            f"protocol bgp n{i} {{ local {ADDR} as 64512; neighbor {n} as 64512; passive on; "
            "import all; export all; }")
    return "\n".join(lines) + "\n"


def _opened(d: Daemon) -> int:
    """Sessions whose OPEN the daemon has handled."""
    return sum(1 for p in d.protocols.values()
               if getattr(p, "bgp_state", "") in ("OpenConfirm", "Established"))


def test_show_status_answered_during_a_burst_of_session_set_ups(tmp_path: Path) -> None:
    ctl_path = str(tmp_path / "bgplabd.ctl")
    seen: dict[str, object] = {}

    async def main() -> None:
        d = Daemon(parse_text(_config()), "<test>", ctl_path)
        queue = InputQueue(budget=0.0)
        d.ctx.extra["bgp_input"] = queue
        await d.start()
        d._control = ControlServer(d, ctl_path)  # as Daemon.run
        await d._control.start()
        peers: list[socket.socket] = []
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # every OPEN and the command are in the kernel before the
            # daemon's loop runs again: connect() completes in the backlog
            for n in NEIGHBORS:
                s = socket.socket()
                peers.append(s)
                s.bind((n, 0))
                s.connect((ADDR, PORT))
                s.sendall(messages.encode_open(
                    messages.Open.make(64512, 240, IPv4Address(n))))
            ctl.connect(ctl_path)
            ctl.sendall(b"show status\n")
            ctl.setblocking(False)
            reply = b""
            for _ in range(10_000):
                await asyncio.sleep(0)
                try:
                    reply += ctl.recv(65536)
                except BlockingIOError:
                    continue
                if b"\n0013 " in reply:
                    break
            seen["reply"] = reply.decode()
            seen["opened_at_reply"] = _opened(d)
            seen["waiting_at_reply"] = len(queue)
            for _ in range(10_000):  # and the burst still completes
                if _opened(d) == len(NEIGHBORS):
                    break
                await asyncio.sleep(0)
            seen["opened_in_the_end"] = _opened(d)
        finally:
            ctl.close()
            for s in peers:
                s.close()
            await d._shutdown()

    asyncio.run(main())
    reply = str(seen["reply"])
    assert reply.startswith("0001 BIRD ")
    assert "\n0013 Daemon is up and running" in reply
    opened_at_reply = int(seen["opened_at_reply"])  # type: ignore[call-overload]
    assert opened_at_reply < len(NEIGHBORS), "the reply waited for the whole burst"
    assert int(seen["waiting_at_reply"]) > 0  # type: ignore[call-overload]
    assert seen["opened_in_the_end"] == len(NEIGHBORS)
