"""Loading a topology file: YAML to :class:`~bgplab.lab.topomodel.Topology`.

Every field is validated and a bad one raises :class:`TopologyError` naming
it (``field path = value``), so a typo never reaches ``ip`` or BIRD as a
confusing failure. The seed report's topology ships as package data and is
the default; a built-in's name (``seed-redundant``) loads that built-in.
"""

from __future__ import annotations

import ipaddress
from importlib import resources as pkg_resources
from pathlib import Path
from typing import Any

import yaml

from bgplab.errors import UserError
from bgplab.lab import topofields as tf
from bgplab.lab.topomodel import (
    Interface,
    Node,
    Router,
    RouterPeer,
    Subnet,
    Topology,
    TopologyError,
    shared_subnet,
)


def seed_path() -> Path:
    """The built-in seed topology (package data)."""
    return Path(str(pkg_resources.files("bgplab") / "data" / "topologies" / "seed.yaml"))


def load_topology(path: str | Path | None = None) -> Topology:
    """Load and validate a topology file; ``None`` means the built-in seed, and a name
    that is no file but a built-in's (``seed-redundant``) means that built-in."""
    from bgplab.lab.builtin import builtin_names, builtin_path

    p = Path(path) if path else seed_path()
    if path and not p.exists() and builtin_path(str(path)) is not None:
        p = builtin_path(str(path))  # type: ignore[assignment]
    try:
        text = p.read_text()
    except OSError as exc:
        hint = f" (built-in topologies: {', '.join(builtin_names())})" if path else ""
        raise TopologyError(f"cannot read topology {p}: {exc.strerror}{hint}") from None
    return parse_topology(text, source=p)


def parse_topology(text: str, source: Path | None = None) -> Topology:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(tf.yaml_error(exc, str(source) if source else "topology")) from None
    if not isinstance(doc, dict):
        raise TopologyError("topology must be a YAML mapping with subnets, routers and nodes")
    return _Builder(doc, source).build()


