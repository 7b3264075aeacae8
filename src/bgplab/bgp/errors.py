"""Protocol errors and their RFC 7606 handling.

A :class:`BgpError` is what the peer did wrong, carrying the NOTIFICATION it
earns (code, subcode, data) and how severe it is. Only ``SESSION_RESET``
errors are raised out of the decoder; the milder outcomes are recorded as
:class:`AttrProblem` on the decoded UPDATE so the caller can log them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bgplab.bgp.messages import Notification


class ErrorAction(enum.Enum):
    """RFC 7606 section 2 error handling approaches, most severe first."""

    SESSION_RESET = "session-reset"
    AFI_SAFI_DISABLE = "afi-safi-disable"
    TREAT_AS_WITHDRAW = "treat-as-withdraw"
    ATTRIBUTE_DISCARD = "attribute-discard"


class BgpError(Exception):
    """The peer sent something that ends the session (or a local FSM error).

    ``data`` is the NOTIFICATION data field; ``reason`` is a human detail
    for logs (not sent on the wire).
    """

    def __init__(
        self,
        code: int,
        subcode: int = 0,
        data: bytes = b"",
        reason: str = "",
        action: ErrorAction = ErrorAction.SESSION_RESET,
    ) -> None:
        self.code = int(code)
        self.subcode = int(subcode)
        self.data = bytes(data)
        self.reason = reason
        self.action = action
        super().__init__(self.describe())

    def notification(self) -> Notification:
        from bgplab.bgp.messages import Notification

        return Notification(self.code, self.subcode, self.data)

    def describe(self) -> str:
        from bgplab.bgp.messages import notification_text

        text = notification_text(self.code, self.subcode)
        return f"{text} ({self.reason})" if self.reason else text

    def __repr__(self) -> str:
        return (
            f"BgpError({self.code}, {self.subcode}, data={self.data!r}, "
            f"reason={self.reason!r}, action={self.action.name})"
        )


@dataclass(frozen=True, slots=True)
class AttrProblem:
    """A non-fatal malformation handled per RFC 7606, for the log."""

    code: int  # attribute type code (0 when it is about the attribute list)
    action: ErrorAction
    reason: str

    def __str__(self) -> str:
        from bgplab.bgp.constants import AttrCode

        try:
            name = AttrCode(self.code).name
        except ValueError:
            name = f"attribute {self.code}" if self.code else "attribute list"
        return f"{name}: {self.reason} ({self.action.value})"
