"""Responsiveness under load: time the daemon's control socket during a run.

A thread (not the load generator's event loop, which is busy counting
routes) keeps one connection to the daemon's birdc socket and asks
``show status`` and ``show route count`` in turn, one command every
``interval`` seconds. The longest reply is the daemon's longest stall as a
user sees it; it applies to BIRD and bgplabd alike (GoBGP and FRR have no
birdc socket and get no probe).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from pathlib import Path

COMMANDS = (b"show status\n", b"show route count\n")
_END = re.compile(rb"(?m)^\d{4} ")  # a reply's last line: code, then a space
REPLY_TIMEOUT = 10.0


class CtlProbe:
    def __init__(self, path: Path, interval: float = 0.25) -> None:
        self.path = path
        self.interval = interval
        self.replies: list[float] = []
        self.timeouts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ctlprobe", daemon=True)

    def start(self) -> CtlProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(REPLY_TIMEOUT + 2)

    @property
    def max_s(self) -> float:
        return max(self.replies) if self.replies else float("nan")

    def _connect(self) -> socket.socket | None:
        """Connect and read the greeting, timed like a reply: a daemon
        whose loop is busy greets late, and ``birdc`` waits for it too."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(REPLY_TIMEOUT)
        t0 = time.monotonic()
        try:
            s.connect(str(self.path))
            _read_reply(s)  # the "0001 ... ready." greeting
        except OSError as exc:
            s.close()
            if isinstance(exc, TimeoutError):
                self.timeouts += 1
                self.replies.append(time.monotonic() - t0)
            return None
        self.replies.append(time.monotonic() - t0)
        return s

    def _run(self) -> None:
        sock: socket.socket | None = None
        k = 0
        while not self._stop.wait(self.interval):
            if sock is None:
                sock = self._connect()
                if sock is None:
                    continue
            t0 = time.monotonic()
            try:
                sock.sendall(COMMANDS[k % len(COMMANDS)])
                _read_reply(sock)
            except OSError:  # includes the timeout: count it, start over
                self.timeouts += 1
                self.replies.append(time.monotonic() - t0)
                with contextlib.suppress(OSError):
                    sock.close()
                sock = None
                continue
            self.replies.append(time.monotonic() - t0)
            k += 1
        if sock is not None:
            sock.close()


def _read_reply(sock: socket.socket) -> bytes:
    buf = b""
    while not _END.search(buf):
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("control socket closed")
        buf += chunk
    return buf
