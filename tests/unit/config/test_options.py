"""Protocol options, defaults, templates, global options and diff()."""

from __future__ import annotations

from ipaddress import IPv4Address

from bgplab import net
from bgplab.config import (
    BgpConfig,
    DirectConfig,
    KernelConfig,
    Limit,
    PipeConfig,
    StaticConfig,
    diff,
    parse_text,
)
from bgplab.rib.route import Dest, NextHop

GLOBALS = """
router id 10.0.0.1;
listen bgp address 127.3.0.1 port 1179;
define MYAS = 65000;
define PEER = 192.0.2.2;
table aux;
timeformat protocol iso long;
timeformat route "%H:%M" 3600 "%F";
log "/tmp/bird.log" { info, warning, error };
log syslog name "bird" all;
log stderr all;
debug protocols { states, routes };
graceful restart wait 120;
"""


def test_global_options() -> None:
    cfg = parse_text(GLOBALS + "protocol device { }")
    assert cfg.router_id == IPv4Address("10.0.0.1")
    assert (cfg.listen_bgp.address, cfg.listen_bgp.port) == ("127.3.0.1", 1179)
    assert cfg.tables == ("master", "aux")
    assert cfg.timeformat_for("protocol") == ("%F %T",)
    assert cfg.timeformat_for("route") == ("%H:%M", "3600", "%F")
    assert cfg.timeformat_for("base") == ("%F %T",)
    assert cfg.timeformat["log"] == ("%F %T",)
    assert parse_text("protocol device { }").timeformat["protocol"] == ("%T", "72000", "%F")
    assert [t.target for t in cfg.log] == ["/tmp/bird.log", "syslog", "stderr"]
    assert cfg.log[0].classes == frozenset({"info", "warning", "error"})
    assert cfg.log[1].name == "bird"
    assert cfg.debug_protocols == frozenset({"states", "routes"})
    assert cfg.graceful_restart_wait == 120
    assert cfg.constants["MYAS"] == 65000


def test_defaults_are_birds() -> None:
    cfg = parse_text(
        "protocol kernel { } protocol device { } protocol direct { } protocol static { }\n"
        "protocol bgp { local as 65000; neighbor 192.0.2.1 as 65001; }\n"
        "protocol bgp { local as 65000; neighbor 192.0.2.2 as 65000; }\n"
    )
    names = [(p.name, p.kind, p.preference) for p in cfg.protocols]
    assert names == [("kernel1", "kernel", 10), ("device1", "device", 240),
                     ("direct1", "direct", 240), ("static1", "static", 200),
                     ("bgp1", "bgp", 100), ("bgp2", "bgp", 100)]  # fmt: skip
    for p in cfg.protocols:
        assert p.import_filter.name == "ACCEPT" and p.export_filter.name == "REJECT"
        assert p.table == "master" and not p.disabled
    k = cfg.protocol("kernel1")
    assert isinstance(k, KernelConfig) and k.kernel_table == 254 and not k.learn
    ebgp, ibgp = cfg.protocol("bgp1"), cfg.protocol("bgp2")
    assert isinstance(ebgp, BgpConfig) and isinstance(ibgp, BgpConfig)
    assert not ebgp.is_multihop and ebgp.effective_gateway == "direct"
    assert ibgp.is_multihop and ibgp.effective_gateway == "recursive"
    assert ebgp.graceful_restart == "aware" and ebgp.hold_time == 240
    assert (ebgp.connect_delay_time, ebgp.connect_retry_time) == (5, 120)
    assert ebgp.error_wait_time == (60, 300) and ebgp.add_paths == "off"
    assert ebgp.default_local_pref == 100 and ebgp.enable_as4 and ebgp.advertise_ipv4


