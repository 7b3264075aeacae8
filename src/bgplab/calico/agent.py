"""The calico-node emulation for one node: confd + BIRD, without Kubernetes.

A :class:`NodeAgent` renders the node's files into ``<workdir>/etc/bird/``,
starts the speaker (``bgplabd``, or real BIRD 1.6 with ``speaker="bird"``)
on them with its control socket at ``<workdir>/run/bird.ctl``, optionally in
the node's network namespace, and on :meth:`sync` re-renders and sends
``configure`` over the control socket when a file changed, as calico-node's
confd does with ``sv hup bird``. The agent records itself in the datastore's
``runtime`` section, so another process (``bgplab calico apply``, ``node
status``) can find and reconfigure it: see :func:`reconfigure_running`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import time
from pathlib import Path

from bgplab.calico.confd import render_node
from bgplab.calico.datastore import Datastore
from bgplab.errors import UserError
from bgplab.extpeers import ExternalDaemon, bird_binary

SPEAKERS = ("bgplabd", "bird")
_KRT_TUNNEL = re.compile(r'krt_tunnel = "([^"]*)";')


def for_stock_bird(text: str) -> str:
    """Make Calico's files load in stock BIRD 1.6.

    ``krt_tunnel`` (the IPIP device for a kernel route) exists only in
    Calico's BIRD fork; stock BIRD rejects it. A no-op statement keeps the
    filter's shape (it may stand alone or as an ``if``/``else`` branch).
    """
    return _KRT_TUNNEL.sub(r'if false then print "krt_tunnel \1";', text)


class AgentError(UserError):
    """The speaker could not be started or reconfigured."""


def node_files(
    ds: Datastore,
    node: str,
    speaker: str,
    *,
    per_pod_routes: bool = False,
    families: tuple[int, ...] = (4,),
) -> dict[str, str]:
    """The node's files as its speaker loads them (stock BIRD: see :func:`for_stock_bird`).

    ``families=(4,)`` (the default, what the lab's IPv4 speaker reads): the three
    IPv4 files; ``(4, 6)`` adds ``bird6.cfg`` and its two includes."""
    files = render_node(ds, node, per_pod_routes=per_pod_routes, families=families)
    if speaker == "bird":
        files = {name: for_stock_bird(text) for name, text in files.items()}
    return files


def _speaker_argv(speaker: str, config: Path, sock: Path, pidfile: Path) -> list[str]:
    if speaker == "bird":
        binary = bird_binary(1)
        if not binary.exists():
            raise AgentError(f"BIRD 1.6 is not installed at {binary}")
        return [str(binary), "-f", "-c", str(config), "-s", str(sock), "-P", str(pidfile)]
    if speaker == "bgplabd":
        found = shutil.which("bgplabd")
        if found is None:
            raise AgentError("bgplabd is not on PATH (pip install -e .)")
        return [found, "-f", "-c", str(config), "-s", str(sock), "-P", str(pidfile)]
    raise AgentError(f"unknown speaker {speaker!r} (use one of {', '.join(SPEAKERS)})")


def control(sock: str | Path, command: str, timeout: float = 10.0) -> list[str]:
    """One command on a BIRD-protocol control socket; the reply lines."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(sock))
            f = s.makefile("rwb")
            f.readline()  # greeting "0001 BIRD ... ready."
            f.write(command.encode() + b"\n")
            f.flush()
            lines: list[str] = []
            while True:
                raw = f.readline()
                if not raw:
                    return lines
                text = raw.decode(errors="replace").rstrip("\n")
                lines.append(text)
                if len(text) >= 5 and text[:4].isdigit() and text[4] == " ":
                    return lines
    except OSError as exc:
        raise AgentError(f"control socket {sock}: {exc.strerror or exc}") from None


def configure(sock: str | Path) -> None:
    """``birdc configure``: raise if the speaker rejects the new files."""
    lines = control(sock, "configure")
    last = lines[-1] if lines else ""
    # 0003 Reconfigured, 0004 in progress, 0018 queued, 0019 unchanged...
    if not last[:1] == "0":
        raise AgentError(f"reconfiguration failed: {' / '.join(lines)}")


class NodeAgent:
    """Runs one emulated Calico node's BGP speaker."""

    def __init__(
        self,
        ds: Datastore,
        node_name: str,
        workdir: str | Path,
        netns: str | None = None,
        speaker: str = "bgplabd",
        *,
        per_pod_routes: bool = False,
        etc: str | Path | None = None,
        socket: str | Path | None = None,
        config: str | Path | None = None,
    ):
        """``etc``, ``socket`` and ``config`` override the agent's own layout for a
        speaker someone else started (the lab keeps the files in the workdir, and
        stock BIRD there reads a copy of ``bird.cfg`` named ``bird.conf``)."""
        if speaker not in SPEAKERS:
            raise AgentError(f"unknown speaker {speaker!r} (use one of {', '.join(SPEAKERS)})")
        ds.node(node_name)
        self.ds = ds
        self.node = node_name
        self.workdir = Path(workdir)
        self.netns = netns
        self.speaker = speaker
        self.per_pod_routes = per_pod_routes
        self.etc = Path(etc) if etc is not None else self.workdir / "etc" / "bird"
        self.socket = Path(socket) if socket is not None else self.workdir / "run" / "bird.ctl"
        self._config = Path(config) if config is not None else None
        self.pidfile = self.workdir / "run" / "bird.pid"
        self.daemon: ExternalDaemon | None = None
        if len(str(self.socket)) > 100:
            raise AgentError(f"workdir {workdir} is too long for a unix socket path")

    @property
    def config_path(self) -> Path:
        return self._config if self._config is not None else self.etc / "bird.cfg"

    def write_files(self) -> bool:
        """Render and write the files; True if any of them changed."""
        self.etc.mkdir(parents=True, exist_ok=True)
        files = node_files(self.ds, self.node, self.speaker, per_pod_routes=self.per_pod_routes)
        paths = [(self.etc / name, text) for name, text in files.items()]
        if self.config_path != self.etc / "bird.cfg":
            paths.append((self.config_path, files["bird.cfg"]))
        changed = False
        for path, text in paths:
            if not path.exists() or path.read_text() != text:
                tmp = path.with_suffix(".tmp")
                tmp.write_text(text)
                os.replace(tmp, path)
                changed = True
        return changed

    def start(self, timeout: float = 10.0) -> NodeAgent:
        self.write_files()
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        argv = _speaker_argv(self.speaker, self.config_path, self.socket, self.pidfile)
        self.daemon = ExternalDaemon(f"{self.speaker}-{self.node}", argv, self.workdir, self.netns)
        self.daemon.log_path = self.workdir / "run" / "speaker.log"
        self.daemon.start()
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if not self.daemon.alive():
                raise AgentError(f"{self.speaker} for {self.node} exited: {self.daemon.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AgentError(f"{self.speaker} for {self.node} did not open {self.socket}")
            time.sleep(0.05)
        self.ds.set_runtime(
            self.node,
            socket=str(self.socket),
            workdir=str(self.workdir),
            pid=self.daemon.pid,
            speaker=self.speaker,
            netns=self.netns,
            per_pod_routes=self.per_pod_routes,
        )
        return self

    def sync(self) -> bool:
        """Re-render from the datastore; reconfigure the speaker on change."""
        if not self.write_files():
            return False
        configure(self.socket)
        return True

    def alive(self) -> bool:
        return self.daemon is not None and self.daemon.alive()

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop(remove=False)
            self.daemon = None
        if self.node in self.ds.runtime:
            self.ds.set_runtime(self.node)

    def __enter__(self) -> NodeAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _running(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reconfigure_running(ds: Datastore) -> list[str]:
    """Re-render every node whose agent is running (per ``ds.runtime``) and
    reconfigure its speaker if its files changed; returns those nodes."""
    changed = []
    for node, info in sorted(ds.runtime.items()):
        if not _running(info.get("pid")) or not Path(info.get("socket", "")).exists():
            continue
        try:
            ds.node(node)
        except UserError:
            continue  # the node was deleted; its agent keeps the old files
        agent = NodeAgent(
            ds,
            node,
            info["workdir"],
            info.get("netns"),
            info.get("speaker", "bgplabd"),
            per_pod_routes=bool(info.get("per_pod_routes")),
            etc=info.get("etc"),
            socket=info.get("socket"),
            config=info.get("config"),
        )
        if agent.sync():
            changed.append(node)
    return changed


def stop_running(ds: Datastore, node: str) -> bool:
    """Stop a node agent started by another process (by its recorded pid)."""
    info = ds.runtime.get(node)
    if not info:
        return False
    pid = info.get("pid")
    if _running(pid):
        assert isinstance(pid, int)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    ds.set_runtime(node)
    return True
