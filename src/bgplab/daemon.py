"""``bgplabd``: the daemon, a drop-in for BIRD 1.6's ``bird``.

Takes BIRD's command-line flags, reads a BIRD 1.x configuration, builds the
protocol graph (tables, channels, protocols), serves the control socket and
runs until ``down``, SIGTERM or SIGINT. SIGHUP re-reads the configuration
like ``birdc configure``; a broken file is rejected and the running
configuration stays.
"""

from __future__ import annotations

import os
import sys

if (
    os.path.basename(sys.argv[0]) in ("bgplabd", "bgplabd6")
    # prometheus_client (--metrics, the looking glass's /metrics) and uvloop import ssl
    and not any(a.startswith(("--metrics", "--http", "--loop")) for a in sys.argv[1:])
    and "ssl" not in sys.modules
):
    # the daemon's own process: asyncio imports ssl (libssl and libcrypto,
    # ~4.5 MB of an idle daemon's 30 MB) for TLS that bgplabd never uses
    sys.modules["ssl"] = None  # type: ignore[assignment]

import argparse
import asyncio
import contextlib
import fnmatch
import logging
import signal
import time
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from bgplab import __version__
from bgplab.rib.context import DaemonContext
from bgplab.rib.protocol import Protocol, ProtoState

log = logging.getLogger("bgplab")

DEFAULT_CONFIG = "/etc/bird/bird.conf"
DEFAULT_SOCKET = "/run/bird/bird.ctl"
# bgplabd6, bird6's drop-in: BIRD 1.6 runs IPv6 as a second daemon on its own files
DEFAULT_CONFIG6 = "/etc/bird/bird6.conf"
DEFAULT_SOCKET6 = "/run/bird/bird6.ctl"


def protocol_class(kind: str) -> type[Protocol]:
    """The implementation of a config ``protocol KIND`` block."""
    if kind == "bgp":
        from bgplab.protocols.bgp import BgpProtocol

        return BgpProtocol
    if kind == "kernel":
        from bgplab.protocols.kernel import KernelProtocol

        return KernelProtocol
    if kind == "device":
        from bgplab.protocols.device import DeviceProtocol

        return DeviceProtocol
    if kind == "direct":
        from bgplab.protocols.direct import DirectProtocol

        return DirectProtocol
    if kind == "static":
        from bgplab.protocols.static import StaticProtocol

        return StaticProtocol
    if kind == "bfd":
        from bgplab.protocols.bfd import BfdProtocol

        return BfdProtocol
    raise ValueError(f"protocol {kind!r} is not supported")


def default_router_id() -> IPv4Address:
    """BIRD's default: the lowest non-loopback IPv4 address of the host."""
    try:
        from bgplab.io.netlink import local_addresses

        addrs = [IPv4Address(a.address) for a in local_addresses()]
    except OSError:  # no netlink: fall back to a fixed id
        addrs = []
    addrs = [a for a in addrs if not a.is_loopback]
    return min(addrs) if addrs else IPv4Address("127.0.0.1")


