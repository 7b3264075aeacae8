"""Minimal BGP wire format for the load generator (test equipment).

The generator must never be the bottleneck, so it works on bytes: UPDATEs
are built once before the clock starts and incoming UPDATEs are only
*counted* (walk the NLRI length bytes, build no objects). This module is
deliberately small and independent of the router's own codec, so that a bug
there cannot hide behind the same bug here.

Only what the benchmark needs: IPv4 unicast, OPEN with the capabilities
Calico's BIRD sends (multiprotocol, route refresh, 4-octet AS, ADD-PATH),
KEEPALIVE, NOTIFICATION, UPDATE with ORIGIN/AS_PATH/NEXT_HOP/LOCAL_PREF.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MARKER = b"\xff" * 16
HEADER_LEN = 19
MAX_MSG = 4096

OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH = 1, 2, 3, 4, 5

KEEPALIVE_MSG = MARKER + struct.pack("!HB", HEADER_LEN, KEEPALIVE)

# Capability codes (RFC 5492 registry)
CAP_MP = 1
CAP_RR = 2
CAP_AS4 = 65
CAP_ADDPATH = 69

# Path attribute type codes
ATTR_ORIGIN = 1
ATTR_AS_PATH = 2
ATTR_NEXT_HOP = 3
ATTR_LOCAL_PREF = 5
ATTR_MP_REACH = 14
ATTR_MP_UNREACH = 15

AS_TRANS = 23456


class WireError(ValueError):
    """Malformed bytes from the peer."""


def message(msg_type: int, body: bytes) -> bytes:
    n = HEADER_LEN + len(body)
    if n > MAX_MSG:
        raise WireError(f"message of {n} bytes exceeds {MAX_MSG}")
    return MARKER + struct.pack("!HB", n, msg_type) + body


def encode_open(my_as: int, hold: int, router_id: int, addpath: bool = True) -> bytes:
    """OPEN for IPv4 unicast; ADD-PATH send+receive when ``addpath``."""
    caps = bytearray()
    caps += bytes((CAP_MP, 4)) + struct.pack("!HBB", 1, 0, 1)
    caps += bytes((CAP_RR, 0))
    caps += bytes((CAP_AS4, 4)) + struct.pack("!I", my_as)
    if addpath:
        caps += bytes((CAP_ADDPATH, 4)) + struct.pack("!HBB", 1, 1, 3)
    params = bytes((2, len(caps))) + caps
    as2 = my_as if my_as < 65536 else AS_TRANS
    body = struct.pack("!BHHIB", 4, as2, hold, router_id, len(params)) + params
    return message(OPEN, body)


def encode_notification(code: int, subcode: int = 0, data: bytes = b"") -> bytes:
    return message(NOTIFICATION, bytes((code, subcode)) + data)


@dataclass
class OpenInfo:
    """What the load generator needs from the peer's OPEN."""

    version: int
    asn: int
    hold: int
    router_id: int
    # ADD-PATH send/receive bits the peer announced for IPv4 unicast
    addpath_mode: int = 0
    caps: list[int] = field(default_factory=list)


def decode_open(body: bytes) -> OpenInfo:
    """Parse an OPEN body (after the 19-byte header)."""
    if len(body) < 10:
        raise WireError("OPEN too short")
    version, as2, hold, rid, plen = struct.unpack_from("!BHHIB", body, 0)
    info = OpenInfo(version, as2, hold, rid)
    pos, end = 10, 10 + plen
    if end > len(body):
        raise WireError("OPEN optional parameters overrun")
    while pos + 2 <= end:
        ptype, pl = body[pos], body[pos + 1]
        pos += 2
        if ptype == 2:
            cpos, cend = pos, pos + pl
            while cpos + 2 <= cend:
                code, cl = body[cpos], body[cpos + 1]
                val = body[cpos + 2 : cpos + 2 + cl]
                info.caps.append(code)
                if code == CAP_AS4 and cl == 4:
                    info.asn = struct.unpack("!I", val)[0]
                elif code == CAP_ADDPATH:
                    for i in range(0, cl - 3, 4):
                        afi, safi, mode = struct.unpack_from("!HBB", val, i)
                        if afi == 1 and safi == 1:
                            info.addpath_mode = mode
                cpos += 2 + cl
        pos += pl
    return info


