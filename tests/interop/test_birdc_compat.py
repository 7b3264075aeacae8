"""Golden comparison of bgplab's control socket with real BIRD 1.6.

Two BIRD 1.6 daemons (A, B) peer over loopback 127.4.x; A also has static
routes, a filtered export, a peer that cannot connect and a disabled one.
The test then builds the same state from real rib objects (Table,
Channel, Route, PathAttrs, a compiled filter) — routes, attributes, session
data and the change counters read from A — serves it with bgplab's
ControlServer, and compares, command by command, the raw coded replies
and what ``birdc`` / ``bgplabc`` print. Only times, timer values and the
version/socket path may differ.

A second test runs bgplabd itself with A's configuration against B and
compares its replies with A's for the commands whose content both share.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from ipaddress import IPv4Address

import pytest

from bgplab.bgp.attrs import PathAttrs
from bgplab.cli import client
from bgplab.extpeers import BirdDaemon, available, birdc_binary
from bgplab.rib.channel import ChangeStats
from bgplab.rib.protocol import ProtoState
from bgplab.rib.route import Dest
from tests.unit.cli.fakedaemon import (
    BgpProto,
    DeviceProto,
    FakeDaemon,
    ServedDaemon,
    StaticProto,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed"),
]

NET = f"127.4.{os.getpid() % 200 + 20}"
A, B = f"{NET}.1", f"{NET}.2"
DEAD, OFF = f"{NET}.9", f"{NET}.8"
C = f"{NET}.3"  # where bgplabd runs with A's configuration
ONLY10 = "filter only10 { if net ~ 10.0.0.0/8 then accept; reject; }"

CONF_A = f"""
router id {A};
listen bgp address {A};
protocol device {{ scan time 10; }}
protocol static static1 {{
  route 10.41.113.192/26 blackhole;
  route 10.41.0.0/16 via {B};
}}
protocol static static2 {{
  route 10.99.0.0/16 unreachable;
}}
{ONLY10}
protocol bgp peer_b {{
  description "the b side";
  local {A} as 65001;
  neighbor {B} as 65002;
  import all;
  export filter only10;
  connect delay time 1;
  multihop;
}}
protocol bgp peer_d {{
  local {A} as 65001;
  neighbor {DEAD} as 65009;
  connect delay time 1;
  connect retry time 5;
  multihop;
}}
protocol bgp peer_e {{
  disabled;
  local {A} as 65001;
  neighbor {OFF} as 65009;
  multihop;
}}
"""

CONF_B = f"""
router id {B};
listen bgp address {B};
protocol device {{ scan time 10; }}
protocol static static1 {{
  route 10.50.0.0/24 blackhole;
  route 10.50.1.0/24 unreachable;
  route 10.41.0.0/16 blackhole;
  route 10.50.2.0/24 blackhole;
}}
filter out_a {{
  if net = 10.50.1.0/24 then {{
     bgp_community.add((65002,100)); bgp_community.add((65002,200));
     bgp_large_community.add((65002,1,2));
     bgp_med = 50;
     bgp_path.prepend(65010);
  }}
  if net = 10.50.2.0/24 then reject;
  accept;
}}
protocol bgp peer_a {{
  local {B} as 65002;
  neighbor {A} as 65001;
  import all;
  export filter out_a;
  connect delay time 1;
  multihop;
}}
protocol bgp peer_c {{
  local {B} as 65002;
  neighbor {C} as 65001;
  import all;
  export filter out_a;
  connect delay time 1;
  multihop;
}}
"""

COMMANDS = [
    "show status",
    "show protocols",
    "show protocols all",
    "show protocols all peer_b",
    'show protocols "peer*"',
    "show route",
    "show route all",
    "show route count",
    "show route stats",
    "show route for 10.50.1.7 all",
    "show route 10.50.1.0/24",
    "show route protocol peer_b",
    "show route protocol peer_b count",
    "show route filter only10",
    "show route export peer_b",
    "show route preexport peer_b",
    "show route noexport peer_b",
    "show route all primary",
    "show static static2",
    # errors
    "show route for 1.2.3.4",
    "show route 10.50.1.0/25",
    "show route 10.50.1.1/24",
    "show route table nope",
    "show route protocol nope",
    "show route export nope",
    "show route filter nope",
    "show route export peer_e",
    "show protocols nope",
    'show protocols "zz*"',
    "show static",
    "show static nope",
    "show foo",
    "disable nope",
    'enable "zz*"',
    "reload in nope",
    "restart",
]


def normalize(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d", "DATE", text)
    text = re.sub(r"\d\d:\d\d:\d\d", "TIME", text)
    text = re.sub(
        r"((?:Hold timer|Keepalive timer|Connect delay|Error wait):\s+)\d+/\d+", r"\1N/N", text
    )
    return text


# ---- parsing BIRD's `show protocols all` for the state we copy -----------------

_STAT_ROWS = {
    "Import updates:": (
        "import_stats",
        (
            "updates_received",
            "updates_rejected",
            "updates_filtered",
            "updates_ignored",
            "updates_accepted",
        ),
    ),
    "Import withdraws:": (
        "import_stats",
        (
            "withdraws_received",
            "withdraws_rejected",
            None,
            "withdraws_ignored",
            "withdraws_accepted",
        ),
    ),
    "Export updates:": (
        "export_stats",
        ("updates_received", "updates_rejected", "updates_filtered", None, "updates_accepted"),
    ),
    "Export withdraws:": (
        "export_stats",
        ("withdraws_received", None, None, None, "withdraws_accepted"),
    ),
}


def bird_protocol_state(lines: list[str]) -> dict[str, dict]:
    """Per protocol: change stats and BGP session fields from A's reply."""
    out: dict[str, dict] = {}
    cur: dict | None = None
    for raw in lines:
        body = raw[5:] if raw[:4].isdigit() else raw[1:]
        if raw.startswith("1002-"):
            name = body.split()[0]
            cur = out[name] = {"import_stats": ChangeStats(), "export_stats": ChangeStats()}
            continue
        if cur is None:
            continue
        s = body.strip()
        for label, (which, names) in _STAT_ROWS.items():
            if s.startswith(label):
                vals = s[len(label) :].split()
                for n, v in zip(names, vals):
                    if n is not None:
                        setattr(cur[which], n, int(v))
        for key in (
            "Neighbor ID",
            "Neighbor caps",
            "Session",
            "Source address",
            "Hold timer",
            "Keepalive timer",
            "Connect delay",
            "Last error",
        ):
            if s.startswith(key + ":"):
                cur[key] = s[len(key) + 1 :].strip()
    return out


