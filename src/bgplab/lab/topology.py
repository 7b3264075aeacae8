"""The lab's topology: subnets, the soft router, Calico nodes and their pods.

A topology is a YAML file (format in ``docs/lab.md``); the seed report's
topology ships as package data and is the default. Loading validates every
field and raises :class:`TopologyError` naming the field, so a typo never
reaches ``ip`` or BIRD as a confusing failure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from importlib import resources as pkg_resources
from pathlib import Path
from typing import Any

import yaml

from bgplab.errors import UserError

_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")
# Namespace names are "<prefix><host>" and pod names "<node>-<pod>"; keep them short
# enough that generated names stay readable and well under the 255-byte limit.
_MAX_NAME = 40


class TopologyError(UserError):
    """A topology file with a missing or invalid field."""


@dataclass(frozen=True)
class Subnet:
    name: str  # also the switch namespace suffix: bgplab-<name>
    cidr: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None = None  # the upstream gateway hosts default to
    # Dual stack: the subnet's IPv6 prefix and IPv6 default gateway (need not exist).
    cidr6: ipaddress.IPv6Network | None = None
    gateway6: ipaddress.IPv6Address | None = None


@dataclass(frozen=True)
class Interface:
    name: str
    address: ipaddress.IPv4Address
    subnet: Subnet
    address6: ipaddress.IPv6Address | None = None  # dual stack: inside subnet.cidr6


@dataclass(frozen=True)
class RouterPeer:
    """A router's BGP session to another lab router (by name) or an outside address."""

    router: str | None = None
    address: ipaddress.IPv4Address | None = None
    asn: int | None = None


@dataclass(frozen=True)
class Router:
    name: str
    interfaces: tuple[Interface, ...]
    router_id: ipaddress.IPv4Address
    # "generated" (the seed's config, rendered for this topology) or a path per scenario kind
    configs: dict[str, Path | None] = field(default_factory=dict)
    config6: Path | None = None  # a bird6 config file; None: generated (dual stack)
    # Multi-router (issue 14): own AS (None: the cluster's), RR cluster id (routers that
    # share one form a redundant reflector pair), router-router sessions, BFD on its sessions.
    asn: int | None = None
    rr_cluster_id: ipaddress.IPv4Address | None = None
    peers: tuple[RouterPeer, ...] = ()
    bfd: bool = False

    @property
    def addresses(self) -> list[ipaddress.IPv4Address]:
        return [i.address for i in self.interfaces]

    def address_in(self, subnet: Subnet) -> ipaddress.IPv4Address | None:
        for iface in self.interfaces:
            if iface.subnet == subnet:
                return iface.address
        return None

    def address6_in(self, subnet: Subnet) -> ipaddress.IPv6Address | None:
        for iface in self.interfaces:
            if iface.subnet == subnet:
                return iface.address6
        return None


@dataclass(frozen=True)
class Node:
    name: str
    interface: Interface
    labels: dict[str, str]
    block: ipaddress.IPv4Network
    pods: int
    block6: ipaddress.IPv6Network | None = None  # dual stack: from an IPv6 IPPool
    asn: int | None = None  # Calico Node spec.bgp.asNumber (AS per rack); None: the cluster's
    # Calico Node spec.bgp.routeReflectorClusterID: a route reflector node
    rr_cluster_id: ipaddress.IPv4Address | None = None

    @property
    def address(self) -> ipaddress.IPv4Address:
        return self.interface.address

    @property
    def subnet(self) -> Subnet:
        return self.interface.subnet

    def pod_names(self) -> list[str]:
        return [f"{self.name}-pod{i}" for i in range(self.pods)]

    def pod_address(self, index: int) -> ipaddress.IPv4Address:
        # Skip the block's first address (Calico may hand it out; the seed's pods start at +1).
        return self.block.network_address + 1 + index

    @property
    def address6(self) -> ipaddress.IPv6Address | None:
        return self.interface.address6

    def pod_address6(self, index: int) -> ipaddress.IPv6Address:
        assert self.block6 is not None
        return self.block6.network_address + 1 + index


