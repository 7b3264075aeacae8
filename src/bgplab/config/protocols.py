"""``protocol``/``template`` blocks: names, ``from T`` inheritance, the
options every protocol shares, the per-kind dispatch and the checks BIRD makes
at the closing brace.

A protocol kind is a row in :data:`PROTO_CLASSES` and :data:`DEFAULT_PREFERENCE`
plus an ``opt_<kind>(word, opts) -> bool`` method on the parser (see
:mod:`bgplab.config.proto_options` and :mod:`bgplab.config.proto_bgp`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bgplab.config import model
from bgplab.config.base import ConfigBase
from bgplab.config.bfd import BfdConfig
from bgplab.config.cursor import SYM
from bgplab.config.lexer import Token

PROTO_CLASSES: dict[str, type[model.ProtoConfig]] = {
    "kernel": model.KernelConfig,
    "device": model.DeviceConfig,
    "direct": model.DirectConfig,
    "static": model.StaticConfig,
    "bgp": model.BgpConfig,
    "pipe": model.PipeConfig,
    "bfd": BfdConfig,
}

# Default route preferences (BIRD 1.6 DEF_PREF_*)
DEFAULT_PREFERENCE = {
    "kernel": 10,
    "device": 240,
    "direct": 240,
    "static": 200,
    "bgp": 100,
    "pipe": 70,
    "bfd": 0,
}


class ProtocolParser(ConfigBase):
    def parse_protocol(self, start: Token, template: bool) -> None:
        kt = self.tok
        kind = self.expect_name()
        if kind not in PROTO_CLASSES:
            self.error(f"Unknown protocol type {kind}", kt)
        name = None
        nt = self.tok
        if self.tok.kind == SYM and not self.at_sym("from"):
            name = self.expect_symbol()
            self.define_symbol(name, "template" if template else "protocol", nt)
        opts: dict[str, Any] = {}
        if self.accept_sym("from"):
            ft = self.tok
            base = self.expect_symbol()
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
            if opts.get("bfd") and not (opts.get("source_address") or opts.get("local_address")):
                internal = opts["local_as"] == opts["neighbor_as"]  # BIRD: iBGP is multihop
                if opts.get("multihop") or (internal and not opts.get("direct")):
                    self.error("Multihop BGP with BFD requires specified source address", end)
            self._check_bgp_families(name, opts, end)
        if kind == "pipe" and not opts.get("peer_table"):
            self.error("Name of peer routing table not specified", end)
        cls = PROTO_CLASSES[kind]
        return cls(name=name, kind=kind, source_line=start.line, **opts)

    def _check_bgp_families(self, name: str, opts: dict[str, Any], end: Token) -> None:
        """One session has one transport family: the local and source
        addresses must be of the neighbor's (a daemon of one family has
        rejected the other family's addresses already)."""
        neighbor = ipaddress.ip_address(opts["neighbor_address"])
        if neighbor.is_link_local and not opts.get("interface"):
            self.error("Link-local neighbor address requires specified interface", end)
        for key, what in (("local_address", "local"), ("source_address", "source address")):
            addr = opts.get(key)
            if addr and ipaddress.ip_address(addr).version != neighbor.version:
                self.error(
                    f"BGP protocol {name}: {what} {addr} and neighbor {neighbor}"
                    " are of different address families",
                    end,
                )

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
            name = self.expect_symbol()
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
