"""bgplabd's import floor: its own process does without ssl unless an
option needs it (prometheus_client and uvloop import ssl)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
sys.argv = {argv!r}
import bgplab.daemon
print("blocked" if "ssl" in sys.modules and sys.modules["ssl"] is None else "loaded")
"""


def _ssl_state(argv: list[str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("argv", "state"),
    [
        (["/usr/bin/bgplabd", "-f", "-c", "x.conf"], "blocked"),
        (["/usr/bin/bgplabd6", "-f"], "blocked"),
        (["/usr/bin/bgplabd", "-f", "--metrics", "127.0.0.1:9324"], "loaded"),
        (["/usr/bin/bgplabd", "--http=127.0.0.1:8080"], "loaded"),
        (["/usr/bin/bgplabd", "--loop", "uvloop"], "loaded"),
        (["/usr/bin/python3", "-m", "pytest"], "loaded"),  # importing it elsewhere
    ],
)
def test_ssl_only_where_needed(argv: list[str], state: str) -> None:
    assert _ssl_state(argv) == state


def test_default_router_id_without_pyroute2() -> None:
    probe = (
        "import sys; sys.argv = ['bgplabd']\n"
        "from bgplab.daemon import default_router_id\n"
        "rid = default_router_id()\n"
        "assert 'pyroute2' not in sys.modules, 'pyroute2 imported'\n"
        "print(rid)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().count(".") == 3
