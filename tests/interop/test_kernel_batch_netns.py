"""Batched route writes against the real Linux FIB (one ACK per send).

Thousands of routes go in a few sends; the kernel refuses some in the
middle of a send, at the end of one (the request that carries the ACK) and
at the start of the next. Each refusal must come back for that route only,
and every other route must be in the kernel (read back with ``ip route``).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import subprocess
from collections.abc import Iterator

import pytest

from bgplab import net
from bgplab.io.netlink import CHUNK, FibAttrs, FibNextHop, NetlinkPort, encode_op

pytestmark = [pytest.mark.root, pytest.mark.interop]

_counter = itertools.count()


def sh(ns: str, *args: str) -> str:
    return subprocess.run(
        ["ip", "-n", ns, *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def ns() -> Iterator[str]:
    name = f"bgpt-kb{os.getpid()}-{next(_counter)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        sh(name, "link", "add", "eth1", "type", "veth", "peer", "name", "p1")
        for dev in ("lo", "eth1", "p1"):
            sh(name, "link", "set", dev, "up")
        sh(name, "addr", "add", "192.168.0.40/24", "dev", "eth1")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_refused_routes_in_big_batches_are_reported_alone(ns: str) -> None:
    good = FibAttrs((FibNextHop("192.168.0.7", "eth1"),))
    offlink = FibAttrs((FibNextHop("172.31.0.1", None),))  # no route to the gateway
    n = 3000
    nets = [net.make(0x0A000000 + (i << 8), 24, False) for i in range(n)]
    per_send = CHUNK // len(encode_op("add", nets[0], good, 1, {"eth1": 2}, {})) + 1
    bad = {0, 700, per_send - 1, per_send, 2 * per_send - 1, n - 1}
    ops = [("add", d, offlink if i in bad else good) for i, d in enumerate(nets)]

    async def main() -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
        async with NetlinkPort(ns) as port:
            first = await port.write(ops)
            again = await port.write(ops)  # every good one is there: EEXIST
            gone = await port.write([("delete", d, good) for d in nets])
            return first, again, gone

    first, again, gone = asyncio.run(main())
    assert first == {i: errno.ENETUNREACH for i in bad}
    assert again == {i: errno.ENETUNREACH if i in bad else errno.EEXIST for i in range(n)}
    assert gone == {i: errno.ESRCH for i in bad}  # never installed
    assert sh(ns, "route", "show", "proto", "bird") == ""


def test_every_route_of_a_big_batch_lands(ns: str) -> None:
    good = FibAttrs((FibNextHop("192.168.0.7", "eth1"),))
    other = FibAttrs((FibNextHop("192.168.0.8", None),), metric=20)
    n = 5000
    nets = [net.make(0x0A000000 + (i << 8), 24, False) for i in range(n)]
    ops = [("replace", d, good if i % 3 else other) for i, d in enumerate(nets)]

    async def main() -> dict[int, int]:
        async with NetlinkPort(ns) as port:
            return await port.write(ops)

    assert asyncio.run(main()) == {}
    lines = [ln.strip() for ln in sh(ns, "route", "show", "proto", "bird").splitlines()]
    assert len(lines) == n
    for i, d in enumerate(nets):
        gw = "192.168.0.7 dev eth1" if i % 3 else "192.168.0.8 dev eth1 metric 20"
        assert lines[i] == f"{net.to_str(d)} via {gw}", (i, lines[i])


def test_an_interface_made_after_the_port_opened_is_learned(ns: str) -> None:
    async def main() -> dict[int, int]:
        async with NetlinkPort(ns) as port:
            sh(ns, "link", "add", "eth9", "type", "veth", "peer", "name", "p9")
            for dev in ("eth9", "p9"):
                sh(ns, "link", "set", dev, "up")
            sh(ns, "addr", "add", "192.168.9.1/24", "dev", "eth9")
            old = FibAttrs((FibNextHop("192.168.0.7", "eth1"),))
            new = FibAttrs((FibNextHop("192.168.9.7", "eth9"),))
            nets = [net.parse(f"10.9.{i}.0/24") for i in range(3)]
            # the unknown name is met mid-send: the send is packed again
            return await port.write(
                [("add", nets[0], old), ("add", nets[1], new), ("add", nets[2], old)]
            )

    assert asyncio.run(main()) == {}
    lines = [ln.strip() for ln in sh(ns, "route", "show", "proto", "bird").splitlines()]
    assert lines == [
        "10.9.0.0/24 via 192.168.0.7 dev eth1",
        "10.9.1.0/24 via 192.168.9.7 dev eth9",
        "10.9.2.0/24 via 192.168.0.7 dev eth1",
    ]
