"""Logging like BIRD 1.6: ``log syslog|stderr|"file" all|{ classes }``.

File and stderr lines look like BIRD's: ``2022-03-18 10:00:00 <INFO> text``
with the timestamp in ``timeformat log``. Syslog gets the bare message
under the configured name (default ``bird``, so existing syslog rules
still match). Without a ``log`` statement BIRD logs to syslog (stderr
when there is no ``/dev/log``); ``-d``
sends everything, debug included, to stderr and ``-D FILE`` writes debug
messages to FILE.

Per-protocol ``debug { states, routes, … }`` is decided by the protocols
(they log through ``bgplab.<name>`` only when the flag is on); here those
records are routed and stamped like BIRD's ``TRACE`` class.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from typing import Any

# BIRD's class names, as printed between <>
CLASS_NAMES = {
    "debug": "DBG",
    "trace": "TRACE",
    "info": "INFO",
    "remote": "RMT",
    "warning": "WARN",
    "error": "ERR",
    "auth": "AUTH",
    "fatal": "FATAL",
    "bug": "BUG",
}
ALL_CLASSES = frozenset(CLASS_NAMES)

_installed: list[logging.Handler] = []


def bird_class(record: logging.LogRecord) -> str:
    """Map a Python record to BIRD's log class (``bird_class`` extra wins)."""
    explicit = getattr(record, "bird_class", None)
    if explicit in CLASS_NAMES:
        return str(explicit)
    lvl = record.levelno
    if lvl >= logging.CRITICAL:
        return "fatal"
    if lvl >= logging.ERROR:
        return "error"
    if lvl >= logging.WARNING:
        return "warning"
    if lvl >= logging.INFO:
        # protocol debug output (bgplab.<protocol>) is BIRD's TRACE
        return "trace" if _is_protocol_logger(record.name) else "info"
    return "debug"


def _is_protocol_logger(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 2 and parts[0] == "bgplab" and parts[1] not in _CORE_LOGGERS


_CORE_LOGGERS = {
    "control",
    "metrics",
    "channel",
    "table",
    "filters",
    "daemon",
    "config",
    "bgp",
    "netlink",
    "kernel",
    "lab",
    "calico",
    "bench",
}


class BirdFormatter(logging.Formatter):
    """``<time> <CLASS> message`` with BIRD's ``timeformat log``."""

    def __init__(self, fmt: str = "%F %T", with_time: bool = True) -> None:
        super().__init__()
        # Python's strftime lacks %T/%F on some platforms; spell them out
        self.tfmt = fmt.replace("%T", "%H:%M:%S").replace("%F", "%Y-%m-%d")
        self.with_time = with_time

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR:
            # one line for users; the traceback only at debug level
            exc = record.exc_info[1]
            if exc is not None:
                msg = f"{msg}: {exc}"
        cls = CLASS_NAMES[bird_class(record)]
        if not self.with_time:
            return msg if cls in ("INFO", "TRACE") else f"<{cls}> {msg}"
        ts = dt.datetime.fromtimestamp(record.created).strftime(self.tfmt)
        return f"{ts} <{cls}> {msg}"


class ClassFilter(logging.Filter):
    def __init__(self, classes: frozenset[str]) -> None:
        super().__init__()
        self.classes = ALL_CLASSES if "all" in classes else frozenset(classes)

    def filter(self, record: logging.LogRecord) -> bool:
        return bird_class(record) in self.classes


def _log_timeformat(config: Any) -> str:
    getter = getattr(config, "timeformat_for", None)
    if getter is not None:
        try:
            tf = getter("log")
            if tf:
                return str(tf[0])
        except Exception:  # a partial config: BIRD's default
            pass
    return "%F %T"


def _syslog_handler(name: str) -> logging.Handler | None:
    address = "/dev/log" if os.path.exists("/dev/log") else None
    if address is None:
        return None
    import logging.handlers  # only for `log syslog`: keeps an idle daemon smaller

    try:
        h = logging.handlers.SysLogHandler(address=address)
    except OSError:
        return None
    h.ident = f"{name}: "
    return h


def setup_logging(
    config: Any, debug_stderr: bool = False, debug_file: str | None = None
) -> list[logging.Handler]:
    """(Re)install the handlers described by ``config.log``; returns them.

    Safe to call again after ``configure``: the previous handlers are
    removed first. A log file that cannot be opened is reported on stderr
    and skipped, never fatal (BIRD refuses the config; the config engineer
    checks that at parse time)."""
    root = logging.getLogger()
    for old in _installed:
        root.removeHandler(old)
        old.close()
    _installed.clear()
    tfmt = _log_timeformat(config)
    # BIRD's syslog name is its program name: bird6's is "bird6"
    name = "bird6" if getattr(config, "family", None) == 6 else "bird"
    targets = list(getattr(config, "log", ()) or ())
    handlers: list[logging.Handler] = []
    h: logging.Handler | None
    if debug_stderr:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(BirdFormatter(tfmt))
        handlers.append(h)
    elif not targets:
        h = _syslog_handler(name)
        if h is not None:
            h.setFormatter(BirdFormatter(tfmt, with_time=False))
        else:  # no syslog (a container): stderr, so messages are not lost
            h = logging.StreamHandler(sys.stderr)
            h.setFormatter(BirdFormatter(tfmt))
        h.addFilter(ClassFilter(ALL_CLASSES - {"debug"}))
        handlers.append(h)
    for t in targets:
        target = str(getattr(t, "target", "syslog"))
        classes = frozenset(getattr(t, "classes", None) or {"all"})
        if target == "syslog":
            h = _syslog_handler(getattr(t, "name", None) or name)
            if h is None:
                continue
            h.setFormatter(BirdFormatter(tfmt, with_time=False))
        elif target == "stderr":
            if debug_stderr:
                continue  # -d already sends everything there
            h = logging.StreamHandler(sys.stderr)
            h.setFormatter(BirdFormatter(tfmt))
        else:
            try:
                h = logging.FileHandler(target)
            except OSError as exc:
                print(f"bgplabd: Unable to open log file {target}: {exc.strerror}", file=sys.stderr)
                continue
            h.setFormatter(BirdFormatter(tfmt))
        h.addFilter(ClassFilter(classes))
        handlers.append(h)
    if debug_file:
        try:
            h = logging.FileHandler(debug_file)
            h.setFormatter(BirdFormatter(tfmt))
            handlers.append(h)
        except OSError as exc:
            print(
                f"bgplabd: Unable to open debug file {debug_file}: {exc.strerror}", file=sys.stderr
            )
    for h in handlers:
        root.addHandler(h)
    _installed.extend(handlers)
    root.setLevel(logging.DEBUG if (debug_stderr or debug_file) else logging.INFO)
    if any(
        ("debug" in getattr(t, "classes", ()) or "all" in getattr(t, "classes", ()))
        for t in targets
    ):
        root.setLevel(logging.DEBUG)
    return handlers
