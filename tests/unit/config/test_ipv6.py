"""bird6 configurations: bgplabd6 reads them as bird6 does, bgplabd rejects
them as bird does, and a configuration of the wrong family is one line at
BIRD's file:line:col (positions checked against real bird and bird6 -p).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bgplab import net
from bgplab.config import BgpConfig, ConfigError, KernelConfig, StaticConfig, parse_file, parse_text
from bgplab.daemon import main6
from bgplab.rib.route import Dest
from tests.unit.config.helpers import FIXTURES

ROUTER6 = FIXTURES / "ipv6" / "router6_rr.conf"
CALICO = FIXTURES.parent / "calico"  # Calico's confd cases and ours, rendered
BIRD6 = Path("/opt/bird1/usr/sbin/bird6")
BIRD4 = Path("/opt/bird1/usr/sbin/bird")
V4_ROUTER = "This is an IPv4 router, therefore IPv6 addresses are not supported"
V6_ROUTER = "This is an IPv6 router, therefore IPv4 addresses are not supported"

WRONG_FAMILY = [
    # family, text, line, col, message (BIRD's positions; bird6 itself says "syntax error")
    (
        6,
        "router id 1.2.3.4;\nprotocol device { }\nprotocol static { route 10.0.0.0/8 blackhole; }",
        3,
        25,
        V6_ROUTER,
    ),
    (
        6,
        "router id 1.2.3.4;\nprotocol device { }\n"
        "protocol bgp x { local as 1; neighbor 10.0.0.1 as 2; }",
        3,
        39,
        V6_ROUTER,
    ),
    (
        6,
        "router id 1.2.3.4;\nprotocol device { }\n"
        "protocol static { route 2001:db8::/32 via 10.0.0.1; }",
        3,
        43,
        V6_ROUTER,
    ),
    (6, "router id 1.2.3.4;\nlisten bgp address 10.0.0.1;\nprotocol device { }", 2, 20, V6_ROUTER),
    (
        6,
        "protocol device { }\nprotocol bgp x { local as 1; neighbor fd00::1 as 2; }",
        1,
        0,
        "Router ID must be configured manually on IPv6 routers",
    ),
    (
        4,
        "router id 1.2.3.4;\nprotocol device { }\n"
        "protocol static { route 2001:db8::/32 blackhole; }",
        3,
        25,
        V4_ROUTER,
    ),
    (
        4,
        "router id 1.2.3.4;\nprotocol device { }\n"
        "protocol bgp x { local as 1; neighbor fd00::1 as 2; }",
        3,
        39,
        V4_ROUTER,
    ),
    (
        4,
        "router id 1.2.3.4;\nprotocol device { }\n"
        "protocol static { route 10.0.0.0/8 via fd00::1; }",
        3,
        40,
        V4_ROUTER,
    ),
    (
        4,
        "router id 1.2.3.4;\nfilter f { if net ~ fd00::/8 then accept; reject; }\n"
        "protocol device { }",
        2,
        21,
        V4_ROUTER,
    ),
]


@pytest.mark.parametrize(("family", "text", "line", "col", "msg"), WRONG_FAMILY)
def test_address_of_the_other_family(family: int, text: str, line: int, col: int, msg: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_text(text, "bird.conf", family=family)
    err = info.value
    assert (err.line, err.col) == (line, col), str(err)
    assert msg in str(err) and "\n" not in str(err)


MIXED = [
    # errors of any family mode (also the mixed one): the protocol is named
    (
        "router id 1.2.3.4;\nprotocol static { route 2001:db8::/32 via 10.0.0.1; }",
        2,
        43,
        "Gateway 10.0.0.1 is not an IPv6 address, as the route 2001:db8::/32 is",
    ),
    (
        "router id 1.2.3.4;\nprotocol static { route 10.0.0.0/8 multipath via 10.1.1.1 via fd00::1; }",
        2,
        63,
        "Gateway fd00::1 is not an IPv4 address, as the route 10.0.0.0/8 is",
    ),
    (
        "router id 1.2.3.4;\nprotocol bgp up { local 10.0.0.1 as 1; neighbor fd00::1 as 2; }",
        2,
        63,
        "BGP protocol up: local 10.0.0.1 and neighbor fd00::1 are of different address families",
    ),
    (
        "router id 1.2.3.4;\nlisten bgp address 10.0.0.1;\n"
        "protocol bgp up { local as 1; neighbor fd00::1 as 2; }",
        2,
        1,
        "BGP protocol up: neighbor fd00::1 cannot connect to listen bgp address 10.0.0.1",
    ),
]


@pytest.mark.parametrize(("text", "line", "col", "msg"), MIXED)
def test_mixed_family_mistakes(text: str, line: int, col: int, msg: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_text(text, "bird.conf")
    assert (info.value.line, info.value.col) == (line, col), str(info.value)
    assert msg in str(info.value)


def test_router_bird6_conf_in_the_seeds_style() -> None:
    cfg = parse_file(ROUTER6, family=6)
    assert str(cfg.router_id) == "192.168.0.40"
    bgp = [p for p in cfg.protocols if isinstance(p, BgpConfig)]
    assert [p.neighbor_address for p in bgp] == [
        "fd00:192:168::25",
        "fd00:192:168::7",
        "fd00:192:168:2::14",
        "fd00:192:168:2::15",
    ]
    assert {(p.source_address, p.rr_client, p.add_paths) for p in bgp} == {
        ("fd00:192:168::40", True, "on")
    }
    (kernel,) = [p for p in cfg.protocols if isinstance(p, KernelConfig)]
    assert kernel.learn and kernel.persist and kernel.merge_paths and kernel.graceful_restart
    with pytest.raises(ConfigError, match=V4_ROUTER):
        parse_file(ROUTER6, family=4)


def _calico_bird6() -> list[Path]:
    return sorted(CALICO.glob("**/bird6.cfg")) if CALICO.exists() else []


@pytest.mark.skipif(not _calico_bird6(), reason="Calico's confd test data is not here")
@pytest.mark.parametrize("path", _calico_bird6(), ids=lambda p: str(p.parent.relative_to(CALICO)))
def test_calicos_rendered_bird6_files(path: Path) -> None:
    """Calico's own golden bird6.cfg (with bird6_aggr.cfg and bird6_ipam.cfg
    included) loads unchanged; real bird6 -p agrees where it is installed."""
    cfg = parse_file(path, family=6)
    statics = [p for p in cfg.protocols if isinstance(p, StaticConfig)]
    for s in statics:
        assert all(net.is_v6(r.net) and r.dest == Dest.BLACKHOLE for r in s.routes)
    (kernel,) = [p for p in cfg.protocols if isinstance(p, KernelConfig)]
    assert kernel.merge_paths and kernel.graceful_restart and kernel.learn and kernel.persist
    assert "calico_kernel_programming" in cfg.filters
    if BIRD6.exists():
        res = subprocess.run([str(BIRD6), "-p", "-c", str(path)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    if BIRD4.exists():  # as bgplabd: bird accepts it only if it has no IPv6 address
        res = subprocess.run([str(BIRD4), "-p", "-c", str(path)], capture_output=True, text=True)
        try:
            parse_file(path, family=4)
        except ConfigError as exc:
            assert V4_ROUTER in str(exc) and V4_ROUTER in res.stderr
        else:
            assert res.returncode == 0, res.stderr


def test_bgplabd6_parse_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "bird6.conf"
    shutil.copy(ROUTER6, good)
    assert main6(["-p", "-c", str(good)]) == 0
    bad = tmp_path / "bad6.conf"
    bad.write_text("router id 1.2.3.4;\nprotocol static { route 10.0.0.0/8 blackhole; }\n")
    assert main6(["-p", "-c", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err == f"bgplabd: {bad}:2:25: {V6_ROUTER} (bgplabd runs bird configurations)\n"


def test_bgplabd6_defaults_are_bird6s() -> None:
    from bgplab.daemon import build_parser

    args = build_parser(6).parse_args([])
    assert (args.config, args.socket) == ("/etc/bird/bird6.conf", "/run/bird/bird6.ctl")
    args = build_parser(4).parse_args([])
    assert (args.config, args.socket) == ("/etc/bird/bird.conf", "/run/bird/bird.ctl")


def test_show_route_where_reads_literals_as_the_daemon_does() -> None:
    """bird rejects an IPv6 literal in `show route where` (its CLI reply is
    the config error); bird6 takes an IPv4 one (it matches nothing)."""
    from bgplab.filters.standalone import compile_where

    v4 = parse_text("router id 1.2.3.4;\nprotocol device { }", family=4)
    with pytest.raises(ConfigError, match=V4_ROUTER):
        compile_where("net ~ 2001:db8::/32", v4)
    v6 = parse_text("router id 1.2.3.4;\nprotocol device { }", family=6)
    compile_where("net ~ 10.0.0.0/8", v6)
    compile_where("net ~ 2001:db8::/32", parse_text("protocol device { }"))  # either family


def test_syslog_name_is_bird6s(monkeypatch: pytest.MonkeyPatch) -> None:
    """BIRD logs under its program name: bgplabd6 as bird6, so syslog rules
    written for bird6 keep matching."""
    import logging

    from bgplab import logsetup

    names: list[str] = []

    def fake(name: str) -> logging.Handler:
        names.append(name)
        return logging.NullHandler()

    monkeypatch.setattr(logsetup, "_syslog_handler", fake)
    base = "router id 1.2.3.4;\nprotocol device { }\n"
    level = logging.getLogger().level
    try:
        for family, extra in (
            (6, ""),
            (6, "log syslog all;\n"),
            (4, "log syslog all;\n"),
            (6, 'log syslog name "r6" all;\n'),
        ):
            logsetup.setup_logging(parse_text(extra + base, family=family))
    finally:  # leave the test process's logging as it was
        root = logging.getLogger()
        for h in logsetup._installed:
            root.removeHandler(h)
        logsetup._installed.clear()
        root.setLevel(level)
    assert names == ["bird6", "bird6", "bird", "r6"]
