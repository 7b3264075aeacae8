"""State and small-value productions shared by the configuration parser's
parts (numbers, addresses, prefixes, switches, interface patterns, limits,
filter specs). Each part of :class:`~bgplab.config.parser.ConfigParser` is a
subclass of :class:`ConfigBase`, combined by multiple inheritance."""

from __future__ import annotations

import ipaddress
from typing import Any

from bgplab import net as netmod
from bgplab.config import model
from bgplab.config.cursor import IP, NUM, OP, STR, SYM
from bgplab.config.lexer import Token
from bgplab.config.reserved import reserved_words
from bgplab.filters.compiler import Compiler, NotConstant, eval_const
from bgplab.filters.filter import ACCEPT_ALL, REJECT_ALL, Filter
from bgplab.filters.parser import TYPES, FilterParser
from bgplab.filters.values import FilterRuntimeError, Prefix, type_name

# What the daemon is a drop-in for: BIRD 1.6 builds one binary per family.
FAMILY_NAMES = {4: "IPv4", 6: "IPv6"}

DEBUG_FLAGS = ("states", "routes", "filters", "interfaces", "events", "packets")
_LIMIT_ACTIONS = ("warn", "block", "restart", "disable")


class ConfigBase(FilterParser):
    def __init__(
        self,
        tokens: list[Token],
        lines: dict[str, list[str]],
        filename: str,
        family: int | None = None,
    ) -> None:
        super().__init__(tokens, lines)
        self.filename = filename
        # 4: bird's config (bgplabd), 6: bird6's (bgplabd6), None: either family
        self.family = family
        self.reserved = reserved_words(family)
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

    def define_symbol(self, name: str, what: str, tok: Token) -> None:
        if name in self.symbols or name in self.constants:
            self.error("Symbol already defined", tok)
        self.symbols[name] = what

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
        # (an OP token's value is a str: type: ignore[operator])
        if t.kind == NUM and not (self.peek().kind == OP and self.peek().value in "+-*/"):  # type: ignore[operator]
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

    # ---- address families ---------------------------------------------------
    def check_family(self, version: int, tok: Token) -> None:
        """An address of the other family than the daemon's: BIRD's words
        (``bird`` rejects every IPv6 literal; ``bird6`` has no IPv4 prefixes,
        neighbors or next hops, only the dotted-quad router id)."""
        if self.family is None or version == self.family:
            return
        other = FAMILY_NAMES[version]
        self.error(
            f"This is an {FAMILY_NAMES[self.family]} router, therefore {other} addresses"
            f" are not supported ({'bgplabd6' if version == 6 else 'bgplabd'} runs"
            f" {'bird6' if version == 6 else 'bird'} configurations)",
            tok,
        )

    def parse_ip(self, tok: Token) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        ip = super().parse_ip(tok)
        if ip.version == 6 and self.family == 4:
            self.check_family(6, tok)  # as bird's lexer: also inside filters
        return ip

    def parse_ipaddr(
        self, any_family: bool = False
    ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        """An address of the daemon's family (``any_family``: either, for
        the dotted-quad router and cluster ids)."""
        t = self.tok
        ip = self._parse_ipaddr()
        if not any_family:
            self.check_family(ip.version, t)
        return ip

    def _parse_ipaddr(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
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
        ip = self.parse_ipaddr(any_family=True)
        if not isinstance(ip, ipaddress.IPv4Address):
            self.error("Router ID must be an IPv4 address", t)
        return ip

    def parse_prefix(self) -> int:
        t = self.tok
        if t.kind == IP:
            self.next()
            net = self.parse_prefix_after_ip(t)
            self.check_family(6 if netmod.is_v6(net) else 4, t)
            return net
        if t.kind == SYM and str(t.value) in self.constants:
            v = self.constants[str(t.value)].value
            if isinstance(v, Prefix):
                self.next()
                self.check_family(6 if netmod.is_v6(int(v)) else 4, t)
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
            return frozenset(DEBUG_FLAGS)
        if self.accept_sym("off"):
            return frozenset()
        self.expect_op("{")
        flags = set()
        while True:
            t = self.tok
            name = self.expect_name()
            if name not in DEBUG_FLAGS:
                self.unexpected(t)
            flags.add(name)
            if not self.accept_op(","):
                break
        self.expect_op("}")
        return frozenset(flags)

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
            name = self.expect_symbol()
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
