"""The looking glass's HTTP server on a private event-loop thread, serving
any daemon-like object (the CLI tests' FakeDaemon made of real rib parts)."""

from __future__ import annotations

import asyncio
import http.client
import threading
from typing import Any

from bgplab.io.http import HttpServer, start_http


class ServedGlass:
    def __init__(self, daemon: Any, allow: list[str] | None = None, fib: Any = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> HttpServer:
            srv = start_http(daemon, "127.0.0.1:0", allow)
            srv.app.fib = fib  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)  # let the server task run
            return srv

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        assert self.server.address is not None
        self.host, self.port = self.server.address
        self.base = f"http://{self.host}:{self.port}"

    def request(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, bytes]:
        status, _h, body = self.request("GET", path)
        return status, body

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
