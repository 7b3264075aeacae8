"""Path attribute block codec with RFC 7606 error handling.

Table-driven like BIRD's ``bgp_attr_table``: one :class:`AttrSpec` per type
code gives the flags the attribute must carry, what to do when it is
malformed, a decoder (bytes -> field values) and an encoder (PathAttrs ->
value bytes). MP_REACH/MP_UNREACH are decoded here (their NLRI must be found
even when other attributes are broken) but never encoded here: the UPDATE
packer in :mod:`bgplab.bgp.messages` builds them around a cached block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any, NamedTuple, Protocol

from bgplab.bgp.attrs import (
    AS_CONFED_SEQUENCE,
    AS_CONFED_SET,
    AS_SEQUENCE,
    AS_SET,
    AsPath,
    PathAttrs,
    intern,
)
from bgplab.bgp.constants import (
    AFI_IPV4,
    AFI_IPV6,
    AS_TRANS,
    SAFI_UNICAST,
    AttrCode,
    AttrFlag,
    UpdateSubcode,
)
from bgplab.bgp.errors import AttrProblem, BgpError, ErrorAction
from bgplab.bgp.nlri import NlriItem, decode_nlri

OPT = int(AttrFlag.OPTIONAL)
TRANS = int(AttrFlag.TRANSITIVE)
PARTIAL = int(AttrFlag.PARTIAL)
EXTLEN = int(AttrFlag.EXTENDED_LENGTH)

WITHDRAW = ErrorAction.TREAT_AS_WITHDRAW
DISCARD = ErrorAction.ATTRIBUTE_DISCARD
RESET = ErrorAction.SESSION_RESET

_CONFED = (AS_CONFED_SEQUENCE, AS_CONFED_SET)


class CodecContext(Protocol):
    """What the codec needs to know about the session (a :class:`Negotiated`)."""

    as4: bool


class _Ctx(NamedTuple):
    as4: bool
    ibgp: bool
    add_path_rx: frozenset[tuple[int, int]]
    families: frozenset[tuple[int, int]] | None


_DEFAULT_CTX = _Ctx(True, True, frozenset(), None)


def _ctx(neg: Any) -> _Ctx:
    if neg is None:
        return _DEFAULT_CTX
    if isinstance(neg, bool):
        return _Ctx(neg, True, frozenset(), None)
    return _Ctx(
        neg.as4,
        getattr(neg, "ibgp", True),
        getattr(neg, "add_path_rx", frozenset()),
        getattr(neg, "families", None),
    )


class Malformed(Exception):
    """Raised by an attribute decoder; the table says what it costs."""

    def __init__(self, reason: str, action: ErrorAction | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action


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


# ---------------------------------------------------------------- decoders


def _dec_origin(v: bytes, c: _Ctx) -> dict[str, Any]:
    if len(v) != 1:
        raise Malformed(f"length {len(v)}, expected 1")
    if v[0] > 2:
        raise Malformed(f"invalid value {v[0]}")
    return {"origin": v[0]}


def _dec_path(v: bytes, asn_len: int) -> AsPath:
    segs: list[tuple[int, tuple[int, ...]]] = []
    i, n = 0, len(v)
    while i < n:
        if i + 2 > n:
            raise Malformed("truncated segment header")
        t, cnt = v[i], v[i + 1]
        if t not in (AS_SET, AS_SEQUENCE, AS_CONFED_SEQUENCE, AS_CONFED_SET):
            raise Malformed(f"invalid segment type {t}")
        if cnt == 0:
            raise Malformed("empty segment")
        end = i + 2 + cnt * asn_len
        if end > n:
            raise Malformed("segment overruns attribute")
        body = v[i + 2 : end]
        asns = tuple(int.from_bytes(body[k : k + asn_len]) for k in range(0, len(body), asn_len))
        # Adjacent sequences are one sequence split at 255 ASNs.
        if segs and segs[-1][0] == t and t in (AS_SEQUENCE, AS_CONFED_SEQUENCE):
            segs[-1] = (t, segs[-1][1] + asns)
        else:
            segs.append((t, asns))
        i = end
    return tuple(segs)


def _dec_as_path(v: bytes, c: _Ctx) -> dict[str, Any]:
    return {"as_path": _dec_path(v, 4 if c.as4 else 2)}


def _dec_as4_path(v: bytes, c: _Ctx) -> dict[str, Any]:
    path = _dec_path(v, 4)
    if any(t in _CONFED for t, _ in path):
        raise Malformed("confederation segment in AS4_PATH")
    return {"_as4_path": path}


def _dec_next_hop(v: bytes, c: _Ctx) -> dict[str, Any]:
    if len(v) != 4:
        raise Malformed(f"length {len(v)}, expected 4")
    a = int.from_bytes(v)
    # RFC 4271 6.3: a semantically wrong next hop makes the routes unusable.
    if a == 0 or a >= 0xE0000000:
        raise Malformed(f"invalid address {IPv4Address(a)}")
    return {"next_hop": IPv4Address(a)}


def _dec_u32(name: str) -> Callable[[bytes, _Ctx], dict[str, Any]]:
    def dec(v: bytes, c: _Ctx) -> dict[str, Any]:
        if len(v) != 4:
            raise Malformed(f"length {len(v)}, expected 4")
        return {name: int.from_bytes(v)}

    return dec


def _dec_local_pref(v: bytes, c: _Ctx) -> dict[str, Any]:
    if len(v) != 4:
        raise Malformed(f"length {len(v)}, expected 4")
    # RFC 4271 5.1.5 / RFC 7606 7.5: ignored from external peers.
    return {"local_pref": int.from_bytes(v)} if c.ibgp else {}


def _dec_atomic(v: bytes, c: _Ctx) -> dict[str, Any]:
    if v:
        raise Malformed(f"length {len(v)}, expected 0")
    return {"atomic_aggregate": True}


def _dec_aggregator(v: bytes, c: _Ctx) -> dict[str, Any]:
    want = 8 if c.as4 else 6
    if len(v) != want:
        raise Malformed(f"length {len(v)}, expected {want}")
    alen = want - 4
    return {"aggregator": (int.from_bytes(v[:alen]), IPv4Address(v[alen:]))}


def _dec_as4_aggregator(v: bytes, c: _Ctx) -> dict[str, Any]:
    if len(v) != 8:
        raise Malformed(f"length {len(v)}, expected 8")
    return {"_as4_aggregator": (int.from_bytes(v[:4]), IPv4Address(v[4:]))}


def _dec_communities(v: bytes, c: _Ctx) -> dict[str, Any]:
    if not v or len(v) % 4:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 4")
    return {
        "communities": tuple(
            (int.from_bytes(v[i : i + 2]), int.from_bytes(v[i + 2 : i + 4]))
            for i in range(0, len(v), 4)
        )
    }


def _dec_originator(v: bytes, c: _Ctx) -> dict[str, Any]:
    if len(v) != 4:
        raise Malformed(f"length {len(v)}, expected 4")
    return {"originator_id": IPv4Address(v)} if c.ibgp else {}


def _dec_cluster_list(v: bytes, c: _Ctx) -> dict[str, Any]:
    if not v or len(v) % 4:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 4")
    if not c.ibgp:
        return {}
    return {"cluster_list": tuple(IPv4Address(v[i : i + 4]) for i in range(0, len(v), 4))}


def _dec_ext_communities(v: bytes, c: _Ctx) -> dict[str, Any]:
    if not v or len(v) % 8:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 8")
    return {"ext_communities": tuple(int.from_bytes(v[i : i + 8]) for i in range(0, len(v), 8))}


def _dec_large_communities(v: bytes, c: _Ctx) -> dict[str, Any]:
    if not v or len(v) % 12:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 12")
    return {
        "large_communities": tuple(
            (
                int.from_bytes(v[i : i + 4]),
                int.from_bytes(v[i + 4 : i + 8]),
                int.from_bytes(v[i + 8 : i + 12]),
            )
            for i in range(0, len(v), 12)
        )
    }


# ---------------------------------------------------------------- encoders


def _attr(flags: int, code: int, value: bytes) -> bytes:
    n = len(value)
    if n > 255:
        return bytes((flags | EXTLEN, code)) + n.to_bytes(2) + value
    return bytes((flags & ~EXTLEN, code, n)) + value


def _enc_path(path: AsPath, asn_len: int) -> bytes:
    out = bytearray()
    for t, asns in path:
        # A segment holds at most 255 ASNs; longer ones are split.
        for k in range(0, max(len(asns), 1), 255):
            chunk = asns[k : k + 255]
            if not chunk:
                continue
            out.append(t)
            out.append(len(chunk))
            for a in chunk:
                out += a.to_bytes(asn_len)
    return bytes(out)


def _as2_path(path: AsPath) -> AsPath:
    return tuple((t, tuple(a if a <= 0xFFFF else AS_TRANS for a in asns)) for t, asns in path)


def _needs_as4(path: AsPath) -> bool:
    return any(a > 0xFFFF for _t, asns in path for a in asns)


def _enc_as_path(a: PathAttrs, as4: bool) -> list[tuple[int, bytes]]:
    if as4:
        return [(AttrCode.AS_PATH, _enc_path(a.as_path, 4))]
    out = [(AttrCode.AS_PATH, _enc_path(_as2_path(a.as_path), 2))]
    if _needs_as4(a.as_path):
        # RFC 6793 4.2.2: the real path travels in AS4_PATH, without confeds.
        p4 = tuple(s for s in a.as_path if s[0] not in _CONFED)
        out.append((AttrCode.AS4_PATH, _enc_path(p4, 4)))
    return out


def _enc_aggregator(a: PathAttrs, as4: bool) -> list[tuple[int, bytes]]:
    if a.aggregator is None:
        return []
    asn, ip = a.aggregator
    if as4:
        return [(AttrCode.AGGREGATOR, asn.to_bytes(4) + ip.packed)]
    if asn > 0xFFFF:
        return [
            (AttrCode.AGGREGATOR, AS_TRANS.to_bytes(2) + ip.packed),
            (AttrCode.AS4_AGGREGATOR, asn.to_bytes(4) + ip.packed),
        ]
    return [(AttrCode.AGGREGATOR, asn.to_bytes(2) + ip.packed)]


def _enc_simple(
    code: int, fn: Callable[[PathAttrs], bytes | None]
) -> Callable[[PathAttrs, bool], list[tuple[int, bytes]]]:
    def enc(a: PathAttrs, as4: bool) -> list[tuple[int, bytes]]:
        v = fn(a)
        return [] if v is None else [(code, v)]

    return enc


def _nh(a: PathAttrs) -> bytes | None:
    return a.next_hop.packed if isinstance(a.next_hop, IPv4Address) else None


def _comm(a: PathAttrs) -> bytes | None:
    if not a.communities:
        return None
    return b"".join(x.to_bytes(2) + y.to_bytes(2) for x, y in a.communities)


def _ext(a: PathAttrs) -> bytes | None:
    if not a.ext_communities:
        return None
    return b"".join(x.to_bytes(8) for x in a.ext_communities)


def _large(a: PathAttrs) -> bytes | None:
    if not a.large_communities:
        return None
    return b"".join(
        x.to_bytes(4) + y.to_bytes(4) + z.to_bytes(4) for x, y, z in a.large_communities
    )


def _clusters(a: PathAttrs) -> bytes | None:
    if not a.cluster_list:
        return None
    return b"".join(c.packed for c in a.cluster_list)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True)
class AttrSpec:
    code: int
    name: str  # BIRD's name, as in ``show route all``
    flags: int  # required OPTIONAL|TRANSITIVE bits
    on_error: ErrorAction  # RFC 7606 section 7 (or the defining RFC)
    decode: Callable[[bytes, _Ctx], dict[str, Any]] | None
    encode: Callable[[PathAttrs, bool], list[tuple[int, bytes]]] | None


def _spec(code: int, name: str, flags: int, on_error: ErrorAction, dec: Any, enc: Any) -> AttrSpec:
    return AttrSpec(int(code), name, flags, on_error, dec, enc)


WK = TRANS  # well-known: transitive, not optional
ATTR_TABLE: dict[int, AttrSpec] = {
    s.code: s
    for s in (
        _spec(
            AttrCode.ORIGIN,
            "origin",
            WK,
            WITHDRAW,
            _dec_origin,
            _enc_simple(
                AttrCode.ORIGIN, lambda a: None if a.origin is None else bytes((a.origin,))
            ),
        ),
        _spec(AttrCode.AS_PATH, "as_path", WK, WITHDRAW, _dec_as_path, _enc_as_path),
        _spec(
            AttrCode.NEXT_HOP,
            "next_hop",
            WK,
            WITHDRAW,
            _dec_next_hop,
            _enc_simple(AttrCode.NEXT_HOP, _nh),
        ),
        _spec(
            AttrCode.MED,
            "med",
            OPT,
            WITHDRAW,
            _dec_u32("med"),
            _enc_simple(AttrCode.MED, lambda a: None if a.med is None else a.med.to_bytes(4)),
        ),
        _spec(
            AttrCode.LOCAL_PREF,
            "local_pref",
            WK,
            WITHDRAW,
            _dec_local_pref,
            _enc_simple(
                AttrCode.LOCAL_PREF,
                lambda a: None if a.local_pref is None else a.local_pref.to_bytes(4),
            ),
        ),
        _spec(
            AttrCode.ATOMIC_AGGREGATE,
            "atomic_aggr",
            WK,
            DISCARD,
            _dec_atomic,
            _enc_simple(AttrCode.ATOMIC_AGGREGATE, lambda a: b"" if a.atomic_aggregate else None),
        ),
        _spec(
            AttrCode.AGGREGATOR,
            "aggregator",
            OPT | TRANS,
            DISCARD,
            _dec_aggregator,
            _enc_aggregator,
        ),
        _spec(
            AttrCode.COMMUNITIES,
            "community",
            OPT | TRANS,
            WITHDRAW,
            _dec_communities,
            _enc_simple(AttrCode.COMMUNITIES, _comm),
        ),
        _spec(
            AttrCode.ORIGINATOR_ID,
            "originator_id",
            OPT,
            WITHDRAW,
            _dec_originator,
            _enc_simple(
                AttrCode.ORIGINATOR_ID,
                lambda a: a.originator_id.packed if a.originator_id else None,
            ),
        ),
        _spec(
            AttrCode.CLUSTER_LIST,
            "cluster_list",
            OPT,
            WITHDRAW,
            _dec_cluster_list,
            _enc_simple(AttrCode.CLUSTER_LIST, _clusters),
        ),
        _spec(AttrCode.MP_REACH_NLRI, "mp_reach_nlri", OPT, RESET, None, None),
        _spec(AttrCode.MP_UNREACH_NLRI, "mp_unreach_nlri", OPT, RESET, None, None),
        _spec(
            AttrCode.EXT_COMMUNITIES,
            "ext_community",
            OPT | TRANS,
            WITHDRAW,
            _dec_ext_communities,
            _enc_simple(AttrCode.EXT_COMMUNITIES, _ext),
        ),
        _spec(AttrCode.AS4_PATH, "as4_path", OPT | TRANS, DISCARD, _dec_as4_path, None),
        _spec(
            AttrCode.AS4_AGGREGATOR,
            "as4_aggregator",
            OPT | TRANS,
            DISCARD,
            _dec_as4_aggregator,
            None,
        ),
        _spec(
            AttrCode.LARGE_COMMUNITIES,
            "large_community",
            OPT | TRANS,
            WITHDRAW,
            _dec_large_communities,
            _enc_simple(AttrCode.LARGE_COMMUNITIES, _large),
        ),
    )
}

# Attributes encoded from PathAttrs, in type-code order.
_ENCODE_ORDER = sorted(c for c, s in ATTR_TABLE.items() if s.encode is not None)


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
        if t in _CONFED:
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


def _family_ok(c: _Ctx, afi: int, safi: int) -> bool:
    if c.families is not None:
        return (afi, safi) in c.families
    return afi in (AFI_IPV4, AFI_IPV6) and safi == SAFI_UNICAST


def _dec_mp_reach(v: bytes, c: _Ctx, out: DecodedAttrs) -> None:
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
    out.mp_reach = MpReach(afi, safi, gw, ll, nlri)


def _dec_mp_unreach(v: bytes, c: _Ctx, out: DecodedAttrs) -> None:
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
    c = _ctx(neg)
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
    as4 = _ctx(neg).as4
    parts: list[tuple[int, int, bytes]] = []
    for code in _ENCODE_ORDER:
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
