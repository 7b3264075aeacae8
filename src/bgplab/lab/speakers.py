"""Start and stop the lab's BGP speakers: real BIRD 1.6 or bgplabd.

A speaker runs in its host's namespace, in the foreground of its own
session (so a process group kill takes all of it), with its working
directory under the lab's run directory. That is how ``down`` finds it
again after a crash: by pid from the state file, by namespace, and by
working directory.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bgplab.errors import UserError
from bgplab.extpeers import BirdDaemon, ExternalDaemon, PeerError, bird_binary
from bgplab.lab import ctl

SPEAKERS = ("bgplabd", "bird")
# the router may also run as the image of scripts/image (lab/container.py)
ROUTER_SPEAKERS = (*SPEAKERS, "container")


class SpeakerError(UserError):
    """A speaker is not installed or did not start."""


@dataclass
class SpeakerInfo:
    host: str
    kind: str
    netns: str
    workdir: str
    socket: str
    config: str
    pid: int

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def available(kind: str) -> bool:
    if kind == "bird":
        return bird_binary(1).exists()
    if kind == "bgplabd":
        return shutil.which("bgplabd") is not None
    if kind == "container":
        from bgplab.lab.container import image_present

        return image_present()
    return False


def usable(kind: str) -> bool:
    """Installed, and (for bgplabd) starts and answers on its control socket: a trial
    run with no BGP protocols, so it sends nothing on any network."""
    if not available(kind):
        return False
    if kind != "bgplabd":
        return True
    with tempfile.TemporaryDirectory(prefix="bgplab-trial-") as tmp:
        conf = Path(tmp) / "bird.conf"
        conf.write_text("router id 192.0.2.1;\nprotocol device {\n}\n")
        sock = Path(tmp) / "trial.ctl"
        argv = [shutil.which("bgplabd") or "bgplabd", "-f", "-c", str(conf), "-s", str(sock)]
        daemon = ExternalDaemon("bgplabd", argv, Path(tmp)).start()
        try:
            wait_for_socket(daemon, sock, 5, "bgplabd")
            return True
        except SpeakerError:
            return False
        finally:
            daemon.stop(remove=False)


def start_speaker(
    host: str,
    kind: str,
    netns: str,
    workdir: Path,
    files: dict[str, str],
    main: str,
    recover: bool = False,
    timeout: float = 10.0,
) -> SpeakerInfo:
    """Write ``files`` into ``workdir`` and start the speaker on ``main``.

    ``recover`` passes ``-R`` (graceful-restart recovery), as after a crash.
    """
    if kind == "container":
        if not available(kind):
            raise SpeakerError("the router image is not built (run scripts/image)")
        from bgplab.lab.container import start_router_container

        return start_router_container(host, netns, workdir, files, main, recover)
    if kind not in SPEAKERS:
        raise SpeakerError(f"unknown speaker {kind!r} (choose from {', '.join(SPEAKERS)})")
    if not available(kind):
        raise SpeakerError(f"speaker {kind} is not installed (run scripts/install)")
    write_files(workdir, files)
    sock = workdir / f"{kind}.ctl"
    sock.unlink(missing_ok=True)
    conf = workdir / main
    daemon: ExternalDaemon
    if kind == "bird":
        daemon = BirdDaemon(1, files[main], netns=netns, workdir=workdir)
        sock = daemon.socket  # type: ignore[attr-defined]
        conf = daemon.config_path  # type: ignore[attr-defined]
        if recover:
            daemon.argv.append("-R")
        try:
            daemon.start()
        except PeerError as exc:
            raise SpeakerError(f"{host}: BIRD did not start: {_last_line(str(exc))}") from None
    else:
        argv = [shutil.which("bgplabd") or "bgplabd", "-f", "-c", str(conf), "-s", str(sock)]
        if recover:
            argv.append("-R")
        daemon = ExternalDaemon("bgplabd", argv, workdir, netns).start()
        wait_for_socket(daemon, sock, timeout, f"{host}: bgplabd")
    return SpeakerInfo(host, kind, netns, str(workdir), str(sock), str(conf), daemon.pid)


# Dual stack: the IPv6 daemon beside the IPv4 one, as BIRD 1.x runs bird6 beside bird.
SOCKET6 = {"bird": "bird6.ctl", "bgplabd": "bgplabd6.ctl"}


def binary6(kind: str) -> str | None:
    """The IPv6 daemon of ``kind``: real BIRD 1.6's ``bird6``, or ``bgplabd6``."""
    if kind == "bird":
        path = bird_binary(1).with_name("bird6")
        return str(path) if path.exists() else None
    if kind == "bgplabd":
        return shutil.which("bgplabd6")
    if kind == "container":  # the image's bird6 (lab/container.py)
        return "bird6" if available(kind) else None
    return None


def start_speaker6(
    host: str,
    kind: str,
    netns: str,
    workdir: Path,
    files: dict[str, str],
    main: str,
    recover: bool = False,
    timeout: float = 10.0,
) -> SpeakerInfo:
    """Start ``kind``'s IPv6 daemon on ``main`` (bird6.conf / bird6.cfg) in ``workdir``,
    with its own socket, pid file and log, so it runs beside the IPv4 speaker."""
    if kind == "container":
        from bgplab.lab.container import start_router_container

        return start_router_container(host, netns, workdir, files, main, recover, family=6)
    binary = binary6(kind)
    if binary is None:
        raise SpeakerError(f"the IPv6 daemon of {kind} is not installed (run scripts/install)")
    write_files(workdir, files)
    sock = workdir / SOCKET6[kind]
    sock.unlink(missing_ok=True)
    conf = workdir / main
    argv = [binary, "-f", "-c", str(conf), "-s", str(sock), "-P", str(workdir / f"{kind}6.pid")]
    if recover:
        argv.append("-R")
    daemon = ExternalDaemon(f"{kind}6", argv, workdir, netns)
    daemon.log_path = workdir / f"{kind}6.log"
    daemon.start()
    wait_for_socket(daemon, sock, timeout, f"{host}: {kind}6")
    return SpeakerInfo(host, kind, netns, str(workdir), str(sock), str(conf), daemon.pid)


def wait_for_socket(daemon: ExternalDaemon, sock: Path, timeout: float, what: str) -> None:
    """Until ``daemon`` answers ``show status`` on ``sock``. The socket file alone
    is not enough: BIRD opens it before it reads its configuration, and then may
    exit on an error in it. A daemon that exits or does not answer in ``timeout``
    seconds is a SpeakerError (and is stopped)."""
    deadline = time.monotonic() + timeout
    while True:
        if not daemon.alive():
            raise SpeakerError(f"{what} exited: {_last_line(daemon.log())}")
        if _answers(sock) and daemon.alive():
            return
        if time.monotonic() > deadline:
            daemon.stop(remove=False)
            raise SpeakerError(f"{what} did not answer on {sock}")
        time.sleep(0.05)


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return any(code == "0013" for code, _ in ctl.query(str(sock), "show status", 2))
    except ctl.CtlError:
        return False


def write_files(directory: Path, files: dict[str, str], mode: int | None = None) -> None:
    """A speaker's config files (name: text) into ``directory``, made if missing."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
        if mode is not None:
            (directory / name).chmod(mode)


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"
