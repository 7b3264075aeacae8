"""BGP messages as frozen values, their wire codec, and fast UPDATE packing.

``decode_message(type, body, neg)`` takes what the :mod:`framer` yields and
raises :class:`BgpError` for anything that ends the session; milder UPDATE
problems (RFC 7606) come back on the :class:`Update`. The ``pack_*``
functions are the Adj-RIB-Out hot path: they take an attribute block that
the caller encoded once and split prefixes over as few messages as fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from bgplab.bgp.attr_codec import decode_attributes, encode_attributes, mp_next_hop
from bgplab.bgp.attrs import PathAttrs
from bgplab.bgp.capabilities import (
    Capability,
    decode_capabilities,
    encode_capability,
)
from bgplab.bgp.constants import (
    AFI_IPV4,
    AFI_IPV6,
    AS_TRANS,
    HEADER_LEN,
    MARKER,
    MAX_MESSAGE_SIZE,
    SAFI_UNICAST,
    CeaseSubcode,
    HeaderSubcode,
    MsgType,
    NotifCode,
    OpenSubcode,
    RouteRefreshSubcode,
    UpdateSubcode,
)
from bgplab.bgp.errors import AttrProblem, BgpError, ErrorAction
from bgplab.bgp.nlri import NlriItem, decode_nlri, encode_nlri, encode_prefixes
from bgplab.net import V6_FLAG

# ------------------------------------------------------------ message types


@dataclass(frozen=True, slots=True)
class Open:
    version: int
    asn: int  # the 2-octet "My Autonomous System" field (AS_TRANS if > 65535)
    hold_time: int
    router_id: IPv4Address
    capabilities: tuple[Capability, ...] = ()

    type = MsgType.OPEN

    @classmethod
    def make(
        cls,
        asn: int,
        hold_time: int,
        router_id: IPv4Address,
        capabilities: Sequence[Capability] = (),
    ) -> Open:
        """An OPEN for a real ASN (AS_TRANS goes in the field when needed)."""
        return cls(4, asn if asn <= 0xFFFF else AS_TRANS, hold_time, router_id, tuple(capabilities))


@dataclass(frozen=True, slots=True)
class Update:
    withdrawn: list[NlriItem] = field(default_factory=list)
    nlri: list[NlriItem] = field(default_factory=list)
    attrs: PathAttrs | None = None
    treat_as_withdraw: bool = False
    problems: tuple[AttrProblem, ...] = ()
    eor: tuple[int, int] | None = None

    type = MsgType.UPDATE


_NOTIF_TEXT: dict[tuple[int, int], str] = {
    (1, 0): "Invalid message header",
    (1, 1): "Connection not synchronized",
    (1, 2): "Bad message length",
    (1, 3): "Bad message type",
    (2, 0): "Invalid OPEN message",
    (2, 1): "Unsupported version number",
    (2, 2): "Bad peer AS",
    (2, 3): "Bad BGP identifier",
    (2, 4): "Unsupported optional parameter",
    (2, 5): "Authentication failure",
    (2, 6): "Unacceptable hold time",
    (2, 7): "Required capability missing",
    (3, 0): "Invalid UPDATE message",
    (3, 1): "Malformed attribute list",
    (3, 2): "Unrecognized well-known attribute",
    (3, 3): "Missing mandatory attribute",
    (3, 4): "Invalid attribute flags",
    (3, 5): "Invalid attribute length",
    (3, 6): "Invalid ORIGIN attribute",
    (3, 7): "AS routing loop",
    (3, 8): "Invalid NEXT_HOP attribute",
    (3, 9): "Optional attribute error",
    (3, 10): "Invalid network field",
    (3, 11): "Malformed AS_PATH",
    (4, 0): "Hold timer expired",
    (5, 0): "Finite state machine error",
    (5, 1): "Unexpected message in OpenSent state",
    (5, 2): "Unexpected message in OpenConfirm state",
    (5, 3): "Unexpected message in Established state",
    (6, 0): "Cease",
    (6, 1): "Maximum number of prefixes reached",
    (6, 2): "Administrative shutdown",
    (6, 3): "Peer de-configured",
    (6, 4): "Administrative reset",
    (6, 5): "Connection rejected",
    (6, 6): "Other configuration change",
    (6, 7): "Connection collision resolution",
    (6, 8): "Out of Resources",
    (6, 9): "Hard reset",
    (6, 10): "BFD session down",
    (7, 0): "Invalid ROUTE-REFRESH message",
    (7, 1): "Invalid ROUTE-REFRESH message length",
}


def notification_text(code: int, subcode: int) -> str:
    """BIRD's wording for a NOTIFICATION code/subcode."""
    text = _NOTIF_TEXT.get((code, subcode))
    if text is None:
        text = f"Unknown error {code}.{subcode}"
    return text


