"""A swap drill refuses before it kills anything (no root: nothing is run)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bgplab.errors import UserError
from bgplab.lab import fault


class NoTouch(SimpleNamespace):
    """A lab whose every action fails the test: the guard must come first."""

    def stop_speaker(self, *_a: object, **_k: object) -> None:
        pytest.fail("the router was stopped")

    def host_ns(self, *_a: object) -> str:
        pytest.fail("the drill went past its guard")


def lab(speaker: str) -> NoTouch:
    return NoTouch(topo=SimpleNamespace(router=SimpleNamespace(name="router")),
                   router_speaker=speaker)


def test_swap_to_a_missing_daemon_is_refused_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fault, "usable", lambda kind: kind != "bgplabd")
    with pytest.raises(UserError, match="cannot swap to bgplabd: it is not installed"):
        fault.drill(lab("bird"), "router", "swap-router", hold=1.0)  # type: ignore[arg-type]


def test_swap_of_an_unknown_speaker_is_refused() -> None:
    with pytest.raises(UserError, match="cannot swap the router's gobgp"):
        fault.drill(lab("gobgp"), "router", "swap-router", hold=1.0)  # type: ignore[arg-type]


def test_unknown_fault_kind() -> None:
    with pytest.raises(UserError, match="unknown fault"):
        fault.drill(lab("bird"), "router", "melt", hold=1.0)  # type: ignore[arg-type]
