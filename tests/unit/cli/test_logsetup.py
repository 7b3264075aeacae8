"""BIRD-like logging: targets, classes, timestamps."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

from bgplab.logsetup import setup_logging


def cfg(*targets: SimpleNamespace, tf: str = "%F %T") -> SimpleNamespace:
    return SimpleNamespace(log=targets, timeformat_for=lambda what: (tf,))


def test_file_log_looks_like_bird(tmp_path: Path) -> None:
    path = tmp_path / "bird.log"
    handlers = setup_logging(cfg(SimpleNamespace(target=str(path), classes=frozenset({"all"}))))
    try:
        logging.getLogger("bgplab.daemon").info("Started")
        logging.getLogger("bgplab.peer_b").info("peer_b: State changed to up")
        logging.getLogger("bgplab.channel").warning("limit exceeded")
    finally:
        for h in handlers:
            h.flush()
        setup_logging(cfg())
    lines = path.read_text().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d <INFO> Started", lines[0])
    assert lines[1].endswith("<TRACE> peer_b: State changed to up")
    assert lines[2].endswith("<WARN> limit exceeded")


def test_classes_filter_and_timeformat(tmp_path: Path) -> None:
    path = tmp_path / "err.log"
    handlers = setup_logging(
        cfg(SimpleNamespace(target=str(path), classes=frozenset({"error", "warning"})), tf="%H:%M")
    )
    try:
        logging.getLogger("bgplab.daemon").info("not wanted")
        logging.getLogger("bgplab.daemon").error("wanted")
    finally:
        for h in handlers:
            h.flush()
        setup_logging(cfg())
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d\d:\d\d <ERR> wanted", lines[0])


def test_debug_file_and_reconfigure_replaces_handlers(tmp_path: Path) -> None:
    dbg = tmp_path / "debug.log"
    first = setup_logging(cfg(), debug_file=str(dbg))
    logging.getLogger("bgplab.x").debug("details")
    second = setup_logging(cfg())
    root = logging.getLogger()
    assert not any(h in root.handlers for h in first)
    assert all(h in root.handlers for h in second)
    assert "<DBG> details" in dbg.read_text()


def test_unopenable_log_file_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    setup_logging(
        cfg(SimpleNamespace(target=str(tmp_path / "no/such/dir.log"), classes=frozenset({"all"})))
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Unable to open log file" in err[0]
    setup_logging(cfg())