@dataclass(frozen=True, slots=True)
class Notification:
    code: int
    subcode: int = 0
    data: bytes = b""

    type = MsgType.NOTIFICATION

    @classmethod
    def cease(cls, subcode: int = CeaseSubcode.ADMIN_SHUTDOWN, message: str = "") -> Notification:
        """A Cease, with an RFC 8203/9003 shutdown communication if given."""
        data = b""
        if message and subcode in (CeaseSubcode.ADMIN_SHUTDOWN, CeaseSubcode.ADMIN_RESET):
            raw = message.encode("utf-8")[:255]
            # never cut a UTF-8 sequence in half
            raw = raw.decode("utf-8", "ignore").encode("utf-8")
            data = bytes((len(raw),)) + raw
        return cls(NotifCode.CEASE, subcode, data)

    @property
    def shutdown_message(self) -> str | None:
        """The RFC 8203 shutdown communication, if there is a valid one."""
        if self.code != NotifCode.CEASE or self.subcode not in (2, 4) or not self.data:
            return None
        n = self.data[0]
        if n + 1 > len(self.data):
            return None
        try:
            return self.data[1 : 1 + n].decode("utf-8")
        except UnicodeDecodeError:
            return None

    def describe(self) -> str:
        """``Administrative shutdown: "text"`` style, as BIRD logs it."""
        text = notification_text(self.code, self.subcode)
        msg = self.shutdown_message
        if msg:
            printable = "".join(ch if ch.isprintable() else "?" for ch in msg)
            text += f': "{printable}"'
        return text


@dataclass(frozen=True, slots=True)
class Keepalive:
    type = MsgType.KEEPALIVE


@dataclass(frozen=True, slots=True)
class RouteRefresh:
    afi: int = AFI_IPV4
    safi: int = SAFI_UNICAST
    subtype: int = 0  # 0 normal, 1 BoRR, 2 EoRR (RFC 7313)

    type = MsgType.ROUTE_REFRESH


Message = Open | Update | Notification | Keepalive | RouteRefresh

KEEPALIVE_WIRE = MARKER + b"\x00\x13\x04"

# ------------------------------------------------------------ decoding


def _len_error(msg_type: int, body_len: int) -> BgpError:
    # RFC 4271 6.1: the data is the erroneous length field.
    return BgpError(
        1,
        HeaderSubcode.BAD_MESSAGE_LENGTH,
        (body_len + HEADER_LEN).to_bytes(2),
        f"{MsgType(msg_type).name} of length {body_len + HEADER_LEN}",
    )


def check_length(msg_type: int, total_len: int) -> None:
    """Per-type length checks of RFC 4271 6.1 (the framer calls this too)."""
    body = total_len - HEADER_LEN
    if msg_type == MsgType.OPEN:
        bad = body < 10
    elif msg_type == MsgType.UPDATE:
        bad = body < 4
    elif msg_type == MsgType.NOTIFICATION:
        bad = body < 2
    elif msg_type == MsgType.KEEPALIVE:
        bad = body != 0
    elif msg_type == MsgType.ROUTE_REFRESH:
        # RFC 7313 5: a bad length is a ROUTE-REFRESH error, not a header one.
        if body != 4:
            raise BgpError(7, RouteRefreshSubcode.INVALID_LENGTH, reason=f"length {total_len}")
        bad = False
    else:
        raise BgpError(
            1, HeaderSubcode.BAD_MESSAGE_TYPE, bytes((msg_type & 0xFF,)), f"type {msg_type}"
        )
    if bad:
        raise _len_error(msg_type, body)


