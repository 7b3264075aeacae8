"""The seed lab with its router in the image (issue 16), in namespaces:

* ``bgplab lab run --router container``: the four seed scenarios and dual stack pass
  ``check``;
* a BIRD 1.6 router swapped for the container (``fault --swap-router --to container``)
  loses no ping, the container restarts with ``-R`` (``--restart-router``) losing none,
  and the HTML report says what runs where;
* the seed's own ``docker run`` line, with podman for docker and only the image name
  changed, run verbatim inside the router's namespace, gives a router the lab's nodes
  peer with; SIGHUP re-reads its config, the health check answers, SIGTERM ends it
  cleanly.

Each lab has its own prefix and run directory and is removed even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.extpeers import bird_binary
from bgplab.lab import container
from bgplab.lab.check import run_checks
from bgplab.lab.lab import Lab, down_any
from tests.interop.test_reflection import wait_for
from tests.lab.test_lab_e2e import app

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.slow]

PREFIX = f"bgplab-t{os.getpid()}-c-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-c")
# The field report's line, exactly as it prints it.
SEED_LINE = (
    "docker run -itd --net=host --uts=host --cap-add=NET_ADMIN --cap-add=NET_BROADCAST "
    "--cap-add=NET_RAW -v /bird/:/etc/bird:ro ibhde/bird4"
)


def bgplab(*args: str, timeout: float = 300):  # type: ignore[no-untyped-def]
    env = {"BGPLAB_LAB_PREFIX": PREFIX, "BGPLAB_LAB_RUNDIR": str(RUNDIR), "COLUMNS": "160"}
    return app("lab", *args, env=env, timeout=timeout)


@pytest.fixture
def clean() -> Iterator[None]:
    down_any(RUNDIR, PREFIX)
    try:
        yield
    finally:
        bgplab("down")
        down_any(RUNDIR, PREFIX)
        assert not container.remove_prefixed(PREFIX), "lab down left a container"


def test_all_four_scenarios_with_the_container_router(image: str, clean: None) -> None:
    # the field report's four variants, and dual stack (a second container runs bird6)
    for scenario in ("rr", "aggregate", "pod-routes", "service-ecmp", "dual-stack"):
        res = bgplab("run", "--router", "container", "--scenario", scenario, timeout=300)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
        summary = res.stdout[res.stdout.index("summary") :]
        assert re.search(rf"{scenario}\s+│\s+container/bgplabd\s+│\s+PASS", summary), summary


@pytest.mark.skipif(not bird_binary(1).exists(), reason="BIRD 1.6 not installed")
def test_swap_bird_for_the_container_and_restart_it(
    image: str, clean: None, tmp_path: Path
) -> None:
    res = bgplab("up", "--router", "bird", "--speaker", "bgplabd")
    assert res.returncode == 0, res.stderr
    res = bgplab("fault", "router", "--swap-router", "--to", "container")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    assert "swap-router (bird -> container)" in res.stdout
    assert re.search(r"\d+ sent, \d+ received, 0 lost", res.stdout), res.stdout[-1500:]
    lab = Lab.load(RUNDIR)
    info = lab.speakers["router"]
    assert lab.router_speaker == "container" and info.kind == "container"
    # the daemon in the container: PID 1 there, user bird, the three kept capabilities
    status = Path(f"/proc/{info.pid}/status").read_text()
    assert re.search(r"^Uid:\s+179\s", status, re.M) and f"NSpid:\t{info.pid}\t1" in status
    assert re.search(r"^CapEff:\s+0000000000003400$", status, re.M), status

    res = bgplab("fault", "router", "--restart-router")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    assert re.search(r"\d+ sent, \d+ received, 0 lost", res.stdout), res.stdout[-1500:]
    assert "started container" in res.stdout and "-R" in res.stdout

    html = tmp_path / "report.html"
    res = bgplab("report", "--html", str(html))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    text = html.read_text()
    assert f"podman container {PREFIX}router of image {container.IMAGE}" in text


@contextlib.contextmanager
def seed_dir(conf: str) -> Iterator[Path]:
    """The seed's ``/bird/`` holding ``conf`` as bird.conf: a directory of ours bound on
    ``/bird`` in a private mount namespace (the caller enters it), so nothing of the
    machine's is touched; ``/bird`` itself is created only if missing, and removed."""
    made = not os.path.exists("/bird")
    if made:
        os.mkdir("/bird", 0o755)
    src = Path(tempfile.mkdtemp(prefix="bgplab-seed-"))
    src.chmod(0o755)
    (src / "bird.conf").write_text(conf)
    (src / "bird.conf").chmod(0o644)
    try:
        yield src
    finally:
        for p in src.iterdir():
            p.unlink()
        src.rmdir()
        if made:
            with contextlib.suppress(OSError):
                os.rmdir("/bird")


