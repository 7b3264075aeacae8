"""bgplabd --stall-log (io/loop_stall): the longest time the event loop was
held, within one tick, written to the file as it grows."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from bgplab.io import loop_stall
from bgplab.io.loop_stall import StallMonitor


def test_a_blocking_callback_is_the_recorded_stall(tmp_path: Path) -> None:
    path = tmp_path / "stall.txt"

    async def main() -> StallMonitor:
        mon = StallMonitor(path, interval=0.005)
        mon.start(asyncio.get_running_loop())
        assert loop_stall.read(path) == 0.0  # written at start
        await asyncio.sleep(0.05)
        before = mon.max_stall
        time.sleep(0.12)  # holds the loop
        await asyncio.sleep(0.03)
        mon.stop()
        assert before < 0.1
        return mon

    mon = asyncio.run(main())
    # within one interval below the real stall, never above it by much
    assert 0.12 - 0.005 - 0.002 <= mon.max_stall < 0.12 + 0.05
    got = loop_stall.read(path)
    assert got is not None and abs(got - mon.max_stall) < loop_stall.WRITE_STEP


def test_the_file_keeps_the_maximum_not_the_last(tmp_path: Path) -> None:
    path = tmp_path / "stall.txt"

    async def main() -> None:
        mon = StallMonitor(path, interval=0.005)
        mon.start(asyncio.get_running_loop())
        await asyncio.sleep(0.02)
        time.sleep(0.08)
        await asyncio.sleep(0.02)
        time.sleep(0.02)
        await asyncio.sleep(0.02)
        mon.stop()

    asyncio.run(main())
    got = loop_stall.read(path)
    assert got is not None and got >= 0.07


def test_read_without_a_record() -> None:
    assert loop_stall.read("/nonexistent/stall.txt") is None


def test_daemon_refuses_an_unwritable_stall_log(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text("router id 192.0.2.1;\nprotocol device { }\n")
    r = subprocess.run(
        [sys.executable, "-m", "bgplab.daemon", "-f", "-c", str(conf), "-s",
         str(tmp_path / "ctl"), "--stall-log", str(tmp_path / "no" / "such" / "dir" / "s.txt")],
        capture_output=True, text=True, timeout=30,
    )
    assert r.returncode == 1
    assert "bgplabd: --stall-log: cannot write" in r.stderr
    assert "Traceback" not in r.stderr