def negotiated_addpath(local_mode: int, peer_mode: int) -> tuple[bool, bool]:
    """(path ids in what we receive, path ids in what we send) per RFC 7911:
    we receive path ids if we said receive (1) and the peer said send (2)."""
    rx = bool(local_mode & 1) and bool(peer_mode & 2)
    tx = bool(local_mode & 2) and bool(peer_mode & 1)
    return rx, tx


# --- NLRI -----------------------------------------------------------------


def prefix_bytes(addr: int, plen: int) -> bytes:
    nbytes = (plen + 7) >> 3
    return bytes((plen,)) + addr.to_bytes(4, "big")[:nbytes]


def nlri_entry(addr: int, plen: int, path_id: int | None = None) -> bytes:
    pb = prefix_bytes(addr, plen)
    return pb if path_id is None else struct.pack("!I", path_id) + pb


def ibgp_attributes(next_hop: int, local_pref: int = 100, as_path: tuple[int, ...] = ()) -> bytes:
    """ORIGIN IGP, AS_PATH (one AS_SEQUENCE of 4-octet ASNs, empty for a
    route originated inside the AS), NEXT_HOP, LOCAL_PREF."""
    out = bytearray()
    out += bytes((0x40, ATTR_ORIGIN, 1, 0))
    if as_path:
        seg = bytes((2, len(as_path))) + b"".join(struct.pack("!I", a) for a in as_path)
        out += bytes((0x40, ATTR_AS_PATH, len(seg))) + seg
    else:
        out += bytes((0x40, ATTR_AS_PATH, 0))
    out += bytes((0x40, ATTR_NEXT_HOP, 4)) + next_hop.to_bytes(4, "big")
    out += bytes((0x40, ATTR_LOCAL_PREF, 4)) + struct.pack("!I", local_pref)
    return bytes(out)


def _update(withdrawn: bytes, attrs: bytes, nlri: bytes) -> bytes:
    body = (
        struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs)) + attrs + nlri
    )
    return message(UPDATE, body)


def pack_announces(
    entries: Iterable[bytes], attrs: bytes, max_size: int = MAX_MSG
) -> Iterator[bytes]:
    """UPDATEs carrying ``entries`` (pre-encoded NLRI) with one attribute set,
    as many per message as fit."""
    room = max_size - HEADER_LEN - 4 - len(attrs)
    chunk: list[bytes] = []
    used = 0
    for e in entries:
        if used + len(e) > room and chunk:
            yield _update(b"", attrs, b"".join(chunk))
            chunk, used = [], 0
        chunk.append(e)
        used += len(e)
    if chunk:
        yield _update(b"", attrs, b"".join(chunk))


def pack_withdraws(entries: Iterable[bytes], max_size: int = MAX_MSG) -> Iterator[bytes]:
    room = max_size - HEADER_LEN - 4
    chunk: list[bytes] = []
    used = 0
    for e in entries:
        if used + len(e) > room and chunk:
            yield _update(b"".join(chunk), b"", b"")
            chunk, used = [], 0
        chunk.append(e)
        used += len(e)
    if chunk:
        yield _update(b"".join(chunk), b"", b"")


END_OF_RIB = _update(b"", b"", b"")


# --- fast receive path ------------------------------------------------------


def count_nlri(buf: bytes | memoryview, pos: int, end: int, addpath: bool) -> int:
    """Number of prefixes in ``buf[pos:end]``; only length bytes are read."""
    n = 0
    if addpath:
        while pos < end:
            pos += 5 + ((buf[pos + 4] + 7) >> 3)
            n += 1
    else:
        while pos < end:
            pos += 1 + ((buf[pos] + 7) >> 3)
            n += 1
    if pos != end:
        raise WireError("NLRI overruns its field")
    return n


def count_update(
    buf: bytes | memoryview, addpath: bool, start: int = 0, end: int | None = None
) -> tuple[int, int]:
    """(announced, withdrawn) IPv4 unicast prefixes in the UPDATE body at
    ``buf[start:end]``. Offsets avoid copying the body out of the buffer."""
    wd, ann = update_ranges(buf, start, len(buf) if end is None else end)
    announced = sum(count_nlri(buf, p, e, addpath) for p, e in ann)
    withdrawn = sum(count_nlri(buf, p, e, addpath) for p, e in wd)
    return announced, withdrawn


