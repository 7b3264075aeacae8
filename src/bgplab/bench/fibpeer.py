"""A one-session BGP peer driven over stdin, for the kernel-fib scenario.

It runs inside the scenario's network namespace (``ip netns exec``) so the
session stays on that namespace's loopback. Protocol on stdin/stdout, one
line each: it prints ``up`` once Established (the routes are written at that
moment), ``withdrawn`` after the withdraw command; commands are ``withdraw``
and ``quit`` (EOF also quits).

    python -m bgplab.bench.fibpeer TARGET SOURCE COUNT NEXT_HOP
"""

from __future__ import annotations

import asyncio
import sys

from bgplab.bench import wire
from bgplab.bench.loadgen import LoadGen
from bgplab.bench.peerplan import PeerPlan, ip_int


def fib_prefixes(count: int) -> list[tuple[int, int]]:
    """``count`` distinct /24s, /23s and /22s the kernel can hold."""
    from bgplab.bench.scenarios import fulltable_prefixes

    return fulltable_prefixes(count)


async def serve(target: str, source: str, count: int, next_hop: str) -> int:
    routes = fib_prefixes(count)
    plan = PeerPlan(source, routes=routes, attr_sets=[wire.ibgp_attributes(ip_int(next_hop))])
    plan.encode()
    withdraws = {
        ap: b"".join(
            wire.pack_withdraws(wire.nlri_entry(a, p, 1 if ap else None) for a, p in routes)
        )
        for ap in (False, True)
    }
    gen = LoadGen([plan], target, 179, reconnect=False)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    gen.start()
    if not await gen.wait_established(60):
        print("error: session did not come up", flush=True)
        await gen.stop()
        return 1
    print("up", flush=True)
    session = gen.sessions[0]
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "withdraw":
            session.send(withdraws[session.addpath_tx])
            print("withdrawn", flush=True)
        elif line in ("quit", ""):
            break
    await gen.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or not args[2].isdigit():
        print("usage: python -m bgplab.bench.fibpeer TARGET SOURCE COUNT NEXT_HOP", file=sys.stderr)
        return 2
    return asyncio.run(serve(args[0], args[1], int(args[2]), args[3]))


if __name__ == "__main__":
    sys.exit(main())
