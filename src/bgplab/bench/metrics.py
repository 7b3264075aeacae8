"""Resource use of a daemon under test, read from /proc.

CPU is utime+stime of the process (all its threads), so a daemon that
spreads work over threads is charged for all of it. Peak RSS is VmHWM, the
kernel's own high-water mark, so no sampling can miss a short peak.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds used so far by ``pid`` (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return 0.0
    # the command name may contain spaces; fields resume after the last ')'
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def proc_status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def peak_rss_mb(pid: int) -> float:
    """VmHWM of ``pid`` in MiB (0.0 if it is gone)."""
    return proc_status_kb(pid, "VmHWM") / 1024


@dataclass
class CpuClock:
    """CPU seconds of one process between ``start`` and ``stop``."""

    pid: int
    t0: float = 0.0

    def start(self) -> None:
        self.t0 = cpu_seconds(self.pid)

    def read(self) -> float:
        return cpu_seconds(self.pid) - self.t0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    vals = [v for v in values if v == v]  # drop NaN
    return statistics.median(vals) if vals else float("nan")
