"""The name a daemon puts before its errors, against real BIRD 1.6.

bird6 labels its errors ``bird:`` like bird (BIRD 1.6 writes a fixed
"bird: "), so bgplabd6 labels them ``bgplabd:`` like bgplabd: the daemon's
name without the address family. ``-p`` only parses: no root needed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bgplab import extpeers

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not extpeers.available("bird1"), reason="BIRD 1.6 is not installed"),
]

BAD = "router id 10.0.0.1;\nprotocol kernel { bogus; }\n"


def _label(argv: list[str]) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert res.returncode == 1, res
    (line,) = res.stderr.splitlines()
    return line.split(":", 1)[0]


@pytest.mark.parametrize("six", [False, True])
@pytest.mark.parametrize("case", ["syntax", "missing"])
def test_error_label_is_birds(tmp_path: Path, six: bool, case: str) -> None:
    conf = tmp_path / "bird.conf"
    if case == "syntax":
        conf.write_text(BAD)
    bird = _label([str(extpeers.bird_binary(1, six)), "-p", "-c", str(conf)])
    ours = _label([sys.executable, "-m", "bgplab.daemon6" if six else "bgplab.daemon",
                   "-p", "-c", str(conf)])
    assert bird == "bird"
    assert ours == "bgplabd"
