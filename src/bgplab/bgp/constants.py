"""BGP protocol numbers: message types, attribute codes, capabilities, errors."""

from __future__ import annotations

import enum

BGP_PORT = 179
BGP_VERSION = 4
MARKER = b"\xff" * 16
HEADER_LEN = 19
MAX_MESSAGE_SIZE = 4096
MAX_EXT_MESSAGE_SIZE = 65535  # RFC 8654
AS_TRANS = 23456  # RFC 6793

AFI_IPV4 = 1
AFI_IPV6 = 2
SAFI_UNICAST = 1
SAFI_MULTICAST = 2

IPV4_UNICAST = (AFI_IPV4, SAFI_UNICAST)
IPV6_UNICAST = (AFI_IPV6, SAFI_UNICAST)


class MsgType(enum.IntEnum):
    OPEN = 1
    UPDATE = 2
    NOTIFICATION = 3
    KEEPALIVE = 4
    ROUTE_REFRESH = 5


class AttrCode(enum.IntEnum):
    ORIGIN = 1
    AS_PATH = 2
    NEXT_HOP = 3
    MED = 4
    LOCAL_PREF = 5
    ATOMIC_AGGREGATE = 6
    AGGREGATOR = 7
    COMMUNITIES = 8
    ORIGINATOR_ID = 9
    CLUSTER_LIST = 10
    MP_REACH_NLRI = 14
    MP_UNREACH_NLRI = 15
    EXT_COMMUNITIES = 16
    AS4_PATH = 17
    AS4_AGGREGATOR = 18
    LARGE_COMMUNITIES = 32


class AttrFlag(enum.IntFlag):
    OPTIONAL = 0x80
    TRANSITIVE = 0x40
    PARTIAL = 0x20
    EXTENDED_LENGTH = 0x10


class CapCode(enum.IntEnum):
    MULTIPROTOCOL = 1
    ROUTE_REFRESH = 2
    EXTENDED_NEXT_HOP = 5
    EXTENDED_MESSAGE = 6
    GRACEFUL_RESTART = 64
    AS4 = 65
    ADD_PATH = 69
    ENHANCED_ROUTE_REFRESH = 70
    LLGR = 71
    FQDN = 73
    ROUTE_REFRESH_OLD = 128  # pre-standard Cisco code, still seen


class NotifCode(enum.IntEnum):
    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5
    CEASE = 6
    ROUTE_REFRESH = 7


class HeaderSubcode(enum.IntEnum):
    UNSPECIFIC = 0
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenSubcode(enum.IntEnum):
    UNSPECIFIC = 0
    UNSUPPORTED_VERSION = 1
    BAD_PEER_AS = 2
    BAD_BGP_ID = 3
    UNSUPPORTED_OPT_PARAM = 4
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7


class UpdateSubcode(enum.IntEnum):
    UNSPECIFIC = 0
    MALFORMED_ATTR_LIST = 1
    UNRECOGNIZED_WELLKNOWN = 2
    MISSING_WELLKNOWN = 3
    ATTR_FLAGS_ERROR = 4
    ATTR_LENGTH_ERROR = 5
    INVALID_ORIGIN = 6
    INVALID_NEXT_HOP = 8
    OPTIONAL_ATTR_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class FsmSubcode(enum.IntEnum):
    """RFC 6608."""

    UNSPECIFIC = 0
    UNEXPECTED_IN_OPENSENT = 1
    UNEXPECTED_IN_OPENCONFIRM = 2
    UNEXPECTED_IN_ESTABLISHED = 3


class CeaseSubcode(enum.IntEnum):
    """RFC 4486 (+ RFC 8538 hard reset, RFC 9384 BFD down)."""

    UNSPECIFIC = 0
    MAX_PREFIXES = 1
    ADMIN_SHUTDOWN = 2
    PEER_DECONFIGURED = 3
    ADMIN_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIG_CHANGE = 6
    CONNECTION_COLLISION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9
    BFD_DOWN = 10


class RouteRefreshSubcode(enum.IntEnum):
    """RFC 7313."""

    UNSPECIFIC = 0
    INVALID_LENGTH = 1


class RefreshSubtype(enum.IntEnum):
    NORMAL = 0
    BORR = 1  # beginning of route refresh
    EORR = 2  # end of route refresh