def test_every_bgp_option() -> None:
    cfg = parse_text(
        GLOBALS
        + """
protocol device { }
filter f { accept; }
protocol bgp peer1 {
  description "everything";
  local 127.3.0.1 as MYAS;
  neighbor PEER port 1790 as 65001;
  multihop 3;
  gateway direct;
  source address 127.3.0.1;
  add paths rx;
  graceful restart off;
  graceful restart time 90;
  connect delay time 1;
  connect retry time 10;
  error wait time 2, 20;
  error forget time 100;
  hold time 90;
  keepalive time 30;
  startup hold time 60;
  next hop self;
  password "s3cret";
  passive on;
  ttl security on;
  allow local as 2;
  default bgp_local_pref 150;
  default bgp_med 7;
  igp table aux;
  enable route refresh off;
  enable as4 no;
  advertise ipv4 off;
  interpret communities off;
  import limit 1000 action warn;
  receive limit 2000 action block;
  export limit 10;
  import keep filtered on;
  debug all;
  disabled yes;
  preference 120;
  table aux;
  import where net ~ 10.0.0.0/8;
  export filter f;
  missing lladdr drop;
  med metric on;
  deterministic med on;
  prefer older on;
  path metric off;
}
"""
    )
    b = cfg.protocol("peer1")
    assert isinstance(b, BgpConfig)
    assert (b.local_address, b.local_as, b.neighbor_address, b.neighbor_port, b.neighbor_as) == (
        "127.3.0.1", 65000, "192.0.2.2", 1790, 65001,
    )  # fmt: skip
    assert b.multihop == 3 and b.gateway == "direct" and b.add_paths == "rx"
    assert b.graceful_restart == "off" and b.graceful_restart_time == 90
    assert (b.connect_delay_time, b.connect_retry_time, b.error_wait_time) == (1, 10, (2, 20))
    assert (b.hold_time, b.keepalive_time, b.startup_hold_time) == (90, 30, 60)
    assert b.next_hop_self and b.password == "s3cret" and b.passive and b.ttl_security
    assert b.allow_local_as == 2 and b.default_local_pref == 150 and b.default_med == 7
    assert b.igp_table == "aux" and not b.enable_route_refresh and not b.enable_as4
    assert not b.advertise_ipv4 and not b.interpret_communities
    assert b.import_limit == Limit(1000, "warn") and b.receive_limit == Limit(2000, "block")
    assert b.export_limit == Limit(10, "disable") and b.import_keep_filtered
    assert b.debug == frozenset({"states", "routes", "filters", "interfaces", "events",
                                 "packets"})  # fmt: skip
    assert b.disabled and b.preference == 120 and b.table == "aux"
    assert b.import_filter.name is None and b.export_filter.name == "f"
    assert b.missing_lladdr == "drop" and b.med_metric and b.deterministic_med
    assert b.prefer_older and not b.path_metric


def test_rr_options_and_templates_merge() -> None:
    cfg = parse_text("""
protocol device { }
template bgp tbase { local as 63400; multihop; hold time 60; import none; }
template bgp trr from tbase { rr client; rr cluster id 1.1.1.1; hold time 30; }
protocol bgp a from trr { neighbor 192.0.2.1 as 63400; }
protocol bgp b from tbase { neighbor 192.0.2.2 as 63400; import all; }
protocol bgp c from b { neighbor as 63400; passive; }
""")
    a, b, c = (cfg.protocol(n) for n in "abc")
    assert isinstance(a, BgpConfig) and isinstance(b, BgpConfig) and isinstance(c, BgpConfig)
    assert a.rr_client and a.rr_cluster_id == IPv4Address("1.1.1.1") and a.hold_time == 30
    assert a.import_filter.name == "REJECT" and a.multihop == 64
    assert not b.rr_client and b.hold_time == 60 and b.import_filter.name == "ACCEPT"
    assert c.neighbor_address == "192.0.2.2" and c.passive and c.hold_time == 60
    assert set(cfg.templates) == {"tbase", "trr"}


def test_kernel_static_direct_pipe_options() -> None:
    cfg = parse_text("""
table t2;
protocol kernel {
  learn; persist off; scan time 10; device routes; kernel table 100; metric 32;
  merge paths yes limit 4; graceful restart on; import none; export all;
}
protocol static {
  check link;
  route 10.0.0.0/8 via 192.0.2.1;
  route 10.1.0.0/16 via "eth0";
  route 10.2.0.0/16 multipath via 192.0.2.1 weight 2 via 192.0.2.2 bfd via 192.0.2.3;
  route 10.3.0.0/16 recursive 192.0.2.9;
  route 10.4.0.0/16 unreachable;
  route 10.5.0.0/16 prohibit;
  route 10.6.0.0/16 drop;
  route 10.7.0.0/16 via 192.0.2.1 { bgp_local_pref = 5; krt_metric = 3; }
}
protocol direct { interface "eth0", -"eth*" 10.0.0.0/8, "*" 192.168.0.0/16; check link on; }
protocol pipe { table master; peer table t2; mode opaque; export where net.len = 8; }
protocol device { primary "eth0" 192.168.1.1/32; }
""")
    k = cfg.protocol("kernel1")
    assert isinstance(k, KernelConfig)
    assert k.learn and not k.persist and k.scan_time == 10 and k.device_routes
    assert (k.kernel_table, k.metric, k.merge_paths, k.merge_paths_limit) == (100, 32, True, 4)
    s = cfg.protocol("static1")
    assert isinstance(s, StaticConfig) and s.check_link
    got = [(net.to_str(r.net), r.dest, r.gw, r.iface, r.recursive) for r in s.routes]
    assert got[:7] == [
        ("10.0.0.0/8", Dest.ROUTER, "192.0.2.1", None, False),
        ("10.1.0.0/16", Dest.DEVICE, None, "eth0", False),
        ("10.2.0.0/16", Dest.MULTIPATH, None, None, False),
        ("10.3.0.0/16", Dest.ROUTER, "192.0.2.9", None, True),
        ("10.4.0.0/16", Dest.UNREACHABLE, None, None, False),
        ("10.5.0.0/16", Dest.PROHIBIT, None, None, False),
        ("10.6.0.0/16", Dest.BLACKHOLE, None, None, False),
    ]
    assert s.routes[2].nexthops == (NextHop("192.0.2.1", None, 2), NextHop("192.0.2.2", None, 1),
                                    NextHop("192.0.2.3", None, 1))  # fmt: skip
    assert s.routes[7].filter is not None and s.routes[6].filter is None
    d = cfg.protocol("direct1")
    assert isinstance(d, DirectConfig) and d.check_link
    ten = int(IPv4Address("10.1.1.1"))
    lan = int(IPv4Address("192.168.3.3"))
    assert d.matches("eth0", ten)  # first clause wins
    assert not d.matches("eth1", ten)  # excluded by the second clause
    assert d.matches("eth1", lan)  # third clause
    assert not d.matches("wlan0", ten)  # nothing matches: excluded
    p = cfg.protocol("pipe1")
    assert isinstance(p, PipeConfig) and p.peer_table == "t2" and p.mode == "opaque"


