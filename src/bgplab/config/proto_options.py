"""Options of the kernel, device, direct, pipe and static protocols.

Each ``opt_<kind>`` returns False when the keyword is not one of its options;
it consumes the terminating ``;`` itself.
"""

from __future__ import annotations

from typing import Any

from bgplab import net as netmod
from bgplab.config import model
from bgplab.config.base import FAMILY_NAMES, ConfigBase
from bgplab.config.cursor import NUM, STR
from bgplab.config.lexer import Token
from bgplab.filters import ast
from bgplab.filters.filter import Filter
from bgplab.rib.route import Dest, NextHop


class ProtoOptions(ConfigBase):
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
            name = self.expect_symbol()
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
                gw = self._gateway(n)
                if self.at_sym("weight", "bfd"):
                    self.unexpected()
                route = model.StaticRoute(n, Dest.ROUTER, gw=gw)
                self._skip_bfd()
        elif self.accept_sym("multipath"):
            hops = []
            while self.accept_sym("via"):
                gw = self._gateway(n)
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
            route = model.StaticRoute(n, Dest.ROUTER, gw=self._gateway(n), recursive=True)
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

    def _gateway(self, net: int) -> str:
        """A static route's next hop, of the route's own address family."""
        t = self.tok
        ip = self.parse_ipaddr()
        if (ip.version == 6) != netmod.is_v6(net):
            fam = FAMILY_NAMES[6 if netmod.is_v6(net) else 4]
            self.error(
                f"Gateway {ip} is not an {fam} address, as the route {netmod.to_str(net)} is", t
            )
        return str(ip)

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