@dataclass(frozen=True)
class Topology:
    name: str
    subnets: tuple[Subnet, ...]
    routers: tuple[Router, ...]
    nodes: tuple[Node, ...]
    calico: tuple[dict[str, Any], ...]  # calicoctl resources, as YAML documents
    source: Path | None = None

    @property
    def router(self) -> Router:
        return self.routers[0]

    def router_named(self, name: str) -> Router:
        for r in self.routers:
            if r.name == name:
                return r
        raise TopologyError(f"no router named {name!r} (routers: {', '.join(self.router_names())})")

    def router_names(self) -> list[str]:
        return [r.name for r in self.routers]

    def is_router(self, host: str) -> bool:
        return host in self.router_names()

    def routers_in(self, subnet: Subnet) -> list[Router]:
        """The routers attached to ``subnet``."""
        return [r for r in self.routers if r.address_in(subnet) is not None]

    def gateways(self, subnet: Subnet, target: Subnet) -> list[Router]:
        """A host in ``subnet`` reaches ``target`` through these routers of its subnet: the
        ones attached to ``target`` too (ECMP when several), else all of them (a ToR that
        reaches the other racks through its spine)."""
        local = self.routers_in(subnet)
        return [r for r in local if r.address_in(target) is not None] or local

    def subnet_of(self, addr: ipaddress.IPv4Address) -> Subnet | None:
        return next((s for s in self.subnets if addr in s.cidr), None)

    def router_asn(self, router: Router) -> int:
        return router.asn if router.asn is not None else self.as_number()

    def node_asn(self, node: Node) -> int:
        return node.asn if node.asn is not None else self.as_number()

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise TopologyError(f"no node named {name!r} (nodes: {', '.join(self.node_names())})")

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def host_names(self) -> list[str]:
        """Every host with a BGP speaker: the router(s), then the nodes."""
        return [r.name for r in self.routers] + self.node_names()

    def as_number(self) -> int:
        for res in self.calico:
            if res.get("kind") == "BGPConfiguration":
                asn = (res.get("spec") or {}).get("asNumber")
                if asn is not None:
                    return int(asn)
        return 64512  # Calico's default AS

    def pools(self) -> list[ipaddress.IPv4Network]:
        """The IPv4 IPPools."""
        return [p for p in self._pools() if isinstance(p, ipaddress.IPv4Network)]

    def pools6(self) -> list[ipaddress.IPv6Network]:
        """The IPv6 IPPools (dual stack)."""
        return [p for p in self._pools() if isinstance(p, ipaddress.IPv6Network)]

    def _pools(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network((res.get("spec") or {}).get("cidr"))
            for res in self.calico
            if res.get("kind") == "IPPool"
        ]

    @property
    def dual_stack(self) -> bool:
        """Has an IPv6 plan (validated complete at load: every subnet, address and block)."""
        return all(s.cidr6 is not None for s in self.subnets)

    def without_ipv6(self) -> Topology:
        """The IPv4 lab: the IPv6 plan (fields, IPv6 IPPools and IPv6 BGPPeers) left out,
        so a topology with a plan builds and renders exactly as one without."""
        if not any(s.cidr6 for s in self.subnets):
            return self
        subnets = {s.name: replace(s, cidr6=None, gateway6=None) for s in self.subnets}

        def iface(i: Interface) -> Interface:
            return replace(i, subnet=subnets[i.subnet.name], address6=None)

        routers = tuple(
            replace(r, interfaces=tuple(iface(i) for i in r.interfaces), config6=None)
            for r in self.routers
        )
        nodes = tuple(replace(n, interface=iface(n.interface), block6=None) for n in self.nodes)
        calico = tuple(d for d in self.calico if not _ipv6_resource(d))
        return replace(
            self, subnets=tuple(subnets.values()), routers=routers, nodes=nodes, calico=calico
        )


def _ipv6_resource(doc: dict[str, Any]) -> bool:
    """An IPPool with an IPv6 CIDR or a BGPPeer with an IPv6 peerIP."""
    from bgplab.calico.resources import parse_peer_ip

    spec = doc.get("spec") or {}
    try:
        if doc.get("kind") == "IPPool":
            return ipaddress.ip_network(spec.get("cidr")).version == 6
        if doc.get("kind") == "BGPPeer" and spec.get("peerIP"):
            return ipaddress.ip_address(parse_peer_ip(str(spec["peerIP"]))[0]).version == 6
    except ValueError:
        pass  # validated elsewhere
    return False


