"""What all BGP protocol instances of one daemon share.

The listening socket (BIRD 1.6 has one, at ``listen bgp`` or any address),
the table of update groups, and the batching of group flushes: changes that
arrive within a few milliseconds leave in one UPDATE per attribute set
instead of one per prefix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bgplab import net as netmod
from bgplab.bgp import attr_codec, messages
from bgplab.errors import env_seconds
from bgplab.io.bgp_input import InputQueue
from bgplab.io.bgp_transport import FanOut, Listener
from bgplab.io.flush_pacer import FlushPacer
from bgplab.rib.adjrib_out import UpdateGroup
from bgplab.rib.channel import REJECT
from bgplab.rib.group_policy import GroupKey

if TYPE_CHECKING:
    from bgplab.protocols.bgp import BgpProtocol
    from bgplab.rib.context import DaemonContext

log = logging.getLogger("bgplab.bgp")

# How long a group collects changes before it encodes and sends them
# (0: until the end of the event-loop turn).
FLUSH_DELAY = env_seconds("BGPLAB_FLUSH_DELAY", 0.0)
# While BGP input waits for a later loop turn (io/bgp_input: a burst of
# sessions, a full table), a group collects changes for up to this long, or
# until the input is done: a flush after each budgeted turn would send every
# member many small UPDATEs (calico-rr-1000 burst: +60% CPU).
BUSY_FLUSH_DELAY = 0.05


class _Codec:
    """The encoding functions an update group needs, in one place."""

    encode_attributes = staticmethod(attr_codec.encode_attributes)
    pack_updates = staticmethod(messages.pack_updates)
    pack_withdraws = staticmethod(messages.pack_withdraws)
    pack_eor = staticmethod(messages.pack_eor)


class BgpRuntime:
    def __init__(self, ctx: DaemonContext, config: Any) -> None:
        self.ctx = ctx
        self.config = config
        self.peers: dict[str, BgpProtocol] = {}
        self.groups: dict[GroupKey, UpdateGroup] = {}
        self.listener: Listener | None = None
        self._listen_key: tuple[str | None, int] | None = None
        self._deferred: list[BgpProtocol] = []
        self._input: InputQueue = ctx.extra.setdefault("bgp_input", InputQueue())
        # members waiting to join their group: (group, protocol, carried stats)
        self._joins: list[tuple[UpdateGroup, BgpProtocol, Any]] = []

    # ---- peers -------------------------------------------------------------
    def register(self, proto: BgpProtocol) -> None:
        self.peers[proto.neighbor_address] = proto
        if self.listener is not None and getattr(proto.config, "password", None):
            self.listener.set_md5(proto.neighbor_address, proto.config.password)

    def unregister(self, proto: BgpProtocol) -> None:
        if self.peers.get(proto.neighbor_address) is proto:
            del self.peers[proto.neighbor_address]
        for g in self.groups.values():
            g.forget_source(proto)

    def defer_join(self, proto: BgpProtocol) -> None:
        """Graceful-restart recovery: the peer gets our routes later."""
        self._deferred.append(proto)

    def recovery_done(self) -> None:
        """Recovery ended: now every waiting peer gets the full table + EoR."""
        for proto in list(self.peers.values()):
            proto.recovery_over()
        deferred, self._deferred = self._deferred, []
        for proto in deferred:
            proto.join_group()

    def lookup(self, addr: str) -> Any:
        return self.peers.get(addr)

    @staticmethod
    def listen_key(config: Any) -> tuple[str | None, int]:
        """(address or None for any, port) of ``listen bgp`` in ``config``."""
        listen = getattr(config, "listen_bgp", None)
        addr = getattr(listen, "address", None) if listen is not None else None
        port = getattr(listen, "port", None) or 179 if listen is not None else 179
        return (str(addr) if addr else None, int(port))

    def _listen_options(self, protocols: Iterable[Any]) -> tuple[dict[str, str], tuple[int, ...]]:
        """TCP-MD5 keys per neighbor, and the IP versions to listen on: the
        daemon's one (bgplabd 4, bgplabd6 6, as bird and bird6), else IPv4
        and, for IPv6 neighbors, IPv6."""
        protocols = list(protocols)
        md5 = {p.neighbor_address: p.config.password for p in protocols
               if getattr(p.config, "password", None)}
        family = self.ctx.extra.get("family")
        if family in (4, 6):
            return md5, (family,)
        return md5, (4, 6) if any(p.v6 for p in protocols) else (4,)

    @staticmethod
    def _dual(config: Any) -> bool:
        return bool(getattr(getattr(config, "listen_bgp", None), "dual", False))

    async def start_listener(self, protocols: Iterable[Any]) -> None:
        """Open the listening socket once there are BGP protocols."""
        bgp = [p for p in protocols if getattr(p, "proto_name", "") == "BGP"]
        if not bgp or self.listener is not None:
            return
        key = self.listen_key(self.config)
        md5, fams = self._listen_options(bgp)
        listener = Listener(key[0], key[1], self.lookup)
        await listener.start(md5, fams, self._dual(self.config))
        self.listener = listener
        self._listen_key = key

    async def switch_config(self, config: Any) -> None:
        """`configure`: take the new global options; a changed ``listen bgp``
        moves the listening socket first. OSError if the new address cannot
        be bound; the old socket then still listens and nothing changed."""
        key = self.listen_key(config)
        old = self.listener
        if old is None or (key == self._listen_key
                           and self._dual(config) == self._dual(self.config)):
            self.config = config
            return
        md5, fams = self._listen_options(self.peers.values())
        new = Listener(key[0], key[1], self.lookup)
        try:
            await new.start(md5, fams, self._dual(config))
        except OSError:
            # the old socket may hold the port (a wildcard against an
            # address on it): free it, try again, and put it back on failure
            await old.close()
            try:
                await new.start(md5, fams, self._dual(config))
            except OSError:
                await old.start(md5, fams, self._dual(self.config))
                raise
        else:
            await old.close()
        self.listener = new
        self._listen_key = key
        self.config = config

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
            self.listener = None

    # ---- update groups -------------------------------------------------------
    def join_later(self, group: UpdateGroup, proto: BgpProtocol, carried: Any) -> None:
        """``group.join(proto)`` while BGP input waits (a burst of sessions):
        with the other joiners once the input is done (at most
        BUSY_FLUSH_DELAY later). A join flushes the group first, and
        sessions coming up between other sessions' UPDATEs made one flush
        to every member per join (calico-rr-1000 burst: 3 s of CPU, 0.5 s
        when all joined before the routes came)."""
        if not self._joins:
            loop = asyncio.get_running_loop()
            loop.call_soon(self._when_quiet, self._join_all, loop.time() + BUSY_FLUSH_DELAY)
        self._joins.append((group, proto, carried))

    def cancel_join(self, proto: BgpProtocol) -> bool:
        """Drop ``proto``'s pending join; False if none was pending."""
        n = len(self._joins)
        self._joins = [j for j in self._joins if j[1] is not proto]
        proto.join_pending = False
        return len(self._joins) != n

    def _join_all(self) -> None:
        joins, self._joins = self._joins, []
        for group, proto, carried in joins:
            proto.join_pending = False
            if proto.group is group:
                group.join(proto, carried=carried)

    def group_for(self, proto: BgpProtocol, neg: Any) -> UpdateGroup:
        c = proto.config
        fam = (2, 1) if proto.v6 else (1, 1)
        key = GroupKey(
            export_filter=getattr(c, "export_filter", None) or REJECT,
            ibgp=proto.is_ibgp,
            rr_client=proto.is_rr_client,
            local_as=proto.local_as,
            cluster_id=proto.cluster_id,
            next_hop_self=bool(getattr(c, "next_hop_self", False)),
            next_hop_keep=bool(getattr(c, "next_hop_keep", False)),
            self_address=proto.source_address,
            add_path_tx=fam in neg.add_path_tx,
            as4=bool(neg.as4),
            extended_message=bool(neg.extended_message),
            default_local_pref=int(getattr(c, "default_local_pref", 100) or 100),
            table=proto.channel.table.name if proto.channel else "master",
            export_limit=getattr(c, "export_limit", None),
            direct6=proto.v6 and not proto.multihop,
            neighbor_iface=None if proto.multihop else self._neighbor_iface(proto),
            self_ll=self._local_link(proto) if proto.v6 and not proto.multihop else None,
            missing_lladdr=str(getattr(c, "missing_lladdr", "self") or "self"),
        )
        group = self.groups.get(key)
        if group is None:
            group = UpdateGroup(key, FlushPacer(self._schedule), _Codec)
            group.limit_hit = lambda action, g=group: self._limit_hit(g, action)
            group.fan_out = FanOut()
            self.groups[key] = group
            table = proto.channel.table  # type: ignore[union-attr]
            table.attach(group)
            table.feed(group)
        return group

    def _iface(self, proto: BgpProtocol) -> Any:
        """The interface of a direct neighbor (``interface`` in the config,
        else the one whose connected prefix holds the neighbor)."""
        name = getattr(proto.config, "interface", None)
        iface = self.ctx.ifaces.get(name) if name else None
        if iface is None:
            addr, v6 = netmod.ip_to_int(proto.neighbor_address)
            iface = self.ctx.iface_for(addr, v6)
        return iface

    def _neighbor_iface(self, proto: BgpProtocol) -> str | None:
        iface = self._iface(proto)
        return iface.name if iface is not None else None

    def _local_link(self, proto: BgpProtocol) -> str | None:
        """Our link-local address on the interface to a direct IPv6 neighbor."""
        iface = self._iface(proto)
        if iface is None:
            return None
        for a in iface.addrs:
            if a.v6 and a.address.lower().startswith("fe80"):
                return str(a.address)
        log.warning("%s: Missing link local address on interface %s", proto.name, iface.name)
        return None

    def _limit_hit(self, group: UpdateGroup, action: str) -> None:
        for member in list(group.members):
            self.ctx.limit_action(member, "export", action)

    def _schedule(self, fn: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        if FLUSH_DELAY:
            loop.call_later(FLUSH_DELAY, fn)
        elif len(self._input):
            loop.call_soon(self._when_quiet, fn, loop.time() + BUSY_FLUSH_DELAY)
        else:
            # after every callback of this loop turn: all sockets that were
            # readable together are decoded before one flush encodes them
            loop.call_soon(fn)

    def _when_quiet(self, fn: Callable[[], None], deadline: float) -> None:
        """``fn()`` once no BGP input waits, or at ``deadline`` (loop time)."""
        loop = asyncio.get_running_loop()
        if len(self._input) and loop.time() < deadline:
            loop.call_soon(self._when_quiet, fn, deadline)
        else:
            fn()
