"""NLRI prefixes on the wire <-> ``bgplab.net`` integer keys.

This is the hot path: a full table is hundreds of thousands of prefixes, so
decoding makes nothing per prefix but the key int and its ``(net, path_id)``
tuple, with per-length shifts and masks precomputed.

Wire form (RFC 4271 4.3, RFC 4760 5, RFC 7911 3): ``[path_id(4)] len(1)
prefix(ceil(len/8))``. Host bits beyond the length are cleared, not refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from bgplab.bgp.constants import AFI_IPV4, AFI_IPV6, UpdateSubcode
from bgplab.bgp.errors import BgpError
from bgplab.net import V6_FLAG

NlriItem = tuple[int, int]
"""``(net, path_id)``; path_id is 0 without ADD-PATH."""


def _key_masks(width: int) -> list[int | None]:
    """Per prefix length: the mask that clears host bits of a left-aligned
    address shifted by 8, with the length and family flag already or-ed in
    by the caller. ``None`` for impossible lengths, so a bad length fails
    with TypeError inside the loop at no cost to good input."""
    full = (1 << width) - 1
    out: list[int | None] = [None] * 256
    for plen in range(width + 1):
        out[plen] = (full ^ ((1 << (width - plen)) - 1)) << 8
    return out


_NB = [(plen + 7) >> 3 for plen in range(256)]
_MASK4 = _key_masks(32)
_MASK6 = _key_masks(128)
_PAD = bytes(16)

# Read a fixed-size window and mask it: one C call per prefix instead of a
# slice plus int.from_bytes. The input is padded so the window never runs
# past the end; a prefix that really does is caught after the loop.
_V4 = struct.Struct(">BI").unpack_from
_V4AP = struct.Struct(">IBI").unpack_from
_V6 = struct.Struct(">BQQ").unpack_from
_V6AP = struct.Struct(">IBQQ").unpack_from


def _bad(reason: str, withdrawn: bool) -> BgpError:
    # RFC 7606 5.3: an NLRI that cannot be parsed means session reset.
    sub = UpdateSubcode.INVALID_NETWORK_FIELD
    what = "withdrawn routes" if withdrawn else "NLRI"
    return BgpError(3, sub, reason=f"{what}: {reason}")


def decode_nlri(
    data: bytes, afi: int = AFI_IPV4, add_path: bool = False, withdrawn: bool = False
) -> list[NlriItem]:
    """Decode a run of prefixes; raises :class:`BgpError` (3/10) if malformed."""
    out: list[NlriItem] = []
    n = len(data)
    if not n:
        return out
    append = out.append
    nbt = _NB
    d = bytes(data) + _PAD
    i = 0
    try:
        if afi == AFI_IPV4:
            mk = _MASK4
            if add_path:
                up = _V4AP
                while i < n:
                    pid, plen, a = up(d, i)
                    append((((a << 8) & mk[plen]) | plen, pid))
                    i += 5 + nbt[plen]
            else:
                up = _V4
                while i < n:
                    plen, a = up(d, i)
                    append((((a << 8) & mk[plen]) | plen, 0))
                    i += 1 + nbt[plen]
        elif afi == AFI_IPV6:
            mk = _MASK6
            flag = V6_FLAG
            if add_path:
                up6 = _V6AP
                while i < n:
                    pid, plen, hi, lo = up6(d, i)
                    append(((((hi << 64) | lo) << 8) & mk[plen] | plen | flag, pid))
                    i += 5 + nbt[plen]
            else:
                up6 = _V6
                while i < n:
                    plen, hi, lo = up6(d, i)
                    append(((((hi << 64) | lo) << 8) & mk[plen] | plen | flag, 0))
                    i += 1 + nbt[plen]
        else:
            raise _bad(f"unsupported AFI {afi}", withdrawn)
    except TypeError:
        plen = d[i + 4] if add_path else d[i]
        raise _bad(f"prefix length {plen} too long", withdrawn) from None
    except struct.error:
        raise _bad("truncated path identifier", withdrawn) from None
    if i != n:
        raise _bad("truncated prefix", withdrawn)
    return out


_P4 = struct.Struct(">BI").pack
_P4AP = struct.Struct(">IBI").pack
_P6 = struct.Struct(">BQQ").pack
_P6AP = struct.Struct(">IBQQ").pack
_M64 = (1 << 64) - 1


def encode_prefix(net: int, path_id: int | None = None) -> bytes:
    """One prefix in wire form, with a path id in front if one is given."""
    plen = net & 0xFF
    nb = _NB[plen]
    if net >= V6_FLAG:
        a = (net ^ V6_FLAG) >> 8
        if path_id is None:
            return _P6(plen, a >> 64, a & _M64)[: nb + 1]
        return _P6AP(path_id, plen, a >> 64, a & _M64)[: nb + 5]
    if path_id is None:
        return _P4(plen, net >> 8)[: nb + 1]
    return _P4AP(path_id, plen, net >> 8)[: nb + 5]


def encode_prefixes(items: Sequence[NlriItem], add_path: bool) -> list[bytes]:
    """Each item encoded separately (for packing into size-limited messages).

    Packs a fixed-size window and cuts it to the prefix's length: the
    cheapest way to build the bytes in pure Python.
    """
    if not items:
        return []
    nbt = _NB
    if items[0][0] < V6_FLAG:
        try:
            if add_path:
                p4ap = _P4AP
                return [p4ap(pid, n & 255, n >> 8)[: nbt[n & 255] + 5] for n, pid in items]
            p4 = _P4
            return [p4(n & 255, n >> 8)[: nbt[n & 255] + 1] for n, _pid in items]
        except struct.error:
            pass  # mixed families: take the general path
    enc = encode_prefix
    if add_path:
        return [enc(n, pid) for n, pid in items]
    return [enc(n) for n, _pid in items]


def encode_nlri(items: Iterable[NlriItem], add_path: bool = False) -> bytes:
    """Encode ``(net, path_id)`` items; the family comes from each net key."""
    seq = items if isinstance(items, Sequence) else list(items)
    return b"".join(encode_prefixes(seq, add_path))