# --------------------------------------------------------------------------- loading


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
        raise TopologyError(_yaml_error(exc, str(source) if source else "topology")) from None
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
        _check_name("name", name)
        subnets = self._subnets()
        routers = self._routers(subnets)
        nodes = self._nodes(subnets)
        calico = self._calico()
        topo = Topology(name, subnets, routers, nodes, calico, self.source)
        self._cross_checks(topo)
        return topo

    # -- sections

    def _subnets(self) -> tuple[Subnet, ...]:
        items = _list(self.doc, "subnets", required=True)
        out: list[Subnet] = []
        for i, item in enumerate(items):
            where = f"subnets[{i}]"
            d = _mapping(item, where, {"name", "cidr", "gateway", "cidr6", "gateway6"})
            cidr = _network(d, "cidr", where)
            name = d.get("name", f"sw{i}")
            _check_name(f"{where}.name", name)
            gw = _address(d, "gateway", where, required=False)
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
        addr = _address(d, "address", where, required=True)
        assert addr is not None
        ifname = d.get("interface", default_name)
        if not isinstance(ifname, str) or not _IFNAME_RE.match(ifname):
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
        items = _list(self.doc, "routers", required=True)
        if not items:
            raise TopologyError("routers: at least one router is required")
        out = []
        for i, item in enumerate(items):
            where = f"routers[{i}]"
            d = _mapping(
                item,
                where,
                {"name", "interfaces", "router_id", "config", "config6"}
                | {"asn", "rr_cluster_id", "peers", "bfd"},
            )
            name = d.get("name", "router")
            _check_name(f"{where}.name", name)
            ifaces_raw = _list(d, "interfaces", required=True, where=where)
            ifaces = []
            for j, it in enumerate(ifaces_raw):
                w = f"{where}.interfaces[{j}]"
                ifaces.append(
                    self._interface(
                        _mapping(it, w, {"interface", "address", "address6"}),
                        w,
                        subnets,
                        f"eth{j}",
                    )
                )
            _unique([x.name for x in ifaces], f"{where}.interfaces[].interface")
            seen: set[str] = set()
            for j, x in enumerate(ifaces):
                if x.subnet.name in seen:
                    raise TopologyError(
                        f"{where}.interfaces[{j}]: two interfaces in subnet {x.subnet.name}"
                    )
                seen.add(x.subnet.name)
            rid = _address(d, "router_id", where, required=False) or ifaces[0].address
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
                    _asn(d, "asn", where),
                    _address(d, "rr_cluster_id", where, required=False),
                    _router_peers(d, where),
                    _flag(d, "bfd", where),
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
        items = _list(self.doc, "nodes", required=True)
        out = []
        for i, item in enumerate(items):
            where = f"nodes[{i}]"
            d = _mapping(
                item,
                where,
                {"name", "address", "interface", "labels", "block", "pods", "address6", "block6"}
                | {"asn", "rr_cluster_id"},
            )
            if "name" not in d:
                raise TopologyError(f"{where}.name is required")
            name = d["name"]
            _check_name(f"{where}.name", name)
            iface = self._interface(d, where, subnets, "eth0")
            labels = d.get("labels", {}) or {}
            if not isinstance(labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str | int | float) for k, v in labels.items()
            ):
                raise TopologyError(f"{where}.labels must map label names to values")
            block = _network(d, "block", where)
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
            asn, cid = _asn(d, "asn", where), _address(d, "rr_cluster_id", where, required=False)
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
                raise TopologyError(f"calico = {value!r}: {_yaml_error(exc, str(p))}") from None
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
                cidr = (d.get("spec") or {}).get("cidr")
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
        _unique(names, "name (subnets, routers and nodes share one name space)")
        addrs = [str(i.address) for r in topo.routers for i in r.interfaces]
        addrs += [str(n.address) for n in topo.nodes]
        _unique(addrs, "address")
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


# --------------------------------------------------------------------------- field helpers


def _check_name(where: str, value: Any) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value) or len(value) > _MAX_NAME:
        raise TopologyError(
            f"{where} = {value!r} must be lower-case letters, digits and '-' (at most {_MAX_NAME})"
        )


def _list(d: dict[str, Any], key: str, required: bool, where: str = "") -> list[Any]:
    full = f"{where}.{key}" if where else key
    if key not in d:
        if required:
            raise TopologyError(f"{full} is required")
        return []
    value = d[key]
    if not isinstance(value, list):
        raise TopologyError(f"{full} must be a list")
    return value


