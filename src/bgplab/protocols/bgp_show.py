"""What ``show protocols all`` and the looking glass read from a BGP
protocol: session flags, capabilities, timers left, the info column."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from bgplab.rib.protocol import Protocol, ProtoState

if TYPE_CHECKING:
    from bgplab.bgp.fsm import PeerFsm
    from bgplab.io.bgp_transport import BgpConnection
    from bgplab.rib.adjrib_out import UpdateGroup
    from bgplab.rib.channel import ChangeStats


class BgpShow(Protocol):
    """The read-only views of :class:`~bgplab.protocols.bgp.BgpProtocol`."""

    # Set up by BgpProtocol.__init__ (the neighbour data Route reads is
    # declared on Protocol).
    fsm: PeerFsm
    group: UpdateGroup | None
    export_carried: ChangeStats | None
    negotiated: Any
    active_conn: BgpConnection | None
    configured_source: str | None
    timer_deadline: dict[Any, tuple[float, float]]
    stale_handle: asyncio.TimerHandle | None
    bgp_state: str
    neighbor_address: str
    neighbor_as: int
    neighbor_id: str | None
    multihop: int
    v6: bool

    @property
    def source_address(self) -> str | None:
        """`source address`, else the local end of the current connection."""
        if self.configured_source:
            return self.configured_source
        conn = self.active_conn
        return conn.local[0] if conn is not None and conn.local else None

    def exported_count(self) -> int:
        return self.group.exported_to(self) if self.group is not None else 0

    @property
    def export_stats(self) -> Any:
        """Export side of `Route change stats`: kept by the shared update group."""
        if self.group is not None:
            return self.group.member_stats(self)
        return self.export_carried  # graceful restart: what it showed (BIRD's stay)

    @property
    def neighbor_caps(self) -> list[str]:
        neg = self.negotiated
        return list(neg.peer_caps) if neg is not None else []

    @property
    def session_flags(self) -> list[str]:
        neg = self.negotiated
        if neg is None:
            return []
        flags = ["internal" if self.is_ibgp else "external"]
        if self.multihop:
            flags.append("multihop")
        if self.is_rr_client:
            flags.append("route-reflector")
        if neg.as4:
            flags.append("AS4")
        fam = (2, 1) if self.v6 else (1, 1)
        if fam in neg.add_path_rx:
            flags.append("add-path-rx")
        if fam in neg.add_path_tx:
            flags.append("add-path-tx")
        return flags

    def _timer_view(self, name: str) -> tuple[int, int] | None:
        for key, (deadline, total) in self.timer_deadline.items():
            tname = getattr(key, "name", "") or (
                getattr(key[0], "name", "") if isinstance(key, tuple) else str(key))
            if tname.upper() == name:
                return max(0, int(deadline - time.monotonic() + 0.999)), int(total)
        return None

    @property
    def hold_timer(self) -> tuple[int, int] | None:
        return self._timer_view("HOLD")

    @property
    def keepalive_timer(self) -> tuple[int, int] | None:
        return self._timer_view("KEEPALIVE")

    @property
    def gr_active(self) -> bool:
        """BIRD's "Neighbor graceful restart active": stale routes wait."""
        return self.stale_handle is not None

    @property
    def restart_timer(self) -> int | None:
        """Seconds left of the peer's restart time (BIRD's ``Restart timer``)."""
        h = self.stale_handle
        if h is None:
            return None
        return max(0, int(h.when() - asyncio.get_running_loop().time() + 0.999))

    @property
    def error_wait(self) -> tuple[int, int] | None:
        return self._timer_view("ERROR_WAIT")

    @property
    def connect_delay(self) -> tuple[int, int] | None:
        # BIRD prints the time left of whichever connect timer runs over the configured
        # `connect delay time` (not the jittered length it was started with).
        view = self._timer_view("CONNECT_DELAY") or self._timer_view("CONNECT_RETRY")
        return None if view is None else (view[0], self.fsm.config.connect_delay_time)

    @property
    def last_error(self) -> str:
        return self.fsm.last_error

    def info(self) -> str:
        """BIRD's info column: state padded to 14, then the last error."""
        if self.state is ProtoState.DOWN:
            return ""
        state = self.fsm.state_text
        err = "" if state == "Established" else self.fsm.last_error
        return f"{state:<14}{err}"

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            bgp_state=self.bgp_state,
            neighbor_address=self.neighbor_address,
            neighbor_as=self.neighbor_as,
            neighbor_id=self.neighbor_id,
            last_error=self.last_error,
            routes_imported=self.channel.imported if self.channel else 0,
            routes_exported=self.group.exported_to(self) if self.group else 0,
        )
        return d
