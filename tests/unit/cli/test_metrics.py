"""Prometheus metrics: values read from the daemon at scrape time."""

from __future__ import annotations

import asyncio
import os
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bgplab.io.metrics import DaemonCollector, parse_listen, start_metrics
from bgplab.rib.protocol import ProtoState

from .fakedaemon import small_daemon

ADDR = f"127.4.{os.getpid() % 200 + 20}.90"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(smp: dict, metric: str, **labels: str) -> float:
    for (n, lv), v in smp.items():
        if n == metric and all((k, val) in lv for k, val in labels.items()):
            return v
    raise KeyError((metric, labels))


def test_metrics_over_http_in_the_event_loop() -> None:
    d = small_daemon()

    async def scrape() -> str:
        srv = start_metrics(d, f"{ADDR}:0")
        await asyncio.sleep(0)  # let the server task start
        for _ in range(100):
            if srv._server is not None:
                break
            await asyncio.sleep(0.01)
        host, port = srv.address
        try:
            return await asyncio.to_thread(
                lambda: (
                    urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10)
                    .read()
                    .decode()
                )
            )
        finally:
            srv.close()

    smp = samples(asyncio.run(scrape()))
    assert value(smp, "bgplab_up") == 1
    assert value(smp, "bgplab_protocol_up", name="peer_b") == 1
    assert value(smp, "bgplab_protocol_up", name="peer_c") == 0
    assert value(smp, "bgplab_protocol_state", name="peer_c", state="start") == 1
    assert value(smp, "bgplab_bgp_session_established", name="peer_b", neighbor="127.4.0.2") == 1
    ch = d.protocols["peer_b"].channel
    assert value(smp, "bgplab_protocol_routes_imported", name="peer_b") == ch.imported == 2
    assert value(smp, "bgplab_protocol_routes_preferred", name="peer_b") == 2
    assert (
        value(
            smp,
            "bgplab_protocol_changes_total",
            name="peer_b",
            direction="import",
            kind="updates",
            result="received",
        )
        == 2
    )
    assert value(smp, "bgplab_table_routes", table="master") == 5
    assert value(smp, "bgplab_table_networks", table="master") == 5
    assert value(smp, "bgplab_process_resident_memory_bytes") > 0


def test_flaps_are_counted_when_a_session_leaves_established() -> None:
    d = small_daemon()
    col = DaemonCollector(d)
    col.observe()
    p = d.protocols["peer_b"]
    p.bgp_state = "Active"
    p.set_state(ProtoState.START)
    col.observe()
    p.bgp_state = "Established"
    col.observe()
    assert col.flaps == {"peer_b": 1}


@pytest.mark.parametrize("bad", ["nonsense", "1.2.3.4", "1.2.3.4:99999", ":x"])
def test_bad_listen_address(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(bad)


def test_parse_listen_forms() -> None:
    assert parse_listen("127.4.0.1:9324") == ("127.4.0.1", 9324)
    assert parse_listen(":9324") == ("0.0.0.0", 9324)
    assert parse_listen("[::1]:9324") == ("::1", 9324)
