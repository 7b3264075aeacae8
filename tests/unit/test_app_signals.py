"""`bgplab` and broken pipes: a reader that goes away ends the command
quietly, and a BGP socket's reset stays an error in the process (bench,
soak and the lab write to sockets in it) instead of killing it."""

from __future__ import annotations

import os
import subprocess
import sys

SOCKET_AFTER_MAIN = """
import socket, sys
sys.argv = ["bgplab", "bench", "--list"]
from bgplab.app import main
main()
a, b = socket.socketpair()
b.close()
try:
    a.send(b"x" * 100)
    a.send(b"x" * 100)
except OSError as exc:
    print("raised", exc.errno, file=sys.stderr)
"""


def test_a_reset_socket_is_an_error_not_a_signal() -> None:
    out = subprocess.run([sys.executable, "-c", SOCKET_AFTER_MAIN], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, (out.returncode, out.stderr)  # -13: killed by SIGPIPE
    assert "raised 32" in out.stderr  # EPIPE


def test_a_reader_gone_ends_quietly() -> None:
    r, w = os.pipe()
    os.close(r)  # nobody will read: the first write fails
    try:
        out = subprocess.run([sys.executable, "-m", "bgplab.app", "bench", "--list"],
                             stdout=w, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)
    assert out.returncode == 141, out.stderr
    assert out.stderr == ""
