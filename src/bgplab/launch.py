"""Start ``bgplabd`` as a separate process, the way tests, the lab and the
benchmark do, with the same interface as :class:`bgplab.extpeers.BirdDaemon`
so that either can be used where a BIRD-compatible router is needed."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from bgplab.extpeers import BirdDaemon, ExternalDaemon, wait_ready


def bgplabd_argv() -> list[str]:
    """The command that runs bgplabd (the installed script, else the module)."""
    exe = shutil.which("bgplabd")
    if exe:
        return [exe]
    return [sys.executable, "-m", "bgplab.daemon"]


class BgplabDaemon(ExternalDaemon):
    """bgplabd in the foreground with its own control socket."""

    def __init__(self, config: str, netns: str | None = None, workdir: Path | None = None,
                 extra_args: list[str] | None = None):
        wd = workdir or Path(tempfile.mkdtemp(prefix="bgplab-d-"))
        self.config_path = wd / "bird.conf"
        self.config_path.write_text(config)
        self.socket = wd / "bird.ctl"
        argv = bgplabd_argv() + ["-f", "-c", str(self.config_path), "-s", str(self.socket),
                                 "-P", str(wd / "bird.pid")] + (extra_args or [])
        super().__init__("bgplabd", argv, wd, netns)

    def start(self, timeout: float = 15) -> BgplabDaemon:
        super().start()
        wait_ready(self, timeout)
        return self

    # the control protocol is BIRD's, so BIRD's helpers work unchanged
    raw = BirdDaemon.raw

    def birdc(self, command: str, timeout: float = 10) -> str:
        """A command's reply as birdc would print it (codes stripped)."""
        lines = self.raw(command, timeout)
        out = []
        for line in lines:
            if len(line) >= 5 and line[:4].isdigit() and line[4] in "- ":
                if line[:4] == "0000":
                    continue
                out.append(line[5:])
            elif line.startswith(" "):
                out.append(line[1:])
            else:
                out.append(line)
        return "\n".join(out) + "\n"

    wait_established = BirdDaemon.wait_established