def update_ranges(
    buf: bytes | memoryview, start: int, end: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Byte ranges of the (withdrawn, announced) IPv4 unicast NLRI fields of
    the UPDATE body ``buf[start:end]``, including MP_REACH/MP_UNREACH."""
    if end - start < 4:
        raise WireError("UPDATE too short")
    wlen = (buf[start] << 8) | buf[start + 1]
    wend = start + 2 + wlen
    if wend + 2 > end:
        raise WireError("withdrawn routes overrun")
    alen = (buf[wend] << 8) | buf[wend + 1]
    apos = wend + 2
    aend = apos + alen
    if aend > end:
        raise WireError("path attributes overrun")
    wd = [(start + 2, wend)] if wlen else []
    ann = [(aend, end)] if aend < end else []
    while apos < aend:
        flags, code = buf[apos], buf[apos + 1]
        if flags & 0x10:
            vlen = (buf[apos + 2] << 8) | buf[apos + 3]
            vpos = apos + 4
        else:
            vlen = buf[apos + 2]
            vpos = apos + 3
        ipv4_unicast = vlen >= 3 and buf[vpos] == 0 and buf[vpos + 1] == 1 and buf[vpos + 2] == 1
        if code == ATTR_MP_REACH and ipv4_unicast and vlen >= 5:
            # skip AFI/SAFI, next hop length, next hop and the reserved byte
            ann.append((vpos + 4 + buf[vpos + 3] + 1, vpos + vlen))
        elif code == ATTR_MP_UNREACH and ipv4_unicast:
            wd.append((vpos + 3, vpos + vlen))
        apos = vpos + vlen
    if apos != aend:
        raise WireError("attribute overruns the attribute field")
    return wd, ann


# --- full decode (for tests and the churn watcher) -------------------------


def iter_nlri(
    buf: bytes | memoryview, pos: int, end: int, addpath: bool
) -> Iterator[tuple[int | None, int, int]]:
    """Yield (path_id, address, length) for each prefix in the field."""
    while pos < end:
        pid = None
        if addpath:
            pid = struct.unpack_from("!I", buf, pos)[0]
            pos += 4
        plen = buf[pos]
        if plen > 32:
            raise WireError(f"IPv4 prefix length {plen}")
        nb = (plen + 7) >> 3
        raw = bytes(buf[pos + 1 : pos + 1 + nb]) + b"\0" * (4 - nb)
        pos += 1 + nb
        yield pid, int.from_bytes(raw, "big"), plen
    if pos != end:
        raise WireError("NLRI overruns its field")


@dataclass
class DecodedUpdate:
    withdrawn: list[tuple[int | None, int, int]]
    attrs: dict[int, bytes]
    nlri: list[tuple[int | None, int, int]]


def decode_update(body: bytes, addpath: bool) -> DecodedUpdate:
    wlen = struct.unpack_from("!H", body, 0)[0]
    withdrawn = list(iter_nlri(body, 2, 2 + wlen, addpath))
    apos = 2 + wlen
    alen = struct.unpack_from("!H", body, apos)[0]
    apos += 2
    aend = apos + alen
    attrs: dict[int, bytes] = {}
    while apos < aend:
        flags, code = body[apos], body[apos + 1]
        if flags & 0x10:
            vlen = struct.unpack_from("!H", body, apos + 2)[0]
            vpos = apos + 4
        else:
            vlen = body[apos + 2]
            vpos = apos + 3
        attrs[code] = bytes(body[vpos : vpos + vlen])
        apos = vpos + vlen
    if apos != aend:
        raise WireError("attribute overruns the attribute field")
    return DecodedUpdate(withdrawn, attrs, list(iter_nlri(body, aend, len(body), addpath)))


def split_messages(buf: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """Whole messages at the start of ``buf`` as (type, body); and how many
    bytes they used (the rest is an incomplete message)."""
    out = []
    pos = 0
    n = len(buf)
    while n - pos >= HEADER_LEN:
        mlen = (buf[pos + 16] << 8) | buf[pos + 17]
        if mlen < HEADER_LEN or mlen > 65535:
            raise WireError(f"bad message length {mlen}")
        if buf[pos : pos + 16] != MARKER:
            raise WireError("bad marker")
        if n - pos < mlen:
            break
        out.append((buf[pos + 18], bytes(buf[pos + HEADER_LEN : pos + mlen])))
        pos += mlen
    return out, pos
