"""Topology messages a new user can act on (issue 18, finding 7): host bits are
named, YAML errors carry the file, position and the parser's reason, and
Calico resources are numbered as calico[i] everywhere, never ``<input>``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgplab.lab.topology import TopologyError, load_topology, parse_topology


def _seed() -> str:
    src = load_topology().source
    assert src is not None
    return src.read_text()


def _err(text: str, source: Path | None = None) -> str:
    with pytest.raises(TopologyError) as exc:
        parse_topology(text, source=source)
    return str(exc.value)


def test_host_bits_set_is_named() -> None:
    msg = _err(_seed().replace("cidr: 192.168.0.0/24", "cidr: 192.168.0.5/24"))
    assert (
        msg
        == "subnets[0].cidr = '192.168.0.5/24' has host bits set (the network is 192.168.0.0/24)"
    )


def test_ipv6_host_bits_set_is_named() -> None:
    msg = _err(_seed().replace("cidr6: fd00:192:168::/64", "cidr6: fd00:192:168::5/64"))
    assert "has host bits set (the network is fd00:192:168::/64)" in msg


def test_yaml_error_names_file_position_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: x\nsubnets:\n  - name: a\n    cidr: [10.0.0.0/24\nrouters: []\n")
    with pytest.raises(TopologyError) as exc:
        load_topology(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:5:")
    assert msg.split(": not valid YAML: ")[1]  # the parser's reason follows


def test_calico_resources_numbered_consistently() -> None:
    seed = _seed()
    bad_ip = _err(seed.replace("peerIP: 192.168.2.16", "peerIP: 192.168.2.999"))
    assert bad_ip.startswith("calico[1]: ") and "<input>" not in bad_ip
    assert "(resource" not in bad_ip
    # the topology's own check of the same list uses the same numbering
    bad_pool = _err(seed.replace("cidr: 10.41.0.0/16", "cidr: 10.41.0.0/99"))
    assert bad_pool.startswith("calico[") and "<input>" not in bad_pool
