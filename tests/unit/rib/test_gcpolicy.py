"""The daemon's GC policy: survivors are frozen, a full collection still
finds cyclic garbage among them."""

from __future__ import annotations

import gc
import weakref

from bgplab.io import gcpolicy


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_frozen_cycles_are_found_by_the_full_collection() -> None:
    assert gcpolicy.install()
    try:
        assert gc.get_threshold() == gcpolicy.THRESHOLDS
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        ref = weakref.ref(a)
        gc.collect(1)  # it survives a generation-1 collection: frozen
        assert gc.get_freeze_count() > 0
        del a, b
        gc.collect()  # an ordinary collection does not look at frozen objects
        assert ref() is not None
        assert gcpolicy.full_collect() >= 0
        assert ref() is None
    finally:
        gcpolicy.uninstall()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == (700, 10, 10)


def test_default_keeps_cpython_policy(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BGPLAB_GC", "default")
    assert not gcpolicy.install()
    assert gc.get_threshold() == (700, 10, 10)
