"""Routes in, for the BGP protocol: an UPDATE's NLRI through the loop checks
(RFC 4456, AS path) and next-hop resolution (``gateway direct|recursive``)
into ``Route`` objects for the import channel; and graceful restart (RFC 4724)
as receiver: a GR-capable peer's routes stay, marked stale, until it sends
End-of-RIB or its restart time runs out.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Mapping
from ipaddress import IPv4Address
from typing import Any

from bgplab.bgp.attrs import intern
from bgplab.rib.channel import ChangeStats
from bgplab.rib.protocol import Protocol
from bgplab.rib.route import Dest, Route
from bgplab.rib.table import link_gateway


class BgpImport(Protocol):
    """The import side of :class:`~bgplab.protocols.bgp.BgpProtocol`."""

    # Set up by BgpProtocol.__init__ (the neighbour data Route reads is
    # declared on Protocol).
    neighbor_address: str
    cluster_id: IPv4Address
    default_local_pref: int
    gateway: str
    stale_handle: asyncio.TimerHandle | None
    updates_in: int
    withdraws_in: int
    recovered: bool
    export_carried: ChangeStats | None
    _memo_key: tuple[str, int]

    def _own_routes(self) -> Mapping[tuple[int, int], Route]:
        return self.channel.own_routes()  # type: ignore[union-attr]

    def _on_update(self, upd: Any) -> None:
        ch = self.channel
        assert ch is not None
        eor = getattr(upd, "eor", None)
        if eor is not None:
            self._end_of_rib(eor[0])
            return
        table = ch.table
        if upd.withdrawn:
            self.withdraws_in += ch.withdraw_routes(upd.withdrawn)
        if not upd.nlri:
            return
        attrs = upd.attrs
        if upd.treat_as_withdraw or attrs is None or self._loops(attrs):
            # treat-as-withdraw (RFC 7606) and loops: drop what we hold
            own = ch.own_routes()
            held = [k for k in upd.nlri if k in own]
            if held:
                self.withdraws_in += ch.withdraw_routes(held)
            return
        if attrs.local_pref is None:
            # BIRD gives routes without LOCAL_PREF its `default bgp_local_pref`
            memo = attrs.memo_for(self._memo_key)
            fixed = memo.get("lp")
            if fixed is None:
                fixed = memo["lp"] = intern(attrs.replace(local_pref=self.default_local_pref))
            attrs = fixed
        self.updates_in += len(upd.nlri)
        dest, gw, iface, metric, hops = self._resolve(attrs, table)
        now = time.time()
        addr = self.neighbor_address
        # the whole UPDATE in one pass through channel, table and groups; its
        # routes share everything but the net and path id
        tail = Route.tail(self, dest=dest, gw=gw, iface=iface, nexthops=hops,
                          igp_metric=metric, since=now, from_addr=addr)
        shared = Route.shared
        ch.import_routes(upd.nlri, lambda net, pid: shared(net, attrs, self, pid, tail))

    def _withdraw(self, net: int, pid: int) -> None:
        ch = self.channel
        assert ch is not None
        old = ch.own_routes().get((net, pid))
        if old is None:
            ch.import_withdraw(net, pid)
            return
        self.withdraws_in += 1
        ch.import_withdraw(net, pid)

    def _loops(self, attrs: Any) -> bool:
        """RFC 4456 / 4271 loop detection: such routes are treated as withdrawn."""
        if self.is_ibgp:
            if attrs.originator_id is not None and attrs.originator_id == self.ctx.router_id:
                return True
            return self.cluster_id in attrs.cluster_list
        allow = getattr(self.config, "allow_local_as", None)
        count = sum(1 for asn in attrs.as_path_flat() if asn == self.local_as)
        limit = 0 if allow is None else (allow if allow > 0 else 1)
        return count > limit

    def _resolve(
        self, attrs: Any, table: Any
    ) -> tuple[Dest, str | None, str | None, int, tuple[Any, ...]]:
        """Forwarding data for a BGP next hop (once per UPDATE, not per route)."""
        nh = attrs.next_hop
        if nh is None:
            return Dest.UNREACHABLE, None, None, 0, ()
        v6 = nh.version == 6
        addr = int(nh)
        if self.gateway == "direct":
            ll = attrs.next_hop_ll
            if ll is not None and (addr == 0 or nh.is_link_local):
                # BIRD 1.6: a zero or link-local global next hop (a link-local
                # session) leaves the link-local one, on the neighbor's interface
                name = getattr(self.config, "interface", None)
                lif = self.ctx.ifaces.get(name) if name else self.ctx.iface_for(
                    int(ipaddress.ip_address(self.neighbor_address)), v6)
                if lif is None:
                    return Dest.UNREACHABLE, str(ll), None, 0, ()
                return Dest.ROUTER, str(ll), lif.name, 0, ()
            iface = self.ctx.iface_for(addr, v6)
            if iface is None:
                return Dest.UNREACHABLE, str(nh), None, 0, ()
            return Dest.ROUTER, str(nh), iface.name, 0, ()
        # the channel depends on this next hop: when the IGP route to it
        # changes, the table re-resolves the channel's routes that use it
        he = table.resolve(addr, v6, self.channel)
        return he.dest, link_gateway(he, attrs.next_hop_ll), he.iface, he.metric, he.nexthops

    # ---- graceful restart (receiver) ---------------------------------------
    def _mark_stale(self, restart_time: int) -> None:
        ch = self.channel
        assert ch is not None
        own = ch.own_routes()
        # the routes of a run stay one Route in the table, stale together
        ch.table.restamp(ch, [(n, r) for n, r in own.stored() if not r.stale], stale=True)
        self._cancel_stale()
        self.stale_handle = asyncio.get_running_loop().call_later(
            max(1, restart_time), self._stale_timeout)
        self.log.info("%s: neighbor graceful restart, keeping %d routes for %d s", self.name,
                      len(own), restart_time)

    def _stale_timeout(self) -> None:
        self.stale_handle = None
        self._sweep_stale()
        self._restart_counts()  # BIRD stops the protocol at the restart timeout

    def _restart_counts(self) -> None:
        """BIRD restarts a BGP protocol whose session is lost for good, and a
        restarted protocol's import "Route change stats" start from zero."""
        self.channel.import_stats = ChangeStats()  # type: ignore[union-attr]
        self.export_carried = None  # the export side too (group.join starts it anew)

    def _cancel_stale(self) -> None:
        if self.stale_handle is not None:
            self.stale_handle.cancel()
            self.stale_handle = None

    def _end_of_rib(self, afi: int) -> None:
        self.recovered = True
        if self.stale_handle is not None:
            self._cancel_stale()
            self._sweep_stale()

    def _sweep_stale(self) -> None:
        st = self.channel.import_stats  # type: ignore[union-attr]
        for (net, pid), route in list(self._own_routes().items()):
            if route.stale:
                self._withdraw(net, pid)
                # BIRD books the flush as an accepted withdraw, not as one
                # received from the peer
                st.withdraws_received -= 1

    def _flush_routes(self) -> None:
        ch = self.channel
        assert ch is not None
        # a chunk at a time: a full table going down holds one chunk's keys
        # and changes, not half a million of each
        for keys in ch.own_routes().key_chunks():
            self.withdraws_in += ch.withdraw_routes(keys)
