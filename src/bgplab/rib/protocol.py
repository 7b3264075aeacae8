"""The protocol instance contract (BIRD's ``struct proto``).

Every routing protocol — BGP, kernel, device, direct, static — is a peer of
the routing table: it imports routes through its :class:`~bgplab.rib.channel.Channel`
and receives exported routes in :meth:`Protocol.rt_notify`. Protocols never
talk to each other.

Life cycle (``show protocols`` state column)::

    down --start()--> start --(ready)--> up --stop()--> stop --> down

``start``/``stop`` are coroutines because some protocols do I/O (sockets,
netlink); everything that touches the table is synchronous.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bgplab.rib.route import Route, Source

if TYPE_CHECKING:
    from bgplab.rib.channel import Channel
    from bgplab.rib.context import DaemonContext


class ProtoState(enum.Enum):
    DOWN = "down"
    START = "start"
    UP = "up"
    STOP = "stop"
    FLUSH = "flush"


@dataclass(slots=True)
class InterfaceAddr:
    """An address configured on an interface (from the device protocol)."""

    address: str  # the address itself, e.g. "192.168.0.40"
    prefix: int  # the connected prefix as a bgplab.net key
    v6: bool = False


@dataclass(slots=True)
class Interface:
    """An interface as BIRD's device protocol sees it."""

    name: str
    index: int
    up: bool = False
    link_up: bool = False
    mtu: int = 1500
    flags: set[str] = field(default_factory=set)  # "loopback", "multicast", ...
    addrs: list[InterfaceAddr] = field(default_factory=list)


class Protocol:
    """Base class of all protocol instances.

    Subclasses set ``proto_name`` ("BGP", "Kernel", "Device", "Direct",
    "Static") and ``source_type``; they override :meth:`start`,
    :meth:`stop`, :meth:`rt_notify` and the ``show`` helpers.

    ``self.channel`` is ``None`` for protocols without routes (device).
    """

    proto_name = "?"
    source_type = Source.DUMMY
    default_preference = 0

    # RouteOrigin fields (see bgplab.rib.route.RouteOrigin); BGP overrides.
    peer_address: str | None = None
    peer_router_id: int | None = None
    peer_as: int | None = None
    local_as: int | None = None
    is_ibgp = False
    is_rr_client = False

    def __init__(self, config: Any, ctx: DaemonContext) -> None:
        self.config = config
        self.ctx = ctx
        self.name: str = config.name
        self.preference: int = getattr(config, "preference", None) or self.default_preference
        self.state = ProtoState.DOWN
        self.state_since = time.time()
        self.disabled: bool = bool(getattr(config, "disabled", False))
        self.channel: Channel | None = None
        self.log = logging.getLogger(f"bgplab.{self.name}")
        self.debug: frozenset[str] = frozenset(getattr(config, "debug", ()) or ())
        self.message: str = ""  # last error or note shown in `show protocols` info

    # -- life cycle -----------------------------------------------------
    def set_state(self, state: ProtoState) -> None:
        if state is not self.state:
            if "states" in self.debug or "all" in self.debug:
                self.log.info("%s: state changed to %s", self.name, state.value)
            self.state = state
            self.state_since = time.time()
            self.ctx.protocol_state_changed(self)

    async def start(self) -> None:
        self.set_state(ProtoState.UP)

    async def stop(self, reason: str = "") -> None:
        if self.channel is not None:
            self.channel.flush()
        self.set_state(ProtoState.DOWN)

    def reconfigure(self, new_config: Any) -> bool:
        """Adopt ``new_config`` in place; return False if a restart is needed."""
        return False

    # -- routes ---------------------------------------------------------
    def rt_notify(self, net: int, new: Route | None, old: Route | None) -> None:
        """An exported route changed (already through the export filter).

        ``new`` None means withdrawn; ``old`` is what was exported before
        (None if nothing). Must not block: enqueue I/O.
        """

    def rt_notify_merged(self, net: int, routes: list[Route]) -> None:
        """For ``merge paths``: the equal-best set for ``net`` (empty = none)."""
        self.rt_notify(net, routes[0] if routes else None, None)

    def reload_routes(self) -> bool:
        """Re-feed imported routes (``reload in``). False if unsupported."""
        return False

    # -- show -----------------------------------------------------------
    def info(self) -> str:
        """The ``info`` column of ``show protocols``."""
        return self.message

    def show_details(self) -> list[str]:
        """Protocol-specific lines of ``show protocols all`` (already indented)."""
        return []

    def describe(self) -> dict[str, Any]:
        """JSON-friendly status for ``--json`` and metrics."""
        return {
            "name": self.name,
            "proto": self.proto_name,
            "table": self.channel.table.name if self.channel else "---",
            "state": self.state.value,
            "since": self.state_since,
            "info": self.info(),
        }
