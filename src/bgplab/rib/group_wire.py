"""An update group's UPDATEs on the wire: a bucket's routes under its
attribute set, and withdrawals split by address family.

The group (:mod:`bgplab.rib.adjrib_out`) decides what leaves and to whom;
this only encodes, through the codec it is given (``encode_attributes``,
``pack_updates``, ``pack_withdraws``). A set's encoding is cached in the
set's memo under the group's key, so it dies with the set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bgplab import net as netmod
from bgplab.bgp.attrs import PathAttrs

Key = Any  # net (optimal mode) or (net, out_path_id) (ADD-PATH)


def pack_announces(codec: Any, wire_key: Any, attrs: PathAttrs, afi: int,
                   keys: Iterable[Key], neg: Any) -> list[bytes]:
    """UPDATEs announcing ``keys`` with ``attrs`` (IPv6 in MP_REACH)."""
    wire = attrs.memo_get(wire_key)
    if wire is None:
        wire = codec.encode_attributes(attrs, neg)
        attrs.memo_set(wire_key, wire)
    items = _items(keys)
    if afi == 1:
        return codec.pack_updates(wire, items, neg, 1, 1)
    return codec.pack_updates(wire, items, neg, 2, 1, next_hop=_nh_bytes(attrs))


def pack_withdraws(codec: Any, keys: Iterable[Key], neg: Any, out: list[bytes]) -> None:
    """Append to ``out`` the UPDATEs withdrawing ``keys``, IPv4 then IPv6."""
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for item in _items(keys):
        (v6 if item[0] >= netmod.V6_FLAG else v4).append(item)
    if v4:
        out.extend(codec.pack_withdraws(v4, neg, 1, 1))
    if v6:
        out.extend(codec.pack_withdraws(v6, neg, 2, 1))


def _items(keys: Iterable[Key]) -> list[tuple[int, int]]:
    return [(k, 0) if isinstance(k, int) else k for k in keys]


def _nh_bytes(attrs: PathAttrs) -> bytes:
    nh = attrs.next_hop
    out = nh.packed if nh is not None else b"\x00" * 16
    if attrs.next_hop_ll is not None:
        out += attrs.next_hop_ll.packed
    return out