def _mapping(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TopologyError(f"{where} must be a mapping")
    for key in value:
        if key not in allowed:
            raise TopologyError(
                f"{where}: unknown field {key!r} (expected one of {sorted(allowed)})"
            )
    return value


def _network(d: dict[str, Any], key: str, where: str) -> ipaddress.IPv4Network:
    if key not in d:
        raise TopologyError(f"{where}.{key} is required")
    value = d[key]
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError:
        _host_bits(ipaddress.IPv4Network, value, f"{where}.{key}")
        raise TopologyError(
            f"{where}.{key} = {value!r} is not an IPv4 CIDR (like 192.168.0.0/24)"
        ) from None


def _host_bits(kind: type[ipaddress._BaseNetwork], value: Any, where: str) -> None:
    """A CIDR that is only wrong by its host bits says so, with the network meant."""
    try:
        net = kind(str(value), strict=False)
    except ValueError:
        return
    raise TopologyError(f"{where} = {value!r} has host bits set (the network is {net})")


def _yaml_error(exc: yaml.YAMLError, name: str) -> str:
    """``file:line:col: not valid YAML: <the parser's reason>``."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}: not valid YAML: {problem}"


def _address(
    d: dict[str, Any], key: str, where: str, required: bool
) -> ipaddress.IPv4Address | None:
    if key not in d:
        if required:
            raise TopologyError(f"{where}.{key} is required")
        return None
    value = d[key]
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        raise TopologyError(f"{where}.{key} = {value!r} is not an IPv4 address") from None


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise TopologyError(f"duplicate {what}: {v!r}")
        seen.add(v)


# --------------------------------------------------------------------------- multi-router


def _asn(d: dict[str, Any], key: str, where: str) -> int | None:
    if key not in d:
        return None
    value = d[key]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**32:
        raise TopologyError(f"{where}.{key} = {value!r} is not an AS number")
    return value


def _flag(d: dict[str, Any], key: str, where: str) -> bool:
    value = d.get(key, False)
    if not isinstance(value, bool):
        raise TopologyError(f"{where}.{key} = {value!r} must be true or false")
    return value


def _router_peers(d: dict[str, Any], where: str) -> tuple[RouterPeer, ...]:
    out = []
    for j, item in enumerate(_list(d, "peers", required=False, where=where)):
        w = f"{where}.peers[{j}]"
        p = _mapping(item, w, {"router", "address", "asn"})
        if ("router" in p) == ("address" in p):
            raise TopologyError(f"{w} needs either router: NAME or address: IP (with asn)")
        if "router" in p:
            if not isinstance(p["router"], str):
                raise TopologyError(f"{w}.router = {p['router']!r} must be a router name")
            if "asn" in p:
                raise TopologyError(f"{w}.asn: a lab router's AS comes from its own asn")
            out.append(RouterPeer(router=p["router"]))
        else:
            asn = _asn(p, "asn", w)
            if asn is None:
                raise TopologyError(f"{w}.asn is required with address")
            out.append(RouterPeer(address=_address(p, "address", w, required=True), asn=asn))
    return tuple(out)


def shared_subnet(a: Router, b: Router) -> Subnet | None:
    """The first subnet both routers join: where their session runs."""
    for iface in a.interfaces:
        if b.address_in(iface.subnet) is not None:
            return iface.subnet
    return None


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
    cidr6 = _network6(d["cidr6"], f"{where}.cidr6")
    if cidr6.prefixlen > 126:
        raise TopologyError(f"{where}.cidr6 = {cidr6} is too small (need /126 or larger)")
    for other in others:
        if other is not None and other.overlaps(cidr6):
            raise TopologyError(f"{where}.cidr6 = {cidr6} overlaps {other}")
    gw6 = _address6(d, "gateway6", where)
    if gw6 is not None and gw6 not in cidr6:
        raise TopologyError(f"{where}.gateway6 = {gw6} is not inside {cidr6}")
    return cidr6, gw6


def _address6_in(d: dict[str, Any], where: str, subnet: Subnet) -> ipaddress.IPv6Address | None:
    addr = _address6(d, "address6", where)
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
    block6 = _network6(d["block6"], f"{where}.block6")
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
    _unique(addrs + [str(n.address6) for n in topo.nodes], "address6")


def _network6(value: Any, where: str) -> ipaddress.IPv6Network:
    try:
        return ipaddress.IPv6Network(str(value), strict=True)
    except ValueError:
        _host_bits(ipaddress.IPv6Network, value, where)
        raise TopologyError(
            f"{where} = {value!r} is not an IPv6 CIDR (like fd00:192:168::/64)"
        ) from None


def _address6(d: dict[str, Any], key: str, where: str) -> ipaddress.IPv6Address | None:
    if key not in d:
        return None
    value = d[key]
    try:
        return ipaddress.IPv6Address(str(value))
    except ValueError:
        raise TopologyError(f"{where}.{key} = {value!r} is not an IPv6 address") from None
