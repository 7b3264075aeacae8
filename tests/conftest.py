"""Shared test configuration.

Tests that need root (namespaces, port 179, real daemons) are marked
``root``; they are skipped, not failed, when the suite runs unprivileged, so
``pytest tests/unit`` works anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.netns import ns_name, throwaway_netns


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (namespaces / real daemons)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def netns() -> Iterator[str]:
    """A throwaway network namespace, loopback up, deleted after the test."""
    with throwaway_netns(ns_name("ns")) as (name,):
        yield name
