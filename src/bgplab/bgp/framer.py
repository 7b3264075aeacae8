"""Split a TCP byte stream into BGP messages (RFC 4271 4.1, 6.1)."""

from __future__ import annotations

from bgplab.bgp.constants import (
    HEADER_LEN,
    MARKER,
    MAX_EXT_MESSAGE_SIZE,
    MAX_MESSAGE_SIZE,
    HeaderSubcode,
    MsgType,
)
from bgplab.bgp.errors import BgpError
from bgplab.bgp.messages import check_length


class Framer:
    """Buffer bytes; hand out ``(msg_type, body)`` for each whole message.

    ``max_size`` is 4096 until extended messages (RFC 8654) are negotiated;
    the session raises it with :meth:`set_max_size`. OPEN and KEEPALIVE stay
    limited to 4096 regardless.

    After a :class:`BgpError` the stream is out of sync: the framer keeps
    raising the same error (the session must end). Messages complete before
    the bad header are returned first; the error is raised on the next call.
    """

    __slots__ = ("_buf", "_pos", "max_size", "_error")

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.max_size = max_size
        self._error: BgpError | None = None

    def set_max_size(self, size: int) -> None:
        self.max_size = min(max(size, MAX_MESSAGE_SIZE), MAX_EXT_MESSAGE_SIZE)

    @property
    def error(self) -> BgpError | None:
        """The framing error waiting to be raised, if any."""
        return self._error

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add received bytes; return the messages now complete."""
        if self._error is not None:
            raise self._error
        buf = self._buf
        if self._pos:
            # Drop consumed bytes before growing (keeps the buffer small).
            del buf[: self._pos]
            self._pos = 0
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        n = len(buf)
        try:
            while n - pos >= HEADER_LEN:
                if buf[pos : pos + 16] != MARKER:
                    raise BgpError(
                        1, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, reason="bad marker"
                    )
                length = (buf[pos + 16] << 8) | buf[pos + 17]
                msg_type = buf[pos + 18]
                limit = self.max_size
                if msg_type in (MsgType.OPEN, MsgType.KEEPALIVE):
                    limit = MAX_MESSAGE_SIZE
                if length < HEADER_LEN or length > limit:
                    raise BgpError(
                        1,
                        HeaderSubcode.BAD_MESSAGE_LENGTH,
                        bytes(buf[pos + 16 : pos + 18]),
                        f"length {length}",
                    )
                check_length(msg_type, length)
                if n - pos < length:
                    break
                out.append((msg_type, bytes(buf[pos + HEADER_LEN : pos + length])))
                pos += length
        except BgpError as exc:
            self._error = exc
            if not out:
                raise
            # Hand out the good messages first; the error comes next call.
        finally:
            self._pos = pos
        return out
