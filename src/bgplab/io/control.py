"""The control socket: BIRD 1.6's CLI protocol on a Unix socket.

Each client gets the greeting ``0001 BIRD 1.6.8 ready.`` and then sends
one command per line; every reply ends with a line whose code is followed
by a space (``0000 ``, ``0013 …``, ``9001 syntax error``). Commands run
one at a time per client, clients run concurrently.

A client that reads slowly only stalls its own coroutine (we wait for
the socket buffer to drain between chunks), large replies are produced
while they are written and yield to the event loop, and neither a huge
line nor an internal error ends anything but, at worst, that command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from typing import Any

from bgplab.cli import render
from bgplab.cli.commands import MAX_LINE
from bgplab.cli.execute import Session, execute

log = logging.getLogger("bgplab.control")

GREETING = f"0001 BIRD {render.VERSION} ready.\n"
CHUNK = 64 * 1024  # bytes written before waiting for the client to drain
YIELD_EVERY = 2000  # lines rendered between yields to the event loop
DRAIN_TIMEOUT = 300.0  # a client that reads nothing for this long is dropped
READ_LIMIT = 64 * 1024


class ControlServer:
    """``ControlServer(daemon, path)``; ``await start()`` / ``await close()``."""

    def __init__(self, daemon: Any, path: str, mode: int = 0o660) -> None:
        self.daemon = daemon
        self.path = path
        self.mode = mode
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.stat(self.path).st_mode):
                os.unlink(self.path)  # a stale socket of a previous run, as BIRD does
        try:
            self._server = await asyncio.start_unix_server(
                self._client, self.path, limit=READ_LIMIT
            )
        except OSError as exc:  # bind() does not name the path: say which socket failed
            raise OSError(f"Cannot create control socket {self.path}: {exc.strerror}") from None
        os.chmod(self.path, self.mode)
        log.debug("control socket %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self._clients):
            w.close()
        for t in list(self._tasks):
            t.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._clients.add(writer)
        session = Session()
        try:
            writer.write(GREETING.encode())
            await writer.drain()
            while True:
                line = await _read_line(reader)
                if line is None:
                    break
                if not await self._run(line, session, writer):
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._clients.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _run(self, line: str, session: Session, writer: asyncio.StreamWriter) -> bool:
        """Answer one command; False when the connection should end."""
        if len(line) > MAX_LINE:
            await _write(writer, ["9000 Command too long"])
            return True
        try:
            reply = await execute(self.daemon, line, session)
            await _write_reply(writer, reply.lines)
        except (TimeoutError, ConnectionError):
            return False
        except Exception:  # a bug in one command must not take the daemon down
            log.exception("control command failed: %r", line[:200])
            with contextlib.suppress(Exception):
                await _write(writer, ["8000 Internal error"])
            return True
        if reply.after is not None:
            try:
                await reply.after()
            except Exception:
                log.exception("control action failed")
        return True


async def _read_line(reader: asyncio.StreamReader) -> str | None:
    """One command line; an over-long line comes back as a marker that is
    longer than :data:`MAX_LINE` (its content is discarded)."""
    try:
        data = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        data = exc.partial
    except asyncio.LimitOverrunError:
        # discard up to and including the newline, however long it is
        while True:
            try:
                await reader.readuntil(b"\n")
                break
            except asyncio.LimitOverrunError as exc:
                await reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return None
        return "x" * (MAX_LINE + 1)
    return data.decode("utf-8", errors="replace").rstrip("\r\n")


async def _write(writer: asyncio.StreamWriter, lines: list[str]) -> None:
    writer.write(("\n".join(lines) + "\n").encode())
    await asyncio.wait_for(writer.drain(), DRAIN_TIMEOUT)


async def _write_reply(writer: asyncio.StreamWriter, lines: Any) -> None:
    buf: list[str] = []
    size = 0
    for count, text in enumerate(render.frame(lines), 1):
        buf.append(text)
        size += len(text) + 1
        if size >= CHUNK:
            await _write(writer, buf)
            buf, size = [], 0
        elif count % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # keep BGP timers running during a big reply
    if buf:
        await _write(writer, buf)
