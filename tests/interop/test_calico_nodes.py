"""Four emulated Calico nodes peer with the seed's router, on loopback.

The seed's resources and labels are applied with the addresses moved from
192.168.x to 127.5.x; every node runs a real speaker (BIRD 1.6 or bgplabd)
on its rendered files, and the router runs the seed's route-reflector
config. Everything lives in a private network namespace (``bgplab-t<pid>-ns<n>``):
the speakers program the kernel and must not touch the host's tables, and
several BIRDs need port 179-style listeners. Each node listens on its own
port through a per-node BGPConfiguration (``node.<name>`` / listenPort),
which Calico renders as ``listen bgp port N``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.calico.agent import NodeAgent, control, for_stock_bird
from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import load_resources
from bgplab.calico.status import node_status
from bgplab.errors import UserError
from bgplab.extpeers import ExternalDaemon, available, bird_binary

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "calico"
NODES = {  # name -> (address, rack, listen port)
    "rke-node3": ("127.5.0.7", "rack-2", 1707),
    "rke-node4": ("127.5.0.25", "rack-2", 1725),
    "rke-node6": ("127.5.2.14", "rack-1", 1714),
    "rke-node7": ("127.5.2.15", "rack-1", 1715),
}
ROUTER_RACK = {"rack-2": "127.5.0.40", "rack-1": "127.5.2.16"}

# The seed's router bird.conf (route reflector variant), moved to the test
# addresses; each node is reached on its own listen port.
ROUTER_CONF = """router id 127.5.0.40;
filter calico_export_to_bgp_peers {
if ( net ~ 10.41.0.0/16 ) then {
accept;
}
if ( net ~ 10.42.0.0/16 ) then {
accept;
}
reject;
}
filter calico_kernel_programming {
if ( net ~ 10.41.0.0/16 ) then {
accept;
}
if ( net ~ 10.42.0.0/16 ) then {
accept;
}
accept;
}
protocol kernel {
learn;
persist;
scan time 2;
import all;
export filter calico_kernel_programming;
graceful restart;
merge paths on;
}
protocol device {
debug { states };
scan time 2;
}
protocol direct {
debug { states };
interface -"cali*", -"kube-ipvs*", "*";
}
template bgp bgp_template {
debug { states };
description "Connection to BGP peer";
local as 63400;
multihop;
gateway recursive;
import all;
export filter calico_export_to_bgp_peers;
source address 127.5.0.40;
add paths on;
graceful restart;
connect delay time 2;
connect retry time 5;
error wait time 5,30;
}
"""


def router_conf() -> str:
    out = [ROUTER_CONF]
    for addr, _rack, port in NODES.values():
        out.append(
            f"protocol bgp Node_{addr.replace('.', '_')} from bgp_template {{\n"
            f"rr client;\nneighbor {addr} port {port} as 63400;\n}}\n"
        )
    return "".join(out)


def seed_resources(tmp: Path) -> list[Path]:
    """The seed's manifests and nodes with 192.168.x moved to 127.5.x."""
    files = []
    for rel in (
        "cluster/seed-nodes.yaml",
        "seed/bgpconfiguration.yaml",
        "seed/rack1-tor.yaml",
        "seed/rack2-tor.yaml",
    ):
        text = (FIXTURES / rel).read_text().replace("192.168.", "127.5.")
        dest = tmp / Path(rel).name
        dest.write_text(text)
        files.append(dest)
    ports = tmp / "listen-ports.yaml"
    ports.write_text(
        "".join(
            f"---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\n"
            f"metadata: {{name: node.{name}}}\nspec: {{listenPort: {port}}}\n"
            for name, (_a, _r, port) in NODES.items()
        )
    )
    files.append(ports)
    return files


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short path: unix socket names are limited to 108 bytes.
    path = Path(tempfile.mkdtemp(prefix="bgpt-cal-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_router(speaker: str, wd: Path, netns: str) -> tuple[ExternalDaemon, Path]:
    rdir = wd / "router"
    rdir.mkdir()
    conf = rdir / "bird.conf"
    conf.write_text(router_conf())
    sock = rdir / "bird.ctl"
    binary = str(bird_binary(1)) if speaker == "bird" else str(shutil.which("bgplabd"))
    daemon = ExternalDaemon(
        f"router-{speaker}",
        [binary, "-f", "-c", str(conf), "-s", str(sock), "-P", str(rdir / "pid")],
        rdir,
        netns,
    )
    daemon.start()
    deadline = time.monotonic() + 10
    while not sock.exists():
        if not daemon.alive() or time.monotonic() > deadline:
            daemon.stop(remove=False)
            raise AssertionError(f"router {speaker} did not start: {daemon.log()}")
        time.sleep(0.05)
    return daemon, sock


def protocols(sock: Path) -> dict[str, tuple[str, str, str]]:
    """Protocol name -> (state, since, info) from ``show protocols``."""
    out = {}
    for line in control(sock, "show protocols"):
        body = line[5:] if line[:4].isdigit() else line[1:]
        cols = body.split()
        if len(cols) >= 6 and cols[1] == "BGP":
            out[cols[0]] = (cols[3], cols[4], " ".join(cols[5:]))
    return out


def settled(sock: Path, timeout: float = 40.0) -> dict[str, tuple[str, str, str]]:
    """``show protocols`` once every session has stayed Established for 3 s.

    At start-up both sides of a rack-2 session dial each other and BIRD may
    drop the session once or twice before it sticks.
    """
    deadline = time.monotonic() + timeout
    stable_from = time.monotonic()
    rows = protocols(sock)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        rows = protocols(sock)
        if not all(info.startswith("Established") for _s, _t, info in rows.values()):
            stable_from = time.monotonic()
        elif time.monotonic() - stable_from >= 3.0:
            return rows
    raise AssertionError(f"sessions did not settle: {rows}")


def seconds(since: str) -> int:
    """BIRD's "since" (iso short: HH:MM:SS today, a date before) in seconds."""
    if since.count(":") != 2:
        return hash(since)  # a date: compared for equality only
    h, m, s = (int(x) for x in since.split(":"))
    return h * 3600 + m * 60 + s


def status_rows(text: str) -> list[list[str]]:
    """Peer rows of a node status table: [address, type, state]."""
    rows = [r for r in text.splitlines() if r.startswith("| ") and "PEER ADDRESS" not in r]
    return [[c.strip() for c in r.strip("|").split("|")][:3] for r in rows]


def wait_for(pred, what: str, timeout: float = 40.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def bgplabd_skip_reason(config: Path) -> str | None:
    if shutil.which("bgplabd") is None:
        return "bgplabd is not installed"
    res = subprocess.run(
        ["bgplabd", "-p", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=config.parent,
    )
    if res.returncode != 0:
        msg = (res.stderr or res.stdout).strip().splitlines()
        return f"bgplabd cannot load Calico's rendered config yet: {msg[-1] if msg else res.returncode}"
    return None


@pytest.mark.root
@pytest.mark.interop
@pytest.mark.parametrize(
    ("router_speaker", "node_speaker"),
    [("bird", "bird"), ("bgplabd", "bird"), ("bgplabd", "bgplabd")],
)
def test_seed_nodes_peer_with_router_and_delete_takes_only_rack1_down(
    router_speaker: str, node_speaker: str, netns: str, workdir: Path
) -> None:
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is not installed (scripts/install)")
    state = workdir / "state"
    ds = Datastore(state)
    for f in seed_resources(workdir):
        ds.apply(load_resources(f))
    for name, (_addr, rack, _port) in NODES.items():
        ds.label(name, "rack", rack)

    agents: list[NodeAgent] = []
    router: ExternalDaemon | None = None
    rsock = workdir / "router" / "bird.ctl"
    try:
        if "bgplabd" in (router_speaker, node_speaker):
            probe = NodeAgent(ds, "rke-node3", workdir / "probe", speaker="bgplabd")
            probe.write_files()
            reason = bgplabd_skip_reason(probe.config_path)
            if reason is None and router_speaker == "bgplabd":
                (workdir / "probe" / "router.conf").write_text(router_conf())
                reason = bgplabd_skip_reason(workdir / "probe" / "router.conf")
            if reason:
                pytest.fail(reason)
        try:
            router, rsock = start_router(router_speaker, workdir, netns)
            for name in NODES:
                agents.append(NodeAgent(ds, name, workdir / name, netns, node_speaker).start())
        except (AssertionError, UserError) as exc:
            if "bgplabd" not in (router_speaker, node_speaker):
                raise
            last = str(exc).strip().splitlines()[-1:] or [""]
            pytest.fail(f"bgplabd does not run the Calico set-up: {last[0]}")

        def established(names: list[str]) -> bool:
            rows = protocols(rsock)
            return all(rows.get(n, ("", "", ""))[2].startswith("Established") for n in names)

        router_names = {n: f"Node_{a.replace('.', '_')}" for n, (a, _r, _p) in NODES.items()}
        try:
            wait_for(lambda: established(list(router_names.values())), "all sessions Established")
            # Let the start-up settle (a rack-2 session may be re-established
            # once while both sides dial each other): the reference snapshot.
            before = settled(rsock)
        except AssertionError:
            if "bgplabd" in (router_speaker, node_speaker):
                logs = router.log()[-500:] + "".join(
                    a.daemon.log()[-300:] for a in agents if a.daemon
                )
                pytest.fail(f"bgplabd does not establish the Calico sessions: {logs}")
            raise

        # calicoctl node status on a rack-2 node and on a rack-1 node.
        for name, want in (("rke-node3", "127.5.0.40"), ("rke-node6", "127.5.2.16")):
            text = node_status(str(workdir / name / "run" / "bird.ctl"))
            assert text.startswith("Calico process is running.\n\nIPv4 BGP status\n")
            assert "| PEER ADDRESS |   PEER TYPE   | STATE |" in text
            rows = [r for r in text.splitlines() if r.startswith("| 127.")]
            assert len(rows) == 1, text
            cells = [c.strip() for c in rows[0].strip("|").split("|")]
            assert cells[0] == want and cells[1] == "node specific"
            assert cells[2] == "up" and cells[4] == "Established"
            # Columns are as wide as their widest cell, one space of padding.
            assert (
                rows[0]
                == f"| {want.ljust(12)} | node specific | up    | {cells[3]} | Established |"
            )
            assert text.endswith("\nIPv6 BGP status\nNo IPv6 peers found.\n\n")

        # The same through the CLI, from another process, via the state dir.
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "bgplab.app",
                "calico",
                "--state",
                str(state),
                "node",
                "status",
                "rke-node4",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert cli.returncode == 0, cli.stderr
        assert status_rows(cli.stdout) == [["127.5.0.40", "node specific", "up"]], cli.stdout

        # Delete rack1-tor with `bgplab calico delete` (another process):
        # the running rack-1 nodes are re-rendered and reconfigured.
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "bgplab.app",
                "calico",
                "--state",
                str(state),
                "delete",
                "-f",
                str(workdir / "rack1-tor.yaml"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr
        assert "Successfully deleted 1 'BGPPeer' resource(s)" in res.stdout
        assert "reconfigured rke-node6" in res.stdout and "reconfigured rke-node7" in res.stdout
        assert "reconfigured rke-node3" not in res.stdout

        rack1 = [router_names["rke-node6"], router_names["rke-node7"]]
        rack2 = [router_names["rke-node3"], router_names["rke-node4"]]

        def rack1_down() -> bool:
            rows = protocols(rsock)
            # Every sample on the way: the rack-2 sessions stay up.
            for n in rack2:
                assert rows[n][0] == "up" and rows[n][2].startswith("Established"), rows
            return not any(rows[n][2].startswith("Established") for n in rack1)

        wait_for(rack1_down, "rack-1 sessions to go down")
        after = protocols(rsock)
        for rname in rack2:
            assert after[rname][2].startswith("Established")
            # Same session as before the delete (BIRD's "since" may be shown
            # one second apart for the same instant).
            assert abs(seconds(after[rname][1]) - seconds(before[rname][1])) <= 1, (
                f"rack-2 session {rname} was re-established: {before[rname]} -> {after[rname]}"
            )
        text = node_status(str(workdir / "rke-node6" / "run" / "bird.ctl"))
        assert "No IPv4 peers found." in text
        text = node_status(str(workdir / "rke-node3" / "run" / "bird.ctl"))
        assert status_rows(text) == [["127.5.0.40", "node specific", "up"]], text
    finally:
        for agent in agents:
            agent.stop()
        if router is not None:
            router.stop(remove=False)


GOLDEN = FIXTURES / "golden"


@pytest.mark.interop
@pytest.mark.parametrize("case", sorted(d.name for d in GOLDEN.iterdir() if d.is_dir()))
def test_stock_bird_parses_every_rendered_node(case: str, tmp_path: Path) -> None:
    """Real BIRD 1.6 (``bird -p``) accepts the rendered files as written for
    ``speaker="bird"`` (krt_tunnel neutralised, see agent.for_stock_bird)."""
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is not installed (scripts/install)")
    for node_dir in sorted(d for d in (GOLDEN / case).iterdir() if d.is_dir()):
        out = tmp_path / case / node_dir.name
        out.mkdir(parents=True)
        for f in node_dir.iterdir():
            body = f.read_text().partition("\n")[2]
            (out / f.name).write_text(for_stock_bird(body))
        res = subprocess.run(
            [str(bird_binary(1)), "-p", "-c", str(out / "bird.cfg")],
            capture_output=True,
            text=True,
            cwd=out,
            timeout=30,
        )
        assert res.returncode == 0, f"{node_dir.name}: {res.stderr}"


CONFD_SUITES = (FIXTURES / "confd-tests", FIXTURES / "explicit")


def _confd_case_files() -> list[tuple[str, dict[str, str]]]:
    """Every confd-style case (Calico's and ours), each step: the six files."""
    from bgplab.calico import confdtests
    from bgplab.calico.confd import render_node

    out = []
    for suite in CONFD_SUITES:
        root = confdtests.suite_root(suite)
        for case in confdtests.cases(root):
            mock = root / "mock_data" / "calicoctl" / case
            rid = confdtests.SUITE_ROUTER_IDS.get(case, "")
            ds = Datastore()
            for path in (
                root / "mock_data/kdd/ipam.yaml",
                mock / "input.yaml",
                mock / "kubectl-input.yaml",
            ):
                if path.is_file():
                    ds.apply(load_resources(path))
            out.append((case, render_node(ds, "kube-master", router_id=rid)))
            for name in ("input.yaml", "kubectl-input.yaml"):
                if (mock / "step2" / name).is_file():
                    ds.apply(load_resources(mock / "step2" / name))
            if (mock / "step2").is_dir():
                out.append((f"{case}/step2", render_node(ds, "kube-master", router_id=rid)))
    return out


@pytest.mark.interop
def test_every_rendered_file_parses_in_bird_bird6_bgplabd_and_bgplabd6(tmp_path: Path) -> None:
    """All six files of every confd case (both steps) load in real BIRD 1.6
    (``bird -p``, ``bird6 -p``; krt_tunnel neutralised as for ``speaker="bird"``)
    and in ``bgplabd -p`` / ``bgplabd6 -p`` (which, like bird and bird6, each
    read one family)."""
    if not available("bird1"):
        pytest.skip("BIRD 1.6 is not installed (scripts/install)")
    bird6 = bird_binary(1).with_name("bird6")
    checks = [  # (argv, stock: krt_tunnel neutralised)
        ([str(bird_binary(1)), "-p", "-c", "bird.cfg"], True),
        ([str(bird6), "-p", "-c", "bird6.cfg"], True),
        ([shutil.which("bgplabd") or "bgplabd", "-p", "-c", "bird.cfg"], False),
        ([shutil.which("bgplabd6") or "bgplabd6", "-p", "-c", "bird6.cfg"], False),
    ]
    cases = _confd_case_files()
    assert len(cases) == 18  # Calico: 8 cases, 2 with a step 2; ours: 6, 2
    failures = []
    for i, (case, files) in enumerate(cases):
        for stock in (True, False):
            out = tmp_path / str(i) / ("stock" if stock else "calico")
            out.mkdir(parents=True)
            for name, text in files.items():
                (out / name).write_text(for_stock_bird(text) if stock else text)
        for argv, stock in checks:
            out = tmp_path / str(i) / ("stock" if stock else "calico")
            res = subprocess.run(argv, capture_output=True, text=True, cwd=out, timeout=60)
            if res.returncode != 0:
                failures.append(f"{case}: {' '.join(argv)}: {res.stdout}{res.stderr}")
    assert failures == []
