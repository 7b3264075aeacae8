"""The router image, built once per test session by ``scripts/image`` (as CI builds it).

The first build on a fresh machine makes the base image with debootstrap (about a
minute in all here); later sessions reuse the base and podman's layer cache, and
rebuild only the layers the source changed (about 35 s: pip installs the package).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from bgplab.lab import container

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def image() -> str:
    """The image name, after ``scripts/image`` built it from this working tree."""
    t0 = time.monotonic()
    res = subprocess.run(
        [str(ROOT / "scripts" / "image")], capture_output=True, text=True, timeout=900, cwd=ROOT
    )
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    assert container.image_present(), "scripts/image succeeded but the image is not there"
    last = res.stdout.strip().splitlines()[-1]
    print(f"\n{last} (this session: {time.monotonic() - t0:.0f}s)")
    return container.IMAGE
