"""``protocol kernel``: the routing table <-> the Linux FIB.

Exports arrive through the channel (``merged`` mode with ``merge paths``)
and become the wanted kernel route of their net. A writer task turns the
difference between *wanted* and *installed* into batched netlink writes;
a failed write is remembered per net (BIRD's ``KRF_SYNC_ERROR``) and
retried at the next scan, never fatal.

Like BIRD, nothing is written before the first scan: the scan adopts the
routes a previous run left (``proto bird``), so a restart with unchanged
routes rewrites nothing and deletes nothing. What was adopted but is no
longer wanted is swept once we are synchronised: after the first scan, or
with ``graceful restart`` during the daemon's ``-R`` recovery, when the
daemon sets ``ctx.extra["gr_done"]``.

``learn`` imports alien routes (any rtnetlink protocol other than kernel
and bird) with source ``inherit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno as errnomod
import os
import time
from collections.abc import MutableMapping
from itertools import islice, repeat
from typing import Any

from bgplab import net as netmod
from bgplab.io.netlink import (
    AF_INET,
    AF_INET6,
    KIND_TO_RTN,
    RTPROT_BIRD,
    RTPROT_KERNEL,
    EventStream,
    FibAttrs,
    FibEvent,
    FibRoute,
    NetlinkPort,
    open_port,
    release_port,
)
from bgplab.protocols.kernel_state import (  # noqa: F401 - same_route re-exported
    FRESH,
    FibAttrsMaker,
    FibState,
    InstalledView,
    KernelExports,
    Unwritten,
    kernel_slot,
    learned_route,
    route_hops,
    same_attrs,
    same_route,
)
from bgplab.rib.channel import ACCEPT, MODE_MERGED, MODE_OPTIMAL, REJECT, Channel
from bgplab.rib.intmap import NetList, net_list
from bgplab.rib.protocol import Protocol, ProtoState
from bgplab.rib.route import Dest, Route, Source

_ROUTER, _DEVICE = Dest.ROUTER, Source.DEVICE  # (enum class attributes are slow in 3.11)
BATCH = 10000  # ops per netlink batch (~0.1 s), then other work gets a turn
LOG_ERRORS = 10  # install errors logged per batch; the rest are counted
GR_WAIT_DEFAULT = 240  # BIRD's graceful restart wait, if the daemon sets none


class KernelProtocol(Protocol):
    channel: Channel
    proto_name = "Kernel"
    source_type = Source.INHERIT
    default_preference = 10

    def __init__(self, config: Any, ctx: Any, port: NetlinkPort | Any | None = None) -> None:
        super().__init__(config, ctx)
        c = config
        self.learn: bool = bool(getattr(c, "learn", False))
        self.persist: bool = bool(getattr(c, "persist", False))
        self.scan_time: float = float(getattr(c, "scan_time", 60) or 60)
        self.graceful_restart: bool = bool(getattr(c, "graceful_restart", False))
        self.merge_paths: bool = bool(getattr(c, "merge_paths", False))
        self.merge_limit: int = int(getattr(c, "merge_paths_limit", 16) or 16)
        self.device_routes: bool = bool(getattr(c, "device_routes", False))
        self.kernel_table: int = int(getattr(c, "kernel_table", 254) or 254)
        self.metric: int = int(getattr(c, "metric", 0) or 0)
        table = ctx.table(getattr(c, "table", "master") or "master")
        self.channel = Channel(
            self,
            table,
            getattr(c, "import_filter", None) or ACCEPT,
            getattr(c, "export_filter", None) or REJECT,
            mode=MODE_MERGED if self.merge_paths else MODE_OPTIMAL,
            merge_limit=self.merge_limit,
        )
        self.channel.apply_options(c)
        self._port_given = port
        self.port: Any = port
        # net -> what the table exports, and our route in the kernel; the
        # FibAttrs are shared (one per gateway, metric, ...: FibAttrsMaker)
        self.fib = FibState()
        # what the channel exported: want itself (not a dict of routes beside it)
        self.exports = KernelExports(self.fib)
        self.channel.exported = self.exports
        self.dirty: set[int] = set()  # nets whose want/installed may differ
        # nets given their first route, nothing of ours there (the usual
        # install; their want is Unwritten): a list, 8 bytes a net instead of
        # a slot in `dirty` (42), while a full table waits for the writer; a
        # packed one with the compiled maps (rib.intmap.NetList: no int
        # object per waiting net either)
        self.fresh: list[int] | NetList = net_list()
        self.sync_errors: dict[int, int] = {}  # net -> errno of the last failed write
        self.learned: dict[int, FibRoute] = {}  # alien routes we imported
        self.attrs = FibAttrsMaker(
            self.kernel_table, self.metric, self.merge_paths, self.merge_limit, self.device_routes
        )
        self.scanned = False  # first scan done: writes allowed
        self.holding = False  # graceful-restart recovery: writes deferred
        self.writes = 0
        self.deletes = 0
        self.errors = 0
        self.scans = 0
        self._logged = 0  # errors logged in this batch
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._sync_lock: asyncio.Lock | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._events: EventStream | None = None
        self._scan_soon = False

    @property
    def want(self) -> MutableMapping[int, FibAttrs | Unwritten]:
        """The wanted route by net (:meth:`FibState.wanted` unwraps one)."""
        return self.fib.want

    @property
    def installed(self) -> InstalledView:
        return InstalledView(self.fib)

    # ---- life cycle ----------------------------------------------------
    async def start(self) -> None:
        self.set_state(ProtoState.START)
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sync_lock = asyncio.Lock()
        try:
            if self._port_given is None:
                self.port = await open_port(getattr(self.ctx, "netns", None))
            # alien routes only matter with learn; our own come from scans (as
            # in BIRD); a link change flushes kernel routes silently: rescan
            self._events = await self.port.monitor(["route", "link"] if self.learn else ["link"])
        except OSError as exc:
            self.message = f"Netlink: {exc.strerror or exc}"
            self.log.error("%s: cannot open netlink: %s", self.name, exc)
            await self._release()
            self.set_state(ProtoState.DOWN)
            return
        self.holding = bool(self.graceful_restart and getattr(self.ctx, "graceful_recovery", False))
        if self.holding:
            # the daemon sets this Event when its graceful-restart recovery ends
            self.ctx.extra.setdefault("gr_done", asyncio.Event())
        self.set_state(ProtoState.UP)
        self.channel.feed()  # fills self.want; nothing is written before the scan
        await self._scan_logged()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._writer(), name=f"{self.name}-writer"),
            loop.create_task(self._scanner(), name=f"{self.name}-scan"),
            loop.create_task(self._watch(), name=f"{self.name}-events"),
        ]
        if self.holding:
            self._tasks.append(loop.create_task(self._gr_wait(), name=f"{self.name}-gr"))
        self._kick()

    async def stop(self, reason: str = "") -> None:
        self.set_state(ProtoState.STOP)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        if not self.persist and self.port is not None and self.installed:
            ops = [("delete", net, a) for net, a in list(self.installed.items())]
            try:
                for i in range(0, len(ops), BATCH):
                    batch = ops[i : i + BATCH]
                    self.deletes += len(batch) - len(await self.port.write(batch))
            except OSError as exc:
                self.log.error("%s: removing routes failed: %s", self.name, exc)
        self.channel.flush()
        self.learned.clear()
        if self.persist:
            self.fib.clear_want()  # our routes stay in the kernel
        else:
            self.fib.clear()
        self.dirty = set()
        self.fresh = net_list()
        self.scanned = False
        await self._release()
        self.set_state(ProtoState.DOWN)

    async def _release(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._port_given is None and self.port is not None:
            release_port(self.port)
            self.port = None

    def reconfigure(self, new_config: Any) -> bool:
        keys = (
            "learn",
            "persist",
            "graceful_restart",
            "merge_paths",
            "merge_paths_limit",
            "device_routes",
            "kernel_table",
            "metric",
            "table",
        )
        if any(getattr(new_config, k, None) != getattr(self.config, k, None) for k in keys):
            return False
        self.config = new_config
        self.scan_time = float(getattr(new_config, "scan_time", 60) or 60)
        self.preference = getattr(new_config, "preference", None) or self.default_preference
        self.channel.import_filter = getattr(new_config, "import_filter", None) or ACCEPT
        new_export = getattr(new_config, "export_filter", None) or REJECT
        old_export = self.channel.export_filter
        same = getattr(old_export, "same", None)
        if not (same is not None and same(new_export)):
            self.channel.export_filter = new_export
            if self.state is ProtoState.UP:
                self.dirty.update(self.want)
                self.fib.clear_want()
                self.channel.feed()
                self._kick()
        return True

    # ---- exports ---------------------------------------------------------
    def rt_notify(self, net: int, new: Route | None, old: Route | None) -> None:
        if new is not None and new.dest is _ROUTER:
            # the common case (one gateway, nothing from the filter), inline:
            # 100,000 routes come through here one by one
            one = self.attrs.one_hop.get((new.gw, new.iface))
            if (
                one is not None
                and not new.ext
                and (new.origin.source_type is not _DEVICE or self.device_routes)
            ):
                if self.exports.other:
                    self.exports.not_capable(net, False)
                self._set_want(net, one)
                return
        fa = self.attrs.make([new]) if new is not None else None
        self.exports.not_capable(net, fa is None and new is not None)
        self._set_want(net, fa)

    def rt_notify_merged(self, net: int, routes: list[Route]) -> None:
        fa = self.attrs.make(routes) if routes else None
        self.exports.not_capable(net, fa is None and bool(routes))
        self._set_want(net, fa)

    def _set_want(self, net: int, fa: FibAttrs | None) -> None:
        changed = self.fib.set_want(net, fa)
        if not changed:
            return
        if changed == FRESH:
            self._fresh(net)
        else:
            self.dirty.add(net)
        wake = self._wake
        if wake is not None and not wake.is_set():
            wake.set()

    def _fresh(self, net: int) -> None:
        fresh = self.fresh
        fresh.append(net)
        if len(fresh) > 2 * self.fib.unwritten + 64:
            # a net flapping while nothing is written (before the first
            # scan, graceful restart): keep the nets still waiting for their
            # first write, once each; the others changed since, so they are
            # in `dirty`
            want = self.fib.want
            self.fresh = net_list(n for n in dict.fromkeys(fresh) if isinstance(want.get(n), Unwritten))

    def _pending(self) -> bool:
        return bool(self.dirty or self.fresh)

    def _batch(self) -> list[int]:
        """The next nets to write: first installs first (once each)."""
        fresh = self.fresh
        if fresh:
            nets = list(dict.fromkeys(fresh[:BATCH]))
            del fresh[:BATCH]
            if self.dirty:  # (a scan marked every net): one write each
                self.dirty.difference_update(nets)
            return nets
        nets = list(islice(self.dirty, BATCH))
        self.dirty.difference_update(nets)
        return nets

    # ---- writing -------------------------------------------------------
    def _kick(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def may_write(self) -> bool:
        # ctx.extra["shutdown"]: the daemon is going down and the other
        # protocols' withdrawals must not reach the kernel (BIRD disconnects
        # the kernel protocol first); with persist our routes stay
        return (
            self.scanned
            and not self.holding
            and self.state is ProtoState.UP
            and not self.ctx.extra.get("shutdown")
        )

    async def _writer(self) -> None:
        assert self._wake is not None and self._idle is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.may_write() or not self._pending():
                continue
            self._idle.clear()
            try:
                await self.sync()
            except OSError as exc:
                self.log.error("%s: netlink write failed: %s", self.name, exc)
            except Exception:
                self.log.exception("%s: kernel sync failed", self.name)
            finally:
                if not self._pending():
                    self._idle.set()
                else:
                    self._wake.set()

    async def sync(self) -> None:
        """Write the dirty nets now (the writer task calls this)."""
        assert self._sync_lock is not None
        fib = self.fib
        async with self._sync_lock:
            while self._pending() and self.may_write():
                want, diff = fib.want, fib.diff  # (reconfigure replaces them)
                nets = self._batch()
                ops: list[tuple[str, int, FibAttrs]] = []
                for net in nets:
                    w = want.get(net)
                    if isinstance(w, Unwritten):  # the usual install: nothing of ours there
                        ops.append(("add", net, w.attrs))
                        continue
                    i = diff.get(net, w)
                    if w is i:  # nothing to write (or both gone)
                        if w is not None and self.sync_errors:
                            self.sync_errors.pop(net, None)
                        continue
                    assert i is not None  # (diff holds no None; w is not i)
                    if w is None:  # the usual removal
                        ops.append(("delete", net, i))
                        continue
                    v6 = net >= netmod.V6_FLAG
                    if same_attrs(w, i, v6):
                        # e.g. adopted during -R recovery before the route was
                        # wanted: the kernel already has it, nothing to write
                        fib.in_sync(net)
                        self.sync_errors.pop(net, None)
                        continue
                    # only our own route may be overwritten; an alien one in
                    # the slot makes the add fail, as in BIRD
                    same_slot = kernel_slot(i, v6) == kernel_slot(w, v6)
                    ops.append(("replace" if same_slot else "add", net, w))
                    if not same_slot:
                        ops.append(("delete", net, i))
                if ops:
                    try:
                        failed = await self.port.write(ops)
                    except OSError as exc:
                        # the socket failed as a whole: which ops landed is
                        # unknown, so all are retried at the next scan
                        for _op, net, _a in ops:
                            self.sync_errors[net] = exc.errno or errnomod.EIO
                        raise
                    self._applied(ops, failed)
                if self._pending():
                    await asyncio.sleep(0)  # the sends do not yield: let others run
            if not fib.diff:
                # an emptied dict keeps its table (a full table's install:
                # ~5 MB at 100,000 nets) until it grows again
                fib.diff = {}

    def _applied(self, ops: list[tuple[str, int, FibAttrs]], failed: dict[int, int]) -> None:
        fib = self.fib
        want, diff = fib.want, fib.diff
        errors = self.sync_errors
        writes = deletes = written = 0
        errs = (failed.get(k, 0) for k in range(len(ops))) if failed else repeat(0)
        for (op, net, a), err in zip(ops, errs):
            if op != "delete":
                if not err:
                    w = want.get(net)
                    if isinstance(w, Unwritten) and w.attrs is a:
                        want[net] = a  # the usual install: now in sync
                        written += 1
                    elif w is a:
                        diff.pop(net, None)
                    else:
                        fib.set_installed(net, a)
                    if errors:
                        errors.pop(net, None)
                    writes += 1
                    continue
            elif not err or err == errnomod.ESRCH:
                if net not in want:
                    if diff.get(net) is a:
                        del diff[net]  # the usual removal: now in sync
                elif fib.installed(net) is a:  # not if a new slot was just written
                    fib.set_installed(net, None)
                deletes += 1
                continue
            self._failed(op, net, a, err)
        fib.unwritten -= written
        self.writes += writes
        self.deletes += deletes
        if self._logged >= LOG_ERRORS:
            self.log.error("%s: more kernel write errors; retried at next scan", self.name)
        self._logged = 0

    def _failed(self, op: str, net: int, a: FibAttrs, err: int) -> None:
        self.errors += 1
        self.sync_errors[net] = err
        if self._logged < LOG_ERRORS:
            self._logged += 1
            self.log.error("%s: %s %s failed: %s", self.name, op, a.route(net), os.strerror(err))

    async def settle(self, timeout: float = 30.0) -> bool:
        """Wait until every wanted change is written (or cannot be now)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = self._idle is None or self._idle.is_set()
            if idle and (not self._pending() or not self.may_write()):
                return True
            await asyncio.sleep(0.01)
        return False

    async def _gr_wait(self) -> None:
        extra = self.ctx.extra
        ev = extra["gr_done"]
        try:
            await asyncio.wait_for(ev.wait(), float(extra.get("gr_wait", GR_WAIT_DEFAULT)))
        except TimeoutError:
            self.log.warning("%s: graceful restart wait expired", self.name)
        self.holding = False
        self.dirty.update(self.want)
        self.dirty.update(self.installed)
        self._kick()

    # ---- scanning ------------------------------------------------------
    def _families(self) -> list[int]:
        extra = getattr(self.ctx, "extra", {})
        # bird's or bird6's drop-in sees its own family only: bgplabd6 must
        # not adopt and sweep the `proto bird` routes of the IPv4 daemon
        family = extra.get("family")
        if family in (4, 6):
            return [AF_INET6] if family == 6 else [AF_INET]
        fams: list[int] = [AF_INET]
        if extra.get("ipv6") or any(n >= netmod.V6_FLAG for n in self.want):
            fams.append(AF_INET6)
        return fams

    async def _scan_logged(self) -> None:
        try:
            await self.scan()
        except OSError as exc:
            self.message = f"Netlink: {exc.strerror or exc}"
            self.log.error("%s: kernel scan failed: %s", self.name, exc)

    async def _rescan(self) -> None:
        try:
            await asyncio.sleep(0.05)  # let a burst of link events pass
            await self._scan_logged()
        finally:
            self._scan_soon = False
            self._tasks = [t for t in self._tasks if not t.done()]

    async def _scanner(self) -> None:
        while True:
            await asyncio.sleep(self.scan_time)
            await self._scan_logged()

    async def scan(self) -> None:
        """Reconcile with the kernel table (BIRD's krt_scan + krt_prune)."""
        assert self._sync_lock is not None
        async with self._sync_lock:
            kroutes: list[FibRoute] = []
            for fam in self._families():
                kroutes.extend(await self.port.dump_routes(self.kernel_table, fam))
        self.scans += 1
        own: dict[int, FibAttrs] = {}
        alien: dict[int, FibRoute] = {}
        for r in kroutes:
            if r.kind not in KIND_TO_RTN or r.table != self.kernel_table:
                continue
            if r.proto == RTPROT_BIRD:
                w = self.fib.wanted(r.dst)
                got = r.attrs
                if w is not None and same_attrs(w, got, r.v6):
                    own[r.dst] = w  # the one we want, of several in other slots
                elif r.dst not in own:
                    own[r.dst] = self.attrs.intern(got)
            elif r.proto != RTPROT_KERNEL:
                alien.setdefault(r.dst, r)
        fib = self.fib
        for net, a in own.items():
            cur = fib.installed(net)
            if cur is not a and cur != a:
                fib.set_installed(net, a)  # adopted or changed behind our back
                self.dirty.add(net)
        for net in [n for n in self.installed if n not in own]:
            fib.set_installed(net, None)  # gone (e.g. link down flushed it)
            if net in self.want:
                self.dirty.add(net)
        self.dirty.update(self.sync_errors)
        if not self.scanned:
            self.scanned = True
            self.dirty.update(self.want)
            self.dirty.update(self.installed)
        if self.learn:
            self._learn_all(alien)
        if self._pending():
            self._kick()

    def reload_routes(self) -> bool:
        """``reload in`` / a new import filter: learned routes go through the
        channel again (BIRD rescans; what we learned is already at hand)."""
        for net, r in list(self.learned.items()):
            self._learn(net, r)
        return True

    def _learn_all(self, alien: dict[int, FibRoute]) -> None:
        v6 = AF_INET6 in self._families()
        for net, r in alien.items():
            if net >= netmod.V6_FLAG and not v6:
                continue
            if self.learned.get(net) != r:
                self._learn(net, r)
        for net in [n for n in self.learned if n not in alien]:
            del self.learned[net]
            self.channel.import_withdraw(net)

    def _learn(self, net: int, r: FibRoute) -> None:
        route = learned_route(net, r, self)
        if route is None:
            return
        self.learned[net] = r
        self.channel.import_route(net, route)

    async def _watch(self) -> None:
        assert self._events is not None
        async for ev in self._events:
            try:
                self._on_event(ev)
            except Exception:
                self.log.exception("%s: bad netlink event %s", self.name, ev)

    def _on_event(self, ev: FibEvent) -> None:
        if ev.what in ("resync", "link"):
            if not self._scan_soon and self.scanned:
                self._scan_soon = True
                self._tasks.append(asyncio.get_running_loop().create_task(self._rescan()))
            return
        r = ev.route
        if r is None or r.table != self.kernel_table or r.kind not in KIND_TO_RTN:
            return
        if r.proto in (RTPROT_BIRD, RTPROT_KERNEL) or not self.learn:
            return
        if r.dst >= netmod.V6_FLAG and AF_INET6 not in self._families():
            return
        cur = self.learned.get(r.dst)
        if not ev.deleted:
            if (cur is None or cur.metric >= r.metric) and cur != r:
                self._learn(r.dst, r)
        elif cur is not None and cur.metric == r.metric and cur.proto == r.proto:
            del self.learned[r.dst]
            self.channel.import_withdraw(r.dst)

    # ---- show ----------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            kernel_table=self.kernel_table,
            installed=len(self.installed),
            wanted=len(self.want),
            sync_errors=len(self.sync_errors),
            learned=len(self.learned),
            writes=self.writes,
            deletes=self.deletes,
            scans=self.scans,
            graceful_restart_holding=self.holding,
        )
        return d
