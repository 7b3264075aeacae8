from __future__ import annotations

from pathlib import Path

import pytest

from bgplab.calico.status import (
    StatusError,
    node_status,
    parse_show_protocols,
    render_table,
)

# `show protocols` as BIRD 1.6 sends it on the control socket
# ("%-8s %-8s %-8s %-5s  %-10s  %s" rows, repeated codes as a leading space).
REPLY = [
    "2002-name     proto    table    state  since       info",
    "1002-kernel1  Kernel   master   up     10:00:00    ",
    " device1  Device   master   up     10:00:00    ",
    " direct1  Direct   master   up     10:00:00    ",
    " Node_192_168_0_40 BGP      master   up     2022-03-18  Established   ",
    " Mesh_192_168_0_25 BGP      master   start  10:00:01    Active        Socket: Connection refused",
    " Global_10_0_0_1_port_1179 BGP      master   start  10:00:02    Connect       ",
    " static1  Static   master   up     10:00:00    ",
    " bgp1     BGP      master   up     10:00:00    Established   ",
    "0000 ",
]


def test_rows_become_calico_peers() -> None:
    peers = parse_show_protocols(REPLY)
    assert [(p.peer_ip, p.peer_type, p.state, p.since, p.info) for p in peers] == [
        ("192.168.0.40", "node specific", "up", "2022-03-18", "Established"),
        (
            "192.168.0.25",
            "node-to-node mesh",
            "start",
            "10:00:01",
            "Active Socket: Connection refused",
        ),
        ("10.0.0.1:1179", "global", "start", "10:00:02", "Connect"),
    ]


def test_ipv6_names() -> None:
    peers = parse_show_protocols(
        ["1002-Mesh_fd00__1 BGP master up 10:00:00 Established", "0000 "], v6=True
    )
    assert peers[0].peer_ip == "fd00::1"


def test_bird2_header_is_refused_like_calicoctl() -> None:
    with pytest.raises(StatusError, match="unknown BIRD table output format"):
        parse_show_protocols(["2002-Name       Proto      Table      State  Since         Info"])


def test_table_layout_matches_calicoctl() -> None:
    # The example in Calico's docs ("Configure BGP peering").
    text = render_table(
        ["Peer address", "Peer type", "State", "Since", "Info"],
        [["172.31.40.217", "node-to-node mesh", "up", "17:38:47", "Established"]],
    )
    assert text.splitlines() == [
        "+---------------+-------------------+-------+----------+-------------+",
        "| PEER ADDRESS  |     PEER TYPE     | STATE |  SINCE   |    INFO     |",
        "+---------------+-------------------+-------+----------+-------------+",
        "| 172.31.40.217 | node-to-node mesh | up    | 17:38:47 | Established |",
        "+---------------+-------------------+-------+----------+-------------+",
    ]


def test_long_info_wraps_at_30_columns_and_numbers_align_right() -> None:
    text = render_table(["A", "B"], [["42", "Active Socket: Connection refused by peer"]])
    lines = text.splitlines()
    assert lines[0] == "+----+" + "-" * 32 + "+"
    assert lines[3] == "| 42 | " + "Active Socket: Connection".ljust(30) + " |"
    assert lines[4] == "|    | " + "refused by peer".ljust(30) + " |"


def test_seed_sample_layout() -> None:
    peers = parse_show_protocols(REPLY[:5] + ["0000 "])
    rows = [[p.peer_ip, p.peer_type, p.state, p.since, p.info] for p in peers]
    text = render_table(["Peer address", "Peer type", "State", "Since", "Info"], rows)
    # The seed's `calicoctl node status` on a rack-2 node.
    assert text.splitlines() == [
        "+--------------+---------------+-------+------------+-------------+",
        "| PEER ADDRESS |   PEER TYPE   | STATE |   SINCE    |    INFO     |",
        "+--------------+---------------+-------+------------+-------------+",
        "| 192.168.0.40 | node specific | up    | 2022-03-18 | Established |",
        "+--------------+---------------+-------+------------+-------------+",
    ]


def test_missing_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StatusError, match="unable to connect to BIRD socket"):
        node_status(str(tmp_path / "bird.ctl"))
