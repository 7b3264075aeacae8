"""Record what a real BIRD 1.6 sends: its OPEN and UPDATEs, as raw bytes.

A tiny socket server on 127.1.x.x stands in for bgplabd; the session logic
is bgplab's own :class:`PeerFsm` (so this is also an interop check of the
FSM). BIRD dials it, exports two static routes with communities, and we
keep every message until End-of-RIB.

Regenerate the golden files (as root, BIRD 1.6 installed)::

    python -m tests.unit.bgp.bird_capture
"""

from __future__ import annotations

import os
import socket
import time
from ipaddress import IPv4Address
from pathlib import Path

from bgplab.bgp import events as ev
from bgplab.bgp.capabilities import LocalConfig
from bgplab.bgp.fsm import PeerConfig, PeerFsm
from bgplab.extpeers import BirdDaemon

GOLDEN = Path(__file__).parent / "golden"

BIRD_CONF = """
router id 192.168.0.7;
listen bgp address {bird_ip} port {bird_port};
protocol device {{ scan time 10; }}
protocol static {{
    route 10.41.113.192/26 blackhole;
    route 10.43.0.0/16 blackhole;
}}
protocol bgp Router1 {{
    local {bird_ip} as 63400;
    source address {bird_ip};
    neighbor {our_ip} port {our_port} as 63400;
    multihop;
    gateway recursive;
    add paths on;
    graceful restart;
    connect delay time 1;
    import all;
    export filter {{
        bgp_community.add((63400, 100));
        bgp_large_community.add((63400, 1, 2));
        bgp_med = 5;
        accept;
    }};
}}
"""


def _addresses() -> tuple[str, str]:
    # 127.1.0.0/16 is this area's loopback range; the pid keeps runs apart.
    x = os.getpid() % 250 + 1
    return f"127.1.{x}.1", f"127.1.{x}.2"


def capture(timeout: float = 30.0) -> dict[str, bytes]:
    """Run BIRD 1.6 against a bgplab FSM; return the raw messages it sent:
    ``open``, ``update_N`` ..., ``eor`` (each a complete wire message)."""
    our_ip, bird_ip = _addresses()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((our_ip, 0))
    srv.listen(1)
    srv.settimeout(timeout)
    our_port = srv.getsockname()[1]
    with socket.socket() as probe:  # a free port for BIRD's own listener
        probe.bind((bird_ip, 0))
        bird_port = probe.getsockname()[1]
    conf = BIRD_CONF.format(our_ip=our_ip, our_port=our_port, bird_ip=bird_ip, bird_port=bird_port)
    bird = BirdDaemon(1, conf)
    conn = None
    try:
        bird.start()
        conn, _ = srv.accept()
        conn.settimeout(1.0)
        local = LocalConfig(
            63400, IPv4Address("192.168.0.40"), add_path={(1, 1): 3}, graceful_restart=True
        )
        fsm = PeerFsm(PeerConfig(local, 63400, passive=True))
        fsm.start()
        fsm.connection_made("bird", incoming=True)
        raw = bytearray()
        got: dict[str, bytes] = {}
        n_updates = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and "eor" not in got:
            for e in fsm.events():
                if isinstance(e, ev.Write):
                    conn.sendall(e.data)
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            raw += data
            # split the raw stream ourselves, to keep the exact bytes
            while len(raw) >= 19 and len(raw) >= int.from_bytes(raw[16:18]):
                ln = int.from_bytes(raw[16:18])
                msg, raw = bytes(raw[:ln]), raw[ln:]
                if msg[18] == 1:
                    got["open"] = msg
                elif msg[18] == 2:
                    if len(msg) == 23:
                        got["eor"] = msg
                    else:
                        n_updates += 1
                        got[f"update_{n_updates}"] = msg
            fsm.data_received("bird", data)
        for e in fsm.events():
            if isinstance(e, ev.Write):
                conn.sendall(e.data)
        got["_established"] = b"1" if fsm.established else b"0"
        return got
    finally:
        if conn is not None:
            conn.close()
        srv.close()
        bird.stop()


def main() -> None:
    got = capture()
    GOLDEN.mkdir(exist_ok=True)
    for name, data in got.items():
        if not name.startswith("_"):
            (GOLDEN / f"bird16_{name}.hex").write_text(data.hex() + "\n")
    print("wrote", sorted(k for k in got if not k.startswith("_")))


if __name__ == "__main__":
    main()
