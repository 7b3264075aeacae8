"""Starting a lab speaker waits for an answer on its control socket, and a
speaker that exits on its configuration is one line naming the error.

The daemons run without BGP protocols (they open no port) and without a
namespace; each test's files are under tmp_path.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from bgplab.lab import ctl
from bgplab.lab.speakers import SpeakerError, available, binary6, start_speaker, start_speaker6

pytestmark = pytest.mark.root

GOOD = "router id 192.0.2.1;\nprotocol device { }\n"
BAD = "router id 192.0.2.1;\nprotocol device peer { }\n"


def stop(pid: int) -> None:
    os.killpg(pid, signal.SIGTERM)


@pytest.mark.skipif(not available("bgplabd"), reason="bgplabd is not installed")
def test_bgplabd_answers_when_started(tmp_path: Path) -> None:
    info = start_speaker("h1", "bgplabd", None, tmp_path, {"bird.conf": GOOD}, "bird.conf")  # type: ignore[arg-type]
    try:
        assert any(code == "0013" for code, _ in ctl.query(info.socket, "show status", 2))
    finally:
        stop(info.pid)


@pytest.mark.parametrize(
    ("kind", "family"),
    [("bgplabd", 4), ("bgplabd", 6), ("bird", 6)],
)
def test_a_speaker_that_exits_on_its_config_says_why(
    kind: str, family: int, tmp_path: Path
) -> None:
    if not (binary6(kind) is not None if family == 6 else available(kind)):
        pytest.skip(f"{kind} is not installed")
    start = start_speaker6 if family == 6 else start_speaker
    with pytest.raises(SpeakerError) as info:
        start("h1", kind, None, tmp_path, {"bird.conf": BAD}, "bird.conf", timeout=10)  # type: ignore[arg-type]
    msg = str(info.value)
    assert msg.startswith(f"h1: {kind}{'6' if family == 6 else ''} exited: ")
    assert "bird.conf:2:17" in msg and "syntax error" in msg, msg