def decode_open(body: bytes) -> Open:
    version = body[0]
    if version != 4:
        raise BgpError(2, OpenSubcode.UNSUPPORTED_VERSION, (4).to_bytes(2), f"version {version}")
    asn = int.from_bytes(body[1:3])
    hold = int.from_bytes(body[3:5])
    rid = IPv4Address(body[5:9])
    plen = body[9]
    params = body[10:]
    ext = False
    # RFC 9072: a 255 length with a 255 type marks 2-octet lengths.
    if plen == 255 and params[:1] == b"\xff":
        if len(params) < 3:
            raise BgpError(2, 0, reason="truncated extended optional parameters")
        plen = int.from_bytes(params[1:3])
        params = params[3:]
        ext = True
    if plen != len(params):
        raise BgpError(2, 0, reason=f"optional parameters length {plen}, have {len(params)}")
    caps: list[Capability] = []
    i, n = 0, len(params)
    hl = 3 if ext else 2
    while i < n:
        if i + hl > n:
            raise BgpError(2, 0, reason="truncated optional parameter")
        ptype = params[i]
        pl = int.from_bytes(params[i + 1 : i + hl])
        if i + hl + pl > n:
            raise BgpError(2, 0, reason="optional parameter overruns the OPEN")
        value = params[i + hl : i + hl + pl]
        if ptype == 2:
            caps.extend(decode_capabilities(value))
        else:
            raise BgpError(
                2, OpenSubcode.UNSUPPORTED_OPT_PARAM, reason=f"optional parameter type {ptype}"
            )
        i += hl + pl
    return Open(version, asn, hold, rid, tuple(caps))


# Attribute blocks decoded before, by their bytes and what their decoding
# depends on: a peer that re-announces a route (churn) sends the same block
# again, and decoding it was most of the time an UPDATE of one prefix took
# from the socket to the table. Only clean blocks are kept (no MP_REACH or
# MP_UNREACH, which carry NLRI, and no RFC 7606 problem, which is logged per
# UPDATE); the values are interned sets, so a hit is what decoding returns.
_ATTR_CACHE: dict[tuple[bytes, bool, bool, bool], PathAttrs] = {}
ATTR_CACHE_MAX = 4096


def _ctx_key(neg: Any) -> tuple[bool, bool]:
    """What a block without MP attributes decodes differently by: 4-octet
    AS numbers and iBGP (see :func:`bgplab.bgp.attr_table.session_ctx`)."""
    if neg is None:
        return True, True
    if isinstance(neg, bool):
        return neg, True
    return bool(neg.as4), bool(getattr(neg, "ibgp", True))