class Daemon:
    """The running router: configuration, protocols, control actions."""

    version = __version__

    def __init__(self, config: Any, config_path: str, socket_path: str | None = None,
                 graceful_recovery: bool = False, family: int | None = None) -> None:
        self.config = config
        # 4: bird's drop-in, 6: bird6's; None: both families in one process
        self.family = family
        self.ipv6 = family == 6
        self.config_path = config_path
        self.socket_path = socket_path
        self.started = time.time()
        self.last_reconfig = self.started
        self.graceful_recovery = graceful_recovery
        router_id = config.router_id or default_router_id()
        self.ctx = DaemonContext(router_id)
        self.ctx.graceful_recovery = graceful_recovery
        self.ctx.extra["family"] = family
        for name in getattr(config, "tables", ()) or ("master",):
            self.ctx.table(name)
        self.protocols: dict[str, Protocol] = {}
        self.bgp: Any = None  # BgpRuntime, created when the first BGP protocol is
        self._stop = asyncio.Event()
        self.serving = asyncio.Event()  # set once every protocol and the control socket are up
        self._control: Any = None
        self._metrics: Any = None
        self.ctx.set_limit_handler(self._on_limit)
        self.ctx.extra["daemon"] = self

    # ---- life cycle --------------------------------------------------
    async def start(self) -> None:
        from bgplab.io.bgp_runtime import BgpRuntime

        self.bgp = BgpRuntime(self.ctx, self.config)
        self.ctx.extra["bgp_runtime"] = self.bgp
        if self.graceful_recovery:
            self.ctx.extra["gr_done"] = asyncio.Event()
            self.ctx.extra["gr_wait"] = int(getattr(self.config, "graceful_restart_wait", 240))
        for pcfg in self.config.protocols:
            self._add_protocol(pcfg)
        # device first: others need interfaces; BIRD starts in config order
        # but the device scan runs before the first kernel sync.
        order = sorted(self.protocols.values(), key=lambda p: p.proto_name != "Device")
        for proto in order:
            if not proto.disabled:
                await self._start_proto(proto)
        # Listen only once the BGP protocols know their neighbors (as BIRD,
        # which opens the socket when the first one starts): a node that
        # connects while the device scan runs must not meet "unknown address".
        try:
            await self.bgp.start_listener(self.protocols.values())
        except OSError:
            await self._shutdown()  # leave the FIB as a clean stop would
            raise
        if self.graceful_recovery:
            asyncio.get_running_loop().create_task(self._graceful_recovery())

    async def _graceful_recovery(self) -> None:
        """``-R``: hold kernel sync until every BGP peer that can restart
        gracefully is back and has sent End-of-RIB, or the wait runs out."""
        done: asyncio.Event = self.ctx.extra["gr_done"]
        wait = float(self.ctx.extra.get("gr_wait", 240))
        self._gr_deadline = time.monotonic() + wait
        while time.monotonic() < self._gr_deadline:
            pending = [p for p in self.protocols.values()
                       if p.proto_name == "BGP" and not p.disabled
                       and not getattr(p, "recovered", True)]
            if not pending:
                break
            await asyncio.sleep(0.2)
        log.info("Graceful restart done")
        self.graceful_recovery = False
        self.ctx.graceful_recovery = False
        done.set()
        if self.bgp is not None:
            self.bgp.recovery_done()

    def _add_protocol(self, pcfg: Any) -> Protocol:
        cls = protocol_class(pcfg.kind)
        proto = cls(pcfg, self.ctx)
        self.protocols[proto.name] = proto
        return proto

    async def _start_proto(self, proto: Protocol) -> None:
        try:
            await proto.start()
        except Exception as exc:  # one protocol failing must not take down the rest
            log.exception("%s: failed to start", proto.name)
            proto.message = f"Error: {exc}"
            proto.set_state(ProtoState.DOWN)

    async def _stop_proto(self, proto: Protocol, reason: str = "") -> None:
        try:
            await proto.stop(reason)
        except Exception:
            log.exception("%s: failed to stop cleanly", proto.name)
            proto.set_state(ProtoState.DOWN)

    async def run(self) -> None:
        await self.start()
        if self.socket_path:
            try:
                from bgplab.io.control import ControlServer
            except ImportError as exc:  # pragma: no cover - partial installs
                log.error("control socket unavailable: %s", exc)
            else:
                self._control = ControlServer(self, self.socket_path)
                await self._control.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.configure()))
        log.info("Started")
        self.serving.set()
        await self._stop.wait()
        await self._shutdown()

    async def _shutdown(self) -> None:
        log.info("Shutting down")
        # kernel protocols must not turn the others' withdrawals into FIB
        # deletions while everything stops (`persist` keeps the routes)
        self.ctx.extra["shutdown"] = True
        for proto in reversed(list(self.protocols.values())):
            await self._stop_proto(proto, "shutdown")
        if self.bgp is not None:
            await self.bgp.close()
        if self._control is not None:
            await self._control.close()

    async def shutdown(self) -> tuple[bool, str]:
        self._stop.set()
        return True, "Shutdown requested"

    # ---- control actions ---------------------------------------------
    def _match(self, pattern: str) -> list[Protocol]:
        if pattern == "all":
            return list(self.protocols.values())
        return [p for n, p in self.protocols.items() if fnmatch.fnmatchcase(n, pattern)]

    async def enable(self, name: str) -> tuple[bool, str]:
        return await self._each(name, self._enable_one)

    async def disable(self, name: str) -> tuple[bool, str]:
        return await self._each(name, self._disable_one)

    async def restart(self, name: str) -> tuple[bool, str]:
        return await self._each(name, self._restart_one)

    async def _each(self, pattern: str, fn: Any) -> tuple[bool, str]:
        protos = self._match(pattern)
        if not protos:
            return False, "No protocols match"
        msgs = [await fn(p) for p in protos]
        return True, "\n".join(msgs)

    async def _enable_one(self, p: Protocol) -> str:
        if not p.disabled and p.state is not ProtoState.DOWN:
            return f"{p.name}: already enabled"
        p.disabled = False
        await self._start_proto(p)
        return f"{p.name}: enabled"

    async def _disable_one(self, p: Protocol) -> str:
        if p.disabled:
            return f"{p.name}: already disabled"
        p.disabled = True
        await self._stop_proto(p, "Administratively disabled")
        return f"{p.name}: disabled"

    async def _restart_one(self, p: Protocol) -> str:
        if p.disabled:
            return f"{p.name}: already disabled"
        await self._stop_proto(p, "Restarted")
        await self._start_proto(p)
        return f"{p.name}: restarted"

    async def reload(self, name: str, direction: str = "both") -> tuple[bool, str]:
        protos = self._match(name)
        if not protos:
            return False, "No protocols match"
        msgs = []
        for p in protos:
            if p.state is not ProtoState.UP:
                msgs.append(f"{p.name}: reload failed")
                continue
            ok = True
            if direction in ("in", "both"):
                ok = p.reload_routes() and ok
            if direction in ("out", "both") and p.channel is not None:
                reload_out = getattr(p, "reload_out", None)
                if reload_out is not None:
                    reload_out()
                else:
                    p.channel.feed()
            msgs.append(f"{p.name}: reloading" if ok else f"{p.name}: reload failed")
        return True, "\n".join(msgs)

    def set_debug(self, name: str, flags: set[str]) -> tuple[bool, str]:
        protos = self._match(name)
        if not protos:
            return False, "No protocols match"
        for p in protos:
            p.debug = frozenset(flags) if "off" not in flags else frozenset()
        return True, ""

    def gr_wait_info(self) -> str | None:
        """`show status` line while -R recovery holds the kernel sync."""
        if not self.graceful_recovery:
            return None
        pending = sum(1 for p in self.protocols.values()
                      if p.proto_name == "BGP" and not getattr(p, "recovered", True))
        left = max(0, int(getattr(self, "_gr_deadline", time.monotonic()) - time.monotonic()))
        total = int(self.ctx.extra.get("gr_wait", 240))
        return f"Waiting for {pending} protocols to recover\nWait timer is {left}/{total}"

    async def configure(self, path: str | None = None, check_only: bool = False,
                        soft: bool = False) -> tuple[bool, str]:
        """Re-read the configuration; apply it only if it parses entirely."""
        from bgplab.config import ConfigError, diff, parse_file

        path = path or self.config_path
        try:
            new = parse_file(path, self.family)
        except ConfigError as exc:
            log.error("Reconfiguration rejected: %s", exc)
            return False, str(exc)
        except OSError as exc:
            return False, f"Cannot open configuration file {path}: {exc.strerror}"
        if check_only:
            return True, "Configuration OK"
        if self.bgp is not None:
            try:
                await self.bgp.switch_config(new)
            except OSError as exc:
                addr, port = self.bgp.listen_key(new)
                msg = f"Cannot listen on {addr or '*'} port {port}: {exc.strerror or exc}"
                log.error("Reconfiguration rejected: %s", msg)
                return False, msg
        plan = diff(self.config, new)
        old_protocols = self.protocols
        self.config = new
        self.config_path = path
        for name in plan.removed:
            p = old_protocols.pop(name, None)
            if p is not None:
                await self._stop_proto(p, "Removed")
        new_protos: dict[str, Protocol] = {}
        to_start: list[Protocol] = []
        to_restart: list[Protocol] = []  # new import filter, no way to re-import
        for pcfg in new.protocols:
            name = pcfg.name
            if name in plan.added or name not in old_protocols:
                p = protocol_class(pcfg.kind)(pcfg, self.ctx)
                to_start.append(p)
            elif name in plan.restart and not soft:
                old = old_protocols[name]
                if old.reconfigure(pcfg):
                    p = old
                else:
                    await self._stop_proto(old, "Reconfigured")
                    p = protocol_class(pcfg.kind)(pcfg, self.ctx)
                    to_start.append(p)
            else:
                # unchanged protocols keep their config objects: update groups
                # are keyed by filter identity
                p = old_protocols[name]
                imp, exp = name in plan.reload_import, name in plan.reload_export
                if (imp or exp) and not self._apply_filters(p, pcfg, imp, exp):
                    to_restart.append(p)
            new_protos[name] = p
        self.protocols = new_protos
        for p in to_restart:
            # BIRD does the same when a protocol cannot reload its routes
            log.info("Restarting protocol %s", p.name)
            await self._stop_proto(p, "Reconfigured")
            if not p.disabled:
                await self._start_proto(p)
        for p in to_start:
            if not p.disabled:
                await self._start_proto(p)
        if self.bgp is not None:
            await self.bgp.start_listener(self.protocols.values())
        self.last_reconfig = time.time()
        log.info("Reconfigured")
        return True, "Reconfigured"

    def _apply_filters(self, p: Protocol, pcfg: Any, imp: bool, exp: bool) -> bool:
        """Switch ``p`` to new filters in place; False if its routes cannot
        be imported again through a new import filter (then it restarts)."""
        apply = getattr(p, "apply_filters", None)
        if apply is not None:
            return bool(apply(pcfg, imp, exp))
        p.config = pcfg
        ch = p.channel
        if ch is None:
            return True
        ok = True
        if imp:
            ch.import_filter = pcfg.import_filter
            ok = p.state is not ProtoState.UP or p.reload_routes()
        if exp:
            ch.export_filter = pcfg.export_filter
            ch.feed()
        return ok

    def _on_limit(self, proto: Protocol, which: str, action: str) -> None:
        """A route limit with action restart or disable was exceeded."""
        if getattr(proto, "_limit_pending", False):
            return
        proto._limit_pending = True  # type: ignore[attr-defined]
        asyncio.get_running_loop().create_task(self._limit_action(proto, which, action))

    async def _limit_action(self, proto: Protocol, which: str, action: str) -> None:
        proto.message = f"{which.capitalize()} route limit exceeded"
        try:
            await self._stop_proto(proto, f"limit {which}")
            if action == "restart":
                await self._start_proto(proto)
            else:
                proto.disabled = True
        finally:
            proto._limit_pending = False  # type: ignore[attr-defined]


