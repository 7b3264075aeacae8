"""The router as a container: the repository's image, run the seed's way.

The field report runs its router as
``docker run -itd --net=host --uts=host --cap-add=NET_ADMIN --cap-add=NET_BROADCAST
--cap-add=NET_RAW -v /bird/:/etc/bird:ro ibhde/bird4``. The lab runs the same line
with podman (what works as root here, docs/container.md) and the image built by
``scripts/image``, inside the router's namespace: ``--net=host`` on the router VM is
``--network ns:/run/netns/NAME`` here. The router's ``bird.conf`` is mounted
read-only at ``/etc/bird``; its control socket directory ``/run/bird`` is a
directory of the lab's run directory, so the lab's checks reach the socket from
the host.

Podman here needs two settings (docs/container.md): ``runc`` instead of ``crun``
(this kernel's hybrid cgroups) and container ulimits no higher than the host's
hard limits. Both go into a ``containers.conf`` given through ``CONTAINERS_CONF``
(:func:`containers_conf`), also used by ``scripts/image``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bgplab.lab.speakers import SpeakerInfo

IMAGE = os.environ.get("BGPLAB_IMAGE", "localhost/bgplab/bgplabd:latest")
# the image's `bird` user (Dockerfile: useradd --uid); the lab's socket directory is its
IMAGE_UID = 179
CONF_PATH = Path(os.environ.get("BGPLAB_CONTAINERS_CONF_DIR", "/run/bgplab")) / "containers.conf"
# the seed's capabilities, and its -v /bird/:/etc/bird:ro
SEED_CAPS = ("NET_ADMIN", "NET_BROADCAST", "NET_RAW")
CONFIG_DIR = "/etc/bird"
SOCKET_DIR = "/run/bird"


class ContainerError(RuntimeError):
    """podman is missing, the image is not built, or a container did not start."""


def containers_conf() -> Path:
    """Write (if changed) and return the ``containers.conf`` podman needs here."""
    nofile, nproc = ulimits()
    text = (
        "# written by bgplab (src/bgplab/lab/container.py); see docs/container.md\n"
        "[containers]\n"
        # podman's defaults (1048576 files, 4194304 processes) are above this host's hard
        # limits, which root cannot raise here
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'  # crun fails on this kernel's hybrid cgroup layout
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )
    CONF_PATH.parent.mkdir(parents=True, exist_ok=True)
    if not CONF_PATH.exists() or CONF_PATH.read_text() != text:
        tmp = CONF_PATH.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(CONF_PATH)
    return CONF_PATH


def ulimits() -> tuple[int, int]:
    """(open files, processes) a container may have here: the host's hard limits,
    and no more processes than pid_max (podman's own limit here, found by trying)."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    cap = 1048576
    with contextlib.suppress(OSError, ValueError):
        cap = int(Path("/proc/sys/kernel/pid_max").read_text())
    nofile = 1048576 if nofile == resource.RLIM_INFINITY else nofile
    nproc = cap if nproc == resource.RLIM_INFINITY else min(nproc, cap)
    return nofile, nproc


def env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(containers_conf())}


def podman(argv: list[str], timeout: float = 60, check: bool = True) -> str:
    exe = shutil.which("podman")
    if exe is None:
        raise ContainerError("podman is not installed (run scripts/install)")
    try:
        res = subprocess.run(
            [exe, *argv], capture_output=True, text=True, timeout=timeout, env=env()
        )
    except subprocess.TimeoutExpired:
        raise ContainerError(f"podman {argv[0]}: no answer within {timeout:.0f}s") from None
    if check and res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ContainerError(f"podman {argv[0]}: {last}")
    return res.stdout


def image_present(image: str = IMAGE) -> bool:
    if shutil.which("podman") is None:
        return False
    try:
        podman(["image", "exists", image], timeout=30)
    except ContainerError:
        return False
    return True


def seed_run_argv(name: str, netns: str, etc: Path, image: str = IMAGE) -> list[str]:
    """The seed's ``docker run`` line as podman runs it in a lab namespace."""
    caps = [f"--cap-add={c}" for c in SEED_CAPS]
    return [
        "run", "-itd", "--name", name, f"--network=ns:/run/netns/{netns}", "--uts=host",
        *caps, "-v", f"{etc}/:{CONFIG_DIR}:ro", image,
    ]  # fmt: skip


