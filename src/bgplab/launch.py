"""Start ``bgplabd`` as a separate process, the way tests, the lab and the
benchmark do, with the same interface as :class:`bgplab.extpeers.BirdDaemon`
so that either can be used where a BIRD-compatible router is needed."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from bgplab.extpeers import BirdDaemon, ExternalDaemon, wait_ready


def bgplabd_argv(ipv6: bool = False) -> list[str]:
    """The command that runs bgplabd, or bgplabd6 with ``ipv6`` (the
    installed script, else the module)."""
    exe = shutil.which("bgplabd6" if ipv6 else "bgplabd")
    if exe:
        return [exe]
    return [sys.executable, "-m", "bgplab.daemon6" if ipv6 else "bgplab.daemon"]


class BgplabDaemon(ExternalDaemon):
    """bgplabd in the foreground with its own control socket; with ``ipv6``
    bgplabd6 on bird6.conf and bird6.ctl, as bird6 runs."""

    def __init__(
        self,
        config: str,
        netns: str | None = None,
        workdir: Path | None = None,
        extra_args: list[str] | None = None,
        ipv6: bool = False,
    ):
        wd = workdir or Path(tempfile.mkdtemp(prefix="bgplab-d-"))
        six = "6" if ipv6 else ""
        self.config_path = wd / f"bird{six}.conf"
        self.config_path.write_text(config)
        self.socket = wd / f"bird{six}.ctl"
        argv = (
            bgplabd_argv(ipv6)
            + [
                "-f",
                "-c",
                str(self.config_path),
                "-s",
                str(self.socket),
                "-P",
                str(wd / f"bird{six}.pid"),
            ]
            + (extra_args or [])
        )
        super().__init__(f"bgplabd{six}", argv, wd, netns)

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
