"""The words BIRD 1.6 reserves: its keywords, which can never name a
protocol, template, filter, function, table, constant, parameter or variable.

BIRD's lexer turns every keyword into its own token, case-sensitively
(``peer`` is a keyword, ``PEER`` a name), so a keyword where a name is
expected is a syntax error. ``bird6`` has more keywords than ``bird`` (its
RAdv and Babel protocols). The lists were taken from the real binaries:
every identifier in ``bird``/``bird6`` 1.6.8 (and every tail of one, as the
linker shares string tails) was tried as a protocol name with ``bird -p``;
these are the ones it refused. ``master`` is not here: it is a predefined
table, not a keyword. tests/interop/test_reserved_words.py checks the lists
against real ``bird -p`` and ``bird6 -p`` in every position a name is defined.
"""

from __future__ import annotations

_BIRD = """
accept action add address administrative advertise after algorithm all allow always area as
as4 attributes auth authentication aware base bcast bfd bgp bgp_aggregator bgp_atomic_aggr
bgp_cluster_list bgp_community bgp_ext_community bgp_large_community bgp_local_pref bgp_med
bgp_next_hop bgp_origin bgp_originator_id bgp_path bgpmask bgppath blackhole block bool
broadcast buffer bug capabilities case cast cease change check class client clist cluster
collision commands communities configuration configure confirm connect connection contains
cost cost2 count cryptographic dead debug deconfigured default define defined delay delete
description dest deterministic dev device direct disable disabled down drop dscp dual dump
ec echo eclist ecmp eligible else empty enable error eval events export extended external
false fatal filename filter filtered filters first flush for forget from function garbage
gateway generate generic global graceful gw hello hidden hit hmac hold hop horizon id idle
if ifindex ifname ignore igp igp_metric import in infinity info instance int interface
interfaces interpret interval ip ipv4 iso keep keepalive kernel keyed krt_advmss krt_cwnd
krt_feature_allfrag krt_feature_ecn krt_hoplimit krt_initcwnd krt_initrwnd krt_lock_advmss
krt_lock_cwnd krt_lock_hoplimit krt_lock_mtu krt_lock_reordering krt_lock_rto_min
krt_lock_rtt krt_lock_rttvar krt_lock_sstresh krt_lock_window krt_metric krt_mtu krt_prefsrc
krt_quickack krt_realm krt_reordering krt_rto_min krt_rtt krt_rttvar krt_scope krt_source
krt_sstresh krt_window large last last_nonaggregated latency lc lclist learn len length
limit link listen lived lladdr local log long lsa lsadb lsid mask match max md5 med memory
merge messages meticulous metric min missing mode mrt mrtdump ms multicast multihop
multipath multiplier name nbma neighbor neighbors net netmask networks next no noexport
nonbroadcast none normal nssa of off old older on only opaque ospf ospf_metric1 ospf_metric2
ospf_router_id ospf_tag out packets pair passive password passwords path paths peer period
persist pipe plaintext pointomultipoint pointopoint poison poll port preexport prefer
preference prefix prepend primary print printn priority prohibit proto protocol protocols
ptmp ptp quad quitbird real receive recursive refresh reject rejected reload remote reset
resources restart restrict retransmit retry return reverse rfc1583compat rip rip_metric
rip_tag ro roa roa_check route router routes rr rs rt rx s scan scope secondary security
self sessions set setkey sha1 sha256 sha384 sha512 short show shutdown simple sockets soft
sorted source split stability stale start startup state states static stats status stderr
strict string stub stubnet summary suppression symbols syslog table tag template then tick
time timeformat timeout to topology trace translator transmit transparent true ttl tx type
undo unknown unreachable unset update us v6only version via virtual vrf wait warn warning
watchdog weight where yes zero ORIGIN_EGP ORIGIN_IGP ORIGIN_INCOMPLETE ROA_INVALID
ROA_UNKNOWN ROA_VALID RTC_ANYCAST RTC_BROADCAST RTC_MULTICAST RTC_UNICAST RTD_BLACKHOLE
RTD_DEVICE RTD_MULTIPATH RTD_PROHIBIT RTD_ROUTER RTD_UNREACHABLE RTS_BABEL RTS_BGP
RTS_DEVICE RTS_DUMMY RTS_INHERIT RTS_OSPF RTS_OSPF_EXT1 RTS_OSPF_EXT2 RTS_OSPF_IA RTS_PIPE
RTS_REDIRECT RTS_RIP RTS_STATIC RTS_STATIC_DEVICE SCOPE_HOST SCOPE_LINK SCOPE_ORGANIZATION
SCOPE_SITE SCOPE_UNDEFINED SCOPE_UNIVERSE
"""

# bird6 only
_BIRD6 = """
autonomous babel babel_metric config current dnssl domain entries high lifetime linger low
managed medium mtu mult ns onlink other preferred propagate ra ra_lifetime ra_preference
radv rdnss reachable retrans rxcost sensitive skip timer trigger valid wired wireless
RA_PREF_HIGH RA_PREF_LOW RA_PREF_MEDIUM
"""

BIRD_KEYWORDS = frozenset(_BIRD.split())
BIRD6_KEYWORDS = BIRD_KEYWORDS | frozenset(_BIRD6.split())


def reserved_words(family: int | None) -> frozenset[str]:
    """The keywords of ``bird`` (4) or ``bird6`` (6); None (a configuration
    for either daemon) reserves both sets."""
    return BIRD_KEYWORDS if family == 4 else BIRD6_KEYWORDS
