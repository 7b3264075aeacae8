"""BIRD 1.6's ``protocol bfd`` block: its model and its options.

::

    protocol bfd [name] {
        interface "eth*", "-lo" { interval 100 ms; multiplier 3; passive on; };
        multihop { min rx interval 200 ms; min tx interval 200 ms; idle tx interval 1 s; };
        neighbor 192.0.2.1 [dev "eth0"] [local 192.0.2.2] [multihop on];
    }

Times take a unit (``s``, ``ms``, ``us``) as in BIRD, which refuses a bare
number. Options of an ``interface`` clause apply to sessions on a matching
interface (the first clause that matches), ``multihop`` to multihop
sessions; BIRD's defaults otherwise (min rx 10 ms, min tx 100 ms, idle tx
1 s, multiplier 5, active).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bgplab.bfd.session import Options as BfdOptions  # one set of BIRD's defaults
from bgplab.config import model
from bgplab.config.base import ConfigBase
from bgplab.config.cursor import NUM

_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1}


@dataclass(frozen=True)
class BfdIface:
    patterns: tuple[model.IfacePattern, ...]
    options: BfdOptions = BfdOptions()


@dataclass(frozen=True)
class BfdNeighbor:
    address: str
    iface: str | None = None
    local: str | None = None
    multihop: bool = False


@dataclass(frozen=True)
class BfdConfig(model.ProtoConfig):
    interfaces: tuple[BfdIface, ...] = ()
    multihop: BfdOptions | None = None
    neighbors: tuple[BfdNeighbor, ...] = ()

    def options_for(self, iface: str | None, multihop: bool) -> BfdOptions:
        """The options of a session on ``iface`` (BIRD's first match)."""
        if multihop:
            return self.multihop or BfdOptions()
        for clause in self.interfaces:
            if iface is not None and model.match_interfaces(clause.patterns, iface):
                return clause.options
        return BfdOptions()


class BfdParser(ConfigBase):
    def opt_bfd(self, w: str, o: dict[str, Any]) -> bool:
        if w == "interface":
            self.next()
            pats = self.parse_iface_patterns()
            o["interfaces"] = o.get("interfaces", ()) + (BfdIface(pats, self._bfd_options()),)
        elif w == "multihop":
            self.next()
            o["multihop"] = self._bfd_options()
        elif w == "neighbor":
            self.next()
            o["neighbors"] = o.get("neighbors", ()) + (self._bfd_neighbor(),)
        else:
            return False
        self.expect_end()
        return True

    def _bfd_neighbor(self) -> BfdNeighbor:
        addr = str(self.parse_ipaddr())
        iface = local = None
        multihop = False
        if self.accept_sym("dev"):
            iface = self.expect_str()
        if self.accept_sym("local"):
            local = str(self.parse_ipaddr())
        if self.accept_sym("multihop"):
            multihop = self.parse_switch()
        return BfdNeighbor(addr, iface, local, multihop)

    def _bfd_options(self) -> BfdOptions:
        """An optional ``{ interval 50 ms; … }`` block."""
        v: dict[str, Any] = {}
        if not self.accept_op("{"):
            return BfdOptions()
        while not self.accept_op("}"):
            t = self.tok
            w = self.expect_name()
            if w == "interval":
                v["min_rx"] = v["min_tx"] = self._time_us()
            elif w in ("min", "idle"):
                wt = self.tok
                which = self.expect_name()
                if which not in (("tx",) if w == "idle" else ("rx", "tx")):
                    self.unexpected(wt)
                self.expect_sym("interval")
                v["idle_tx" if w == "idle" else f"min_{which}"] = self._time_us()
            elif w == "multiplier":
                v["multiplier"] = self.parse_int()
                if not 1 <= v["multiplier"] <= 255:
                    self.error("BFD multiplier must be in range 1-255", t)
            elif w == "passive":
                v["passive"] = self.parse_switch()
            else:
                self.unexpected(t)
            self.expect_end()
        return BfdOptions(**v)

    def _time_us(self) -> int:
        """``100 ms``: BIRD's expr_us (a number and a unit)."""
        t = self.tok
        if t.kind != NUM:
            self.unexpected(t)
        n = self.parse_int()
        unit = self.tok
        if not self.accept_sym(*_UNITS):
            self.unexpected(unit)
        us = n * _UNITS[str(unit.value)]
        if not 0 < us < 1 << 32:
            self.error("BFD interval must be in range 1 us - 4294 s", t)
        return us
