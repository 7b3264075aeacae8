"""Recursive-descent parser of BIRD 1.x configuration into :mod:`model`.

Global options, ``define``, ``filter``, ``function``, ``table``, and
``protocol``/``template`` blocks for kernel, device, direct, static, bgp and
pipe. Options of a protocol are collected into a dict (starting from the
template's dict for ``from T``, so they merge field by field as in BIRD) and
turned into a frozen dataclass at the closing brace.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from bgplab import net as netmod
from bgplab.config import model
from bgplab.config.cursor import IP, NUM, OP, STR, SYM
from bgplab.config.errors import ConfigError
from bgplab.config.lexer import Token, tokenize
from bgplab.filters import ast
from bgplab.filters.compiler import Compiler, NotConstant, eval_const
from bgplab.filters.filter import ACCEPT_ALL, REJECT_ALL, Filter, Function
from bgplab.filters.parser import TYPES, FilterParser
from bgplab.filters.values import FilterRuntimeError, Prefix, type_name
from bgplab.rib.route import Dest, NextHop

PROTO_CLASSES: dict[str, type[model.ProtoConfig]] = {
    "kernel": model.KernelConfig,
    "device": model.DeviceConfig,
    "direct": model.DirectConfig,
    "static": model.StaticConfig,
    "bgp": model.BgpConfig,
    "pipe": model.PipeConfig,
}

# Default route preferences (BIRD 1.6 DEF_PREF_*)
DEFAULT_PREFERENCE = {
    "kernel": 10,
    "device": 240,
    "direct": 240,
    "static": 200,
    "bgp": 100,
    "pipe": 70,
}

_DEBUG_FLAGS = ("states", "routes", "filters", "interfaces", "events", "packets")
_LIMIT_ACTIONS = ("warn", "block", "restart", "disable")
_TIMEFORMAT_SHORTHANDS = {
    ("iso", "short"): ("%T", "72000", "%F"),
    ("iso", "long"): ("%F %T",),
    ("old", "short"): ("%d-%m", "72000", "%d-%m-%Y"),  # approximation of BIRD's ad-hoc format
    ("old", "long"): ("%d-%m-%Y %T",),
}


class ConfigParser(FilterParser):
    def __init__(self, tokens: list[Token], lines: dict[str, list[str]], filename: str) -> None:
        super().__init__(tokens, lines)
        self.filename = filename
        self.compiler = Compiler(self.functions)
        self.symbols: dict[str, str] = {}  # name -> what it is
        self.g: dict[str, Any] = {
            "tables": ["master"],
            "timeformat": {},
            "log": [],
            "debug_protocols": frozenset(),
        }
        self.filters: dict[str, Filter] = {}
        self.protocols: list[model.ProtoConfig] = []
        self.templates: dict[str, tuple[str, dict[str, Any]]] = {}
        self.proto_opts: dict[str, tuple[str, dict[str, Any]]] = {}
        self.name_counters: dict[str, int] = {}

    # ---- entry ------------------------------------------------------------
    def parse(self) -> dict[str, Any]:
        self.symbols["master"] = "table"
        while not self.at_eof():
            self.parse_toplevel()
        if not self.protocols:
            t = self.toks[-2] if len(self.toks) > 1 else self.tok
            raise ConfigError(t.file, t.line, 0, "No protocol is specified in the config file")
        return self.g

    def define_symbol(self, name: str, what: str, tok: Token) -> None:
        if name in self.symbols or name in self.constants:
            self.error("Symbol already defined", tok)
        self.symbols[name] = what

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
            name = self.expect_name()
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
            name = self.expect_name()
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
            name = self.expect_name()
            self.define_symbol(name, "table", nt)
            self.g["tables"].append(name)
            self.accept_sym("sorted")
            self.expect_end()
        elif w in ("protocol", "template"):
            self.next()
            self.parse_protocol(t, template=(w == "template"))
        elif w == "listen":
            self.next()
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

    def _skip_braces(self) -> None:
        depth = 0
        while True:
            t = self.next()
            if t.kind == "eof":
                self.unexpected(t)
            if t.kind == OP and t.value == "{":
                depth += 1
            elif t.kind == OP and t.value == "}":
                depth -= 1
                if depth == 0:
                    return

    # ---- small values -------------------------------------------------------
    def parse_int(self) -> int:
        t = self.tok
        if t.kind == NUM and not (self.peek().kind == OP and self.peek().value in "+-*/"):
            self.next()
            return int(t.value)
        e = self.parse_sum()
        try:
            v = eval_const(e)
        except (NotConstant, FilterRuntimeError):
            self.error("Number expected", t)
        if type(v) is not int:
            self.error(f"wrong type: number expected, got {type_name(v)}", t)
        return v

    def parse_ipaddr(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        t = self.tok
        if t.kind == IP:
            self.next()
            return self.parse_ip(t)
        if t.kind == SYM and str(t.value) in self.constants:
            self.next()
            v = self.constants[str(t.value)].value
            if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address):
                return v
            self.error(f"wrong type: IP address expected, got {type_name(v)}", t)
        if t.kind == STR:
            self.error(f'wrong type: IP address expected, got string "{t.value}"', t)
        self.unexpected()

    def parse_router_id(self) -> ipaddress.IPv4Address:
        t = self.tok
        if t.kind == NUM:
            v = self.parse_int()
            if not 0 <= v <= 0xFFFFFFFF:
                self.error("Router ID out of range", t)
            return ipaddress.IPv4Address(v)
        ip = self.parse_ipaddr()
        if not isinstance(ip, ipaddress.IPv4Address):
            self.error("Router ID must be an IPv4 address", t)
        return ip

    def parse_prefix(self) -> int:
        t = self.tok
        if t.kind == IP:
            self.next()
            return self.parse_prefix_after_ip(t)
        if t.kind == SYM and str(t.value) in self.constants:
            v = self.constants[str(t.value)].value
            if isinstance(v, Prefix):
                self.next()
                return int(v)
        if t.kind == NUM:
            self.error(f"Invalid network prefix: {t.value}", t)
        self.unexpected()

    def parse_switch(self) -> bool:
        """BIRD's switch: on/yes/off/no/number; empty means on."""
        t = self.tok
        if t.kind == OP and t.value == ";":
            return True
        if self.accept_sym("on", "yes"):
            return True
        if self.accept_sym("off", "no"):
            return False
        if t.kind == NUM or (t.kind == SYM and str(t.value) in self.constants):
            v = self.parse_int()
            return v != 0
        self.unexpected()

    def parse_debug_flags(self) -> frozenset[str]:
        if self.accept_sym("all"):
            return frozenset(_DEBUG_FLAGS)
        if self.accept_sym("off"):
            return frozenset()
        self.expect_op("{")
        flags = set()
        while True:
            t = self.tok
            name = self.expect_name()
            if name not in _DEBUG_FLAGS:
                self.unexpected(t)
            flags.add(name)
            if not self.accept_op(","):
                break
        self.expect_op("}")
        return frozenset(flags)

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

    def parse_iface_patterns(self) -> tuple[model.IfacePattern, ...]:
        out = []
        while True:
            neg = self.accept_op("-")
            mask = None
            prefix = None
            if self.tok.kind == STR:
                mask = self.expect_str()
            if self.tok.kind == IP:
                prefix = self.parse_prefix()
            if mask is None and prefix is None:
                self.unexpected()
            out.append(model.IfacePattern(neg, mask, prefix))
            if not self.accept_op(","):
                break
        return tuple(out)

    # ---- protocols ------------------------------------------------------------
    def parse_protocol(self, start: Token, template: bool) -> None:
        kt = self.tok
        kind = self.expect_name()
        if kind not in PROTO_CLASSES:
            self.error(f"Unknown protocol type {kind}", kt)
        name = None
        nt = self.tok
        if self.tok.kind == SYM and not self.at_sym("from"):
            name = self.expect_name()
            self.define_symbol(name, "template" if template else "protocol", nt)
        opts: dict[str, Any] = {}
        if self.accept_sym("from"):
            ft = self.tok
            base = self.expect_name()
            src = self.templates.get(base) or self.proto_opts.get(base)
            if src is None:
                self.error(f"{base}: template or protocol expected", ft)
            if src[0] != kind:
                self.error(f"Can't inherit from {src[0]} protocol {base}", ft)
            opts = {k: v for k, v in src[1].items() if k not in ("name", "template")}
        if name is None:
            name = self._default_name(kind)
            self.symbols[name] = "template" if template else "protocol"
        self.expect_op("{")
        while not self.at_op("}"):
            if self.at_eof():
                self.unexpected()
            self.parse_proto_option(kind, opts)
        end = self.expect_op("}")
        self.accept_op(";")
        if template:
            self.templates[name] = (kind, opts)
            return
        self.proto_opts[name] = (kind, opts)
        self.protocols.append(self.build_protocol(kind, name, opts, start, end))

    def _default_name(self, kind: str) -> str:
        n = self.name_counters.get(kind, 1)
        while f"{kind}{n}" in self.symbols:
            n += 1
        self.name_counters[kind] = n + 1
        return f"{kind}{n}"

    def build_protocol(
        self, kind: str, name: str, opts: dict[str, Any], start: Token, end: Token
    ) -> model.ProtoConfig:
        opts = dict(opts)
        opts.setdefault("preference", DEFAULT_PREFERENCE[kind])
        table = opts.get("table", "master")
        if kind == "device" and any(p.kind == "device" for p in self.protocols):
            self.error("Kernel device protocol already defined", end)
        if kind == "kernel":
            for p in self.protocols:
                if p.kind == "kernel" and p.table == table:
                    self.error(f"Kernel syncer ({p.name}) already attached to table {table}", end)
        if kind == "bgp":
            if not opts.get("local_as"):
                self.error("Local AS number must be set", end)
            if not opts.get("neighbor_address"):
                self.error("Neighbor must be configured", end)
            if not opts.get("neighbor_as"):
                self.error("Remote AS number must be set", end)
            if opts.get("rr_cluster_id") is not None and opts["local_as"] != opts["neighbor_as"]:
                self.error("Only internal neighbor can be RR client", end)
            if opts.get("rr_client") and opts["local_as"] != opts["neighbor_as"]:
                self.error("Only internal neighbor can be RR client", end)
            if opts.get("multihop") and opts.get("direct"):
                self.error("Multihop and direct are mutually exclusive", end)
        if kind == "pipe" and not opts.get("peer_table"):
            self.error("Name of peer routing table not specified", end)
        cls = PROTO_CLASSES[kind]
        return cls(name=name, kind=kind, source_line=start.line, **opts)

    def parse_filter_spec(self) -> Filter:
        t = self.tok
        if self.accept_sym("all"):
            return ACCEPT_ALL
        if self.accept_sym("none"):
            return REJECT_ALL
        if self.accept_sym("where"):
            fd = self.where_filter(t)
            return Filter(None, fd, self.compiler)
        if self.accept_sym("filter"):
            if self.at_op("{") or (self.tok.kind == SYM and self.tok.value in TYPES):
                fd = self.parse_filter_def(t, None)
                return Filter(None, fd, self.compiler)
            nt = self.tok
            name = self.expect_name()
            f = self.filters.get(name)
            if f is None:
                self.error("No such filter.", nt)
            return f
        self.unexpected()

    def parse_limit(self) -> model.Limit | None:
        if self.accept_sym("off"):
            count = None
        else:
            count = self.parse_int()
        action = "disable"
        if self.accept_sym("action"):
            t = self.tok
            action = self.expect_name()
            if action not in _LIMIT_ACTIONS:
                self.unexpected(t)
        return None if count is None else model.Limit(count, action)

    def parse_proto_option(self, kind: str, o: dict[str, Any]) -> None:
        t = self.tok
        if t.kind != SYM:
            self.unexpected()
        w = str(t.value)
        # generic options
        if w == "import" and self.peek().kind == SYM and self.peek().value in ("limit", "keep"):
            self.next()
            if self.accept_sym("limit"):
                o["import_limit"] = self.parse_limit()
            else:
                self.expect_sym("keep")
                self.expect_sym("filtered")
                o["import_keep_filtered"] = self.parse_switch()
        elif w == "import":
            self.next()
            o["import_filter"] = self.parse_filter_spec()
        elif w == "export" and self.peek().kind == SYM and self.peek().value == "limit":
            self.next()
            self.next()
            o["export_limit"] = self.parse_limit()
        elif w == "export":
            self.next()
            o["export_filter"] = self.parse_filter_spec()
        elif w == "receive":
            self.next()
            self.expect_sym("limit")
            o["receive_limit"] = self.parse_limit()
        elif w == "description":
            self.next()
            o["description"] = self.expect_str()
        elif w == "debug":
            self.next()
            o["debug"] = self.parse_debug_flags()
        elif w == "mrtdump":
            self.next()
            self.parse_debug_flags() if not self.at_op("{") else self._skip_braces()
        elif w == "disabled":
            self.next()
            o["disabled"] = self.parse_switch()
        elif w == "preference":
            self.next()
            v = self.parse_int()
            if not 0 <= v <= 0xFFFF:
                self.error("Invalid preference", t)
            o["preference"] = v
        elif w == "router" and self.peek().kind == SYM and self.peek().value == "id":
            self.next()
            self.next()
            o["router_id"] = self.parse_router_id()
        elif w == "table":
            self.next()
            nt = self.tok
            name = self.expect_name()
            if name not in self.g["tables"]:
                self.error(f"{name}: table expected", nt)
            o["table"] = name
        elif w == "vrf":
            self.error("vrf is not supported", t)
        else:
            handler = getattr(self, f"opt_{kind}")
            if not handler(w, o):
                self.unexpected()
            return
        self.expect_end()

    # Each opt_<kind> returns False when the keyword is not one of its options;
    # it consumes the terminating ';' itself.

    def opt_kernel(self, w: str, o: dict[str, Any]) -> bool:
        if w == "learn":
            self.next()
            o["learn"] = self.parse_switch()
        elif w == "persist":
            self.next()
            o["persist"] = self.parse_switch()
        elif w == "scan":
            self.next()
            self.expect_sym("time")
            o["scan_time"] = self.parse_int()
        elif w == "graceful":
            self.next()
            self.expect_sym("restart")
            o["graceful_restart"] = self.parse_switch()
        elif w == "merge":
            self.next()
            self.expect_sym("paths")
            o["merge_paths"] = self.parse_switch() if not self.at_sym("limit") else True
            if self.accept_sym("limit"):
                o["merge_paths_limit"] = self.parse_int()
        elif w == "device":
            self.next()
            self.expect_sym("routes")
            o["device_routes"] = self.parse_switch()
        elif w == "kernel":
            self.next()
            self.expect_sym("table")
            o["kernel_table"] = self.parse_int()
        elif w == "metric":
            self.next()
            o["metric"] = self.parse_int()
        else:
            return False
        self.expect_end()
        return True

    def opt_device(self, w: str, o: dict[str, Any]) -> bool:
        if w == "scan":
            self.next()
            self.expect_sym("time")
            o["scan_time"] = self.parse_int()
        elif w == "primary":
            self.next()
            mask = self.expect_str() if self.tok.kind == STR else None
            o["primary"] = o.get("primary", ()) + ((mask, self.parse_prefix()),)
        else:
            return False
        self.expect_end()
        return True

    def opt_direct(self, w: str, o: dict[str, Any]) -> bool:
        if w == "interface":
            self.next()
            pats = self.parse_iface_patterns()
            if self.at_op("{"):
                self._skip_braces()
            o["interfaces"] = o.get("interfaces", ()) + pats
        elif w == "check":
            self.next()
            self.expect_sym("link")
            o["check_link"] = self.parse_switch()
        else:
            return False
        self.expect_end()
        return True

    def opt_pipe(self, w: str, o: dict[str, Any]) -> bool:
        if w == "peer":
            self.next()
            self.expect_sym("table")
            nt = self.tok
            name = self.expect_name()
            if name not in self.g["tables"]:
                self.error(f"{name}: table expected", nt)
            o["peer_table"] = name
        elif w == "mode":
            self.next()
            t = self.tok
            mode = self.expect_name()
            if mode not in ("opaque", "transparent"):
                self.unexpected(t)
            o["mode"] = mode
        else:
            return False
        self.expect_end()
        return True

    def opt_static(self, w: str, o: dict[str, Any]) -> bool:
        if w == "check":
            self.next()
            self.expect_sym("link")
            o["check_link"] = self.parse_switch()
            self.expect_end()
            return True
        if w == "igp":
            self.next()
            self.expect_sym("table")
            o["igp_table"] = self.expect_name()
            self.expect_end()
            return True
        if w != "route":
            return False
        start = self.next()
        n = self.parse_prefix()
        kw = self.tok
        route: model.StaticRoute
        if self.accept_sym("via"):
            if self.tok.kind == STR:
                route = model.StaticRoute(n, Dest.DEVICE, iface=self.expect_str())
            else:
                gw = str(self.parse_ipaddr())
                if self.at_sym("weight", "bfd"):
                    self.unexpected()
                route = model.StaticRoute(n, Dest.ROUTER, gw=gw)
                self._skip_bfd()
        elif self.accept_sym("multipath"):
            hops = []
            while self.accept_sym("via"):
                gw = str(self.parse_ipaddr())
                iface = None
                weight = 1
                while self.at_sym("weight", "bfd"):
                    if self.accept_sym("weight"):
                        wt = self.tok
                        weight = self.parse_int()
                        if not 1 <= weight <= 256:
                            self.error("Weight must be in range 1-256", wt)
                    else:
                        self._skip_bfd()
                hops.append(NextHop(gw, iface, weight))
            if not hops:
                self.unexpected()
            route = model.StaticRoute(n, Dest.MULTIPATH, nexthops=tuple(hops))
        elif self.accept_sym("recursive"):
            route = model.StaticRoute(n, Dest.ROUTER, gw=str(self.parse_ipaddr()), recursive=True)
        elif self.accept_sym("blackhole", "drop"):
            route = model.StaticRoute(n, Dest.BLACKHOLE)
        elif self.accept_sym("unreachable", "reject"):
            route = model.StaticRoute(n, Dest.UNREACHABLE)
        elif self.accept_sym("prohibit"):
            route = model.StaticRoute(n, Dest.PROHIBIT)
        else:
            self.unexpected(kw)
        if self.at_op("{"):
            fd = self._per_route_filter(start)
            route = model.StaticRoute(
                route.net,
                route.dest,
                route.gw,
                route.iface,
                route.nexthops,
                route.recursive,
                Filter(None, fd, self.compiler),
            )
            self.accept_op(";")
        else:
            self.expect_end()
        o["routes"] = o.get("routes", ()) + (route,)
        return True

    def _skip_bfd(self) -> None:
        if self.accept_sym("bfd") and (
            self.at_sym("on", "off", "yes", "no") or self.tok.kind == NUM
        ):
            self.parse_switch()

    def _per_route_filter(self, start: Token) -> ast.FilterDef:
        """``route … { bgp_local_pref = 5; }``: statements, then accept."""
        fd = self.parse_filter_def(start, None)
        body = ast.Block(fd.body.body + (ast.Accept(line=start.line, file=start.file),),
                         line=start.line, file=start.file)  # fmt: skip
        return ast.FilterDef(None, fd.local_vars, body, fd.calls, line=start.line, file=start.file)

    def opt_bgp(self, w: str, o: dict[str, Any]) -> bool:
        t = self.tok
        nxt = self.peek()
        nv = nxt.value if nxt.kind == SYM else None
        if w == "local":
            self.next()
            if self._at_ip():
                o["local_address"] = str(self.parse_ipaddr())
            if self.accept_sym("as"):
                o["local_as"] = self.parse_asn()
        elif w == "neighbor":
            self.next()
            if self._at_ip():
                if o.get("neighbor_address"):
                    self.error("Only one neighbor per BGP instance is allowed", t)
                o["neighbor_address"] = str(self.parse_ipaddr())
            if self.accept_sym("port"):
                pt = self.tok
                port = self.parse_int()
                if not 1 <= port <= 65535:
                    self.error(f"Invalid port {port}", pt)
                o["neighbor_port"] = port
            if self.accept_sym("as"):
                o["neighbor_as"] = self.parse_asn()
        elif w == "interface":
            self.next()
            o["interface"] = self.expect_str()
        elif w == "direct":
            self.next()
            o["direct"] = True
            o["multihop"] = 0
        elif w == "multihop":
            self.next()
            if self.at_op(";"):
                o["multihop"] = 64
            else:
                mt = self.tok
                v = self.parse_int()
                if not 1 <= v <= 255:
                    self.error("Multihop must be in range 1-255", mt)
                o["multihop"] = v
            o["direct"] = False
        elif w == "source":
            self.next()
            self.expect_sym("address")
            o["source_address"] = str(self.parse_ipaddr())
        elif w == "next" and nv == "hop":
            self.next()
            self.next()
            if self.accept_sym("self"):
                o["next_hop_self"] = True
            elif self.accept_sym("keep"):
                o["next_hop_keep"] = True
            else:
                self.unexpected()
        elif w == "missing":
            self.next()
            self.expect_sym("lladdr")
            mt = self.tok
            v = self.expect_name()
            if v not in ("self", "drop", "ignore"):
                self.unexpected(mt)
            o["missing_lladdr"] = v
        elif w == "gateway":
            self.next()
            gt = self.tok
            v = self.expect_name()
            if v not in ("direct", "recursive"):
                self.unexpected(gt)
            o["gateway"] = v
        elif w == "igp" and nv == "table":
            self.next()
            self.next()
            nt = self.tok
            name = self.expect_name()
            if name not in self.g["tables"]:
                self.error(f"{name}: table expected", nt)
            o["igp_table"] = name
        elif w == "igp" and nv == "metric":
            self.next()
            self.next()
            o["igp_metric"] = self.parse_switch()
        elif w == "check" and nv == "link":
            self.next()
            self.next()
            o["check_link"] = self.parse_switch()
        elif w == "bfd":
            self.next()
            o["bfd"] = True if self.accept_sym("graceful") else self.parse_switch()
        elif w == "ttl":
            self.next()
            self.expect_sym("security")
            o["ttl_security"] = self.parse_switch()
        elif w == "password":
            self.next()
            o["password"] = self.expect_str()
        elif w == "setkey":
            self.next()
            self.parse_switch()
        elif w == "passive":
            self.next()
            o["passive"] = self.parse_switch()
        elif w == "rr":
            self.next()
            if self.accept_sym("client"):
                o["rr_client"] = True
            else:
                self.expect_sym("cluster")
                self.expect_sym("id")
                o["rr_cluster_id"] = self.parse_router_id()
        elif w == "rs":
            self.next()
            self.expect_sym("client")
            o["rs_client"] = True
        elif w == "secondary":
            self.next()
            o["secondary"] = self.parse_switch()
        elif w == "add":
            self.next()
            self.expect_sym("paths")
            if self.accept_sym("rx"):
                o["add_paths"] = "rx"
            elif self.accept_sym("tx"):
                o["add_paths"] = "tx"
            else:
                o["add_paths"] = "on" if self.parse_switch() else "off"
        elif w == "allow" and nv == "local":
            self.next()
            self.next()
            self.expect_sym("as")
            o["allow_local_as"] = 0xFFFFFFFF if self.at_op(";") else self.parse_int()
        elif w == "allow" and nv == "bgp_local_pref":
            self.next()
            self.next()
            o["allow_local_pref"] = self.parse_switch()
        elif w == "enable":
            self.next()
            if self.accept_sym("route"):
                self.expect_sym("refresh")
                o["enable_route_refresh"] = self.parse_switch()
            elif self.accept_sym("as4"):
                o["enable_as4"] = self.parse_switch()
            elif self.accept_sym("extended"):
                self.expect_sym("messages")
                o["enable_extended_messages"] = self.parse_switch()
            else:
                self.unexpected()
        elif w == "graceful":
            self.next()
            self.expect_sym("restart")
            if self.accept_sym("time"):
                o["graceful_restart_time"] = self.parse_int()
            elif self.accept_sym("aware"):
                o["graceful_restart"] = "aware"
            else:
                o["graceful_restart"] = "on" if self.parse_switch() else "off"
        elif w == "long":
            self.next()
            self.expect_sym("lived")
            if self.accept_sym("stale"):
                self.expect_sym("time")
                self.parse_int()
            else:
                self.expect_sym("graceful")
                self.expect_sym("restart")
                if self.accept_sym("aware"):
                    o["long_lived_graceful_restart"] = "aware"
                else:
                    o["long_lived_graceful_restart"] = "on" if self.parse_switch() else "off"
        elif w == "interpret":
            self.next()
            self.expect_sym("communities")
            o["interpret_communities"] = self.parse_switch()
        elif w == "capabilities":
            self.next()
            o["capabilities"] = self.parse_switch()
        elif w == "advertise":
            self.next()
            self.expect_sym("ipv4")
            o["advertise_ipv4"] = self.parse_switch()
        elif w == "route" and nv == "limit":
            self.next()
            self.next()
            v = self.parse_int()
            o["route_limit"] = v
            o["import_limit"] = model.Limit(v, "restart")
        elif w == "disable":
            self.next()
            self.expect_sym("after")
            if self.accept_sym("error"):
                o["disable_after_error"] = self.parse_switch()
            else:
                self.expect_sym("cease")
                if self.at_op("{"):
                    self._skip_braces()
                else:
                    self.parse_switch()
        elif w in ("hold", "keepalive", "connect", "error", "startup"):
            self.next()
            if w == "connect":
                sub = self.expect_name()
                if sub not in ("delay", "retry"):
                    self.unexpected(self.toks[self.pos - 1])
                key = f"connect_{sub}_time"
            elif w == "startup":
                self.expect_sym("hold")
                key = "startup_hold_time"
            elif w == "error":
                sub = self.expect_name()
                if sub not in ("wait", "forget"):
                    self.unexpected(self.toks[self.pos - 1])
                key = f"error_{sub}_time"
            else:
                key = f"{w}_time"
            self.expect_sym("time")
            vt = self.tok
            v = self.parse_int()
            if key == "error_wait_time":
                self.expect_op(",")
                v2 = self.parse_int()
                if not 0 < v <= v2:
                    self.error("Error wait time must be positive and min <= max", vt)
                o[key] = (v, v2)
            else:
                if key == "hold_time" and v != 0 and v < 3 or v > 65535:
                    self.error("Hold time must be in range 3-65535 or zero", vt)
                o[key] = v
        elif w in ("path", "med", "deterministic", "prefer"):
            self.next()
            sub = self.expect_name()
            key = {
                ("path", "metric"): "path_metric",
                ("med", "metric"): "med_metric",
                ("deterministic", "med"): "deterministic_med",
                ("prefer", "older"): "prefer_older",
            }.get((w, sub))
            if key is None:
                self.unexpected(self.toks[self.pos - 1])
            o[key] = self.parse_switch()
        elif w == "default":
            self.next()
            at = self.tok
            a = self.expect_name()
            if a == "bgp_local_pref":
                o["default_local_pref"] = self.parse_int()
            elif a == "bgp_med":
                o["default_med"] = self.parse_int()
            else:
                self.unexpected(at)
        else:
            return False
        self.expect_end()
        return True

    def _at_ip(self) -> bool:
        t = self.tok
        if t.kind == IP:
            return True
        c = self.constants.get(str(t.value)) if t.kind == SYM else None
        return c is not None and isinstance(c.value, ipaddress.IPv4Address | ipaddress.IPv6Address)

    def parse_asn(self) -> int:
        t = self.tok
        v = self.parse_int()
        if not 0 < v <= 0xFFFFFFFF:
            self.error(f"AS number out of range: {v}", t)
        return v


def parse_tokens(
    tokens: list[Token], lines: dict[str, list[str]], filename: str
) -> tuple[dict[str, Any], ConfigParser]:
    p = ConfigParser(tokens, lines, filename)
    g = p.parse()
    # Compile every function once now, so errors and cost are at load time.
    for name in p.functions:
        p.compiler.function(name)
    return g, p


def build_config(
    text: str, filename: str, base_dir: Path | None, source: Path | None
) -> model.Config:
    lines: dict[str, list[str]] = {}
    tokens = tokenize(text, filename, base_dir, sources=lines)
    g, p = parse_tokens(tokens, lines, filename)
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
    )


_ = netmod  # prefixes are parsed through FilterParser helpers
