"""A drill's verdict (and so `bgplab lab fault`'s exit code) from what it saw (no root)."""

from __future__ import annotations

import pytest

from bgplab.lab.fault import DrillResult, PingCount


def result(kind: str, lost: int, healed: bool = True, max_lost: int = 0) -> DrillResult:
    pings = PingCount(50, 50 - lost, list(range(10, 10 + lost)))
    return DrillResult(kind, "router", ("a", "b"), False, healed, pings, max_lost=max_lost)


@pytest.mark.parametrize("kind", ["restart-router", "swap-router"])
def test_a_lost_ping_fails_a_zero_loss_drill(kind: str) -> None:
    res = result(kind, lost=1)
    assert not res.ok
    assert res.verdict().startswith("FAIL: 1 pings lost")
    assert "--max-lost 1" in res.verdict()


@pytest.mark.parametrize("kind", ["restart-router", "swap-router"])
def test_no_loss_passes_a_zero_loss_drill(kind: str) -> None:
    assert result(kind, lost=0).ok


def test_max_lost_relaxes_a_router_restart() -> None:
    assert result("restart-router", lost=3, max_lost=3).ok
    assert not result("restart-router", lost=4, max_lost=3).ok


@pytest.mark.parametrize("kind", ["link-down", "kill-speaker"])
def test_expected_loss_is_reported_not_failed(kind: str) -> None:
    res = result(kind, lost=26)
    assert res.ok
    assert "26 pings lost" in res.verdict() and "(expected)" in res.verdict()


@pytest.mark.parametrize("kind", ["link-down", "restart-router"])
def test_a_lab_that_does_not_heal_fails(kind: str) -> None:
    res = result(kind, lost=0, healed=False)
    assert not res.ok and res.verdict().startswith("FAIL: the lab did not heal")
