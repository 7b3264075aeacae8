"""A minimal client of BIRD's control-socket protocol (BIRD 1.6 and bgplabd).

The lab only needs ``show protocols``: which BGP sessions are up. The
sockets are files in the lab's run directory, reachable from the host's own
namespace, so no ``ip netns exec`` is needed to ask.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

_LINE = re.compile(r"^(\d{4})([ -])(.*)$")


class CtlError(OSError):
    """The control socket is missing, refused, or answered nonsense."""


def query(path: str, command: str, timeout: float = 5.0) -> list[tuple[str, str]]:
    """Send one command; return (code, text) per reply line, continuation lines
    (leading space) carrying the previous code."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            f = s.makefile("rwb")
            greeting = f.readline().decode(errors="replace")
            if not greeting.startswith("0001"):
                raise CtlError(f"{path}: unexpected greeting {greeting.strip()!r}")
            f.write(command.encode() + b"\n")
            f.flush()
            out: list[tuple[str, str]] = []
            code = ""
            while True:
                raw = f.readline()
                if not raw:
                    raise CtlError(f"{path}: connection closed mid-reply")
                line = raw.decode(errors="replace").rstrip("\n")
                m = _LINE.match(line)
                if m:
                    code = m.group(1)
                    out.append((code, m.group(3)))
                    if m.group(2) == " ":
                        return out
                elif line.startswith(" "):
                    out.append((code, line[1:]))
                elif line.startswith("+"):
                    continue  # asynchronous message
                else:
                    raise CtlError(f"{path}: malformed reply line {line!r}")
    except (OSError, TimeoutError) as exc:
        if isinstance(exc, CtlError):
            raise
        raise CtlError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class Protocol:
    name: str
    proto: str
    state: str  # up / start / down …
    since: str
    info: str  # Established, Active, …


def protocols(path: str, timeout: float = 5.0) -> list[Protocol]:
    """Parse ``show protocols`` (BIRD 1.x columns)."""
    out = []
    for code, text in query(path, "show protocols", timeout):
        if code != "1002":
            continue
        parts = text.split(None, 5)
        if len(parts) < 5:
            continue
        info = parts[5].strip() if len(parts) > 5 else ""
        out.append(Protocol(parts[0], parts[1], parts[3], parts[4], info))
    return out


def bgp_sessions(path: str, timeout: float = 5.0) -> dict[str, str]:
    """BGP protocol name -> its info column's first word (``Established`` when up)."""
    return {
        p.name: (p.info.split() or ["?"])[0] for p in protocols(path, timeout) if p.proto == "BGP"
    }
