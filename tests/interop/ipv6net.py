"""Two network namespaces joined by one veth, for IPv6 (and dual-stack)
tests: ``r`` holds the router under test, ``p`` its peers.

Addresses are fixed so that tests can assert next hops: global
2001:db8:6::1 (r) and 2001:db8:6::2..9 (p, one per peer daemon), link-local
fe80::1 (r) and fe80::2 (p) set by hand (no address generation, no DAD),
and IPv4 10.6.0.1 / 10.6.0.2..9 for the side-by-side tests. Loopback ::1 is
one address and GoBGP refuses loopback next hops, hence the namespaces.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.netns import throwaway_netns, veth

from .birdout import protocol_states

R6, R6_LL, R4 = "2001:db8:6::1", "fe80::1", "10.6.0.1"
P6_LL = "fe80::2"
_counter = itertools.count()


def p6(i: int) -> str:
    """The i-th peer address in ``p`` (i = 2..9)."""
    return f"2001:db8:6::{i}"


def p4(i: int) -> str:
    return f"10.6.0.{i}"


def ip(ns: str, *args: str) -> str:
    res = subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"ip -n {ns} {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def nsexec(ns: str, *argv: str, timeout: float = 10) -> str:
    res = subprocess.run(
        ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout
    )
    return res.stdout + res.stderr


@dataclass(frozen=True)
class Pair:
    r: str  # namespace of the router under test (interface "eth0")
    p: str  # namespace of the peers (interface "eth0")


def _setup(ns: str, ll: str, addrs6: list[str], addrs4: list[str]) -> None:
    nsexec(
        ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"
    )
    ip(ns, "link", "set", "eth0", "addrgenmode", "none")
    ip(ns, "link", "set", "eth0", "up")
    ip(ns, "addr", "add", f"{ll}/64", "dev", "eth0", "nodad")
    for a in addrs6:
        ip(ns, "addr", "add", f"{a}/64", "dev", "eth0", "nodad")
    for a in addrs4:
        ip(ns, "addr", "add", f"{a}/24", "dev", "eth0")


@contextmanager
def pair(peers: int = 4) -> Iterator[Pair]:
    """``r`` and ``p`` namespaces, removed afterwards also on failure."""
    tag = f"{os.getpid()}-{next(_counter)}"
    r, p = f"bgpt6r-{tag}", f"bgpt6p-{tag}"
    with throwaway_netns(r, p):
        veth(r, "eth0", p, "eth0")
        _setup(r, R6_LL, [R6], [R4])
        peer_ids = range(2, 2 + peers)
        _setup(p, P6_LL, [p6(i) for i in peer_ids], [p4(i) for i in peer_ids])
        yield Pair(r, p)


_TIME = re.compile(r"\d\d:\d\d:\d\d(\.\d+)?|\d{4}-\d\d-\d\d")


def established(d: Any, name: str) -> bool:
    """Is protocol ``name`` of a BIRD-like daemon Established?"""
    return (
        protocol_states(d.birdc("show protocols")).get(name, ("", ""))[1].startswith("Established")
    )


def shown_routes(d: Any) -> str:
    """``show route all`` with times masked and without the greeting, for
    comparing a run under BIRD with one under bgplabd."""
    text = _TIME.sub("T", d.birdc("show route all"))
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("BIRD "))