BASE = """
router id 192.168.0.40;
filter out1 { if net ~ 10.41.0.0/16 then accept; reject; }
filter out2 { if net ~ 10.41.0.0/16 then accept; reject; }
protocol device { scan time 2; }
protocol bgp a { local as 1; neighbor 192.0.2.1 as 1; export filter out1; }
protocol bgp b { local as 1; neighbor 192.0.2.2 as 1; export filter out2; }
protocol bgp c { local as 1; neighbor 192.0.2.3 as 1; }
"""


def test_diff() -> None:
    old = parse_text(BASE)
    assert diff(old, parse_text(BASE)).empty
    new = parse_text(
        BASE.replace("filter out2 { if net ~ 10.41.0.0/16", "filter out2 { if net ~ 10.42.0.0/16")
        .replace("neighbor 192.0.2.3 as 1;", "neighbor 192.0.2.3 as 1; hold time 30;")
        .replace(
            "protocol device { scan time 2; }",
            "protocol device { scan time 2; }\n"
            "protocol bgp d { local as 1; neighbor 192.0.2.4 as 1; }",
        )  # fmt: skip
    )
    plan = diff(old, new)
    assert plan.added == ("d",)
    assert plan.removed == ()
    assert plan.restart == ("c",)
    assert plan.reload_export == ("b",) and plan.reload_import == ()
    assert set(plan.unchanged) == {"device1", "a"}
    # removing a protocol; a new router id restarts everything that stays
    plan = diff(old, parse_text(BASE.replace("192.168.0.40", "192.168.0.41").replace(
        "protocol bgp c { local as 1; neighbor 192.0.2.3 as 1; }", "")))  # fmt: skip
    assert plan.removed == ("c",)
    assert set(plan.restart) == {"device1", "a", "b"}


def test_diff_ignores_reparsing_and_sees_per_route_blocks() -> None:
    text = (
        "protocol static { route 10.0.0.0/8 blackhole { bgp_med = 5; }; }\n"
        "protocol bgp { local as 1; neighbor 192.0.2.1 as 1; import filter { accept; }; }\n"
    )
    assert diff(parse_text(text), parse_text(text)).empty
    plan = diff(parse_text(text), parse_text(text.replace("bgp_med = 5", "bgp_med = 6")))
    assert plan.restart == ("static1",) and plan.unchanged == ("bgp1",)
    plan = diff(parse_text(text), parse_text(text.replace("{ accept; }", "{ reject; }")))
    assert plan.reload_import == ("bgp1",) and plan.restart == ()


def test_ipv6_config_like_bird6() -> None:
    import pytest

    from bgplab.config import ConfigError
    from tests.unit.config.helpers import static_route

    cfg = parse_text("""
router id 192.168.0.7;
filter calico_export_to_bgp_peers {
  if ( net ~ fd5f:1801:4f5b::/48 ) then { accept; }
  if net ~ [ 2001:db8::/32{48,64} ] && net.ip ~ 2001:db8::/32 then accept;
  reject;
}
protocol device { }
protocol static { route fd5f:1801:4f5b:1::/122 blackhole; route 2001:db8::/48 via fd00::1; }
protocol bgp Node_fd00__40 { local as 63400; neighbor fd00::40 as 63400; source address fd00::7; }
""")
    b = cfg.protocol("Node_fd00__40")
    assert isinstance(b, BgpConfig)
    assert (b.neighbor_address, b.source_address) == ("fd00::40", "fd00::7")
    s = cfg.protocol("static1")
    assert isinstance(s, StaticConfig)
    assert [net.to_str(r.net) for r in s.routes] == ["fd5f:1801:4f5b:1::/122", "2001:db8::/48"]
    f = cfg.filters["calico_export_to_bgp_peers"]
    assert f.run(static_route("fd5f:1801:4f5b:1::/122")) is not None
    assert f.run(static_route("2001:db8:5::/48")) is not None
    assert f.run(static_route("2001:db8::/33")) is None
    assert f.run(static_route("10.41.0.0/16")) is None
    with pytest.raises(ConfigError, match="Invalid IPv6 address"):
        parse_text("protocol device { }\nfilter f { if net ~ fd00:::1/64 then accept; }")
    with pytest.raises(ConfigError, match="Router ID must be an IPv4 address"):
        parse_text("router id fd00::1;\nprotocol device { }")
