"""Writes that go straight to the socket while nothing is queued.

``BgpConnection.send`` skips the transport while its buffer is empty; what
the socket does not take goes to the transport. Whatever mix of direct and
buffered writes, the peer must get every byte in order, the transport's flow
control must pause and resume the connection, and a reset peer must end the
connection as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import SimpleNamespace

from bgplab.io.bgp_transport import BgpConnection, FanOut


class _Watched(BgpConnection):
    """Records the transport's flow-control calls."""

    def __init__(self) -> None:
        self.lost: list[Exception | None] = []
        owner = SimpleNamespace(
            on_connection_made=lambda conn: None,
            on_data=lambda conn, data: None,
            on_connection_lost=lambda conn, exc: self.lost.append(exc),
        )
        super().__init__(owner, incoming=False)
        self.pauses = 0
        self.resumes = 0

    def pause_writing(self) -> None:
        self.pauses += 1
        super().pause_writing()

    def resume_writing(self) -> None:
        self.resumes += 1
        super().resume_writing()


async def _pair(rcvbuf: int = 0, sndbuf: int = 4096) -> tuple[_Watched, socket.socket]:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as lsock:
        if rcvbuf:
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        port = lsock.getsockname()[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if sndbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        _t, conn = await loop.create_connection(_Watched, sock=sock)
        peer, _ = lsock.accept()
    peer.setblocking(False)
    conn.transport.set_write_buffer_limits(high=64 * 1024)  # type: ignore[union-attr]
    return conn, peer


def _message(k: int) -> bytes:
    """A numbered record of varying size, so reordering or loss shows (a
    big one now and then, which the socket takes only in part)."""
    body = struct.pack("!I", k) * (10000 if k % 97 == 0 else 1 + k % 50)
    return struct.pack("!H", len(body)) + body


def _parse(stream: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(stream):
        (n,) = struct.unpack_from("!H", stream, pos)
        body = stream[pos + 2 : pos + 2 + n]
        assert len(body) == n, "truncated record"
        k = struct.unpack_from("!I", body)[0]
        assert body == struct.pack("!I", k) * (n // 4), f"record {k} corrupted"
        out.append(k)
        pos += 2 + n
    return out


async def _read_all(peer: socket.socket, want: int, *, slow: bool) -> bytes:
    loop = asyncio.get_running_loop()
    got = bytearray()
    while len(got) < want:
        chunk = await asyncio.wait_for(loop.sock_recv(peer, 1024 if slow else 65536), 10)
        assert chunk, "connection closed early"
        got += chunk
        if slow:
            await asyncio.sleep(0)  # the writer gets a turn between reads
    return bytes(got)


async def _slow_reader() -> None:
    conn, peer = await _pair(rcvbuf=4096)
    sent = bytearray()
    queued_max = 0
    direct_before = conn._direct
    # the peer does not read: the socket fills, the transport buffers,
    # and flow control pauses the connection
    for k in range(6000):
        m = _message(k)
        # keepalives and notifications take the other entry point
        q = conn.send(m) if k % 7 else (conn.write_now(m), conn.queued())[1]
        queued_max = max(queued_max, q)
        sent += m
    assert direct_before
    assert queued_max > 64 * 1024
    assert conn.paused and conn.pauses == 1
    assert not conn._direct
    # now it reads, slowly; we go on writing meanwhile, one record a turn
    more = [_message(k) for k in range(6000, 9000)]
    total = len(sent) + sum(map(len, more))
    reader = asyncio.ensure_future(_read_all(peer, total, slow=True))
    for m in more:
        conn.send(m)
        sent += m
        await asyncio.sleep(0)
    got = await reader
    assert conn.resumes >= 1 and not conn.paused
    assert got == bytes(sent)
    assert _parse(got) == list(range(9000))
    # drained: writes go straight to the socket again
    for _ in range(50):
        if conn.queued() == 0:
            break
        await asyncio.sleep(0.01)
    assert conn.send(_message(9000)) == 0
    assert conn._direct
    assert _parse(await _read_all(peer, len(_message(9000)), slow=False)) == [9000]
    conn.abort()
    peer.close()


def test_slow_reader_gets_every_byte_in_order_and_the_connection_pauses_and_resumes() -> None:
    asyncio.run(_slow_reader())


async def _reset_peer() -> _Watched:
    conn, peer = await _pair()
    assert conn.send(_message(1)) == 0
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()
    await asyncio.sleep(0.05)
    for k in range(3):  # an error on the socket goes to the transport, not to us
        conn.send(_message(k))
        await asyncio.sleep(0.01)
    return conn


def test_a_reset_peer_ends_the_connection_through_the_transport() -> None:
    conn = asyncio.run(_reset_peer())
    assert conn.closed and not conn._direct
    assert len(conn.lost) == 1
    assert isinstance(conn.lost[0], ConnectionResetError | BrokenPipeError)


async def _fan_out() -> None:
    fan_out = FanOut()
    fast, fast_peer = await _pair(sndbuf=0)
    slow, slow_peer = await _pair(rcvbuf=4096)  # its peer does not read yet
    calls: list[int] = []

    def member(conn: _Watched | None, tag: int) -> SimpleNamespace:
        def send_wire(chunks: list[bytes]) -> None:
            calls.append(tag)
            if conn is not None:
                conn.send(b"".join(chunks))

        return SimpleNamespace(active_conn=conn, send_wire=send_wire)

    members = [member(fast, 0), member(None, 1), member(slow, 2)]
    sent = bytearray()
    got_fast = bytearray()
    got_slow = bytearray()
    loop = asyncio.get_running_loop()
    for k in range(3000):  # 0 is a big record: the slow socket takes it in part
        m = _message(k)
        fan_out(members, m)  # type: ignore[arg-type]
        sent += m
        if k % 20 == 0:  # the fast peer reads as it goes
            await asyncio.sleep(0)
            with contextlib.suppress(BlockingIOError):
                while chunk := fast_peer.recv(1 << 20):
                    got_fast += chunk
        if k % 200 == 100:  # the slow one makes a little room now and then
            with contextlib.suppress(BlockingIOError):
                got_slow += slow_peer.recv(2048)
    assert slow.paused and not slow._direct  # its writes went to the transport
    assert calls.count(1) == 3000  # no connection: send_wire is asked, as before
    assert calls.count(2) > 0  # the slow one: the rest of a partial write, then queued
    assert calls.count(0) < 1500  # the fast one mostly took it directly
    rest = len(sent) - len(got_fast)
    fast_peer.setblocking(False)
    while rest > 0:
        chunk = await asyncio.wait_for(loop.sock_recv(fast_peer, 1 << 20), 10)
        got_fast += chunk
        rest -= len(chunk)
    assert got_fast == bytes(sent)
    got_slow += await _read_all(slow_peer, len(sent) - len(got_slow), slow=False)
    assert got_slow == bytes(sent)
    fast.abort()
    slow.abort()
    fast_peer.close()
    slow_peer.close()


def test_fan_out_writes_direct_where_it_can_and_keeps_each_connection_in_order() -> None:
    asyncio.run(_fan_out())
