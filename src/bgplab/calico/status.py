"""``calicoctl node status``: BGP peers of a node, from its BIRD control socket.

Like calicoctl v3.17, we send ``show protocols`` on the BIRD-protocol socket
(BIRD's or bgplabd's: same protocol), insist on BIRD 1.x's column header,
keep the BGP rows named ``Global_*``/``Node_*``/``Mesh_*``, turn the name back
into the peer address and print the table the way calicoctl's tablewriter
does (centred upper-case headers, ``+---+`` borders, cells padded by one
space, long cells wrapped at 30 columns).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from bgplab.errors import UserError

EXPECTED_HEADINGS = ["name", "proto", "table", "state", "since", "info"]
_PEER_NAME = re.compile(r"^(Global|Node|Mesh)_(.+)$")
_TYPES = {"Mesh": "node-to-node mesh", "Node": "node specific", "Global": "global"}
_TIMEOUT = 2.0


class StatusError(UserError):
    """The control socket cannot be read or does not speak BIRD 1.x."""


@dataclass(frozen=True)
class BGPPeerStatus:
    peer_ip: str
    peer_type: str
    state: str
    since: str
    info: str


def _peer_address(raw: str, v6: bool) -> str:
    port = ""
    m = re.fullmatch(r"(.+)_port_(\d+)", raw)
    if m:
        raw, port = m.group(1), m.group(2)
    addr = raw.replace("_", ":" if v6 else ".")
    if port:
        return f"[{addr}]:{port}" if v6 else f"{addr}:{port}"
    return addr


def parse_row(line: str, v6: bool = False) -> BGPPeerStatus | None:
    """One ``show protocols`` row -> a peer, or None if it is not a Calico peer."""
    cols = line.split()
    if len(cols) < 6 or cols[1] != "BGP":
        return None
    m = _PEER_NAME.match(cols[0])
    if m is None:
        return None
    info = cols[5] + (" " + " ".join(cols[6:]) if len(cols) > 6 else "")
    return BGPPeerStatus(_peer_address(m.group(2), v6), _TYPES[m.group(1)], cols[3], cols[4], info)


def parse_show_protocols(lines: list[str], v6: bool = False) -> list[BGPPeerStatus]:
    """Peers from the raw reply lines (``CCCC-text``, ``CCCC text``, `` text``)."""
    peers: list[BGPPeerStatus] = []
    for line in lines:
        if line.startswith("0000"):
            break
        if line.startswith("0001"):
            continue
        if line.startswith("2002"):
            if line[5:].split() != EXPECTED_HEADINGS:
                raise StatusError("Error querying BIRD: unknown BIRD table output format")
        elif line.startswith("1002"):
            peer = parse_row(line[5:], v6)
            if peer:
                peers.append(peer)
        elif line.startswith(" "):
            peer = parse_row(line[1:], v6)
            if peer:
                peers.append(peer)
        elif line.strip():
            raise StatusError(f"Error querying BIRD: unexpected output line from BIRD: {line!r}")
    return peers


def query_protocols(socket_path: str, timeout: float = _TIMEOUT) -> list[str]:
    """Send ``show protocols`` and return the reply lines up to ``0000``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(socket_path)
            s.sendall(b"show protocols\n")
            buf = b""
            lines: list[str] = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                *done, buf = buf.split(b"\n")
                for raw in done:
                    text = raw.decode(errors="replace")
                    lines.append(text)
                    if text.startswith("0000") or (text[:1] in "89" and text[4:5] == " "):
                        return lines
            return lines
    except OSError as exc:
        raise StatusError(
            f"Error querying BIRD: unable to connect to BIRD socket {socket_path}: "
            f"{exc.strerror or exc}"
        ) from None


# ----- tablewriter layout ---------------------------------------------------
_DECIMAL = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$")
_PERCENT = re.compile(r"^-?\d+\.?\d*%$")
_WRAP = 30
_PENALTY = 100000


def _wrap_words(words: list[str], lim: int) -> list[list[str]]:
    # Minimum-raggedness line breaking, as tablewriter's WrapWords does.
    n = len(words)
    length = [[0] * n for _ in range(n)]
    for i in range(n):
        length[i][i] = len(words[i])
        for j in range(i + 1, n):
            length[i][j] = length[i][j - 1] + 1 + len(words[j])
    nbrk = [0] * n
    cost = [2**31 - 1] * n
    for i in range(n - 1, -1, -1):
        if length[i][n - 1] <= lim:
            cost[i], nbrk[i] = 0, n
            continue
        for j in range(i + 1, n):
            d = lim - length[i][j - 1]
            c = d * d + cost[j]
            if length[i][j - 1] > lim:
                c += _PENALTY
            if c < cost[i]:
                cost[i], nbrk[i] = c, j
    lines, i = [], 0
    while i < n:
        lines.append(words[i : nbrk[i]])
        i = nbrk[i]
    return lines


def _cell_lines(text: str) -> list[str]:
    if len(text) <= _WRAP:
        return [text]
    words = text.replace("\n", " ").split(" ")
    lim = max([_WRAP] + [len(w) for w in words])
    return [" ".join(line) for line in _wrap_words(words, lim)]


def _center(s: str, width: int) -> str:
    gap = width - len(s)
    left = gap // 2
    return " " * left + s + " " * (gap - left)


def render_table(header: list[str], rows: list[list[str]]) -> str:
    cells = [[_cell_lines(c) for c in row] for row in rows]
    head = [h.replace("_", " ").strip().upper() for h in header]
    widths = [len(h) for h in head]
    for row, raw in zip(cells, rows):
        for i, lines in enumerate(row):
            # A wrapped cell is at least as wide as the wrap limit.
            widths[i] = max([widths[i], min(len(raw[i]), _WRAP)] + [len(x) for x in lines])
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [border, "|" + "|".join(f" {_center(h, w)} " for h, w in zip(head, widths)) + "|", border]
    for row in cells:
        height = max(len(lines) for lines in row)
        for k in range(height):
            parts = []
            for lines, w in zip(row, widths):
                s = lines[k] if k < len(lines) else ""
                if _DECIMAL.match(s.strip()) or _PERCENT.match(s.strip()):
                    parts.append(f" {s.rjust(w)} ")
                else:
                    parts.append(f" {s.ljust(w)} ")
            out.append("|" + "|".join(parts) + "|")
    out.append(border)
    return "\n".join(out) + "\n"


def _section(version: int, peers: list[BGPPeerStatus]) -> str:
    text = f"\nIPv{version} BGP status\n"
    if not peers:
        return text + f"No IPv{version} peers found.\n\n"
    rows = [[p.peer_ip, p.peer_type, p.state, p.since, p.info] for p in peers]
    return text + render_table(["Peer address", "Peer type", "State", "Since", "Info"], rows) + "\n"


def node_status(socket_path: str, socket6_path: str | None = None) -> str:
    """What ``calicoctl node status`` prints for the node behind ``socket_path``.

    ``socket6_path`` is the bird6 socket; without one, the IPv6 section says
    ``No IPv6 peers found.`` as on a node without IPv6 peers.
    """
    peers4 = parse_show_protocols(query_protocols(socket_path))
    peers6 = parse_show_protocols(query_protocols(socket6_path), v6=True) if socket6_path else []
    return "Calico process is running.\n" + _section(4, peers4) + _section(6, peers6)
