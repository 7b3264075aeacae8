"""A non-blocking listening TCP socket, bound now (so a bad or busy address
fails at start-up, on the terminal): the looking glass's and the metrics
endpoint's."""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int, backlog: int = 64) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
