"""Path attribute block codec with RFC 7606 error handling.

Walks an attribute block through the table in :mod:`bgplab.bgp.attr_table`
(flags, RFC 7606 action, value decoder and encoder per type code) and applies
the error actions. MP_REACH/MP_UNREACH are decoded here (their NLRI must be
found even when other attributes are broken) but never encoded here: the
UPDATE packer in :mod:`bgplab.bgp.messages` builds them around a cached block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from bgplab.bgp.attr_table import (
    ATTR_TABLE,
    CONFED_SEGMENTS,
    DISCARD,
    ENCODE_ORDER,
    EXTLEN,
    OPT,
    PARTIAL,
    TRANS,
    WITHDRAW,
    AttrSpec,
    CodecContext,
    Malformed,
    SessionCtx,
    session_ctx,
)
from bgplab.bgp.attrs import AS_SEQUENCE, AS_SET, AsPath, PathAttrs, intern, shared
from bgplab.bgp.constants import (
    AFI_IPV4,
    AFI_IPV6,
    AS_TRANS,
    SAFI_UNICAST,
    AttrCode,
    UpdateSubcode,
)
from bgplab.bgp.errors import AttrProblem, BgpError
from bgplab.bgp.nlri import NlriItem, decode_nlri

# Re-exported: callers import the table and its types from here.
__all__ = [
    "ATTR_TABLE",
    "AttrSpec",
    "CodecContext",
    "DecodedAttrs",
    "Malformed",
    "MpReach",
    "MpUnreach",
    "attr_name",
    "decode_attributes",
    "encode_attributes",
    "merge_as4_path",
    "mp_next_hop",
]


@dataclass(frozen=True, slots=True)
class MpReach:
    afi: int
    safi: int
    next_hop: IPv4Address | IPv6Address | None
    next_hop_ll: IPv6Address | None
    nlri: list[NlriItem]


@dataclass(frozen=True, slots=True)
class MpUnreach:
    afi: int
    safi: int
    withdrawn: list[NlriItem]


@dataclass(slots=True)
class DecodedAttrs:
    attrs: PathAttrs | None
    mp_reach: MpReach | None = None
    mp_unreach: MpUnreach | None = None
    problems: list[AttrProblem] = field(default_factory=list)
    treat_as_withdraw: bool = False


def _attr(flags: int, code: int, value: bytes) -> bytes:
    n = len(value)
    if n > 255:
        return bytes((flags | EXTLEN, code)) + n.to_bytes(2) + value
    return bytes((flags & ~EXTLEN, code, n)) + value


# ---------------------------------------------------------------- decoding


def _path_len(path: AsPath) -> int:
    n = 0
    for t, asns in path:
        if t == AS_SEQUENCE:
            n += len(asns)
        elif t == AS_SET:
            n += 1
    return n


def merge_as4_path(as_path: AsPath, as4_path: AsPath) -> AsPath:
    """RFC 6793 4.2.3: rebuild the real path from AS_PATH and AS4_PATH."""
    n2, n4 = _path_len(as_path), _path_len(as4_path)
    if n4 > n2:
        return as_path
    need = n2 - n4
    out: list[tuple[int, tuple[int, ...]]] = []
    for t, asns in as_path:
        if t in CONFED_SEGMENTS:
            out.append((t, asns))
            continue
        if need <= 0:
            break
        if t == AS_SET:
            out.append((t, asns))
            need -= 1
        else:
            take = asns[:need]
            out.append((t, take))
            need -= len(take)
    for seg in as4_path:
        if out and out[-1][0] == AS_SEQUENCE and seg[0] == AS_SEQUENCE:
            out[-1] = (AS_SEQUENCE, out[-1][1] + seg[1])
        else:
            out.append(seg)
    return tuple(out)


def _mp_error(reason: str) -> BgpError:
    return BgpError(3, UpdateSubcode.OPTIONAL_ATTR_ERROR, reason=reason)


def _family_ok(c: SessionCtx, afi: int, safi: int) -> bool:
    if c.families is not None:
        return (afi, safi) in c.families
    return afi in (AFI_IPV4, AFI_IPV6) and safi == SAFI_UNICAST


def _dec_mp_reach(v: bytes, c: SessionCtx, out: DecodedAttrs) -> None:
    if len(v) < 5:
        raise _mp_error(f"MP_REACH_NLRI: length {len(v)} too short")
    afi, safi, nhlen = int.from_bytes(v[0:2]), v[2], v[3]
    if 4 + nhlen + 1 > len(v):
        raise _mp_error("MP_REACH_NLRI: next hop overruns attribute")
    if not _family_ok(c, afi, safi):
        out.problems.append(
            AttrProblem(AttrCode.MP_REACH_NLRI, DISCARD, f"family {afi}/{safi} not negotiated")
        )
        return
    nh = v[4 : 4 + nhlen]
    ll: IPv6Address | None = None
    gw: IPv4Address | IPv6Address | None
    # RFC 7606 7.11: a next hop length we cannot interpret is a session reset.
    if afi == AFI_IPV6 and nhlen in (16, 32):
        gw = IPv6Address(nh[:16])
        if nhlen == 32:
            ll = IPv6Address(nh[16:])
    elif afi == AFI_IPV4 and nhlen == 4:
        gw = IPv4Address(nh)
    else:
        raise _mp_error(f"MP_REACH_NLRI: next hop length {nhlen} invalid for AFI {afi}")
    nlri = decode_nlri(v[5 + nhlen :], afi, (afi, safi) in c.add_path_rx)
    out.mp_reach = MpReach(afi, safi, shared(gw), ll if ll is None else shared(ll), nlri)


def _dec_mp_unreach(v: bytes, c: SessionCtx, out: DecodedAttrs) -> None:
    if len(v) < 3:
        raise _mp_error(f"MP_UNREACH_NLRI: length {len(v)} too short")
    afi, safi = int.from_bytes(v[0:2]), v[2]
    if not _family_ok(c, afi, safi):
        out.problems.append(
            AttrProblem(AttrCode.MP_UNREACH_NLRI, DISCARD, f"family {afi}/{safi} not negotiated")
        )
        return
    wd = decode_nlri(v[3:], afi, (afi, safi) in c.add_path_rx, withdrawn=True)
    out.mp_unreach = MpUnreach(afi, safi, wd)


def decode_attributes(data: bytes, neg: Any = None, has_nlri: bool = False) -> DecodedAttrs:
    """Decode a path attribute block.

    ``neg`` is the session's :class:`~bgplab.bgp.capabilities.Negotiated`
    (None: 4-octet AS, iBGP, no ADD-PATH). ``has_nlri`` says the UPDATE's
    classic NLRI field is non-empty (NEXT_HOP is then mandatory).

    Raises :class:`BgpError` only for session-reset errors; everything
    milder is in ``problems`` / ``treat_as_withdraw``.
    """
    c = session_ctx(neg)
    out = DecodedAttrs(None)
    problems = out.problems
    fields: dict[str, Any] = {}
    seen: set[int] = set()
    unknown: list[tuple[int, int, bytes]] = []
    withdraw = False
    overrun = False
    i, n = 0, len(data)
    while i < n:
        # RFC 7606 4: an attribute that does not fit in the block makes the
        # rest unparseable; the NLRI are still known, so treat-as-withdraw.
        if i + 3 > n:
            problems.append(AttrProblem(0, WITHDRAW, "truncated attribute header"))
            withdraw = overrun = True
            break
        hs = i
        flags, code = data[i], data[i + 1]
        if flags & EXTLEN:
            if i + 4 > n:
                problems.append(AttrProblem(0, WITHDRAW, "truncated attribute header"))
                withdraw = overrun = True
                break
            alen = (data[i + 2] << 8) | data[i + 3]
            start = i + 4
        else:
            alen = data[i + 2]
            start = i + 3
        end = start + alen
        if end > n:
            problems.append(
                AttrProblem(code, WITHDRAW, f"length {alen} overruns the attribute block")
            )
            withdraw = overrun = True
            break
        value = data[start:end]
        i = end

        spec = ATTR_TABLE.get(code)
        if code in seen:
            if code in (AttrCode.MP_REACH_NLRI, AttrCode.MP_UNREACH_NLRI):
                raise BgpError(
                    3, UpdateSubcode.MALFORMED_ATTR_LIST, reason=f"duplicate attribute {code}"
                )
            # RFC 7606 3.g: keep the first, discard the others.
            problems.append(AttrProblem(code, DISCARD, "duplicate attribute"))
            continue
        seen.add(code)

        if spec is None:
            if not flags & OPT:
                raise BgpError(
                    3,
                    UpdateSubcode.UNRECOGNIZED_WELLKNOWN,
                    data[hs:end],
                    f"unrecognized well-known attribute {code}",
                )
            if flags & TRANS:
                # RFC 4271 5: passed on, marked partial.
                unknown.append((flags | PARTIAL, code, bytes(value)))
            continue

        bad_flags = (flags & (OPT | TRANS)) != spec.flags or (
            flags & PARTIAL and spec.flags != OPT | TRANS
        )
        if code == AttrCode.MP_REACH_NLRI or code == AttrCode.MP_UNREACH_NLRI:
            if code == AttrCode.MP_REACH_NLRI:
                _dec_mp_reach(value, c, out)
            else:
                _dec_mp_unreach(value, c, out)
            if bad_flags:
                problems.append(AttrProblem(code, WITHDRAW, f"invalid flags 0x{flags:02x}"))
                withdraw = True
            continue
        if bad_flags:
            # RFC 7606 3.c: malformed; the attribute's own handling applies.
            problems.append(AttrProblem(code, spec.on_error, f"invalid flags 0x{flags:02x}"))
            withdraw = withdraw or spec.on_error is WITHDRAW
            continue
        assert spec.decode is not None
        try:
            fields.update(spec.decode(value, c))
        except Malformed as exc:
            action = exc.action or spec.on_error
            problems.append(AttrProblem(code, action, exc.reason))
            withdraw = withdraw or action is WITHDRAW

    # RFC 6793 4.2.3: merge AS4_PATH / AS4_AGGREGATOR from 2-octet sessions.
    as4_path = fields.pop("_as4_path", None)
    as4_agg = fields.pop("_as4_aggregator", None)
    if c.as4:
        if as4_path is not None or as4_agg is not None:
            problems.append(
                AttrProblem(AttrCode.AS4_PATH, DISCARD, "AS4 attribute on a 4-octet session")
            )
    else:
        agg = fields.get("aggregator")
        if agg is not None and agg[0] != AS_TRANS:
            as4_path = None  # an old speaker aggregated: AS4 info is stale
        else:
            if as4_agg is not None and agg is not None:
                fields["aggregator"] = as4_agg
            if as4_path is not None and "as_path" in fields:
                fields["as_path"] = merge_as4_path(fields["as_path"], as4_path)

    if overrun and not has_nlri and out.mp_reach is None and out.mp_unreach is None:
        # RFC 7606 5.1/4: the rest of the block may hide an MP_REACH whose
        # NLRI we cannot find, so treat-as-withdraw is not possible.
        raise BgpError(
            3, UpdateSubcode.MALFORMED_ATTR_LIST, reason="attribute list overrun, NLRI not located"
        )
    reach = out.mp_reach is not None and bool(out.mp_reach.nlri)
    if (has_nlri or reach) and not withdraw:
        missing = [AttrCode(k).name for k in (AttrCode.ORIGIN, AttrCode.AS_PATH) if k not in seen]
        if has_nlri and AttrCode.NEXT_HOP not in seen:
            missing.append("NEXT_HOP")
        if missing:
            # RFC 7606 3.d: treat-as-withdraw.
            problems.append(AttrProblem(0, WITHDRAW, "missing mandatory " + ", ".join(missing)))
            withdraw = True

    if withdraw:
        out.treat_as_withdraw = True
        return out
    if out.mp_reach is not None:
        fields["next_hop"] = out.mp_reach.next_hop
        if out.mp_reach.next_hop_ll is not None:
            fields["next_hop_ll"] = out.mp_reach.next_hop_ll
    if unknown:
        fields["unknown"] = tuple(unknown)
    if fields:
        out.attrs = intern(PathAttrs(**fields))
    return out


# ---------------------------------------------------------------- encoding


def encode_attributes(attrs: PathAttrs, neg: Any = None) -> bytes:
    """The attribute block for ``attrs`` (without MP_REACH/MP_UNREACH).

    ``neg`` (or anything with ``as4``; a bool works) picks 2- or 4-octet AS
    encoding; on 2-octet sessions AS_TRANS stands in and AS4_PATH /
    AS4_AGGREGATOR carry the real values (RFC 6793). NEXT_HOP is included
    only for an IPv4 next hop (IPv6 goes into MP_REACH).
    """
    as4 = session_ctx(neg).as4
    parts: list[tuple[int, int, bytes]] = []
    for code in ENCODE_ORDER:
        spec = ATTR_TABLE[code]
        assert spec.encode is not None
        for c2, value in spec.encode(attrs, as4):
            parts.append((int(c2), ATTR_TABLE[int(c2)].flags, value))
    for flags, code, value in attrs.unknown:
        if flags & OPT and flags & TRANS:
            parts.append((code, flags | PARTIAL, value))
    parts.sort(key=lambda p: p[0])
    return b"".join(_attr(flags, code, value) for code, flags, value in parts)


def mp_next_hop(attrs: PathAttrs) -> bytes:
    """MP_REACH next hop bytes: global IPv6 (+ link-local) or IPv4."""
    nh = attrs.next_hop
    if nh is None:
        return b""
    if isinstance(nh, IPv6Address) and attrs.next_hop_ll is not None:
        return nh.packed + attrs.next_hop_ll.packed
    return nh.packed


def attr_name(code: int) -> str:
    spec = ATTR_TABLE.get(code)
    return spec.name if spec else f"attribute {code}"