def test_the_seed_docker_line_verbatim_gives_the_nodes_their_router(
    image: str, clean: None
) -> None:
    # the lab (namespaces, nodes) with a router we then replace by the seed's line
    res = bgplab("up", "--router", "bgplabd", "--speaker", "bgplabd")
    assert res.returncode == 0, res.stderr
    lab = Lab.load(RUNDIR)
    conf = Path(lab.speakers["router"].config).read_text()
    lab.stop_speaker("router")
    argv = shlex.split(SEED_LINE.replace("ibhde/bird4", "bgplab/bgplabd"))
    argv[0] = "podman"  # what runs here (docs/container.md); everything else verbatim
    assert argv[1:] == shlex.split(SEED_LINE)[1:-1] + ["bgplab/bgplabd"]
    ns = lab.host_ns("router")
    cid = ""
    before = _containers()
    with seed_dir(conf) as src:
        try:
            # --net=host inside the router's namespace is the router namespace (nsenter,
            # not `ip netns exec`, whose fresh /sys hides the cgroups runc needs)
            line = " ".join(shlex.quote(a) for a in argv)
            res = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 f"mount --bind {src} /bird && exec nsenter --net=/run/netns/{ns} {line}"],
                capture_output=True, text=True, timeout=120, env=container.env(),
            )  # fmt: skip
            assert res.returncode == 0, res.stderr
            cid = res.stdout.strip().splitlines()[-1]
            pid = _wait_pid(cid)
            # the lab reads the router's socket through the container's root
            info = lab.speakers["router"]
            info.kind, info.pid = "container", pid
            info.socket = f"/proc/{pid}/root/run/bird/bird.ctl"
            rep = run_checks(lab, wait=60)
            assert rep.ok, [(c.name, c.detail) for c in rep.checks if not c.ok]
            out = container.podman(["exec", cid, "birdc", "show", "protocols"])
            assert out.count("Established") == len(lab.topo.nodes), out
            # SIGHUP: `configure` of the (read-only mounted) file, changed on the host
            (src / "bird.conf").write_text(conf + "\nprotocol static seedtest { }\n")
            container.podman(["kill", "-s", "HUP", cid])
            wait_for(
                "configure on SIGHUP",
                lambda: "seedtest" in container.podman(["exec", cid, "birdc", "show", "protocols"]),
                15,
            )
            container.podman(["healthcheck", "run", cid])  # non-zero exit raises
            container.podman(["stop", "-t", "10", cid], timeout=30)
            code = container.podman(["inspect", "-f", "{{.State.ExitCode}}", cid]).strip()
            assert code == "0", container.logs(cid)
            assert "Shutting down" in container.logs(cid)
        finally:
            # the line names no container: remove whatever it created, also if it failed
            for left in _containers() - before:
                container.remove(left)


def _wait_pid(cid: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = container.container_pid(cid)
        if pid and Path(f"/proc/{pid}/root/run/bird/bird.ctl").exists():
            return pid
        time.sleep(0.2)
    raise AssertionError(f"the container did not open its socket: {container.logs(cid)}")


def _containers() -> set[str]:
    argv = ["ps", "-a", "--filter", f"ancestor={container.IMAGE}", "--format", "{{.ID}}"]
    return set(container.podman(argv, check=False).split())
