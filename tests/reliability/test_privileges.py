"""``bgplabd -u USER -g GROUP`` drops root as ``bird -u -g`` does (docs/container.md):
afterwards the process's ids and capability sets are the documented ones (read from
/proc/PID/status), it still programs the FIB and accepts a BGP peer on port 179, and the
control socket (0660, the daemon's user and group) refuses a user outside the group.

Runs in a namespace of its own; the peer is real BIRD 1.6 on that namespace's loopback.
Numeric ids, so the test adds no users to the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, available
from bgplab.io.privileges import KEEP, mask, read_caps
from bgplab.launch import BgplabDaemon
from tests.interop.birdout import protocol_states
from tests.interop.test_reflection import wait_for

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed"),
]

UID, GID = 4242, 4242  # the daemon's user and group
MEMBER = 4343  # another user, in the daemon's group
NOBODY = 65534  # a user outside the group
RR, PEER = "127.3.0.1", "127.3.0.2"

ROUTER = f"""
router id {RR};
listen bgp address {RR};
protocol device {{ }}
protocol kernel {{ export all; }}
protocol static {{ route 10.77.0.0/24 blackhole; }}
protocol bgp peer1 {{
  local as 63400; neighbor {PEER} as 63400; multihop; source address {RR}; passive on;
  import all; export all; error wait time 1,2;
}}
"""

BIRD_PEER = f"""
router id {PEER};
listen bgp address {PEER};
protocol device {{ }}
protocol bgp reflector {{
  local as 63400; neighbor {RR} as 63400; multihop; source address {PEER};
  import all; export none; connect delay time 1; connect retry time 2; error wait time 1,2;
}}
"""


@pytest.fixture
def workdir() -> Iterator[Path]:
    # the daemon's own directory: it creates its control socket here after the drop
    wd = Path(tempfile.mkdtemp(prefix="bgplab-priv-"))
    os.chown(wd, UID, GID)
    wd.chmod(0o755)
    try:
        yield wd
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.split()
    return out  # type: ignore[return-value]


# Debian's interpreter: the suite's own may live under /root, which other users cannot read
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("ERR", e.strerror)
    sys.exit(3)
f = s.makefile("rw")
print(f.readline().strip())
for cmd in sys.argv[2:]:  # one reply each, up to its last line ("NNNN text")
    f.write(cmd + "\\n")
    f.flush()
    while True:
        line = f.readline().rstrip("\\n")
        print(line)
        if not line or (line[:4].isdigit() and line[4:5] == " "):
            break
"""


def open_socket_as(
    path: Path, uid: int, groups: list[int], *commands: str
) -> subprocess.CompletedProcess[str]:
    """Connect to the control socket as another user: the greeting and each command's
    reply (raw, with BIRD's codes), or ERR and exit 3."""
    return subprocess.run(
        [PY, "-c", CLIENT, str(path), *commands],
        user=uid,
        group=groups[0],
        extra_groups=groups,
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_dropped_daemon_has_documented_ids_and_caps_and_still_routes(
    netns: str, workdir: Path
) -> None:
    router = BgplabDaemon(
        ROUTER, netns=netns, workdir=workdir, extra_args=["-u", str(UID), "-g", str(GID)]
    )
    peer = BirdDaemon(1, BIRD_PEER, netns=netns)
    try:
        router.start()
        st = status(router.pid)
        assert st["Uid"] == [str(UID)] * 4
        assert st["Gid"] == [str(GID)] * 4
        assert st["Groups"] == []
        caps = read_caps(router.pid)
        keep = mask(KEEP)  # NET_BIND_SERVICE, NET_ADMIN, NET_RAW
        assert keep == 0x3400
        assert caps["CapPrm"] == keep and caps["CapEff"] == keep, caps
        assert caps["CapInh"] == 0 and caps["CapAmb"] == 0, caps
        assert caps["CapBnd"] == keep, caps  # root had CAP_SETPCAP here
        # the control socket: BIRD's mode, the daemon's user and group
        sock = os.stat(router.socket)
        assert (sock.st_mode & 0o777, sock.st_uid, sock.st_gid) == (0o660, UID, GID)

        # NET_ADMIN: the static route reaches the namespace's FIB
        def programmed() -> bool:
            out = subprocess.run(
                ["ip", "-n", netns, "route", "show", "10.77.0.0/24", "proto", "bird"],
                capture_output=True,
                text=True,
            ).stdout
            return "blackhole 10.77.0.0/24" in out

        wait_for("the kernel route", programmed, 15)
        # NET_BIND_SERVICE: a peer dials port 179 of the passive, unprivileged daemon
        peer.start()
        wait_for(
            "the peer to establish",
            lambda: protocol_states(router.birdc("show protocols"))["peer1"][1].startswith(
                "Established"
            ),
            30,
        )
        assert "10.77.0.0/24" in peer.birdc("show route")
        # configure re-reads the file as the dropped user
        assert "Reconfigured" in router.birdc("configure")

        # a member of the group may open the socket; a user outside it may not
        member = open_socket_as(router.socket, MEMBER, [GID])
        assert member.returncode == 0 and member.stdout.startswith("0001 BIRD"), member
        outsider = open_socket_as(router.socket, NOBODY, [NOBODY])
        assert outsider.returncode == 3 and "Permission denied" in outsider.stdout, outsider
        # ... and in a restricted session (bgplabc -r, birdc -r) it shows but changes nothing
        r = open_socket_as(router.socket, MEMBER, [GID], "restrict", "disable peer1", "show status")
        assert r.stdout.splitlines()[1:3] == ["0016 Access restricted", "8007 Access denied"], r
        assert "0013 Daemon is up and running" in r.stdout, r
        assert protocol_states(router.birdc("show protocols"))["peer1"][1].startswith("Established")
    finally:
        peer.stop()
        router.stop(remove=False)


def test_unknown_user_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text("router id 192.0.2.1;\nprotocol device { }\n")
    res = subprocess.run(
        [shutil.which("bgplabd") or "bgplabd", "-f", "-c", str(conf), "-s",
         str(tmp_path / "x.ctl"), "-u", "no-such-user-h107"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert res.returncode == 1
    assert res.stderr.strip() == "bgplabd: Cannot find user 'no-such-user-h107'"
    assert not (tmp_path / "x.ctl").exists()


def test_socket_directory_the_user_cannot_write_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text("router id 192.0.2.1;\nprotocol device { }\n")
    tmp_path.chmod(0o755)  # root's, not writable for uid 4242
    res = subprocess.run(
        [shutil.which("bgplabd") or "bgplabd", "-f", "-c", str(conf), "-s",
         str(tmp_path / "x.ctl"), "-u", str(UID), "-g", str(GID)],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert res.returncode == 1
    assert "not writable for user 4242" in res.stderr and "Traceback" not in res.stderr


def test_missing_socket_directory_is_created_for_the_user(tmp_path: Path) -> None:
    from bgplab.io.privileges import plan, prepare_socket_dir

    d = tmp_path / "run" / "bird"
    prepare_socket_dir(str(d / "bird.ctl"), plan(str(UID), str(GID)))
    st = d.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (UID, GID, 0o750)
