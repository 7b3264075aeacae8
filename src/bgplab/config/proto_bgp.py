"""Options of the ``bgp`` protocol (BIRD 1.6 grammar)."""

from __future__ import annotations

from typing import Any

from bgplab.config import model
from bgplab.config.base import ConfigBase
from bgplab.config.cursor import IP, SYM


class BgpOptions(ConfigBase):
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
                at = self.tok
                o["neighbor_address"] = str(self.parse_ipaddr())
                if at.kind == IP and "%" in str(at.value):
                    # fe80::1%eth0: a link-local neighbor's interface (BIRD's ipa_scope)
                    o["interface"] = str(at.value).split("%", 1)[1]
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
            mode = self.expect_name()
            if mode not in ("self", "drop", "ignore"):
                self.unexpected(mt)
            o["missing_lladdr"] = mode
        elif w == "gateway":
            self.next()
            gt = self.tok
            mode = self.expect_name()
            if mode not in ("direct", "recursive"):
                self.unexpected(gt)
            o["gateway"] = mode
        elif w == "igp" and nv == "table":
            self.next()
            self.next()
            nt = self.tok
            name = self.expect_symbol()
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
            o["bfd"] = "graceful" if self.accept_sym("graceful") else self.parse_switch()
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
            opt = {
                ("path", "metric"): "path_metric",
                ("med", "metric"): "med_metric",
                ("deterministic", "med"): "deterministic_med",
                ("prefer", "older"): "prefer_older",
            }.get((w, sub))
            if opt is None:
                self.unexpected(self.toks[self.pos - 1])
            o[opt] = self.parse_switch()
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
