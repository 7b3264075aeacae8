"""bgplab bench --fanout: the fan-out measurement counts every byte it writes."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from bgplab.bench.fanout import BLOB, measure_fanout, run


@pytest.mark.parametrize("threads", [1, 2])
def test_every_round_reaches_every_member(threads: int) -> None:
    res = measure_fanout(members=5, rounds=20, threads=threads, gap=0.0)
    # the receiver checked it got members * rounds * len(BLOB) bytes, or this raised
    assert res.members == 5 and res.threads == threads and len(res.durations) == 20
    assert res.durations == sorted(res.durations)
    assert 0 < res.quantile(0.5) <= res.quantile(0.9)
    assert res.per_write_us == pytest.approx(res.quantile(0.5) / 5 * 1e6)


def test_run_alternates_and_tabulates() -> None:
    lines: list[str] = []
    results = run(members=3, repeat=2, rounds=5, log=lines.append)
    assert [r.threads for r in results] == [1, 2, 1, 2]
    rows = [ln for ln in lines if ln.startswith("| 1 thread") or ln.startswith("| 2 threads")]
    assert len(rows) == 4
    assert f"{len(BLOB)}-byte message to 3 loopback TCP sockets" in lines[0]
    assert lines[-1].startswith("median p50 over the runs: 1 thread ")
    assert "(1.00x), 2 threads " in lines[-1]


@pytest.mark.parametrize("args", [(1, 5, 1), (4, 0, 1), (4, 5, 3)])
def test_bad_arguments_are_refused(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        measure_fanout(*args)


@pytest.mark.parametrize("members", ["1", "0", "-3"])
def test_cli_refuses_too_few_members(members: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "bgplab.app", "bench", f"--fanout={members}"],
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.splitlines() == ["bgplab: --fanout needs at least 2 members"]


def test_cli_prints_the_table() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "bgplab.app", "bench", "--fanout=4", "--repeat=1"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    rows = [ln for ln in res.stdout.splitlines() if ln.startswith("| 1 thread | 1 |")
            or ln.startswith("| 2 threads | 1 |")]
    assert len(rows) == 2


def test_cli_without_enough_sockets_is_one_line_and_does_not_hang() -> None:
    # a hard limit of 64 open files: 200 members cannot connect; the
    # receiving child, still waiting in accept(), must not keep the run waiting
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    res = subprocess.run(
        [sys.executable, "-m", "bgplab.app", "bench", "--fanout=200", "--repeat=1"],
        capture_output=True, text=True, timeout=60, preexec_fn=limit,
    )
    assert res.returncode == 1
    assert res.stderr.splitlines() == ["bgplab: --fanout 200: [Errno 24] Too many open files"]
