"""Every benchmark scenario at tiny scale, against real daemons.

Not a benchmark: no timing is asserted. It keeps the tool working: the run
converges, every peer holds exactly the routes the others announced, no
session was dropped and no hold timer expired.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from bgplab.bench import scenarios
from bgplab.bench.targets import available

pytestmark = [pytest.mark.root, pytest.mark.interop]

_K = os.getpid() % 250
OPTS = scenarios.RunOptions(
    target_addr=f"127.20.{_K}.1", peer_base=f"127.20.{_K}.10", timeout=60.0, settle=0.0
)

TINY = {
    "calico-rr-4": None,
    "calico-pods-3-5": None,
    "fulltable-2000-3": None,
    "churn-5": {"churn_rate": 40.0, "churn_seconds": 1.0},
    "pods-per-route-4-3": None,
}


def _run(name: str, kind: str) -> scenarios.RunResult:
    spec = scenarios.parse(name)
    if TINY.get(name):
        spec = dataclasses.replace(spec, **TINY[name])
    res = scenarios.run(spec, kind, OPTS)
    if kind == "bgplabd" and res.error.startswith("start failed"):
        pytest.fail(f"bgplabd did not start: {res.error}")
    return res


def _check(res: scenarios.RunResult, spec: scenarios.Spec) -> None:
    assert res.ok, f"{res.error}\n{res.extra.get('target_log', '')}"
    assert res.error == ""
    if spec.kind in ("rr", "pods", "churn"):
        per = 1 + spec.pods
        assert res.routes == spec.peers * (spec.peers - 1) * per
    if spec.kind == "pods-per-route":
        assert res.routes == spec.peers * (spec.peers - 1) * spec.pods
    if spec.kind == "fulltable":
        assert res.routes == spec.prefixes * spec.clients
    assert res.extra["unknown_prefixes"] == 0
    assert res.hold_expiries == 0 and res.drops == 0 and res.notifications == 0
    assert res.wall_s > 0 and res.established_s <= res.wall_s
    assert res.cpu_s >= 0 and res.rss_mb > 0
    # the control socket never failed to answer during the run
    assert res.extra["ctl_timeouts"] == 0
    _check_loop_stall(res)


def _check_loop_stall(res: scenarios.RunResult) -> None:
    """bgplabd's --stall-log was read for the run; the others have none."""
    if res.target == "bgplabd":
        assert 0 <= res.extra["loop_stall_s"] < 10
    else:
        assert "loop_stall_s" not in res.extra


@pytest.mark.parametrize("kind", ["bird2", "bgplabd"])
@pytest.mark.parametrize("name", list(TINY))
def test_scenario_tiny(name: str, kind: str) -> None:
    if kind != "bgplabd" and not available(kind):
        pytest.skip(f"{kind} not installed")
    res = _run(name, kind)
    spec = scenarios.parse(name)
    _check(res, spec)
    if spec.kind == "churn":
        # every re-announcement reached every watcher (3 of 5 peers watch)
        assert res.extra["churn_watchers"] == 3
        assert res.extra["ctl_replies"] > 0  # a second of churn: probed
        assert res.extra["churn_announces"] > 0 and res.churn_lost == 0
        assert res.churn_p99_ms >= res.churn_median_ms > 0


@pytest.mark.lab
@pytest.mark.parametrize("kind", ["bird1", "bgplabd"])
def test_kernel_fib_tiny(kind: str) -> None:
    if kind == "bird1" and not available("bird1"):
        pytest.skip("BIRD 1.6 not installed")
    opts = dataclasses.replace(OPTS, settle=1.0)
    res = scenarios.run(scenarios.parse("kernel-fib-500"), kind, opts)
    if kind == "bgplabd" and res.error.startswith("start failed"):
        pytest.fail(f"bgplabd did not start: {res.error}")
    assert res.ok, f"{res.error}\n{res.extra.get('target_log', '')}"
    # the routes really were in the namespace's kernel table, then gone
    assert res.routes == 500 and res.wall_s > 0 and res.extra["remove_s"] > 0
    # the timeline from the namespace's route notifications (bench/fibwatch.py)
    assert res.extra["install_first_write_s"] <= res.wall_s
    assert 0 <= res.extra["install_max_pause_s"] <= res.wall_s
    _check_loop_stall(res)


@pytest.mark.parametrize("kind", ["bird2", "bgplabd"])
def test_burst_connect_tiny(kind: str) -> None:
    """--connect burst: every peer dials at once. More peers than BIRD's
    listen backlog of 8, so its queue may overflow; the run still converges
    exactly and records the set-up evidence."""
    if kind != "bgplabd" and not available(kind):
        pytest.skip(f"{kind} not installed")
    spec = scenarios.parse("calico-rr-16")
    res = scenarios.run(spec, kind, dataclasses.replace(OPTS, connect="burst"))
    if kind == "bgplabd" and res.error.startswith("start failed"):
        pytest.fail(f"bgplabd did not start: {res.error}")
    assert res.scenario == "calico-rr-16 burst"
    _check(res, spec)
    x = res.extra
    # the listener seen through ss, before and after the run
    assert x["listen_backlog"] == (8 if kind == "bird2" else min(4096, _somaxconn()))
    assert x["listen_drops"] >= 0 and 0 <= x["syn_retried_sessions"] <= 16
    # every session's first Established is on the timeline, the last one is the run's
    assert sum(v for k, v in x.items() if k.startswith("est_bin_")) == 16
    assert x["est_max_s"] == pytest.approx(res.established_s, abs=0.01)
    assert 0 <= x["connect_p50_s"] <= x["connect_max_s"] <= x["open_max_s"]


def _somaxconn() -> int:
    with open("/proc/sys/net/core/somaxconn") as f:
        return int(f.read())
