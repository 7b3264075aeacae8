"""Run real BGP daemons (BIRD 1.6, BIRD 2, GoBGP, FRR bgpd) as peers.

Tests, the lab (``--router bird``) and the benchmark all need the same
thing: start a daemon from Debian's packages with a given configuration,
optionally inside a network namespace, talk to it, and be sure it is gone
afterwards. Every process is started in its own session so that ``stop``
kills the whole group, also when the caller fails half-way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Protocol

    class ControlSocketDaemon(Protocol):
        """A daemon with a BIRD-protocol control socket: BirdDaemon, and
        launch.BgplabDaemon, which borrows BirdDaemon's helpers."""

        kind: str
        socket: Path

        def alive(self) -> bool: ...
        def log(self) -> str: ...
        def stop(self, remove: bool = True) -> None: ...
        def birdc(self, command: str, timeout: float = 10) -> str: ...


BIRD1_ROOT = Path(os.environ.get("BGPLAB_BIRD1_ROOT", "/opt/bird1"))


class PeerError(RuntimeError):
    """A peer daemon is missing, failed to start, or did not answer."""


def bird_binary(version: int, ipv6: bool = False) -> Path:
    """Path of ``bird`` for BIRD 1.6 (unpacked in /opt/bird1; ``bird6`` with
    ``ipv6``) or BIRD 2 (one daemon for both families)."""
    if version == 1:
        return BIRD1_ROOT / ("usr/sbin/bird6" if ipv6 else "usr/sbin/bird")
    found = shutil.which("bird") or "/usr/sbin/bird"
    return Path(found)


def birdc_binary(version: int, ipv6: bool = False) -> Path:
    if version == 1:
        return BIRD1_ROOT / ("usr/sbin/birdc6" if ipv6 else "usr/sbin/birdc")
    return Path(shutil.which("birdc") or "/usr/sbin/birdc")


def available(kind: str) -> bool:
    """Is the daemon ``kind`` (bird1, bird2, gobgp, frr) installed?"""
    if kind == "bird1":
        return bird_binary(1).exists()
    if kind == "bird2":
        return bird_binary(2).exists()
    if kind == "gobgp":
        return shutil.which("gobgpd") is not None
    if kind == "frr":
        return Path("/usr/lib/frr/bgpd").exists()
    raise ValueError(f"unknown peer kind {kind!r}")


def frr_bgpd_argv(
    addr: str, workdir: Path, zserv: str | None = None, port: int = 179
) -> list[str]:
    """FRR's bgpd on ``addr``:``port`` with bgpd.conf, pid file and vty socket in
    ``workdir``; without zebra (-Z) unless ``zserv`` names zebra's socket
    (FRR takes IPv6 link-local next hops only with zebra)."""
    zebra = ["-z", zserv] if zserv else ["-Z"]
    return ["/usr/lib/frr/bgpd", *zebra, "-n", "-S", "-l", addr, "-p", str(port),
            "-f", str(workdir / "bgpd.conf"), "-P", "0", "-i", str(workdir / "bgpd.pid"),
            "--vty_socket", str(workdir), "-u", "root", "-g", "root"]


def netns_prefix(netns: str | None) -> list[str]:
    return ["ip", "netns", "exec", netns] if netns else []


class ExternalDaemon:
    """A daemon process with a working directory that is removed on stop."""

    def __init__(self, kind: str, argv: list[str], workdir: Path, netns: str | None = None):
        self.kind = kind
        self.argv = argv
        self.workdir = workdir
        self.netns = netns
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "daemon.log"

    def start(self) -> ExternalDaemon:
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            netns_prefix(self.netns) + self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.workdir,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, remove: bool = True) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ExternalDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(d: ControlSocketDaemon, timeout: float = 15) -> None:
    """Wait until a BIRD-protocol control socket answers its greeting.

    The socket file alone is not enough: BIRD opens it before it reads its
    configuration, and then exits on a syntax error.
    """
    import socket as socketmod

    path = str(d.socket)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not d.alive():
            raise PeerError(f"{d.kind} exited: {d.log()}")
        try:
            with socketmod.socket(socketmod.AF_UNIX, socketmod.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(path)
                if s.recv(64).startswith(b"0001"):
                    time.sleep(0.05)
                    if d.alive():
                        return
        except OSError:
            pass
        time.sleep(0.05)
    d.stop(remove=False)
    raise PeerError(f"{d.kind} did not answer on its control socket: {d.log()}")


class BirdDaemon(ExternalDaemon):
    """BIRD 1.6 or 2 in the foreground with its own control socket (BIRD 1.6's
    ``bird6`` with ``ipv6``, on bird6.conf and bird6.ctl)."""

    def __init__(self, version: int, config: str, netns: str | None = None,
                 workdir: Path | None = None, ipv6: bool = False):
        wd = workdir or Path(tempfile.mkdtemp(prefix=f"bgplab-bird{version}-"))
        self.version = version
        self.ipv6 = ipv6 and version == 1
        six = "6" if self.ipv6 else ""
        self.config_path = wd / f"bird{six}.conf"
        self.config_path.write_text(config)
        self.socket = wd / f"bird{six}.ctl"
        argv = [str(bird_binary(version, self.ipv6)), "-f", "-c", str(self.config_path),
                "-s", str(self.socket), "-P", str(wd / f"bird{six}.pid")]
        super().__init__("bird6" if self.ipv6 else f"bird{version}", argv, wd, netns)

    def start(self) -> BirdDaemon:
        if not bird_binary(self.version, self.ipv6).exists():
            raise PeerError(f"BIRD {self.version} is not installed (run scripts/install)")
        super().start()
        wait_ready(self)
        return self

    def birdc(self, command: str, timeout: float = 10) -> str:
        """Run one birdc command and return its (human) output."""
        argv = [str(birdc_binary(self.version, self.ipv6)), "-s", str(self.socket)]
        argv += command.split()
        res = subprocess.run(netns_prefix(None) + argv, capture_output=True, timeout=timeout,
                             text=True)
        return res.stdout

    def raw(self: ControlSocketDaemon, command: str, timeout: float = 10) -> list[str]:
        """Send one command on the control socket; return the raw reply lines
        (with their 4-digit codes), up to and including the final line."""
        import socket as socketmod

        with socketmod.socket(socketmod.AF_UNIX, socketmod.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.socket))
            f = s.makefile("rwb")
            f.readline()  # greeting
            f.write(command.encode() + b"\n")
            f.flush()
            lines = []
            while True:
                line = f.readline()
                if not line:
                    break
                text = line.decode(errors="replace").rstrip("\n")
                lines.append(text)
                if len(text) >= 5 and text[:4].isdigit() and text[4] == " ":
                    break
            return lines

    def wait_established(self: ControlSocketDaemon, protocol: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            out = self.birdc(f"show protocols {protocol}")
            if "Established" in out:
                return
            time.sleep(0.2)
        raise PeerError(f"{self.kind} protocol {protocol} not Established: {out}\n{self.log()}")
