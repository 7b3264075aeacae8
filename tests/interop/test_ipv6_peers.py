"""bgplabd6 with real BIRD 1.6 bird6, BIRD 2, GoBGP and FRR over IPv6
transport and IPv6 NLRI.

Two namespaces joined by one veth (tests/interop/ipv6net.py): the router
under test at 2001:db8:6::1 (link-local fe80::1), the four peers at
2001:db8:6::2..5 (link-local fe80::2), each an eBGP neighbor on the link, so
next hops carry link-local addresses where the speaker sends them. Both
opening directions (the router dials passive peers; the peers dial a
passive router), routes both ways, next hops checked on both ends and in
the router's kernel table. The same run with real bird6 as the router is
the reference: both routers must show the same BGP routes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bgplab.extpeers import BirdDaemon, ExternalDaemon, available, frr_bgpd_argv
from bgplab.launch import BgplabDaemon

from .birdout import bgp_routes
from .ipv6net import P6_LL, R4, R6, R6_LL, established, ip, nsexec, p4, p6, pair
from .test_reflection import wait_for

pytestmark = [pytest.mark.root, pytest.mark.interop, pytest.mark.slow]

ASN = 64512
KINDS = {"bird6": 2, "bird2": 3, "gobgp": 4, "frr": 5}  # peer -> its address p6(i), AS 6500i
OURS = "2001:db8:100::/48"


def theirs(i: int) -> str:
    return f"2001:db8:20{i}::/48"


def peer_as(i: int, ibgp: bool) -> int:
    return ASN if ibgp else 65000 + i


def router_config(passive: bool, ibgp: bool = False) -> str:
    sessions = "".join(
        f"protocol bgp {kind} from uplinks {{ neighbor {p6(i)} as {peer_as(i, ibgp)}; }}\n"
        for kind, i in KINDS.items()
    )
    # iBGP as Calico runs it: a multihop route reflector
    return f"""
router id {R4};
protocol device {{ scan time 2; }}
protocol kernel {{ scan time 2; export all; }}
protocol static {{ route {OURS} blackhole; }}
{'protocol direct { interface "eth0"; }' if ibgp else ""}
template bgp uplinks {{
  local {R6} as {ASN}; import all; export all; {"passive on;" if passive else ""}
  {"multihop; rr client;" if ibgp else ""}
  connect delay time 1; connect retry time 2; error wait time 1,5;
}}
{sessions}"""


def bird6_config(passive: bool, ibgp: bool = False) -> str:
    i = KINDS["bird6"]
    return f"""
router id {p4(i)};
listen bgp address {p6(i)};
protocol device {{ scan time 2; }}
protocol static {{ route {theirs(i)} blackhole; }}
protocol bgp uplink {{
  local {p6(i)} as {peer_as(i, ibgp)}; neighbor {R6} as {ASN}; import all; export all;
  {"multihop;" if ibgp else ""}
  {"passive on;" if passive else ""} connect delay time 1; connect retry time 2;
  error wait time 1,5;
}}
"""


def bird2_config(passive: bool, ibgp: bool = False) -> str:
    i = KINDS["bird2"]
    return f"""
router id {p4(i)};
protocol device {{ scan time 2; }}
protocol static {{ ipv6; route {theirs(i)} blackhole; }}
protocol bgp uplink {{
  local {p6(i)} as {peer_as(i, ibgp)}; neighbor {R6} as {ASN}; strict bind on;
  {"multihop;" if ibgp else ""}
  {"passive on;" if passive else ""} connect delay time 1; connect retry time 2;
  error wait time 1,5;
  ipv6 {{ import all; export all; }};
}}
"""


def gobgp_config(passive: bool, ibgp: bool = False) -> str:
    i = KINDS["gobgp"]
    return f"""