# ---- command line ----------------------------------------------------------

def build_parser(family: int = 4) -> argparse.ArgumentParser:
    six = "6" if family == 6 else ""
    p = argparse.ArgumentParser(
        prog=f"bgplabd{six}",
        description="BGP soft router that reads BIRD 1.x configuration "
        f"(a drop-in for bird{six}: IPv{family} only). Like bird{six} it needs root, or "
        "CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, for port 179 and the kernel routing table. "
        "Talk to it with bgplabc (or birdc).",
    )
    p.add_argument("-c", dest="config", default=DEFAULT_CONFIG6 if six else DEFAULT_CONFIG,
                   help="use given configuration file (default: %(default)s)")
    p.add_argument("-s", dest="socket", default=DEFAULT_SOCKET6 if six else DEFAULT_SOCKET,
                   help="use given control socket (default: %(default)s)")
    p.add_argument("-f", dest="foreground", action="store_true", help="run in foreground")
    p.add_argument("-d", dest="debug", action="store_true",
                   help="enable debug messages to stderr and run in foreground")
    p.add_argument("-D", dest="debug_file", help="log debug messages to given file")
    p.add_argument("-p", dest="parse_only", action="store_true",
                   help="parse configuration and exit")
    p.add_argument("-P", dest="pidfile", help="create a PID file with given filename")
    p.add_argument("-R", dest="recovery", action="store_true",
                   help="apply graceful restart recovery after start")
    p.add_argument("-l", dest="local", action="store_true",
                   help="look for a configuration file and a control socket in the cwd")
    p.add_argument("-u", dest="user",
                   help="drop privileges and use that user ID (keeps NET_ADMIN, "
                        "NET_BIND_SERVICE, NET_RAW; docs/container.md)")
    p.add_argument("-g", dest="group", help="use that group ID (also the control socket's group)")
    p.add_argument("--metrics", metavar="ADDR:PORT", help="serve Prometheus metrics")
    p.add_argument("--http", metavar="ADDR:PORT",
                   help="serve the read-only web looking glass (default address 127.0.0.1)")
    p.add_argument("--http-allow", metavar="NET[,NET]", action="append",
                   help="networks the looking glass answers (default: loopback)")
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                   help="event loop implementation (uvloop needs the 'fast' extra; "
                        "default: %(default)s)")
    p.add_argument("--stall-log", metavar="FILE",
                   help="record the event loop's longest stall in FILE, rewritten as it grows "
                        "(for benchmarks; io/loop_stall.py)")
    p.add_argument("--version", action="version", version=f"BIRD version 1.6.8 (bgplab {__version__})")
    return p