def decode_update(body: bytes, neg: Any = None) -> Update:
    if type(body) is not bytes:
        body = bytes(body)  # slices of it are cache keys
    n = len(body)
    wlen = int.from_bytes(body[0:2])
    if 2 + wlen + 2 > n:
        raise BgpError(
            3, UpdateSubcode.MALFORMED_ATTR_LIST, reason=f"withdrawn length {wlen} too long"
        )
    alen = int.from_bytes(body[2 + wlen : 4 + wlen])
    astart = 4 + wlen
    if astart + alen > n:
        raise BgpError(
            3, UpdateSubcode.MALFORMED_ATTR_LIST, reason=f"attribute length {alen} too long"
        )
    v4_ap = neg is not None and (AFI_IPV4, SAFI_UNICAST) in neg.add_path_rx
    withdrawn = decode_nlri(body[2 : 2 + wlen], AFI_IPV4, v4_ap, withdrawn=True) if wlen else []
    nlri_b = body[astart + alen :]
    nlri = decode_nlri(nlri_b, AFI_IPV4, v4_ap) if nlri_b else []
    if not alen:
        if not wlen and not nlri:
            return Update(eor=(AFI_IPV4, SAFI_UNICAST))
        if nlri:
            # RFC 7606 3.d: NLRI without attributes -> treat-as-withdraw.
            prob = AttrProblem(
                0, ErrorAction.TREAT_AS_WITHDRAW, "missing mandatory ORIGIN, AS_PATH, NEXT_HOP"
            )
            return Update(withdrawn + nlri, [], None, True, (prob,))
        return Update(withdrawn, [])
    block = body[astart : astart + alen]
    key = (block, bool(nlri), *_ctx_key(neg))
    hit = _ATTR_CACHE.get(key)
    if hit is not None:
        return Update(withdrawn, nlri, hit)
    dec = decode_attributes(block, neg, has_nlri=bool(nlri))
    if (
        dec.attrs is not None
        and not dec.problems
        and not dec.treat_as_withdraw
        and dec.mp_reach is None
        and dec.mp_unreach is None
    ):
        if len(_ATTR_CACHE) >= ATTR_CACHE_MAX:
            _ATTR_CACHE.clear()
        _ATTR_CACHE[key] = dec.attrs
    eor = None
    if dec.mp_reach is not None:
        nlri = nlri + dec.mp_reach.nlri if nlri else dec.mp_reach.nlri
    if dec.mp_unreach is not None:
        mw = dec.mp_unreach.withdrawn
        if not mw and not withdrawn and not nlri and dec.mp_reach is None and dec.attrs is None:
            eor = (dec.mp_unreach.afi, dec.mp_unreach.safi)
        withdrawn = withdrawn + mw if withdrawn else mw
    if dec.treat_as_withdraw:
        # RFC 7606 2: the announced prefixes are withdrawn instead.
        return Update(withdrawn + nlri, [], None, True, tuple(dec.problems))
    return Update(withdrawn, nlri, dec.attrs, False, tuple(dec.problems), eor)


def decode_notification(body: bytes) -> Notification:
    return Notification(body[0], body[1], bytes(body[2:]))


def decode_route_refresh(body: bytes) -> RouteRefresh:
    return RouteRefresh(int.from_bytes(body[0:2]), body[3], body[2])


def decode_message(msg_type: int, body: bytes, neg: Any = None) -> Message:
    """Decode one message body (header already stripped by the framer).

    Raises only :class:`BgpError`.
    """
    check_length(msg_type, len(body) + HEADER_LEN)
    if msg_type == MsgType.UPDATE:
        return decode_update(body, neg)
    if msg_type == MsgType.KEEPALIVE:
        return _KEEPALIVE
    if msg_type == MsgType.OPEN:
        return decode_open(body)
    if msg_type == MsgType.NOTIFICATION:
        return decode_notification(body)
    return decode_route_refresh(body)


_KEEPALIVE = Keepalive()

# ------------------------------------------------------------ encoding


def _frame(msg_type: int, body: bytes) -> bytes:
    return MARKER + (len(body) + HEADER_LEN).to_bytes(2) + bytes((msg_type,)) + body


def encode_open(msg: Open) -> bytes:
    caps = [encode_capability(c) for c in msg.capabilities]
    # Usually one Capabilities parameter holds them all (RFC 5492); more
    # parameters when they do not fit in 255 octets.
    params = b""
    cur = b""
    for c in caps:
        if len(cur) + len(c) > 255:
            params += b"\x02" + bytes((len(cur),)) + cur
            cur = b""
        cur += c
    if cur:
        params += b"\x02" + bytes((len(cur),)) + cur
    head = (
        bytes((msg.version,))
        + msg.asn.to_bytes(2)
        + msg.hold_time.to_bytes(2)
        + msg.router_id.packed
    )
    if len(params) > 255:
        raise ValueError("optional parameters too long for an OPEN")
    return _frame(MsgType.OPEN, head + bytes((len(params),)) + params)


def _mp_attr(code: int, value: bytes) -> bytes:
    # Optional non-transitive, always extended length: easier to size.
    return bytes((0x90, code)) + len(value).to_bytes(2) + value