[global.config]
  as = {peer_as(i, ibgp)}
  router-id = "{p4(i)}"
  port = 179
  local-address-list = ["{p6(i)}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{R6}"
    peer-as = {ASN}
  [neighbors.transport.config]
    local-address = "{p6(i)}"
    passive-mode = {"true" if passive else "false"}
  [neighbors.timers.config]
    connect-retry = 2
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"""


def frr_config(passive: bool, ibgp: bool = False) -> str:
    i = KINDS["frr"]
    return (
        "hostname frr\n"
        f"router bgp {peer_as(i, ibgp)}\n"
        f" bgp router-id {p4(i)}\n"
        " no bgp ebgp-requires-policy\n"
        " no bgp network import-check\n"
        " no bgp default ipv4-unicast\n"
        " timers bgp 3 9\n"
        f" neighbor {R6} remote-as {ASN}\n"
        f" neighbor {R6} update-source {p6(i)}\n"
        f" neighbor {R6} timers connect 2\n"
        + (f" neighbor {R6} passive\n" if passive else "")
        + " address-family ipv6 unicast\n"
        f"  network {theirs(i)}\n"
        f"  neighbor {R6} activate\n"
        " exit-address-family\n"
    )


class Peers:
    """The four peer daemons in the peers' namespace."""

    def __init__(self, ns: str, passive: bool, ibgp: bool = False) -> None:
        self.ns = ns
        self.passive = passive
        self.ibgp = ibgp
        self.daemons: dict[str, ExternalDaemon] = {}
        self.frr_dir = Path(tempfile.mkdtemp(prefix="bgplab-v6-frr-"))

    def start(self) -> Peers:
        self.daemons["bird6"] = BirdDaemon(
            1, bird6_config(self.passive, self.ibgp), netns=self.ns, ipv6=True
        ).start()
        self.daemons["bird2"] = BirdDaemon(
            2, bird2_config(self.passive, self.ibgp), netns=self.ns
        ).start()
        wd = Path(tempfile.mkdtemp(prefix="bgplab-v6-gobgp-"))
        (wd / "gobgpd.toml").write_text(gobgp_config(self.passive, self.ibgp))
        go = ExternalDaemon(
            "gobgp",
            [
                shutil.which("gobgpd") or "gobgpd",
                "-f",
                str(wd / "gobgpd.toml"),
                "--api-hosts",
                "127.0.0.1:50051",
                "--pprof-disable",
            ],
            wd,
            self.ns,
        )
        self.daemons["gobgp"] = go.start()
        wait_for("GoBGP's API", lambda: '"asn"' in self.gobgp("global", "-j"), 15)
        i = KINDS["gobgp"]
        self.gobgp("global", "rib", "add", "-a", "ipv6", theirs(i), "nexthop", p6(i))
        # FRR takes a link-local next hop only with zebra telling it the
        # interface (bgpd -Z withdraws such routes), so zebra runs too
        # (zebra insists on a user of the frrvty group: Debian's frr user)
        zwd = Path(tempfile.mkdtemp(prefix="bgplab-v6-zebra-"))
        zwd.chmod(0o777)
        (zwd / "zebra.conf").write_text("hostname zebra\n")
        zserv = str(zwd / "zserv.api")
        argv = [
            "/usr/lib/frr/zebra",
            "-z",
            zserv,
            "-f",
            str(zwd / "zebra.conf"),
            "-P",
            "0",
            "-i",
            str(zwd / "zebra.pid"),
            "--vty_socket",
            str(zwd),
            "-u",
            "frr",
            "-g",
            "frr",
        ]
        self.daemons["zebra"] = ExternalDaemon("zebra", argv, zwd, self.ns).start()
        wait_for("zebra's socket", lambda: Path(zserv).exists(), 15)
        wd = self.frr_dir
        (wd / "bgpd.conf").write_text(frr_config(self.passive, self.ibgp))
        argv = frr_bgpd_argv(p6(KINDS["frr"]), wd, zserv)
        self.daemons["frr"] = ExternalDaemon("frr", argv, wd, self.ns).start()
        return self

    def gobgp(self, *args: str) -> str:
        return nsexec(self.ns, "gobgp", "-u", "127.0.0.1", "-p", "50051", *args)

    def frr(self, command: str) -> str:
        res = subprocess.run(
            ["vtysh", "--vty_socket", str(self.frr_dir), "-c", command],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return res.stdout

    def next_hops(self, kind: str, prefix: str) -> list[str] | None:
        """The next hop(s) the peer holds for ``prefix`` from the router
        (global first, then a link-local one if it kept one), or None."""
        if kind in ("bird6", "bird2"):
            d = self.daemons[kind]
            assert isinstance(d, BirdDaemon)
            routes = bgp_routes(d.birdc("show route all"))
            if prefix not in routes:
                return None
            return routes[prefix][0].attrs["BGP.next_hop"].split()
        if kind == "gobgp":
            try:
                rib = json.loads(self.gobgp("global", "rib", "-a", "ipv6", "-j") or "{}")
            except json.JSONDecodeError:
                return None
            for path in rib.get(prefix, []):
                attrs = {a.get("type"): a for a in path.get("attrs", [])}
                mp = attrs.get(14)  # MP_REACH_NLRI
                if mp is not None:
                    return list(mp.get("nexthop", "").split(",")) + (
                        [mp["linklocal_nexthop"]] if mp.get("linklocal_nexthop") else []
                    )
            return None
        try:
            table = json.loads(self.frr("show bgp ipv6 unicast json") or "{}")
        except json.JSONDecodeError:
            return None
        paths = table.get("routes", {}).get(prefix)
        if not paths:
            return None
        return [h["ip"] for h in paths[0].get("nexthops", [])]

    def stop(self) -> None:
        for d in reversed(list(self.daemons.values())):
            d.stop()
        shutil.rmtree(self.frr_dir, ignore_errors=True)


def _router_routes(router: ExternalDaemon) -> dict[str, tuple[str, str]]:
    """prefix -> (how, BGP.next_hop) of the router's BGP routes."""
    text = router.birdc("show route all")  # type: ignore[attr-defined]
    return {
        net: (rs[0].how, rs[0].attrs.get("BGP.next_hop", ""))
        for net, rs in bgp_routes(text).items()
    }


@pytest.fixture
def needs_all() -> None:
    if not all(available(k) for k in ("bird1", "bird2", "gobgp", "frr")):
        pytest.skip("BIRD 1.6, BIRD 2, GoBGP and FRR are needed (scripts/install)")


def _run(
    kind: str, router_dials: bool, ibgp: bool = False
) -> tuple[dict[str, tuple[str, str]], dict, str]:
    """Start the router (bgplabd6 or bird6) and the peers; return the
    router's BGP routes, the peers' next hops of our route, the router's
    kernel table."""
    with pair(peers=len(KINDS)) as net:
        peers = Peers(net.p, passive=router_dials, ibgp=ibgp)
        conf = router_config(passive=not router_dials, ibgp=ibgp)
        router: ExternalDaemon = (
            BgplabDaemon(conf, netns=net.r, ipv6=True)
            if kind == "bgplabd6"
            else BirdDaemon(1, conf, netns=net.r, ipv6=True)
        )
        try:
            router.start()  # type: ignore[attr-defined]
            peers.start()
            wait_for(
                f"{kind}: four sessions Established",
                lambda: all(established(router, n) for n in KINDS),
                60,
            )
            wait_for(
                f"{kind}: the peers' routes",
                lambda: all(theirs(i) in _router_routes(router) for i in KINDS.values()),
            )
            wait_for(
                f"{kind}: our route at every peer",
                lambda: all(peers.next_hops(k, OURS) is not None for k in KINDS),
            )
            wait_for(
                "kernel routes",
                lambda: all(
                    theirs(i) in ip(net.r, "-6", "route", "show", "proto", "bird")
                    for i in KINDS.values()
                ),
            )
            # every peer's view of every route through the router (eBGP: the
            # other peers' routes come back with the router's AS prepended)
            # (BIRD 2 and FRR drop a third-party next hop that is an address
            # of their own namespace, where all four peers live: that is
            # what the reference run shows too)
            every = [
                (k, net)
                for k, own in KINDS.items()
                for net in [OURS] + [theirs(i) for i in KINDS.values() if i != own]
            ]
            wanted = [(k, net) for k, net in every if k in ("bird6", "gobgp") or net == OURS]
            wait_for(
                f"{kind}: the routes at the peers",
                lambda: all(peers.next_hops(k, net) is not None for k, net in wanted),
            )
            time.sleep(1)  # the same UPDATEs carried the routes that are dropped
            held = {(k, net): peers.next_hops(k, net) for k, net in every}
            return _router_routes(router), held, ip(net.r, "-6", "route", "show", "proto", "bird")
        finally:
            peers.stop()
            router.stop()


@pytest.mark.parametrize("router_dials", [True, False], ids=["router-dials", "peers-dial"])
def test_ipv6_with_four_implementations(needs_all: None, router_dials: bool) -> None:
    ours, held, kernel = _run("bgplabd6", router_dials)
    for kind, i in KINDS.items():
        how, nh = ours[theirs(i)]
        # the gateway is the peer's global address on the link, as BIRD 1.6 has it
        assert how == f"via {p6(i)} on eth0", (kind, how)
        assert nh.split()[0] == p6(i), (kind, nh)
        assert f"{theirs(i)} via {p6(i)} dev eth0 metric" in kernel, kernel
        # our route at the peer: our global address, and our link-local
        # address wherever the peer keeps the one we send
        got = held[kind, OURS]
        assert got is not None and got[0] == R6, (kind, got)
        assert got[1:] in ([], [R6_LL]), (kind, got)
    for kind in ("bird6", "bird2", "frr"):
        assert held[kind, OURS] == [R6, R6_LL], held
    # eBGP on one link: another peer's route keeps its next hop (third
    # party) with the link-local address that peer sent, as in BIRD 1.6;
    # GoBGP sent none, so the router puts its own addresses in
    assert held["bird6", theirs(KINDS["bird2"])] == [p6(KINDS["bird2"]), P6_LL], held
    assert held["bird6", theirs(KINDS["frr"])] == [p6(KINDS["frr"]), P6_LL], held
    assert held["bird6", theirs(KINDS["gobgp"])] == [R6, R6_LL], held
    # what the peers sent: BIRD and FRR a link-local next hop, as printed
    # by the reference router below
    ref, ref_held, _ = _run("bird6", router_dials)
    assert ours == ref
    assert held == ref_held
    assert any(nh.split()[1:] == [P6_LL] for _how, nh in ours.values()), ours


def test_ipv6_route_reflector_with_four_implementations(needs_all: None) -> None:
    """iBGP as Calico runs it: the router a multihop route reflector, the
    four peers its clients. Next hops pass unchanged (the peers' own
    global addresses), and no link-local address goes to a multihop
    session; everything as with real bird6 as the reflector."""
    ours, held, kernel = _run("bgplabd6", router_dials=True, ibgp=True)
    for kind, i in KINDS.items():
        how, nh = ours[theirs(i)]
        assert nh.split()[0] == p6(i), (kind, nh)
        # a next hop on the connected network is reached through the
        # link-local address sent with it (BIRD 1.6's recursive gateway):
        # FRR sends one to an iBGP neighbor on its link, the others do not
        gw = P6_LL if nh.split()[1:] == [P6_LL] else p6(i)
        assert how == f"via {gw} on eth0", (kind, how)
        assert f"{theirs(i)} via {gw} dev eth0 metric" in kernel, kernel
        assert held[kind, OURS] == [R6], (kind, held[kind, OURS])
    assert ours[theirs(KINDS["frr"])] == ("via fe80::2 on eth0", f"{p6(KINDS['frr'])} {P6_LL}")
    for i in (KINDS["bird2"], KINDS["gobgp"], KINDS["frr"]):
        assert held["bird6", theirs(i)] == [p6(i)], held  # reflected as received
    assert (ours, held) == _run("bird6", router_dials=True, ibgp=True)[:2]
