"""Throwaway network namespaces for root tests: made with loopback up,
deleted when the test ends, also on failure. Names start with
``bgplab-t<pid>-`` so they never collide with a lab or another run.

``tests/conftest.py`` offers one namespace as the ``netns`` fixture; tests
that need several, or links between them, use :func:`throwaway_netns` and
:func:`veth` directly.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

_counter = itertools.count()


def ns_name(tag: str) -> str:
    """A new namespace name, unique in this test run."""
    return f"bgplab-t{os.getpid()}-{tag}{next(_counter)}"


def ip(*args: str) -> None:
    res = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if res.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {res.stderr.strip()}")


@contextmanager
def throwaway_netns(*names: str) -> Iterator[list[str]]:
    """The namespaces ``names``, loopback up; all that were made are deleted
    on exit (with their interfaces: a veth goes with either end)."""
    made: list[str] = []
    try:
        for name in names:
            ip("netns", "add", name)
            made.append(name)
            ip("-n", name, "link", "set", "lo", "up")
        yield made
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def veth(ns_a: str, dev_a: str, ns_b: str, dev_b: str) -> None:
    """A veth link from ``dev_a`` in ``ns_a`` to ``dev_b`` in ``ns_b`` (the names
    may be the same: each lives in its own namespace). Both ends stay down, so
    a test can set addresses and address generation first."""
    ip("-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b)
