"""What the kernel saw while the peers connected: the evidence behind a
burst of connects.

A daemon's listen backlog bounds the connections the kernel holds for it
before ``accept()``; a SYN that finds that queue full is dropped and the
client's TCP sends it again 1 s later (then 3, 7, 15 s after the first).
BIRD listens with a backlog of 8, so when 1,000 Calico nodes connect at
once most of them wait for a SYN retry. Three views of it:

- the listener's own drop counter (``sk_drops``, the ``d`` of ``ss -m``'s
  skmem): every SYN or handshake the full queue threw away, for this one
  socket, so other programs on the machine do not blur it;
- each client socket's ``tcpi_total_retrans`` right after connecting: the
  SYNs it had to send again;
- the network namespace's ``ListenOverflows``/``ListenDrops`` (TcpExt of
  /proc/net/netstat): the same as the first, summed over every listener of
  the namespace (a cross-check only).
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess

from bgplab.bench.metrics import percentile

# struct tcp_info: tcpi_total_retrans follows 8 bytes of u8 fields and 23 u32s
_TOTAL_RETRANS = 100
_SKMEM_DROPS = re.compile(r"\bd(\d+)\b")


def parse_listener(text: str) -> tuple[int, int] | None:
    """(backlog, drops) from ``ss -Hltnm`` output for one listener, None if
    nothing listens. The backlog is ss's Send-Q column of a LISTEN line."""
    fields = text.split()
    if len(fields) < 3 or fields[0] != "LISTEN":
        return None
    m = _SKMEM_DROPS.search(text[text.find("skmem:") :]) if "skmem:" in text else None
    return int(fields[2]), int(m.group(1)) if m else 0


def listener(addr: str, port: int, netns: str | None = None) -> tuple[int, int] | None:
    """(backlog, drops so far) of the socket listening on ``addr:port``."""
    argv = ["ss", "-Hltnm", f"src {addr}:{port}"]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_listener(out)


def parse_netstat(text: str) -> dict[str, int]:
    """TcpExt counters from /proc/net/netstat (a header line, then values)."""
    lines = [ln.split() for ln in text.splitlines()]
    for head, vals in zip(lines, lines[1:]):
        if head and head[0] == "TcpExt:" and vals and vals[0] == "TcpExt:":
            return {k: int(v) for k, v in zip(head[1:], vals[1:])}
    return {}


def listen_overflows() -> dict[str, int]:
    """This namespace's ListenOverflows and ListenDrops so far."""
    try:
        with open("/proc/net/netstat") as f:
            ext = parse_netstat(f.read())
    except OSError:
        return {}
    return {k: ext[k] for k in ("ListenOverflows", "ListenDrops") if k in ext}


def syn_retransmits(sock: socket.socket) -> int:
    """SYNs this freshly connected socket sent again (0 if unknown)."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TOTAL_RETRANS + 4)
    except OSError:
        return 0
    if len(info) < _TOTAL_RETRANS + 4:
        return 0
    return int(struct.unpack_from("I", info, _TOTAL_RETRANS)[0])


def spread(prefix: str, values: list[float]) -> dict[str, float]:
    """p50, p90 and max of ``values`` as ``PREFIX_p50_s`` etc. (none if empty)."""
    if not values:
        return {}
    return {
        f"{prefix}_p50_s": percentile(values, 50),
        f"{prefix}_p90_s": percentile(values, 90),
        f"{prefix}_max_s": max(values),
    }


def histogram(values: list[float], step: float = 1.0) -> dict[str, float]:
    """How many of ``values`` fall in each ``step``-second bin (``est_bin_K``
    counts [K*step, (K+1)*step)): the shape of a burst's arrivals."""
    out: dict[str, float] = {}
    for v in values:
        k = f"est_bin_{int(v // step)}"
        out[k] = out.get(k, 0) + 1
    return out