def encode_update(msg: Update, neg: Any = None) -> list[bytes]:
    """Encode an Update: one message when it fits, else split per family."""
    if msg.eor is not None:
        return [pack_eor(*msg.eor)]
    neg = neg or _PLAIN
    v4_wd = [x for x in msg.withdrawn if x[0] < V6_FLAG]
    v6_wd = [x for x in msg.withdrawn if x[0] >= V6_FLAG]
    nlri = msg.nlri if msg.attrs is not None else []
    v4 = [x for x in nlri if x[0] < V6_FLAG]
    v6 = [x for x in nlri if x[0] >= V6_FLAG]
    block = encode_attributes(msg.attrs, neg) if nlri and msg.attrs is not None else b""

    ap4 = (AFI_IPV4, SAFI_UNICAST) in neg.add_path_tx
    ap6 = (AFI_IPV6, SAFI_UNICAST) in neg.add_path_tx
    wd = encode_nlri(v4_wd, ap4)
    attrs = b""
    if v6_wd:
        attrs += _mp_attr(15, b"\x00\x02\x01" + encode_nlri(v6_wd, ap6))
    if v6 and msg.attrs is not None:
        nh = mp_next_hop(msg.attrs)
        attrs += _mp_attr(
            14, b"\x00\x02\x01" + bytes((len(nh),)) + nh + b"\x00" + encode_nlri(v6, ap6)
        )
    attrs += block
    body = len(wd).to_bytes(2) + wd + len(attrs).to_bytes(2) + attrs + encode_nlri(v4, ap4)
    if len(body) + HEADER_LEN <= neg.max_message_size:
        return [_frame(MsgType.UPDATE, body)]
    out: list[bytes] = []
    if v4_wd:
        out += pack_withdraws(v4_wd, neg, AFI_IPV4)
    if v6_wd:
        out += pack_withdraws(v6_wd, neg, AFI_IPV6)
    if v4:
        out += pack_updates(block, v4, neg, AFI_IPV4)
    if v6 and msg.attrs is not None:
        out += pack_updates(block, v6, neg, AFI_IPV6, next_hop=mp_next_hop(msg.attrs))
    return out


def encode_message(msg: Message, neg: Any = None) -> bytes:
    """Wire bytes of one message (an Update that needs several is joined)."""
    if isinstance(msg, Keepalive):
        return KEEPALIVE_WIRE
    if isinstance(msg, Update):
        return b"".join(encode_update(msg, neg))
    if isinstance(msg, Open):
        return encode_open(msg)
    if isinstance(msg, Notification):
        return _frame(MsgType.NOTIFICATION, bytes((msg.code, msg.subcode)) + msg.data)
    if isinstance(msg, RouteRefresh):
        return _frame(MsgType.ROUTE_REFRESH, msg.afi.to_bytes(2) + bytes((msg.subtype, msg.safi)))
    raise TypeError(f"not a BGP message: {msg!r}")


# ------------------------------------------------------------ fast packing


class _Plain:
    as4 = True
    ibgp = True
    add_path_rx: frozenset[tuple[int, int]] = frozenset()
    add_path_tx: frozenset[tuple[int, int]] = frozenset()
    families = None
    max_message_size = MAX_MESSAGE_SIZE


_PLAIN = _Plain()


def _split(chunks: list[bytes], room: int) -> list[list[bytes]]:
    """Greedy split of encoded prefixes into groups of at most ``room`` bytes."""
    if sum(map(len, chunks)) <= room:
        return [chunks] if chunks else []
    groups: list[list[bytes]] = []
    cur: list[bytes] = []
    used = 0
    for c in chunks:
        ln = len(c)
        if used + ln > room and cur:
            groups.append(cur)
            cur = []
            used = 0
        cur.append(c)
        used += ln
    if cur:
        groups.append(cur)
    return groups


