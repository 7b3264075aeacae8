"""Daemons under test, each with an equivalent generated configuration.

Every target is a route reflector for AS 63400 listening on one loopback
address: all peers are iBGP ``rr client``s, ADD-PATH on in both directions
(as Calico's BIRD config has it), import and export everything, passive (the
load generator connects), no kernel export unless a scenario asks for it.
Next hops in benchmark routes come from 198.18.0.0/15, which nothing
installs; each daemon is told to accept them without resolution.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bgplab.extpeers import (
    BirdDaemon,
    ExternalDaemon,
    PeerError,
    available,
    bird_binary,
    frr_bgpd_argv,
)

ASN = 63400
KINDS = ("bgplabd", "bird2", "bird1", "gobgp", "frr")
# bgplabd's --stall-log file in its work directory (io/loop_stall.py)
STALL_LOG = "loop-stall.txt"
NH_RANGE = "198.18.0.0/15"


@dataclass(frozen=True)
class KernelSpec:
    """Export to the kernel table (the kernel-fib scenario only)."""

    device: str  # interface that makes the next hop range reachable


def bird1_config(
    addr: str,
    port: int,
    peers: list[str],
    kernel: KernelSpec | None = None,
    *,
    hold: int = 240,
    template: str = "bench",
    proto_prefix: str = "p",
) -> str:
    """BIRD 1.6 syntax; bgplabd reads the same file. Every peer an iBGP rr
    client with ADD-PATH, like Calico's BIRD config; passive, since the
    peers connect."""
    lines = [
        f"router id {addr};",
        f"listen bgp address {addr} port {port};",
        "protocol device { scan time 10; }",
    ]
    if kernel:
        # next hops resolve recursively through the connected route of the device
        lines += [
            f'protocol direct {{ interface "{kernel.device}"; }}',
            "protocol kernel {",
            "  persist off;",
            "  scan time 60;",
            "  import none;",
            "  export filter { if source = RTS_BGP then accept; reject; };",
            "}",
        ]
    lines += [
        f"template bgp {template} {{",
        f"  local {addr} as {ASN};",
        f"  source address {addr};",
        "  multihop;",
        "  gateway recursive;",
        "  rr client;",
        "  passive on;",
        "  add paths on;",
        f"  hold time {hold};",
        "  import all;",
        "  export all;",
        "}",
    ]
    for i, p in enumerate(peers):
        lines.append(f"protocol bgp {proto_prefix}{i} from {template} {{ neighbor {p} as {ASN}; }}")
    return "\n".join(lines) + "\n"


def bird2_config(addr: str, port: int, peers: list[str]) -> str:
    lines = [
        f"router id {addr};",
        "protocol device { scan time 10; }",
        "template bgp bench {",
        f"  local {addr} port {port} as {ASN};",
        "  strict bind on;",
        "  multihop;",
        "  rr client;",
        "  passive on;",
        "  hold time 240;",
        "  ipv4 {",
        "    import all;",
        "    export all;",
        "    add paths on;",
        "  };",
        "}",
    ]
    for i, p in enumerate(peers):
        lines.append(f"protocol bgp p{i} from bench {{ neighbor {p} port 179 as {ASN}; }}")
    return "\n".join(lines) + "\n"


def gobgp_config(addr: str, port: int, peers: list[str]) -> str:
    out = [
        "[global.config]",
        f"  as = {ASN}",
        f'  router-id = "{addr}"',
        f"  port = {port}",
        f'  local-address-list = ["{addr}"]',
    ]
    for p in peers:
        out += [
            "[[neighbors]]",
            "  [neighbors.config]",
            f'    neighbor-address = "{p}"',
            f"    peer-as = {ASN}",
            "  [neighbors.timers.config]",
            "    hold-time = 240",
            "    keepalive-interval = 80",
            "  [neighbors.transport.config]",
            "    passive-mode = true",
            f'    local-address = "{addr}"',
            "  [neighbors.route-reflector.config]",
            "    route-reflector-client = true",
            f'    route-reflector-cluster-id = "{addr}"',
            "  [[neighbors.afi-safis]]",
            "    [neighbors.afi-safis.config]",
            '      afi-safi-name = "ipv4-unicast"',
            "    [neighbors.afi-safis.add-paths.config]",
            "      receive = true",
            "      send-max = 8",
        ]
    return "\n".join(out) + "\n"


def frr_config(addr: str, port: int, peers: list[str]) -> str:
    out = [
        "frr defaults traditional",
        "hostname bench",
        "log stdout warnings",
        f"router bgp {ASN}",
        f" bgp router-id {addr}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
        " neighbor RR peer-group",
        f" neighbor RR remote-as {ASN}",
        " neighbor RR passive",
        " neighbor RR timers 80 240",
    ]
    out += [f" neighbor {p} peer-group RR" for p in peers]
    out += [
        " address-family ipv4 unicast",
        "  neighbor RR activate",
        "  neighbor RR route-reflector-client",
        "  neighbor RR addpath-tx-all-paths",
        " exit-address-family",
    ]
    return "\n".join(out) + "\n"


class Target:
    """One daemon under test; ``start`` returns when it listens."""

    def __init__(
        self,
        kind: str,
        addr: str,
        peers: list[str],
        port: int = 179,
        netns: str | None = None,
        kernel: KernelSpec | None = None,
        profile: Path | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown target {kind!r}")
        self.kind = kind
        self.addr = addr
        self.port = port
        self.peers = peers
        self.netns = netns
        self.kernel = kernel
        self.profile = profile  # bgplabd only: write cProfile stats here
        self.daemon: ExternalDaemon | None = None

    @property
    def pid(self) -> int:
        assert self.daemon is not None
        return self.daemon.pid

    @property
    def ctl_socket(self) -> Path | None:
        """The daemon's birdc control socket (BIRD and bgplabd), else None."""
        d = self.daemon
        if d is None:
            return None
        if isinstance(d, BirdDaemon):
            return d.socket
        if self.kind == "bgplabd":
            return d.workdir / "bgplabd.ctl"
        return None

    def loop_stall_s(self) -> float | None:
        """bgplabd's longest event-loop stall so far (its ``--stall-log``);
        None for the other daemons, which have no such record."""
        if self.kind != "bgplabd" or self.daemon is None:
            return None
        from bgplab.io import loop_stall

        return loop_stall.read(self.daemon.workdir / STALL_LOG)

    def alive(self) -> bool:
        return self.daemon is not None and self.daemon.alive()

    def log(self) -> str:
        return self.daemon.log() if self.daemon else ""

    def _listening(self) -> bool:
        import subprocess

        probe = ["ss", "-Hltn", f"src {self.addr}:{self.port}"]
        if self.netns:
            probe = ["ip", "netns", "exec", self.netns, *probe]
        return bool(subprocess.run(probe, capture_output=True, text=True).stdout.strip())

    def start(self) -> Target:
        k = self.kind
        if self._listening():
            raise PeerError(f"{self.addr}:{self.port} is already in use by another process")
        if k in ("bird1", "bird2"):
            version = 1 if k == "bird1" else 2
            if not bird_binary(version).exists():
                raise PeerError(f"{k} is not installed")
            if version == 1:
                conf = bird1_config(self.addr, self.port, self.peers, self.kernel)
            else:
                conf = bird2_config(self.addr, self.port, self.peers)
            d: ExternalDaemon = BirdDaemon(version, conf, netns=self.netns)
            self.daemon = d
            d.start()
        elif k == "bgplabd":
            exe = shutil.which("bgplabd")
            if exe is None:
                raise PeerError("bgplabd is not installed")
            wd = Path(tempfile.mkdtemp(prefix="bgplab-bench-bgplabd-"))
            conf_path = wd / "bird.conf"
            conf_path.write_text(bird1_config(self.addr, self.port, self.peers, self.kernel))
            argv = [exe, "-f", "-c", str(conf_path), "-s", str(wd / "bgplabd.ctl"),
                    "--stall-log", str(wd / STALL_LOG)]
            # extra daemon flags, e.g. --http ADDR:PORT to measure with the looking glass on
            argv += os.environ.get("BGPLAB_BENCH_BGPLABD_ARGS", "").split()
            if self.profile is not None:
                # same daemon under cProfile; stats are written when it exits
                argv = [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    str(self.profile),
                    "-m",
                    "bgplab.daemon",
                    *argv[1:],
                ]
            self.daemon = ExternalDaemon("bgplabd", argv, wd, self.netns).start()
        elif k == "gobgp":
            if not available("gobgp"):
                raise PeerError("gobgpd is not installed")
            wd = Path(tempfile.mkdtemp(prefix="bgplab-bench-gobgp-"))
            conf_path = wd / "gobgpd.toml"
            conf_path.write_text(gobgp_config(self.addr, self.port, self.peers))
            exe = shutil.which("gobgpd") or "gobgpd"
            # no gRPC API: nothing talks to it, and its port must not collide
            argv = [
                exe,
                "-f",
                str(conf_path),
                "-t",
                "toml",
                "--api-hosts",
                f"{self.addr}:0",
                "-l",
                "warn",
                "--disable-stdlog",
            ]
            self.daemon = ExternalDaemon("gobgp", argv, wd, self.netns).start()
        elif k == "frr":
            if not available("frr"):
                raise PeerError("FRR bgpd is not installed")
            wd = Path(tempfile.mkdtemp(prefix="bgplab-bench-frr-"))
            conf_path = wd / "bgpd.conf"
            conf_path.write_text(frr_config(self.addr, self.port, self.peers))
            argv = frr_bgpd_argv(self.addr, wd, port=self.port)
            self.daemon = ExternalDaemon("frr", argv, wd, self.netns).start()
        self._wait_listening()
        return self

    def _wait_listening(self, timeout: float = 20) -> None:
        """Wait until something listens on addr:port (in the daemon's netns)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise PeerError(f"{self.kind} exited: {self.log()[-2000:]}")
            if self._listening():
                return
            time.sleep(0.1)
        raise PeerError(f"{self.kind} does not listen on {self.addr}:{self.port}")

    def stop(self, keep: bool = False) -> None:
        """Stop the daemon; ``keep`` leaves its work directory for :meth:`remove`."""
        if self.daemon is not None:
            proc = self.daemon.proc
            if self.profile is not None and proc is not None and proc.poll() is None:
                # cProfile writes its stats on a clean exit; give it time
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=120)
            self.daemon.stop(remove=not keep)

    def remove(self) -> None:
        if self.daemon is not None:
            shutil.rmtree(self.daemon.workdir, ignore_errors=True)
