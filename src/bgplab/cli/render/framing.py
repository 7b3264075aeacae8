"""Reply framing (BIRD's ``cli_printf`` rules) and time formats, shared by every page."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

Line = tuple[int, str]
VERSION = "1.6.8"  # what BIRD clients parse; bgplab identifies itself in `help`
IGP_METRIC_UNKNOWN = 0x80000000

# ---- framing --------------------------------------------------------------


def frame(lines: Iterable[Line]) -> Iterator[str]:
    """BIRD's ``cli_printf`` rules: every line but the last is a
    continuation (``CCCC-``), a repeat of the previous code is sent as a
    single leading space, and the last line is ``CCCC text``."""
    last = -1
    pending: Line | None = None
    for item in _split(lines):
        if pending is not None:
            code, text = pending
            yield (" " if code == last else f"{code:04d}-") + text
            last = code
        pending = item
    if pending is not None:
        yield f"{pending[0]:04d} {pending[1]}"


def _split(lines: Iterable[Line]) -> Iterator[Line]:
    """A text with newlines becomes several lines of the same code."""
    for code, text in lines:
        if "\n" in text:
            for part in text.split("\n"):
                yield code, part
        else:
            yield code, text


# ---- time -----------------------------------------------------------------

DEFAULT_TF = {
    "route": ("%T", "72000", "%F"),
    "protocol": ("%T", "72000", "%F"),
    "base": ("%F %T",),
    "log": ("%F %T",),
}


def timeformat(daemon: Any, what: str) -> tuple[str, ...]:
    cfg = getattr(daemon, "config", None)
    getter = getattr(cfg, "timeformat_for", None)
    if getter is not None:
        try:
            tf = tuple(getter(what))
            if tf:
                return tf
        except Exception:  # a partial config object: fall back to BIRD's defaults
            pass
    return DEFAULT_TF[what]


def format_time(t: float, tf: tuple[str, ...], now: float | None = None) -> str:
    """BIRD's ``tm_format_datetime``: the first format, or the second one
    when the time is at least ``limit`` seconds old."""
    now = time.time() if now is None else now
    fmt = tf[0]
    if len(tf) >= 3 and tf[2]:
        try:
            limit = float(tf[1])
        except ValueError:
            limit = 0
        if now - t >= limit:
            fmt = tf[2]
    if fmt == "%s":  # seconds since the epoch, used by bird_exporter setups
        return str(int(t))
    return time.strftime(fmt, time.localtime(t))
