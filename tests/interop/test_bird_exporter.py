"""Debian's prometheus-bird-exporter, a real BIRD client, against bgplab's
control socket: its per-protocol metrics carry our protocols' values."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgplab.rib.protocol import ProtoState
from tests.unit.cli.fakedaemon import FakeDaemon, ServedDaemon, small_daemon

EXPORTER = shutil.which("prometheus-bird-exporter")
pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(EXPORTER is None, reason="prometheus-bird-exporter missing"),
]

ADDR = f"127.4.{os.getpid() % 200 + 20}.77"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((ADDR, 0))
        return int(s.getsockname()[1])


def parse_metrics(text: str) -> dict[tuple[str, str], tuple[float, dict[str, str]]]:
    """(metric, protocol name) -> (value, labels) for bird_protocol_* lines."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(bird_\w+)\{(.*)\} (\S+)$", line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        out[(m.group(1), labels.get("name", ""))] = (float(m.group(3)), labels)
    return out


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[FakeDaemon, dict]]:
    d = small_daemon()
    d.timeformats["protocol"] = ("%F %T",)  # "iso long", what the exporter needs for uptime
    d.protocols["peer_b"].state_since = time.time() - 1000
    d.protocols["kernel1"].disabled = True
    d.protocols["kernel1"].set_state(ProtoState.DOWN)
    served = ServedDaemon(d, str(tmp_path / "bird.ctl"))
    port = _free_port()
    proc = subprocess.Popen(
        [
            EXPORTER,
            "-bird.socket",
            served.path,
            "-bird.ipv6=false",
            "-format.new",
            "-web.listen-address",
            f"{ADDR}:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        text = ""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                text = (
                    urllib.request.urlopen(f"http://{ADDR}:{port}/metrics", timeout=5)
                    .read()
                    .decode()
                )
                break
            except OSError:
                time.sleep(0.1)
        assert text, "exporter did not answer"
        yield d, parse_metrics(text)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(10)
        served.close()


def test_exporter_reads_every_protocol(scraped: tuple[FakeDaemon, dict]) -> None:
    d, m = scraped
    for name, p in d.protocols.items():
        if p.proto_name == "Device":
            continue  # the exporter has no Device metrics
        value, labels = m[("bird_protocol_up", name)]
        assert labels["proto"] == p.proto_name
        assert value == (1.0 if p.state is ProtoState.UP else 0.0)
        ch = p.channel
        assert labels["import_filter"] == ch.import_filter.name
        assert labels["export_filter"] == ch.export_filter.name
        if p.state is ProtoState.DOWN:
            continue  # BIRD prints no route counters for a protocol that is down
        assert m[("bird_protocol_prefix_import_count", name)][0] == ch.imported
        assert m[("bird_protocol_prefix_export_count", name)][0] == ch.exported_count()
        assert m[("bird_protocol_prefix_preferred_count", name)][0] == ch.preferred()
        st = ch.import_stats
        assert (
            m[("bird_protocol_changes_update_import_receive_count", name)][0] == st.updates_received
        )
        assert (
            m[("bird_protocol_changes_update_import_accept_count", name)][0] == st.updates_accepted
        )
        ex = ch.export_stats
        assert (
            m[("bird_protocol_changes_update_export_reject_count", name)][0] == ex.updates_rejected
        )
        assert (
            m[("bird_protocol_changes_update_export_filter_count", name)][0] == ex.updates_filtered
        )


def test_exporter_sees_bgp_state_and_uptime(scraped: tuple[FakeDaemon, dict]) -> None:
    d, m = scraped
    assert m[("bird_protocol_up", "peer_b")][1]["state"] == "Established"
    assert m[("bird_protocol_up", "peer_c")][0] == 0.0
    assert m[("bird_protocol_prefix_import_count", "peer_b")][0] == 2
    uptime = m[("bird_protocol_uptime", "peer_b")][0]
    assert 1000 <= uptime < 1000 + 600  # since = now - 1000 s, printed as iso long
