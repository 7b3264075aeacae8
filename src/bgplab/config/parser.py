"""Recursive-descent parser of BIRD 1.x configuration into :mod:`model`.

Global options, ``define``, ``filter``, ``function``, ``table``, and
``protocol``/``template`` blocks for kernel, device, direct, static, bgp and
pipe. Options of a protocol are collected into a dict (starting from the
template's dict for ``from T``, so they merge field by field as in BIRD) and
turned into a frozen dataclass at the closing brace.

The parser is assembled from parts, one responsibility each:
:mod:`~bgplab.config.base` (state, small values),
:mod:`~bgplab.config.protocols` (protocol blocks and dispatch),
:mod:`~bgplab.config.proto_options` and :mod:`~bgplab.config.proto_bgp`
(per-kind options); this module holds the top level and global options.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from bgplab.config import model
from bgplab.config.bfd import BfdParser
from bgplab.config.cursor import NUM, STR, SYM
from bgplab.config.errors import ConfigError
from bgplab.config.lexer import Token, tokenize
from bgplab.config.proto_bgp import BgpOptions
from bgplab.config.proto_options import ProtoOptions
from bgplab.config.protocols import DEFAULT_PREFERENCE, PROTO_CLASSES, ProtocolParser
from bgplab.filters import ast
from bgplab.filters.compiler import NotConstant, eval_const
from bgplab.filters.filter import Filter, Function
from bgplab.filters.values import FilterRuntimeError, type_name

_TIMEFORMAT_SHORTHANDS = {
    ("iso", "short"): ("%T", "72000", "%F"),
    ("iso", "long"): ("%F %T",),
    ("old", "short"): ("%d-%m", "72000", "%d-%m-%Y"),  # approximation of BIRD's ad-hoc format
    ("old", "long"): ("%d-%m-%Y %T",),
}


class ConfigParser(ProtocolParser, BgpOptions, ProtoOptions, BfdParser):
    _listen_tok: Token

    # ---- entry ------------------------------------------------------------
    def parse(self) -> dict[str, Any]:
        self.symbols["master"] = "table"
        while not self.at_eof():
            self.parse_toplevel()
        last = self.toks[-2] if len(self.toks) > 1 else self.tok
        if not self.protocols:
            raise ConfigError(
                last.file, last.line, 0, "No protocol is specified in the config file"
            )
        if self.family == 6 and "router_id" not in self.g and "router_id_from" not in self.g:
            # bird6 has no IPv4 address to take a default router id from; it
            # names the whole file (line 1, column 0), as here
            raise ConfigError(
                self.filename, 1, 0, "Router ID must be configured manually on IPv6 routers"
            )
        self._check_listen_families()
        return self.g

    def _check_listen_families(self) -> None:
        """A neighbor that could never connect in: ``listen bgp address``
        of the other family than the neighbor's."""
        listen = self.g.get("listen_bgp")
        if listen is None or not listen.address:
            return
        lv = ipaddress.ip_address(listen.address).version
        for p in self.protocols:
            addr = getattr(p, "neighbor_address", None)
            if addr and ipaddress.ip_address(addr).version != lv:
                t = self._listen_tok
                self.error(
                    f"BGP protocol {p.name}: neighbor {addr} cannot connect to"
                    f" listen bgp address {listen.address} (another address family)",
                    t,
                )

    def parse_toplevel(self) -> None:
        t = self.tok
        if t.kind != SYM:
            self.unexpected()
        w = str(t.value)
        if w == "router" and self.peek().kind == SYM and self.peek().value == "id":
            self.next()
            self.next()
            if self.accept_sym("from"):
                self.g["router_id_from"] = self.parse_iface_patterns()
            else:
                self.g["router_id"] = self.parse_router_id()
            self.expect_end()
        elif w == "define":
            self.next()
            nt = self.tok
            name = self.expect_symbol()
            self.define_symbol(name, "constant", nt)
            self.expect_op("=")
            e = self.parse_expr()
            try:
                v = eval_const(e)
            except NotConstant:
                self.error("Constant expression required", nt)
            except FilterRuntimeError as exc:
                self.error(str(exc), nt)
            self.constants[name] = ast.Const(v, type_name(v))
            self.expect_end()
        elif w == "filter":
            self.next()
            nt = self.tok
            name = self.expect_symbol()
            self.define_symbol(name, "filter", nt)
            fd = self.parse_filter_def(t, name)
            self.filter_defs[name] = fd
            self.filters[name] = Filter(name, fd, self.compiler)
            self.accept_op(";")
        elif w == "function":
            self.next()
            nt = self.tok
            if nt.kind == SYM:
                self.define_symbol(str(nt.value), "function", nt)
            self.parse_function(t)
            self.accept_op(";")
        elif w == "table":
            self.next()
            nt = self.tok
            name = self.expect_symbol()
            if name != "master":  # BIRD lets a config "redefine" its master table
                self.define_symbol(name, "table", nt)
                self.g["tables"].append(name)
            self.accept_sym("sorted")
            self.expect_end()
        elif w in ("protocol", "template"):
            self.next()
            self.parse_protocol(t, template=(w == "template"))
        elif w == "listen":
            self._listen_tok = self.next()
            self.expect_sym("bgp")
            self.g["listen_bgp"] = self.parse_listen()
            self.expect_end()
        elif w == "timeformat":
            self.next()
            self.parse_timeformat()
        elif w == "log":
            self.next()
            self.parse_log()
        elif w == "debug":
            self.next()
            if self.accept_sym("protocols"):
                self.g["debug_protocols"] = self.parse_debug_flags()
            elif self.accept_sym("commands"):
                self.g["debug_commands"] = self.parse_int()
            elif self.accept_sym("latency"):
                if self.accept_sym("limit"):
                    self.parse_int()
                    self.accept_sym("s", "ms", "us")
                else:
                    self.parse_switch()
            else:
                self.unexpected()
            self.expect_end()
        elif w == "graceful":
            self.next()
            self.expect_sym("restart")
            self.expect_sym("wait")
            self.g["graceful_restart_wait"] = self.parse_int()
            self.expect_end()
        elif w in ("watchdog", "mrtdump"):
            # Accepted and ignored: no effect on routing.
            self.next()
            while not self.at_op(";"):
                if self.at_eof():
                    self.unexpected()
                if self.at_op("{"):
                    self._skip_braces()
                    continue
                self.next()
            self.expect_end()
        elif w == "eval":
            self.next()
            self.parse_expr()
            self.expect_end()
        elif w == "roa":
            self.error("ROA tables are not supported", t)
        else:
            self.unexpected()

    def parse_listen(self) -> model.ListenBgp:
        address = None
        port = 179
        v6only = dual = False
        while not self.at_op(";"):
            if self.accept_sym("address"):
                address = str(self.parse_ipaddr())
            elif self.accept_sym("port"):
                t = self.tok
                port = self.parse_int()
                if not 1 <= port <= 65535:
                    self.error(f"Invalid port {port}", t)
            elif self.accept_sym("v6only"):
                v6only = True
            elif self.accept_sym("dual"):
                dual = True
            else:
                self.unexpected()
        return model.ListenBgp(address, port, v6only, dual)

    def parse_timeformat(self) -> None:
        t = self.tok
        which = self.expect_name()
        if which not in ("route", "protocol", "base", "log"):
            self.unexpected(t)
        if self.tok.kind == SYM:
            a = self.expect_name()
            b = self.expect_name()
            fmt = _TIMEFORMAT_SHORTHANDS.get((a, b))
            if fmt is None:
                self.unexpected(t)
        else:
            f1 = self.expect_str()
            if self.tok.kind == NUM:
                limit = self.expect_num()
                f2 = self.expect_str()
                fmt = (f1, str(limit), f2)
            else:
                fmt = (f1,)
        self.g["timeformat"][which] = fmt
        self.expect_end()

    def parse_log(self) -> None:
        name = None
        if self.tok.kind == STR:
            target = self.expect_str()
        elif self.accept_sym("syslog"):
            target = "syslog"
            if self.accept_sym("name"):
                name = self.expect_str() if self.tok.kind == STR else self.expect_name()
        elif self.accept_sym("stderr"):
            target = "stderr"
        else:
            self.unexpected()
        if self.accept_sym("all"):
            classes = frozenset({"all"})
        else:
            self.expect_op("{")
            cl = set()
            while True:
                t = self.tok
                c = self.expect_name()
                if c not in ("debug", "trace", "info", "remote", "warning", "error", "auth",
                             "fatal", "bug"):  # fmt: skip
                    self.unexpected(t)
                cl.add(c)
                if not self.accept_op(","):
                    break
            self.expect_op("}")
            classes = frozenset(cl)
        self.g["log"].append(model.LogTarget(target, classes, name))
        self.expect_end()