def _timer(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    a, _, b = text.partition("/")
    return int(a), int(b)


def build_equivalent(bird_all: list[str], peer_b_since: float) -> FakeDaemon:
    """A's state out of real rib objects, with A's counters copied in."""
    from bgplab.filters.standalone import compile_standalone

    d = FakeDaemon(router_id=A)
    d.add(DeviceProto, "device1", channel=False)
    st1 = d.add(StaticProto, "static1")
    st2 = d.add(StaticProto, "static2")
    only10 = compile_standalone(ONLY10, "only10", "<test>")
    d.filters["only10"] = only10
    pb = d.add(
        BgpProto,
        "peer_b",
        export_filter=only10,
        neighbor_address=B,
        neighbor_as=65002,
        local_as=65001,
        multihop=64,
        gateway=None,
        description="the b side",
    )
    pd = d.add(
        BgpProto,
        "peer_d",
        neighbor_address=DEAD,
        neighbor_as=65009,
        local_as=65001,
        multihop=64,
        gateway=None,
    )
    pe = d.add(
        BgpProto,
        "peer_e",
        neighbor_address=OFF,
        neighbor_as=65009,
        local_as=65001,
        multihop=64,
        gateway=None,
    )
    d.route(st1, "10.41.113.192/26", dest=Dest.BLACKHOLE)
    d.route(st2, "10.99.0.0/16", dest=Dest.UNREACHABLE)
    st1.config.routes = [
        _static("10.41.113.192/26", Dest.BLACKHOLE, None),
        _static("10.41.0.0/16", Dest.ROUTER, B),
    ]
    st2.config.routes = [_static("10.99.0.0/16", Dest.UNREACHABLE, None)]
    nh = IPv4Address(B)
    plain = PathAttrs(origin=0, as_path=((2, (65002,)),), next_hop=nh, local_pref=100)
    rich = PathAttrs(
        origin=0,
        as_path=((2, (65010, 65002)),),
        next_hop=nh,
        med=50,
        local_pref=100,
        communities=((65002, 100), (65002, 200)),
        large_communities=((65002, 1, 2),),
    )
    # BIRD 1.6 cannot resolve next hops over loopback: recursive, unreachable
    for net, attrs in (("10.41.0.0/16", plain), ("10.50.0.0/24", plain), ("10.50.1.0/24", rich)):
        d.route(pb, net, dest=Dest.UNREACHABLE, attrs=attrs, from_addr=B, since=peer_b_since)
    state = bird_protocol_state(bird_all)
    for p in d.protocols.values():
        s = state[p.name]
        if p.channel is not None:
            p.channel.import_stats = s["import_stats"]
            p.channel.export_stats = s["export_stats"]
    pb.bgp_state = "Established"
    pb.neighbor_id = state["peer_b"]["Neighbor ID"]
    pb.neighbor_caps = state["peer_b"]["Neighbor caps"].split()
    pb.session_flags = state["peer_b"]["Session"].split()
    pb.source_address = state["peer_b"]["Source address"]
    pb.hold_timer = _timer(state["peer_b"]["Hold timer"])
    pb.keepalive_timer = _timer(state["peer_b"]["Keepalive timer"])
    pd.set_state(ProtoState.START)
    pd.bgp_state = "Active"
    pd.connect_delay = _timer(state["peer_d"].get("Connect delay")) or (1, 1)
    pd.last_error = state["peer_d"].get("Last error", "")
    pe.disabled = True
    pe.set_state(ProtoState.DOWN)
    pe.bgp_state = "Down"
    return d


def _static(prefix: str, dest: Dest, gw: str | None) -> object:
    from types import SimpleNamespace

    from bgplab import net as netmod

    return SimpleNamespace(net=netmod.parse(prefix), dest=dest, gw=gw, iface=None, nexthops=())


# ---- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def birds() -> Iterator[tuple[BirdDaemon, BirdDaemon]]:
    a = BirdDaemon(1, CONF_A)
    b = BirdDaemon(1, CONF_B)
    try:
        a.start()
        b.start()
        a.wait_established("peer_b")
        b.wait_established("peer_a")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if a.raw("show route count")[-1].startswith("0014 5 of 5"):
                break
            time.sleep(0.2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # peer_d has tried and failed once
            if "Connection refused" in a.birdc("show protocols peer_d"):
                break
            time.sleep(0.2)
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def ours(
    birds: tuple[BirdDaemon, BirdDaemon], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedDaemon]:
    a, _b = birds
    since = time.time()
    d = build_equivalent(a.raw("show protocols all"), since)
    path = str(tmp_path_factory.mktemp("ctl") / "bgplab.ctl")
    served = ServedDaemon(d, path)
    try:
        yield served
    finally:
        served.close()


@pytest.mark.parametrize("command", COMMANDS)
def test_raw_reply_matches_bird(
    birds: tuple[BirdDaemon, BirdDaemon], ours: ServedDaemon, command: str
) -> None:
    a, _b = birds
    want = normalize("\n".join(a.raw(command)))
    got = normalize("\n".join(ours.raw(command)))
    assert got == want


@pytest.mark.parametrize(
    "command",
    [
        "show protocols",
        "show protocols all",
        "show route all",
        "show route count",
        "show status",
        "show foo",
        "show route for 1.2.3.4",
    ],
)
def test_bgplabc_prints_what_birdc_prints(
    birds: tuple[BirdDaemon, BirdDaemon], ours: ServedDaemon, command: str
) -> None:
    a, _b = birds
    for verbose in ([], ["-v"]):
        res = subprocess.run(
            [str(birdc_binary(1)), *verbose, "-s", str(a.socket), *command.split()],
            capture_output=True,
            text=True,
            timeout=10,
        )
        buf = io.StringIO()
        with redirect_stdout(buf):
            client.main([*verbose, "-s", ours.path, *command.split()])
        assert normalize(buf.getvalue()) == normalize(res.stdout), verbose


def test_restricted_session_like_bird(
    birds: tuple[BirdDaemon, BirdDaemon], ours: ServedDaemon
) -> None:
    a, _b = birds
    for cmd in ("disable peer_b", "show status"):
        res = subprocess.run(
            [str(birdc_binary(1)), "-r", "-s", str(a.socket), *cmd.split()],
            capture_output=True,
            text=True,
            timeout=10,
        )
        buf = io.StringIO()
        with redirect_stdout(buf):
            client.main(["-r", "-s", ours.path, *cmd.split()])
        assert normalize(buf.getvalue()) == normalize(res.stdout)


# ---- the real daemon, end to end -------------------------------------------------------

E2E_COMMANDS = [
    "show route",
    "show route all",
    "show route count",
    "show route export peer_b",
    "show route for 10.50.1.7 all",
    "show static static2",
    "show protocols peer_b",
    "show protocols static1",
    "show protocols peer_e",
    "show foo",
    "show route for 1.2.3.4",
    "show protocols nope",
    "show route table nope",
]


def test_bgplabd_end_to_end(birds: tuple[BirdDaemon, BirdDaemon]) -> None:
    """bgplabd runs A's configuration on address C (B peers with C too):
    its replies must be A's, with C in place of A."""
    from bgplab.extpeers import PeerError
    from bgplab.launch import BgplabDaemon

    a, _b = birds
    d = BgplabDaemon(CONF_A.replace(A, C))
    try:
        try:
            d.start()
            d.wait_established("peer_b", timeout=20)
        except PeerError as exc:
            pytest.skip(f"bgplabd did not establish with BIRD: {exc}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not d.raw("show route count")[-1].startswith(
            "0014 5 of 5"
        ):
            time.sleep(0.2)
        for command in E2E_COMMANDS:
            got = normalize("\n".join(d.raw(command)).replace(C, A))
            want = normalize("\n".join(a.raw(command)))
            assert got == want, command
    finally:
        d.stop()