def main(argv: list[str] | None = None, family: int = 4) -> int:
    args = build_parser(family).parse_args(argv)
    args.family = family
    if args.local:
        six = "6" if family == 6 else ""
        args.config, args.socket = f"bird{six}.conf", f"bird{six}.ctl"
    from bgplab.config import ConfigError, parse_file

    try:
        config = parse_file(args.config, family)
    except ConfigError as exc:
        from bgplab.config.dialect import explain

        print(f"bgplabd: {explain(exc, _read_or_none(args.config))}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"bgplabd: Unable to open configuration file {args.config}: {exc.strerror}",
              file=sys.stderr)
        return 1
    if args.parse_only:
        return 0
    try:
        from bgplab.logsetup import setup_logging

        setup_logging(config, debug_stderr=args.debug, debug_file=args.debug_file)
    except ImportError:
        logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                            format="%(asctime)s <%(levelname)s> %(message)s")
    from bgplab.io import privileges

    try:  # resolved now, so a bad name fails on the terminal, not after the fork
        priv = privileges.plan(args.user, args.group)
        privileges.prepare_socket_dir(args.socket, priv)
    except (privileges.PrivilegeError, OSError) as exc:
        print(f"bgplabd: {exc}", file=sys.stderr)
        return 1
    if not (args.foreground or args.debug):
        _daemonize()
    if args.pidfile:
        Path(args.pidfile).write_text(f"{os.getpid()}\n")
    try:  # before the event loop: capset acts on one thread, so no thread may exist yet
        privileges.drop(priv)
    except privileges.PrivilegeError as exc:
        log.error("%s", exc)
        print(f"bgplabd: {exc}", file=sys.stderr)
        return 1
    loop_factory = None
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("bgplabd: --loop uvloop needs the uvloop package (pip install bgplab[fast])",
                  file=sys.stderr)
            return 1
        loop_factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(_amain(config, args))
    except KeyboardInterrupt:
        return 0
    finally:
        if args.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(args.pidfile)