def parse_tokens(
    tokens: list[Token], lines: dict[str, list[str]], filename: str, family: int | None = None
) -> tuple[dict[str, Any], ConfigParser]:
    p = ConfigParser(tokens, lines, filename, family)
    g = p.parse()
    # Compile every function once now, so errors and cost are at load time.
    for name in p.functions:
        p.compiler.function(name)
    return g, p


def build_config(
    text: str, filename: str, base_dir: Path | None, source: Path | None, family: int | None = None
) -> model.Config:
    """``family``: 4 for a ``bird`` configuration, 6 for a ``bird6`` one,
    None for a configuration that may carry both."""
    lines: dict[str, list[str]] = {}
    tokens = tokenize(text, filename, base_dir, sources=lines)
    g, p = parse_tokens(tokens, lines, filename, family)
    functions = {n: Function(fd, p.functions) for n, fd in p.functions.items()}
    templates = {}
    for tname, (kind, opts) in p.templates.items():
        o = dict(opts)
        o.setdefault("preference", DEFAULT_PREFERENCE[kind])
        templates[tname] = PROTO_CLASSES[kind](name=tname, kind=kind, template=True, **o)
    return model.Config(
        router_id=g.get("router_id"),
        router_id_from=g.get("router_id_from"),
        listen_bgp=g.get("listen_bgp", model.ListenBgp()),
        tables=tuple(g["tables"]),
        timeformat={**model.DEFAULT_TIMEFORMAT, **g["timeformat"]},
        log=tuple(g["log"]),
        debug_protocols=g["debug_protocols"],
        debug_commands=g.get("debug_commands", 0),
        graceful_restart_wait=g.get("graceful_restart_wait", 240),
        filters=dict(p.filters),
        functions=functions,
        constants={n: c.value for n, c in p.constants.items()},
        protocols=tuple(p.protocols),
        templates=templates,
        source_path=source,
        text=text,
        family=family,
    )