def pack_updates(
    attr_block: bytes,
    items: Sequence[NlriItem],
    neg: Any,
    afi: int = AFI_IPV4,
    safi: int = SAFI_UNICAST,
    next_hop: bytes | None = None,
) -> list[bytes]:
    """Complete UPDATE messages announcing ``items`` with ``attr_block``.

    IPv4 unicast uses the classic NLRI field; other families get an
    MP_REACH_NLRI (first in the block, RFC 7606 5.1) with ``next_hop``.
    """
    neg = neg or _PLAIN
    maxsz = neg.max_message_size
    add_path = (afi, safi) in neg.add_path_tx
    chunks = encode_prefixes(items, add_path)
    out: list[bytes] = []
    if afi == AFI_IPV4 and safi == SAFI_UNICAST:
        head_len = HEADER_LEN + 4 + len(attr_block)
        room = maxsz - head_len
        if room <= 0:
            raise ValueError("attribute block too large for one UPDATE")
        prefix = b"\x00\x00" + len(attr_block).to_bytes(2) + attr_block
        for group in _split(chunks, room):
            nl = b"".join(group)
            out.append(MARKER + (head_len + len(nl)).to_bytes(2) + b"\x02" + prefix + nl)
        return out
    nh = next_hop or b""
    mp_fixed = afi.to_bytes(2) + bytes((safi, len(nh))) + nh + b"\x00"
    # header + wlen + alen + MP attr header (4) + fixed part + block
    head_len = HEADER_LEN + 4 + 4 + len(mp_fixed) + len(attr_block)
    room = maxsz - head_len
    if room <= 0:
        raise ValueError("attribute block too large for one UPDATE")
    for group in _split(chunks, room):
        nl = b"".join(group)
        mp = b"\x90\x0e" + (len(mp_fixed) + len(nl)).to_bytes(2) + mp_fixed + nl
        alen = len(mp) + len(attr_block)
        out.append(
            MARKER
            + (HEADER_LEN + 4 + alen).to_bytes(2)
            + b"\x02\x00\x00"
            + alen.to_bytes(2)
            + mp
            + attr_block
        )
    return out


def pack_withdraws(
    items: Sequence[NlriItem], neg: Any, afi: int = AFI_IPV4, safi: int = SAFI_UNICAST
) -> list[bytes]:
    """Complete UPDATE messages withdrawing ``items``."""
    neg = neg or _PLAIN
    maxsz = neg.max_message_size
    add_path = (afi, safi) in neg.add_path_tx
    chunks = encode_prefixes(items, add_path)
    out: list[bytes] = []
    if afi == AFI_IPV4 and safi == SAFI_UNICAST:
        room = maxsz - HEADER_LEN - 4
        for group in _split(chunks, room):
            wd = b"".join(group)
            out.append(
                MARKER
                + (HEADER_LEN + 4 + len(wd)).to_bytes(2)
                + b"\x02"
                + len(wd).to_bytes(2)
                + wd
                + b"\x00\x00"
            )
        return out
    fixed = afi.to_bytes(2) + bytes((safi,))
    room = maxsz - HEADER_LEN - 4 - 4 - 3
    for group in _split(chunks, room):
        wd = b"".join(group)
        mp = b"\x90\x0f" + (3 + len(wd)).to_bytes(2) + fixed + wd
        out.append(
            MARKER
            + (HEADER_LEN + 4 + len(mp)).to_bytes(2)
            + b"\x02\x00\x00"
            + len(mp).to_bytes(2)
            + mp
        )
    return out


def pack_eor(afi: int = AFI_IPV4, safi: int = SAFI_UNICAST) -> bytes:
    """End-of-RIB marker (RFC 4724 2)."""
    if afi == AFI_IPV4 and safi == SAFI_UNICAST:
        return _frame(MsgType.UPDATE, b"\x00\x00\x00\x00")
    mp = b"\x80\x0f\x03" + afi.to_bytes(2) + bytes((safi,))
    return _frame(MsgType.UPDATE, b"\x00\x00" + len(mp).to_bytes(2) + mp)


def encode_keepalive() -> bytes:
    return KEEPALIVE_WIRE