class _Builder:
    def __init__(self, doc: dict[str, Any], source: Path | None):
        self.doc = doc
        self.source = source

    def build(self) -> Topology:
        known = {"name", "subnets", "routers", "nodes", "calico"}
        for key in self.doc:
            if key not in known:
                raise TopologyError(f"unknown field {key!r} (expected one of {sorted(known)})")
        name = self.doc.get("name", "lab")
        tf.check_name("name", name)
        subnets = self._subnets()
        routers = self._routers(subnets)
        nodes = self._nodes(subnets)
        calico = self._calico()
        topo = Topology(name, subnets, routers, nodes, calico, self.source)
        self._cross_checks(topo)
        return topo

    # -- sections

    def _subnets(self) -> tuple[Subnet, ...]:
        items = tf.field_list(self.doc, "subnets", required=True)
        out: list[Subnet] = []
        for i, item in enumerate(items):
            where = f"subnets[{i}]"
            d = tf.mapping(item, where, {"name", "cidr", "gateway", "cidr6", "gateway6"})
            cidr = tf.network(d, "cidr", where)
            name = d.get("name", f"sw{i}")
            tf.check_name(f"{where}.name", name)
            gw = tf.address(d, "gateway", where, required=False)
            if gw is not None and gw not in cidr:
                raise TopologyError(f"{where}.gateway = {gw} is not inside {cidr}")
            for other in out:
                if other.cidr.overlaps(cidr):
                    raise TopologyError(
                        f"{where}.cidr = {cidr} overlaps {other.name} ({other.cidr})"
                    )
            cidr6, gw6 = _subnet6(d, where, [o.cidr6 for o in out])
            out.append(Subnet(name, cidr, gw, cidr6, gw6))
        return tuple(out)

    def _interface(
        self, d: dict[str, Any], where: str, subnets: tuple[Subnet, ...], default_name: str
    ) -> Interface:
        addr = tf.address(d, "address", where, required=True)
        assert addr is not None
        ifname = d.get("interface", default_name)
        if not isinstance(ifname, str) or not tf.IFNAME_RE.match(ifname):
            raise TopologyError(f"{where}.interface = {ifname!r} is not a valid interface name")
        for s in subnets:
            if addr in s.cidr:
                if addr in (s.cidr.network_address, s.cidr.broadcast_address):
                    raise TopologyError(
                        f"{where}.address = {addr} is not a host address of {s.cidr}"
                    )
                return Interface(ifname, addr, s, _address6_in(d, where, s))
        raise TopologyError(f"{where}.address = {addr} is in none of the subnets")

    def _routers(self, subnets: tuple[Subnet, ...]) -> tuple[Router, ...]:
        items = tf.field_list(self.doc, "routers", required=True)
        if not items:
            raise TopologyError("routers: at least one router is required")
        out = []
        for i, item in enumerate(items):
            where = f"routers[{i}]"
            d = tf.mapping(
                item,
                where,
                {"name", "interfaces", "router_id", "config", "config6"}
                | {"asn", "rr_cluster_id", "peers", "bfd"},
            )
            name = d.get("name", "router")
            tf.check_name(f"{where}.name", name)
            ifaces_raw = tf.field_list(d, "interfaces", required=True, where=where)
            ifaces = []
            for j, it in enumerate(ifaces_raw):
                w = f"{where}.interfaces[{j}]"
                ifaces.append(
                    self._interface(
                        tf.mapping(it, w, {"interface", "address", "address6"}),
                        w,
                        subnets,
                        f"eth{j}",
                    )
                )
            tf.unique([x.name for x in ifaces], f"{where}.interfaces[].interface")
            seen: set[str] = set()
            for j, x in enumerate(ifaces):
                if x.subnet.name in seen:
                    raise TopologyError(
                        f"{where}.interfaces[{j}]: two interfaces in subnet {x.subnet.name}"
                    )
                seen.add(x.subnet.name)
            rid = tf.address(d, "router_id", where, required=False) or ifaces[0].address
            configs = self._router_configs(d.get("config", "generated"), f"{where}.config")
            c6 = d.get("config6", "generated")
            config6 = None if c6 == "generated" else self._path(c6, f"{where}.config6")
            out.append(
                Router(
                    name,
                    tuple(ifaces),
                    rid,
                    configs,
                    config6,
                    tf.asn(d, "asn", where),
                    tf.address(d, "rr_cluster_id", where, required=False),
                    _router_peers(d, where),
                    tf.flag(d, "bfd", where),
                )
            )
        return tuple(out)

    def _router_configs(self, value: Any, where: str) -> dict[str, Path | None]:
        """``generated``, one BIRD file for every scenario, or {rr: file, aggregate: file}."""
        if value == "generated":
            return {"rr": None, "aggregate": None}
        if isinstance(value, str):
            p = self._path(value, where)
            return {"rr": p, "aggregate": p}
        if isinstance(value, dict):
            out: dict[str, Path | None] = {"rr": None, "aggregate": None}
            for k, v in value.items():
                if k not in out:
                    raise TopologyError(f"{where}: unknown key {k!r} (expected rr, aggregate)")
                out[k] = None if v == "generated" else self._path(v, f"{where}.{k}")
            return out
        raise TopologyError(
            f"{where} must be 'generated', a BIRD config file, or {{rr: …, aggregate: …}}"
        )

    def _path(self, value: Any, where: str) -> Path:
        if not isinstance(value, str) or not value:
            raise TopologyError(f"{where} must be a file name")
        p = Path(value)
        if not p.is_absolute() and self.source is not None:
            p = self.source.parent / p
        if not p.is_file():
            raise TopologyError(f"{where} = {value!r}: no such file")
        return p

    def _nodes(self, subnets: tuple[Subnet, ...]) -> tuple[Node, ...]:
        items = tf.field_list(self.doc, "nodes", required=True)
        out = []
        for i, item in enumerate(items):
            where = f"nodes[{i}]"
            d = tf.mapping(
                item,
                where,
                {"name", "address", "interface", "labels", "block", "pods", "address6", "block6"}
                | {"asn", "rr_cluster_id"},
            )
            if "name" not in d:
                raise TopologyError(f"{where}.name is required")
            name = d["name"]
            tf.check_name(f"{where}.name", name)
            iface = self._interface(d, where, subnets, "eth0")
            labels = d.get("labels", {}) or {}
            if not isinstance(labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str | int | float) for k, v in labels.items()
            ):
                raise TopologyError(f"{where}.labels must map label names to values")
            block = tf.network(d, "block", where)
            if block.prefixlen > 30:
                raise TopologyError(
                    f"{where}.block = {block} is too small for pods (need /30 or larger)"
                )
            pods = d.get("pods", 2)
            if not isinstance(pods, int) or isinstance(pods, bool) or pods < 0:
                raise TopologyError(f"{where}.pods = {pods!r} must be a whole number >= 0")
            if pods > block.num_addresses - 2:
                raise TopologyError(f"{where}.pods = {pods} does not fit in block {block}")
            block6 = _block6(d, where, pods)
            labels_ = {str(k): str(v) for k, v in labels.items()}
            asn, cid = tf.asn(d, "asn", where), tf.address(d, "rr_cluster_id", where, required=False)
            out.append(Node(name, iface, labels_, block, pods, block6, asn, cid))
        if not out:
            raise TopologyError("nodes: at least one node is required")
        return tuple(out)

    def _calico(self) -> tuple[dict[str, Any], ...]:
        value = self.doc.get("calico", [])
        if isinstance(value, str):
            p = self._path(value, "calico")
            try:
                docs = [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
            except yaml.YAMLError as exc:
                raise TopologyError(f"calico = {value!r}: {tf.yaml_error(exc, str(p))}") from None
        elif isinstance(value, list):
            docs = value
        else:
            raise TopologyError("calico must be a list of calicoctl resources or a file name")
        out: list[dict[str, Any]] = []
        for i, d in enumerate(docs):
            if isinstance(d, dict) and d.get("kind") == "List":
                docs.extend(d.get("items") or [])
                continue
            if not isinstance(d, dict) or "kind" not in d:
                raise TopologyError(f"calico[{i}] must be a calicoctl resource with a kind")
            if d.get("kind") == "IPPool":
                cidr: Any = (d.get("spec") or {}).get("cidr")  # (None: ip_network says no)
                try:
                    ipaddress.ip_network(cidr)
                except (ValueError, TypeError):
                    raise TopologyError(
                        f"calico[{i}] IPPool spec.cidr = {cidr!r} is not an IP CIDR"
                    ) from None
            if d.get("kind") == "BGPConfiguration":
                asn = (d.get("spec") or {}).get("asNumber")
                if asn is not None and (not isinstance(asn, int) or not 0 < asn < 2**32):
                    raise TopologyError(
                        f"calico[{i}] BGPConfiguration spec.asNumber = {asn!r} is not an AS number"
                    )
            out.append(d)
        # The Calico emulator's own validation (calicoctl-like messages naming the field),
        # numbered as the checks above number them.
        from bgplab.calico.resources import resource_from_doc

        for i, d in enumerate(out):
            try:
                resource_from_doc(d, f"calico[{i}]")
            except UserError as exc:
                raise TopologyError(str(exc)) from None
        return tuple(out)

    def _cross_checks(self, topo: Topology) -> None:
        names = [s.name for s in topo.subnets] + topo.host_names()
        tf.unique(names, "name (subnets, routers and nodes share one name space)")
        addrs = [str(i.address) for r in topo.routers for i in r.interfaces]
        addrs += [str(n.address) for n in topo.nodes]
        tf.unique(addrs, "address")
        for i, a in enumerate(topo.nodes):
            if not topo.routers_in(a.subnet):
                raise TopologyError(
                    f"nodes[{i}] ({a.name}) is in subnet {a.subnet.name}, which no router is attached to"
                )
            for b in topo.nodes[:i]:
                if a.block.overlaps(b.block):
                    raise TopologyError(
                        f"nodes[{i}].block = {a.block} overlaps {b.name}'s block {b.block}"
                    )
        pools = topo.pools()
        for i, n in enumerate(topo.nodes):
            if pools and not any(n.block.subnet_of(p) for p in pools):
                raise TopologyError(f"nodes[{i}].block = {n.block} is in none of the IPPools")
        _check_plan6(topo)
        _check_router_peers(topo)


# --------------------------------------------------------------------------- multi-router


def _router_peers(d: dict[str, Any], where: str) -> tuple[RouterPeer, ...]:
    out = []
    for j, item in enumerate(tf.field_list(d, "peers", required=False, where=where)):
        w = f"{where}.peers[{j}]"
        p = tf.mapping(item, w, {"router", "address", "asn"})
        if ("router" in p) == ("address" in p):
            raise TopologyError(f"{w} needs either router: NAME or address: IP (with asn)")
        if "router" in p:
            if not isinstance(p["router"], str):
                raise TopologyError(f"{w}.router = {p['router']!r} must be a router name")
            if "asn" in p:
                raise TopologyError(f"{w}.asn: a lab router's AS comes from its own asn")
            out.append(RouterPeer(router=p["router"]))
        else:
            asn = tf.asn(p, "asn", w)
            if asn is None:
                raise TopologyError(f"{w}.asn is required with address")
            out.append(RouterPeer(address=tf.address(p, "address", w, required=True), asn=asn))
    return tuple(out)


def _check_router_peers(topo: Topology) -> None:
    names = topo.router_names()
    for i, r in enumerate(topo.routers):
        for j, p in enumerate(r.peers):
            w = f"routers[{i}].peers[{j}]"
            if p.router is not None:
                if p.router not in names:
                    raise TopologyError(
                        f"{w}.router = {p.router!r} is not a router (routers: {', '.join(names)})"
                    )
                if p.router == r.name:
                    raise TopologyError(f"{w}.router = {p.router!r} is the router itself")
                if shared_subnet(r, topo.router_named(p.router)) is None:
                    raise TopologyError(
                        f"{w}.router = {p.router!r} shares no subnet with {r.name}"
                    )
            elif p.address is not None and not any(p.address in x.subnet.cidr for x in r.interfaces):
                raise TopologyError(
                    f"{w}.address = {p.address} is in none of {r.name}'s subnets"
                )


# --------------------------------------------------------------------------- IPv6 plan


def _subnet6(
    d: dict[str, Any], where: str, others: list[ipaddress.IPv6Network | None]
) -> tuple[ipaddress.IPv6Network | None, ipaddress.IPv6Address | None]:
    if "cidr6" not in d:
        if "gateway6" in d:
            raise TopologyError(f"{where}.gateway6 needs {where}.cidr6")
        return None, None
    cidr6 = tf.network6(d["cidr6"], f"{where}.cidr6")
    if cidr6.prefixlen > 126:
        raise TopologyError(f"{where}.cidr6 = {cidr6} is too small (need /126 or larger)")
    for other in others:
        if other is not None and other.overlaps(cidr6):
            raise TopologyError(f"{where}.cidr6 = {cidr6} overlaps {other}")
    gw6 = tf.address6(d, "gateway6", where)
    if gw6 is not None and gw6 not in cidr6:
        raise TopologyError(f"{where}.gateway6 = {gw6} is not inside {cidr6}")
    return cidr6, gw6


def _address6_in(d: dict[str, Any], where: str, subnet: Subnet) -> ipaddress.IPv6Address | None:
    addr = tf.address6(d, "address6", where)
    if addr is None:
        return None
    if subnet.cidr6 is None:
        raise TopologyError(f"{where}.address6 = {addr}: subnet {subnet.name} has no cidr6")
    if addr not in subnet.cidr6 or addr == subnet.cidr6.network_address:
        raise TopologyError(
            f"{where}.address6 = {addr} is not a host address of {subnet.name}'s {subnet.cidr6}"
        )
    return addr


def _block6(d: dict[str, Any], where: str, pods: int) -> ipaddress.IPv6Network | None:
    if "block6" not in d:
        return None
    block6 = tf.network6(d["block6"], f"{where}.block6")
    if pods > block6.num_addresses - 2:
        raise TopologyError(f"{where}.pods = {pods} does not fit in block6 {block6}")
    return block6


def _check_plan6(topo: Topology) -> None:
    """An IPv6 plan is all or nothing: once one IPv6 field is given, every subnet,
    router interface and node needs its IPv6 part (so every host is dual stack)."""
    given = [f"subnets[{i}].cidr6" for i, s in enumerate(topo.subnets) if s.cidr6]
    given += [f"nodes[{i}].block6" for i, n in enumerate(topo.nodes) if n.block6 is not None]
    if not given:
        return
    why = f"(the topology has an IPv6 plan: {given[0]})"
    for i, s in enumerate(topo.subnets):
        if s.cidr6 is None:
            raise TopologyError(f"subnets[{i}].cidr6 is required {why}")
    for r_i, r in enumerate(topo.routers):
        for j, iface in enumerate(r.interfaces):
            if iface.address6 is None:
                raise TopologyError(f"routers[{r_i}].interfaces[{j}].address6 is required {why}")
    pools6 = topo.pools6()
    for i, n in enumerate(topo.nodes):
        for key, value in (("address6", n.address6), ("block6", n.block6)):
            if value is None:
                raise TopologyError(f"nodes[{i}].{key} is required {why}")
        assert n.block6 is not None
        if pools6 and not any(n.block6.subnet_of(p) for p in pools6):
            raise TopologyError(f"nodes[{i}].block6 = {n.block6} is in none of the IPv6 IPPools")
        for other in topo.nodes[:i]:
            if other.block6 is not None and n.block6.overlaps(other.block6):
                raise TopologyError(
                    f"nodes[{i}].block6 = {n.block6} overlaps {other.name}'s block6 {other.block6}"
                )
    addrs = [str(i.address6) for r in topo.routers for i in r.interfaces]
    tf.unique(addrs + [str(n.address6) for n in topo.nodes], "address6")
