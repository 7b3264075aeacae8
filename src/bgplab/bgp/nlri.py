"""NLRI prefixes on the wire <-> ``bgplab.net`` integer keys.

This is the hot path: a full table is hundreds of thousands of prefixes, so
decoding makes nothing per prefix but the key int and its ``(net, path_id)``
tuple, with per-length shifts and masks precomputed.

Wire form (RFC 4271 4.3, RFC 4760 5, RFC 7911 3): ``[path_id(4)] len(1)
prefix(ceil(len/8))``. Host bits beyond the length are cleared, not refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from bgplab.bgp.constants import AFI_IPV4, AFI_IPV6, UpdateSubcode
from bgplab.bgp.errors import BgpError
from bgplab.net import V6_FLAG

NlriItem = tuple[int, int]
"""``(net, path_id)``; path_id is 0 without ADD-PATH."""


def _tables(width: int) -> tuple[list[int], list[int], list[int]]:
    nbytes = [(plen + 7) >> 3 for plen in range(width + 1)]
    # Shift that left-aligns nb bytes in the address, then +8 for the
    # length byte of the key; mask clears host bits (pre-shifted by 8).
    shift = [width - 8 * nbytes[plen] + 8 for plen in range(width + 1)]
    full = (1 << width) - 1
    mask = [((full ^ ((1 << (width - plen)) - 1)) << 8) for plen in range(width + 1)]
    return nbytes, shift, mask


_NB4, _SH4, _MASK4 = _tables(32)
_NB6, _SH6, _MASK6 = _tables(128)


def _bad(reason: str, withdrawn: bool) -> BgpError:
    # RFC 7606 5.3: an NLRI that cannot be parsed means session reset.
    sub = UpdateSubcode.INVALID_NETWORK_FIELD
    what = "withdrawn routes" if withdrawn else "NLRI"
    return BgpError(3, sub, reason=f"{what}: {reason}")


def decode_nlri(
    data: bytes, afi: int = AFI_IPV4, add_path: bool = False, withdrawn: bool = False
) -> list[NlriItem]:
    """Decode a run of prefixes; raises :class:`BgpError` (3/10) if malformed."""
    if afi == AFI_IPV4:
        nbt, sht, mkt, maxlen, flag = _NB4, _SH4, _MASK4, 32, 0
    elif afi == AFI_IPV6:
        nbt, sht, mkt, maxlen, flag = _NB6, _SH6, _MASK6, 128, V6_FLAG
    else:
        raise _bad(f"unsupported AFI {afi}", withdrawn)
    out: list[NlriItem] = []
    append = out.append
    from_bytes = int.from_bytes
    n = len(data)
    i = 0
    if not add_path:
        while i < n:
            plen = data[i]
            if plen > maxlen:
                raise _bad(f"prefix length {plen} too long", withdrawn)
            j = i + 1 + nbt[plen]
            if j > n:
                raise _bad("truncated prefix", withdrawn)
            append((((from_bytes(data[i + 1 : j]) << sht[plen]) & mkt[plen]) | plen | flag, 0))
            i = j
        return out
    while i < n:
        if i + 5 > n:
            raise _bad("truncated path identifier", withdrawn)
        pid = from_bytes(data[i : i + 4])
        plen = data[i + 4]
        if plen > maxlen:
            raise _bad(f"prefix length {plen} too long", withdrawn)
        j = i + 5 + nbt[plen]
        if j > n:
            raise _bad("truncated prefix", withdrawn)
        append((((from_bytes(data[i + 5 : j]) << sht[plen]) & mkt[plen]) | plen | flag, pid))
        i = j
    return out


def encode_prefix(net: int) -> bytes:
    """One prefix in wire form, without a path id."""
    plen = net & 0xFF
    if net >= V6_FLAG:
        nb = _NB6[plen]
        return bytes((plen,)) + (((net ^ V6_FLAG) >> 8) >> (128 - 8 * nb)).to_bytes(nb)
    nb = _NB4[plen]
    return bytes((plen,)) + ((net >> 8) >> (32 - 8 * nb)).to_bytes(nb)


def encode_prefixes(items: Iterable[NlriItem], add_path: bool) -> list[bytes]:
    """Each item encoded separately (for packing into size-limited messages)."""
    enc = encode_prefix
    if add_path:
        return [pid.to_bytes(4) + enc(net) for net, pid in items]
    return [enc(net) for net, _pid in items]


def encode_nlri(items: Iterable[NlriItem], add_path: bool = False) -> bytes:
    """Encode ``(net, path_id)`` items; the family comes from each net key."""
    return b"".join(encode_prefixes(items, add_path))
