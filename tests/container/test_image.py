"""The image's shape (Dockerfile): BIRD's names, no compiler or pip, config and socket
where BIRD images keep them, a health check, non-root with only the kept capabilities."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bgplab.lab import container
from tests.interop.test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.slow]


def run(image: str, *script: str) -> str:
    return container.podman(
        ["run", "--rm", "--network=none", "--entrypoint", "sh", image, "-c", " ".join(script)],
        timeout=120,
    )


def test_image_metadata(image: str) -> None:
    doc = json.loads(container.podman(["image", "inspect", image]))[0]
    cfg = doc["Config"]
    assert cfg["Entrypoint"] == ["docker-entrypoint"]
    assert cfg["Cmd"] == ["-f", "-u", "bird", "-g", "bird"]
    # podman lists the Docker-format health check beside Config
    assert doc["Healthcheck"]["Test"] == ["CMD", "birdc", "show", "status"]
    assert "/etc/bird" in cfg["Volumes"]


def test_names_and_no_build_tools(image: str) -> None:
    out = run(
        image,
        "for x in bird birdc bgplabd bgplabc bgplab gcc cc pip pip3 apt-get; do",
        'printf "%s=%s\\n" $x "$(command -v $x || echo -)"; done;',
        "readlink -f /usr/local/sbin/bird /usr/local/sbin/birdc; id bird; bird --version;",
        "/opt/bgplab/bin/python3 -c 'import bgplab.rib.intmap as m;"
        ' print("intmap=" + ("compiled" if m.COMPILED else "dict"))\'',
    )
    found = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert found["bird"] == "/usr/local/sbin/bird" and found["birdc"] == "/usr/local/sbin/birdc"
    assert all(found[x] != "-" for x in ("bgplabd", "bgplabc", "bgplab"))
    assert all(found[x] == "-" for x in ("gcc", "cc", "pip", "pip3")), found
    assert "/opt/bgplab/bin/bgplabd" in out and "/opt/bgplab/bin/bgplabc" in out
    assert "uid=179(bird) gid=179(bird)" in out
    assert "BIRD version 1.6.8 (bgplab" in out
    # built in the build stage, so the image's RIB uses the compiled maps
    assert found["intmap"] == "compiled"


def test_pid1_signals_as_bird(image: str, tmp_path: Path) -> None:
    """SIGHUP re-reads the config (a broken one is refused, the daemon runs on), SIGINT
    ends it cleanly; no network needed (--network=none). Without the seed's --cap-add
    lines the daemon still runs, and says what it lacks."""
    etc = tmp_path / "etc"
    etc.mkdir()
    conf = etc / "bird.conf"
    conf.write_text("router id 192.0.2.9;\nprotocol device { }\n")
    for p, mode in ((tmp_path, 0o755), (etc, 0o755), (conf, 0o644)):
        p.chmod(mode)
    name = f"bgplab-t{os.getpid()}-sig"
    container.remove(name)
    try:
        container.podman(["run", "-d", "--name", name, "--network=none", "--read-only",
                          "-v", f"{etc}/:/etc/bird:ro", image])  # fmt: skip
        wait_for("Started", lambda: "Started" in container.logs(name), 20)
        assert "Running without CAP_NET_ADMIN" in container.logs(name)
        conf.write_text(conf.read_text() + "garbage {\n")
        container.podman(["kill", "-s", "HUP", name])
        wait_for("the refusal", lambda: "Reconfiguration rejected" in container.logs(name), 10)
        assert container.running(name)
        container.podman(["kill", "-s", "INT", name])
        wait_for("the exit", lambda: not container.running(name), 10)
        code = container.podman(["inspect", "-f", "{{.State.ExitCode}}", name]).strip()
        assert code == "0" and "Shutting down" in container.logs(name)
        # the log is the container's stdout (podman logs prints that on its own stdout)
        out = subprocess.run(
            ["podman", "logs", name], capture_output=True, text=True, env=container.env()
        ).stdout
        assert "Started" in out and "Reconfiguration rejected" in out, out
    finally:
        container.remove(name)


def test_never_root_with_user_bird(image: str, tmp_path: Path) -> None:
    """`--user bird` and only the kept capabilities: the runtime makes them ambient, the
    daemon (CMD -u bird -g bird: already bird) trims its sets to exactly those three."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "bird.conf").write_text("router id 192.0.2.9;\nprotocol device { }\n")
    for p, mode in ((tmp_path, 0o755), (etc, 0o755), (etc / "bird.conf", 0o644)):
        p.chmod(mode)
    name = f"bgplab-t{os.getpid()}-user"
    caps = ("NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW")
    container.remove(name)
    try:
        container.podman(["run", "-d", "--name", name, "--network=none", "--read-only",
                          "--user", "bird", "--cap-drop=ALL", *[f"--cap-add={c}" for c in caps],
                          "-v", f"{etc}/:/etc/bird:ro", image])  # fmt: skip
        wait_for("Started", lambda: "Started" in container.logs(name), 20)
        status = Path(f"/proc/{container.container_pid(name)}/status").read_text()
        assert "Uid:\t179\t179\t179\t179" in status
        for key, want in (("CapEff", "3400"), ("CapPrm", "3400"), ("CapInh", "0"), ("CapAmb", "0")):
            assert f"{key}:\t{int(want, 16):016x}" in status, status
        assert "Daemon is up and running" in container.podman(
            ["exec", "--user", "bird", name, "birdc", "show", "status"]
        )
    finally:
        container.remove(name)
