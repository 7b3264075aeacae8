"""Prefixes as plain integers.

A route table at Calico scale holds hundreds of thousands of prefixes, and
every one of them is hashed on every update. ``ipaddress.IPv4Network`` costs
microseconds to build and hash; an ``int`` costs nanoseconds. So a prefix
("net", in BIRD's words) is one integer everywhere in bgplab:

    IPv4:  (address << 8) | length                      (< 2**40)
    IPv6:  V6_FLAG | (address << 8) | length            (>= 2**136)

Keys sort by family, then address, then length, which is the order BIRD
prints a table in.  Host bits beyond the length are always zero.
"""

from __future__ import annotations

import ipaddress

V6_FLAG = 1 << 136
_V4_ALL = (1 << 32) - 1
_V6_ALL = (1 << 128) - 1

Net = int


class PrefixError(ValueError):
    """A prefix or address that cannot be parsed or is out of range."""


def make(addr: int, plen: int, v6: bool = False) -> Net:
    """Build a net key; host bits are cleared."""
    width = 128 if v6 else 32
    if not 0 <= plen <= width:
        raise PrefixError(f"prefix length {plen} out of range")
    mask = ((1 << width) - 1) ^ ((1 << (width - plen)) - 1)
    key = ((addr & mask) << 8) | plen
    return key | V6_FLAG if v6 else key


def is_v6(net: Net) -> bool:
    return net >= V6_FLAG


def length(net: Net) -> int:
    return net & 0xFF


def address(net: Net) -> int:
    """The network address as an integer (without the family flag)."""
    return (net & ~V6_FLAG) >> 8


def width(net: Net) -> int:
    return 128 if net >= V6_FLAG else 32


def parse(text: str) -> Net:
    """Parse ``a.b.c.d/len`` or ``x::/len``; a bare address is a host route.

    Like BIRD, host bits must be zero ("Invalid prefix" otherwise).
    """
    text = text.strip()
    addr_s, sep, len_s = text.partition("/")
    try:
        ip = ipaddress.ip_address(addr_s)
    except ValueError as exc:
        raise PrefixError(f"invalid address {addr_s!r}") from exc
    v6 = ip.version == 6
    w = 128 if v6 else 32
    if sep:
        if not len_s.isdigit():
            raise PrefixError(f"invalid prefix length in {text!r}")
        plen = int(len_s)
    else:
        plen = w
    if plen > w:
        raise PrefixError(f"prefix length {plen} out of range in {text!r}")
    a = int(ip)
    if a & ((1 << (w - plen)) - 1):
        raise PrefixError(f"invalid prefix {text!r}: host bits set")
    return make(a, plen, v6)


def parse_loose(text: str) -> Net:
    """Like :func:`parse` but clears host bits instead of refusing them."""
    addr_s, sep, len_s = text.strip().partition("/")
    try:
        ip = ipaddress.ip_address(addr_s)
    except ValueError as exc:
        raise PrefixError(f"invalid address {addr_s!r}") from exc
    w = 128 if ip.version == 6 else 32
    plen = int(len_s) if sep and len_s.isdigit() else w
    return make(int(ip), plen, ip.version == 6)


def addr_str(addr: int, v6: bool = False) -> str:
    if v6:
        return str(ipaddress.IPv6Address(addr))
    return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"


def to_str(net: Net) -> str:
    v6 = net >= V6_FLAG
    return f"{addr_str(address(net), v6)}/{net & 0xFF}"


def contains(outer: Net, inner: Net) -> bool:
    """``inner ~ outer`` in BIRD: inner equals outer or is more specific."""
    if (outer >= V6_FLAG) != (inner >= V6_FLAG):
        return False
    olen = outer & 0xFF
    ilen = inner & 0xFF
    if ilen < olen:
        return False
    w = 128 if outer >= V6_FLAG else 32
    shift = w - olen
    return (address(inner) >> shift) == (address(outer) >> shift)


def addr_in(net: Net, addr: int, v6: bool = False) -> bool:
    """Is the address inside the prefix?"""
    if (net >= V6_FLAG) != v6:
        return False
    w = 128 if v6 else 32
    shift = w - (net & 0xFF)
    return (addr >> shift) == (address(net) >> shift)


def ip_to_int(text: str) -> tuple[int, bool]:
    """Parse an address; returns (integer, is_v6)."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError as exc:
        raise PrefixError(f"invalid address {text!r}") from exc
    return int(ip), ip.version == 6