def run_router(
    name: str,
    netns: str,
    workdir: Path,
    recover: bool = False,
    image: str = IMAGE,
    timeout: float = 20.0,
    family: int = 4,
) -> tuple[int, Path]:
    """Start the image as the router of namespace ``netns`` from the config in
    ``workdir/etc/bird.conf`` (``family=6``: bird6 on bird6.conf, a second container);
    returns (host pid of the daemon, control socket path)."""
    if not image_present(image):
        raise ContainerError(f"image {image} is not built (run scripts/image)")
    etc, run = workdir / "etc", workdir / "run"
    run.mkdir(parents=True, exist_ok=True)
    os.chown(run, IMAGE_UID, IMAGE_UID)  # the daemon creates its socket as user bird
    os.chmod(run, 0o750)
    six = "6" if family == 6 else ""
    sock = run / f"bird{six}.ctl"
    sock.unlink(missing_ok=True)
    remove(name)
    argv = seed_run_argv(name, netns, etc, image)
    # the socket where the lab's checks find it, and the image's own arguments (+ -R)
    argv[-1:-1] = ["--read-only", "-v", f"{run}:{SOCKET_DIR}"]
    # the image's entry point runs bird with options, or the command given (bird6)
    argv += [*(["bird6"] if six else []), "-f", "-u", "bird", "-g", "bird"]
    argv += ["-R"] if recover else []
    podman(argv, timeout=timeout)
    deadline = time.monotonic() + timeout
    pid = 0
    while time.monotonic() < deadline:
        pid = container_pid(name)
        if pid and sock.exists():
            return pid, sock
        if not running(name):
            raise ContainerError(f"{name} exited: {logs(name)[-300:].strip()}")
        time.sleep(0.1)
    raise ContainerError(f"{name} did not open its control socket within {timeout:.0f}s")


def container_pid(name: str) -> int:
    out = podman(["inspect", "-f", "{{.State.Pid}}", name], check=False, timeout=20)
    return int(out.strip() or 0) if out.strip().isdigit() else 0


def running(name: str) -> bool:
    out = podman(["inspect", "-f", "{{.State.Running}}", name], check=False, timeout=20)
    return out.strip() == "true"


def logs(name: str) -> str:
    """The container's output: podman logs prints its stdout and stderr on its own."""
    exe = shutil.which("podman") or "podman"
    res = subprocess.run([exe, "logs", name], capture_output=True, text=True, timeout=20, env=env())
    return res.stdout + res.stderr


def remove(name: str) -> None:
    """Remove a container if it exists (idempotent)."""
    with contextlib.suppress(ContainerError):
        podman(["rm", "-f", "-t", "0", "--ignore", name], timeout=60, check=False)


def start_router_container(
    host: str,
    netns: str,
    workdir: Path,
    files: dict[str, str],
    main: str,
    recover: bool,
    family: int = 4,
) -> SpeakerInfo:
    """The lab's ``container`` speaker: the image in ``netns``, named like the namespace
    (so ``lab down`` finds it by the lab's prefix; ``-6`` for the IPv6 daemon), config
    files in ``workdir/etc``."""
    from bgplab.lab.speakers import SpeakerError, SpeakerInfo, write_files

    etc = workdir / "etc"
    write_files(etc, files, 0o644)  # read by user bird, also after `configure`
    try:
        name = f"{netns}-6" if family == 6 else netns
        pid, sock = run_router(name, netns, workdir, recover=recover, family=family)
    except ContainerError as exc:
        raise SpeakerError(f"{host}: {exc}") from None
    return SpeakerInfo(host, "container", netns, str(workdir), str(sock), str(etc / main), pid)


def where(info: SpeakerInfo) -> str:
    """What runs where, for the report: a container says which image and container."""
    base = f"{info.host}: {info.kind} in namespace {info.netns} (pid {info.pid})"
    if info.kind != "container":
        return base
    return (
        f"{info.host}: podman container {info.netns} of image {IMAGE} in namespace "
        f"{info.netns} (daemon pid {info.pid}, user bird; {Path(info.config).parent} "
        f"mounted read-only at {CONFIG_DIR})"
    )


def remove_prefixed(prefix: str) -> list[str]:
    """Remove the containers of the lab with this prefix (``lab down``); as for its
    namespaces, the default lab never claims a test lab's."""
    from bgplab.lab.netns import _TEST_PREFIX_RE, DEFAULT_PREFIX

    if shutil.which("podman") is None:
        return []
    try:
        out = podman(["ps", "-a", "--format", "{{.Names}}"], timeout=30, check=False)
    except ContainerError:
        return []
    names = [
        n
        for n in out.split()
        if n.startswith(prefix) and not (prefix == DEFAULT_PREFIX and _TEST_PREFIX_RE.match(n))
    ]
    for n in names:
        remove(n)
    return [f"container {n}" for n in names]


def main(argv: list[str] | None = None) -> int:
    """``python3 -m bgplab.lab.container containers-conf``: print the conf's path."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["containers-conf"]:
        print(containers_conf())
        return 0
    if args == ["ulimits"]:  # for podman build, whose RUN steps ignore containers.conf
        nofile, nproc = ulimits()
        print(f"--ulimit=nofile={nofile}:{nofile} --ulimit=nproc={nproc}:{nproc}")
        return 0
    print("usage: python3 -m bgplab.lab.container containers-conf", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