def _read_or_none(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return None


async def _stall_log_once_serving(daemon: Daemon, monitor: Any) -> None:
    await daemon.serving.wait()
    monitor.start(asyncio.get_running_loop())


async def _amain(config: Any, args: argparse.Namespace) -> int:
    daemon = Daemon(config, args.config, args.socket, graceful_recovery=args.recovery,
                    family=getattr(args, "family", 4))
    if args.http:
        try:
            from bgplab.io.http import serve_http

            if serve_http(daemon, args.http, args.http_allow, args.metrics):
                args.metrics = None  # served on the looking glass's port
        except (OSError, ValueError) as exc:
            print(f"bgplabd: {exc}", file=sys.stderr)
            return 1
    if args.metrics:
        try:
            from bgplab.io.metrics import start_metrics

            start_metrics(daemon, args.metrics)
        except (ImportError, OSError, ValueError) as exc:
            log.error("metrics: %s", exc)
    from bgplab.io import gcpolicy

    gcpolicy.install(asyncio.get_running_loop())  # the process's GC: see io/gcpolicy.py
    if args.stall_log:
        from bgplab.io.loop_stall import StallMonitor

        monitor = StallMonitor(args.stall_log)
        try:
            monitor.check()
        except OSError as exc:
            print(f"bgplabd: --stall-log: cannot write {args.stall_log}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
        # from the end of start-up: reading the config and starting the
        # protocols hold the loop once, before any peer is served (a daemon
        # that fails to start cancels this task, and nothing is measured)
        asyncio.get_running_loop().create_task(_stall_log_once_serving(daemon, monitor))
    try:
        await daemon.run()
    except OSError as exc:
        log.error("%s", exc)
        print(f"bgplabd: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a bare traceback to the user
        log.exception("fatal error")
        print(f"bgplabd: fatal error: {exc}", file=sys.stderr)
        return 1
    return 0


def main6(argv: list[str] | None = None) -> int:
    """``bgplabd6``: the IPv6 daemon, as ``bird6`` beside ``bird``."""
    return main(argv, family=6)


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


if __name__ == "__main__":
    sys.exit(main())
