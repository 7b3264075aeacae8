"""The path attribute table: one :class:`AttrSpec` per type code.

Like BIRD's ``bgp_attr_table``, each entry gives the flags the attribute must
carry, what to do when it is malformed (RFC 7606), a decoder (value bytes ->
PathAttrs fields, raising :class:`Malformed`) and an encoder (PathAttrs ->
value bytes). Walking an attribute block and applying the error actions is
:mod:`bgplab.bgp.attr_codec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, NamedTuple, Protocol

from bgplab.bgp.attrs import (
    AS_CONFED_SEQUENCE,
    AS_CONFED_SET,
    AS_SEQUENCE,
    AS_SET,
    AsPath,
    PathAttrs,
    shared,
)
from bgplab.bgp.constants import AS_TRANS, AttrCode, AttrFlag
from bgplab.bgp.errors import ErrorAction

OPT = int(AttrFlag.OPTIONAL)
TRANS = int(AttrFlag.TRANSITIVE)
PARTIAL = int(AttrFlag.PARTIAL)
EXTLEN = int(AttrFlag.EXTENDED_LENGTH)

WITHDRAW = ErrorAction.TREAT_AS_WITHDRAW
DISCARD = ErrorAction.ATTRIBUTE_DISCARD
RESET = ErrorAction.SESSION_RESET

CONFED_SEGMENTS = (AS_CONFED_SEQUENCE, AS_CONFED_SET)


class CodecContext(Protocol):
    """What the codec needs to know about the session (a :class:`Negotiated`)."""

    as4: bool


class SessionCtx(NamedTuple):
    as4: bool
    ibgp: bool
    add_path_rx: frozenset[tuple[int, int]]
    families: frozenset[tuple[int, int]] | None


_DEFAULT_CTX = SessionCtx(True, True, frozenset(), None)


def session_ctx(neg: Any) -> SessionCtx:
    if neg is None:
        return _DEFAULT_CTX
    if isinstance(neg, bool):
        return SessionCtx(neg, True, frozenset(), None)
    return SessionCtx(
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


# ---------------------------------------------------------------- decoders


def _dec_origin(v: bytes, c: SessionCtx) -> dict[str, Any]:
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


def _dec_as_path(v: bytes, c: SessionCtx) -> dict[str, Any]:
    return {"as_path": _dec_path(v, 4 if c.as4 else 2)}


def _dec_as4_path(v: bytes, c: SessionCtx) -> dict[str, Any]:
    path = _dec_path(v, 4)
    if any(t in CONFED_SEGMENTS for t, _ in path):
        raise Malformed("confederation segment in AS4_PATH")
    return {"_as4_path": path}


def _dec_next_hop(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if len(v) != 4:
        raise Malformed(f"length {len(v)}, expected 4")
    a = int.from_bytes(v)
    # RFC 4271 6.3: a semantically wrong next hop makes the routes unusable.
    if a == 0 or a >= 0xE0000000:
        raise Malformed(f"invalid address {IPv4Address(a)}")
    # the sets of a peer share their next hop object (~80 bytes a set)
    return {"next_hop": shared(IPv4Address(a))}


def _dec_u32(name: str) -> Callable[[bytes, SessionCtx], dict[str, Any]]:
    def dec(v: bytes, c: SessionCtx) -> dict[str, Any]:
        if len(v) != 4:
            raise Malformed(f"length {len(v)}, expected 4")
        return {name: int.from_bytes(v)}

    return dec


def _dec_local_pref(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if len(v) != 4:
        raise Malformed(f"length {len(v)}, expected 4")
    # RFC 4271 5.1.5 / RFC 7606 7.5: ignored from external peers.
    return {"local_pref": int.from_bytes(v)} if c.ibgp else {}


def _dec_atomic(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if v:
        raise Malformed(f"length {len(v)}, expected 0")
    return {"atomic_aggregate": True}


def _dec_aggregator(v: bytes, c: SessionCtx) -> dict[str, Any]:
    want = 8 if c.as4 else 6
    if len(v) != want:
        raise Malformed(f"length {len(v)}, expected {want}")
    alen = want - 4
    return {"aggregator": (int.from_bytes(v[:alen]), IPv4Address(v[alen:]))}


def _dec_as4_aggregator(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if len(v) != 8:
        raise Malformed(f"length {len(v)}, expected 8")
    return {"_as4_aggregator": (int.from_bytes(v[:4]), IPv4Address(v[4:]))}


def _dec_communities(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if not v or len(v) % 4:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 4")
    # (shared: a peer tags many sets alike)
    return {
        "communities": shared(
            tuple(
                (int.from_bytes(v[i : i + 2]), int.from_bytes(v[i + 2 : i + 4]))
                for i in range(0, len(v), 4)
            )
        )
    }


def _dec_originator(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if len(v) != 4:
        raise Malformed(f"length {len(v)}, expected 4")
    return {"originator_id": shared(IPv4Address(v))} if c.ibgp else {}


def _dec_cluster_list(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if not v or len(v) % 4:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 4")
    if not c.ibgp:
        return {}
    return {"cluster_list": shared(tuple(IPv4Address(v[i : i + 4]) for i in range(0, len(v), 4)))}


def _dec_ext_communities(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if not v or len(v) % 8:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 8")
    return {
        "ext_communities": shared(tuple(int.from_bytes(v[i : i + 8]) for i in range(0, len(v), 8)))
    }


def _dec_large_communities(v: bytes, c: SessionCtx) -> dict[str, Any]:
    if not v or len(v) % 12:
        raise Malformed(f"length {len(v)}, not a non-zero multiple of 12")
    return {
        "large_communities": shared(
            tuple(
                (
                    int.from_bytes(v[i : i + 4]),
                    int.from_bytes(v[i + 4 : i + 8]),
                    int.from_bytes(v[i + 8 : i + 12]),
                )
                for i in range(0, len(v), 12)
            )
        )
    }


# ---------------------------------------------------------------- encoders


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
    out: list[tuple[int, bytes]] = [(AttrCode.AS_PATH, _enc_path(_as2_path(a.as_path), 2))]
    if _needs_as4(a.as_path):
        # RFC 6793 4.2.2: the real path travels in AS4_PATH, without confeds.
        p4 = tuple(s for s in a.as_path if s[0] not in CONFED_SEGMENTS)
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
    decode: Callable[[bytes, SessionCtx], dict[str, Any]] | None
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
ENCODE_ORDER = sorted(c for c, s in ATTR_TABLE.items() if s.encode is not None)
