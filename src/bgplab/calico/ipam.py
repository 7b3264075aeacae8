"""IPAM: per-node address blocks carved out of IPPools.

Calico hands each node a /26 (the pool's ``blockSize``) when its first pod
starts there. We allocate one block per node and IP version up front, so the
rendered configuration is stable:

- pinned blocks (the Node annotation ``bgplab.io/ipam-blocks``) win, which is
  how the seed's exact blocks are reproduced;
- a block a node already holds stays with it;
- otherwise the node gets the first free block at or after a stable hash of its
  name (sha256, not Python's randomised ``hash``), from the first enabled pool
  (by CIDR) whose ``nodeSelector`` matches it.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence

from bgplab.calico.resources import IPPool, Node, ResourceError
from bgplab.calico.selector import parse_selector

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class IpamError(ResourceError):
    """Blocks that cannot be allocated or pinned as asked."""


def _stable_index(name: str, count: int) -> int:
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def _pool_for(block: Network, pools: Sequence[IPPool]) -> IPPool | None:
    for pool in pools:
        net = ipaddress.ip_network(pool.cidr)
        if block.version == net.version and block.subnet_of(net):  # type: ignore[arg-type]
            return pool
    return None


def allocate(
    nodes: Sequence[Node],
    pools: Sequence[IPPool],
    previous: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """Return node name -> block CIDRs (sorted), raising :class:`IpamError`."""
    previous = previous or {}
    enabled = sorted((p for p in pools if not p.disabled), key=lambda p: (p.version, p.cidr))
    taken: dict[Network, str] = {}
    result: dict[str, list[Network]] = {n.name: [] for n in nodes}

    def claim(node: str, block: Network) -> None:
        for other, owner in taken.items():
            if owner != node and block.overlaps(other):
                raise IpamError(f"block {block} for node {node} overlaps {other} of node {owner}")
        taken[block] = node
        result[node].append(block)

    # Pinned blocks first, so hashing never lands on them.
    for node in sorted(nodes, key=lambda n: n.name):
        for text in node.pinned_blocks:
            block = ipaddress.ip_network(text)
            if _pool_for(block, pools) is None:
                raise IpamError(f"pinned block {block} of node {node.name} is in no IPPool")
            claim(node.name, block)
    # Then what nodes already hold, if still valid.
    for node in sorted(nodes, key=lambda n: n.name):
        if node.pinned_blocks:
            continue
        for text in previous.get(node.name, ()):
            block = ipaddress.ip_network(text)
            pool = _pool_for(block, enabled)
            if pool is None or block.prefixlen != pool.block_size:
                continue
            if not parse_selector(pool.node_selector)(node.labels):
                continue
            if any(block.overlaps(o) for o in taken):
                continue
            claim(node.name, block)
    # Then one new block per node and IP version that lacks one.
    for node in sorted(nodes, key=lambda n: n.name):
        have = {b.version for b in result[node.name]}
        for pool in enabled:
            net = ipaddress.ip_network(pool.cidr)
            if net.version in have or not parse_selector(pool.node_selector)(node.labels):
                continue
            count = 1 << (pool.block_size - net.prefixlen)
            start = _stable_index(node.name, count)
            step = 1 << (net.max_prefixlen - pool.block_size)
            for i in range(count):
                idx = (start + i) % count
                block = type(net)((int(net.network_address) + idx * step, pool.block_size))
                if not any(block.overlaps(o) for o in taken):
                    claim(node.name, block)
                    have.add(net.version)
                    break
            else:
                raise IpamError(
                    f"IPPool {pool.name} ({pool.cidr}) has no free block for {node.name}"
                )
    return {
        name: [str(b) for b in sorted(blocks, key=lambda b: (b.version, int(b.network_address)))]
        for name, blocks in result.items()
    }


def pod_addresses(block: str, count: int, *, skip: int = 1) -> list[str]:
    """``count`` pod addresses from a node's block, in order (skipping the
    network address by default)."""
    net = ipaddress.ip_network(block)
    if count + skip > net.num_addresses:
        raise IpamError(f"block {block} has room for {net.num_addresses - skip} pods, not {count}")
    base = int(net.network_address)
    return [str(ipaddress.ip_address(base + skip + i)) for i in range(count)]
