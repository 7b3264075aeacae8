"""BGP sessions keep Nagle's algorithm on, as BIRD does: asyncio turns it off
(TCP_NODELAY) on every TCP transport, and bgp_transport turns it back on,
for connections we dial and connections we accept (docs/bench.md, issue 15's
sixth pass: under churn a write behind an unacknowledged segment then only
queues its bytes)."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

from bgplab.io.bgp_transport import BgpConnection, Listener, connect


def _owner(made: list[BgpConnection]) -> SimpleNamespace:
    return SimpleNamespace(
        on_connection_made=made.append,
        on_data=lambda conn, data: None,
        on_connection_lost=lambda conn, exc: None,
    )


def _nodelay(conn: BgpConnection) -> int:
    assert conn.transport is not None
    sock = conn.transport.get_extra_info("socket")
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


async def _both_ends() -> tuple[int, int, bytes]:
    accepted: list[BgpConnection] = []
    dialled: list[BgpConnection] = []
    listener = Listener("127.0.0.1", 0, lambda addr: _owner(accepted))
    await listener.start()
    try:
        port = listener.sockets[0].getsockname()[1]
        conn = await connect(_owner(dialled), "127.0.0.1", port, local=None, ttl=1,
                             min_ttl=None, password=None, timeout=5)
        for _ in range(200):
            if accepted:
                break
            await asyncio.sleep(0.01)
        assert accepted and dialled == [conn]
        # bytes still flow both ways, in order
        got = bytearray()
        accepted[0].owner = SimpleNamespace(on_data=lambda c, d: got.extend(d),
                                            on_connection_lost=lambda c, e: None)
        for i in range(50):
            conn.send(bytes([i]) * 19)
        for _ in range(200):
            if len(got) == 50 * 19:
                break
            await asyncio.sleep(0.01)
        out = (_nodelay(conn), _nodelay(accepted[0]), bytes(got))
        conn.close()
        accepted[0].close()
        return out
    finally:
        await listener.close()


def test_dialled_and_accepted_sessions_have_nagle_on() -> None:
    dialled, accepted, got = asyncio.run(_both_ends())
    assert dialled == 0
    assert accepted == 0
    assert got == b"".join(bytes([i]) * 19 for i in range(50))
