"""The image's shape (Dockerfile): BIRD's names, no compiler or pip, config and socket
where BIRD images keep them, a health check, non-root with only the kept capabilities."""

from __future__ import annotations

import json

import pytest

from bgplab.lab import container

pytestmark = [pytest.mark.root, pytest.mark.slow]


def run(image: str, *script: str) -> str:
    return container.podman(
        ["run", "--rm", "--network=none", "--entrypoint", "sh", image, "-c", " ".join(script)],
        timeout=120,
    )


def test_image_metadata(image: str) -> None:
    doc = json.loads(container.podman(["image", "inspect", image]))[0]
    cfg = doc["Config"]
    assert cfg["Entrypoint"] == ["bird"]
    assert cfg["Cmd"] == ["-f", "-u", "bird", "-g", "bird"]
    # podman lists the Docker-format health check beside Config
    assert doc["Healthcheck"]["Test"] == ["CMD", "birdc", "show", "status"]
    assert "/etc/bird" in cfg["Volumes"]


def test_names_and_no_build_tools(image: str) -> None:
    out = run(
        image,
        "for x in bird birdc bgplabd bgplabc bgplab gcc cc pip pip3 apt-get; do",
        'printf "%s=%s\\n" $x "$(command -v $x || echo -)"; done;',
        "readlink -f /usr/local/sbin/bird /usr/local/sbin/birdc; id bird; bird --version",
    )
    found = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert found["bird"] == "/usr/local/sbin/bird" and found["birdc"] == "/usr/local/sbin/birdc"
    assert all(found[x] != "-" for x in ("bgplabd", "bgplabc", "bgplab"))
    assert all(found[x] == "-" for x in ("gcc", "cc", "pip", "pip3")), found
    assert "/opt/bgplab/bin/bgplabd" in out and "/opt/bgplab/bin/bgplabc" in out
    assert "uid=179(bird) gid=179(bird)" in out
    assert "BIRD version 1.6.8 (bgplab" in out
