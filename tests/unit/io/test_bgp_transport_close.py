"""Closing a BGP connection whose peer already reset it (a dial collision).

The kernel has dropped the socket to CLOSE, so ``shutdown(SHUT_WR)`` fails
with ENOTCONN; closing must still release the socket and not raise (the
daemon logged "error handling CloseConnection ... [Errno 107]").
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time

from bgplab.io.bgp_transport import BgpConnection


class _Owner:
    def __init__(self) -> None:
        self.lost: list[Exception | None] = []

    def on_connection_made(self, conn: BgpConnection) -> None:
        pass

    def on_data(self, conn: BgpConnection, data: bytes) -> None:
        pass

    def on_connection_lost(self, conn: BgpConnection, exc: Exception | None) -> None:
        self.lost.append(exc)


async def _reset_then_close() -> tuple[BgpConnection, socket.socket]:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        port = lsock.getsockname()[1]
        transport, conn = await loop.create_connection(
            lambda: BgpConnection(_Owner(), incoming=False), "127.0.0.1", port)
        peer, _ = lsock.accept()
    # The peer resets (linger 0) while our loop is not running, as when the
    # other side of a collision gives up first.
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()
    sock = transport.get_extra_info("socket")
    deadline = time.monotonic() + 2.0
    probe = socket.socket(fileno=sock.fileno())  # same fd, to see the kernel state
    try:
        while probe.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            assert time.monotonic() < deadline, "no reset seen"
            time.sleep(0.01)
    finally:
        probe.detach()
    conn.close()  # must not raise
    for _ in range(5):
        await asyncio.sleep(0)
    return conn, sock


def test_close_after_peer_reset_is_quiet_and_releases_the_socket() -> None:
    conn, sock = asyncio.run(_reset_then_close())
    assert conn.closed
    assert conn.transport is not None and conn.transport.is_closing()
    assert sock.fileno() == -1  # the socket is closed, not left to the grace timer
    assert conn.owner.lost == []  # type: ignore[union-attr]  # we closed it: no loss event
