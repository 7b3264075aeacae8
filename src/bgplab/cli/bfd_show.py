"""``show bfd sessions [<name>]`` as BIRD 1.6 prints it::

    1020-bfd1:
     IP address                Interface  State      Since       Interval  Timeout
     10.106.0.2                a0         Up         22:45:39      0.100    0.300
    0000

Interval is the current transmit interval (0 until a packet went out) and
Timeout the detection time, both in seconds with milliseconds; Since uses
the ``timeformat protocol`` format, as BIRD's ``tf_proto``.
"""

from __future__ import annotations

from typing import Any

from bgplab.cli.render.framing import format_time, timeformat

Line = tuple[int, str]


def _ms(us: int) -> str:
    ms = us // 1000
    return f"{ms // 1000:3d}.{ms % 1000:03d}"


def show_bfd_sessions(daemon: Any, proto: Any, now: float) -> list[Line]:
    tf = timeformat(daemon, "protocol")
    out: list[Line] = [
        (1020, f"{proto.name}:"),
        (
            1020,
            f"{'IP address':<25} {'Interface':<10} {'State':<10} {'Since':<10}  "
            f"{'Interval':>8} {'Timeout':>8}",
        ),
    ]
    for ps in proto.session_rows():
        s = ps.session
        # BIRD rounds both to milliseconds before multiplying the timeout
        timeout = (max(s.req_min_rx, s.remote_min_tx) // 1000) * s.remote_detect_mult * 1000
        out.append(
            (
                1020,
                f"{ps.addr:<25} {(ps.iface or '---'):<10} {s.state.text:<10} "
                f"{format_time(ps.since, tf, now):<10}  {_ms(s.tx_interval)}  "
                f"{_ms(timeout)}",
            )
        )
    out.append((0, ""))
    return out
