"""The lab's topology: subnets, the soft router, Calico nodes and their pods.

A topology is a YAML file (format in ``docs/lab.md``); the seed report's
topology ships as package data and is the default. Loading validates every
field and raises :class:`TopologyError` naming the field, so a typo never
reaches ``ip`` or BIRD as a confusing failure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Interface:
    name: str
    address: ipaddress.IPv4Address
    subnet: Subnet


@dataclass(frozen=True)
class Router:
    name: str
    interfaces: tuple[Interface, ...]
    router_id: ipaddress.IPv4Address
    # "generated" (the seed's config, rendered for this topology) or a path per scenario kind
    configs: dict[str, Path | None] = field(default_factory=dict)

    def address_in(self, subnet: Subnet) -> ipaddress.IPv4Address | None:
        for iface in self.interfaces:
            if iface.subnet == subnet:
                return iface.address
        return None


@dataclass(frozen=True)
class Node:
    name: str
    interface: Interface
    labels: dict[str, str]
    block: ipaddress.IPv4Network
    pods: int

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
        out = []
        for res in self.calico:
            if res.get("kind") == "IPPool":
                out.append(ipaddress.IPv4Network((res.get("spec") or {}).get("cidr")))
        return out


# --------------------------------------------------------------------------- loading


def seed_path() -> Path:
    """The built-in seed topology (package data)."""
    return Path(str(pkg_resources.files("bgplab") / "data" / "topologies" / "seed.yaml"))


def load_topology(path: str | Path | None = None) -> Topology:
    """Load and validate a topology file; ``None`` means the built-in seed."""
    p = Path(path) if path else seed_path()
    try:
        text = p.read_text()
    except OSError as exc:
        raise TopologyError(f"cannot read topology {p}: {exc.strerror}") from None
    return parse_topology(text, source=p)


def parse_topology(text: str, source: Path | None = None) -> Topology:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise TopologyError(f"topology is not valid YAML{where}") from None
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
            d = _mapping(item, where, {"name", "cidr", "gateway"})
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
            out.append(Subnet(name, cidr, gw))
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
                return Interface(ifname, addr, s)
        raise TopologyError(f"{where}.address = {addr} is in none of the subnets")

    def _routers(self, subnets: tuple[Subnet, ...]) -> tuple[Router, ...]:
        items = _list(self.doc, "routers", required=True)
        if len(items) != 1:
            raise TopologyError(f"routers: exactly one router is supported, got {len(items)}")
        out = []
        for i, item in enumerate(items):
            where = f"routers[{i}]"
            d = _mapping(item, where, {"name", "interfaces", "router_id", "config"})
            name = d.get("name", "router")
            _check_name(f"{where}.name", name)
            ifaces_raw = _list(d, "interfaces", required=True, where=where)
            ifaces = []
            for j, it in enumerate(ifaces_raw):
                w = f"{where}.interfaces[{j}]"
                ifaces.append(
                    self._interface(
                        _mapping(it, w, {"interface", "address"}), w, subnets, f"eth{j}"
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
            out.append(Router(name, tuple(ifaces), rid, configs))
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
            d = _mapping(item, where, {"name", "address", "interface", "labels", "block", "pods"})
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
            out.append(Node(name, iface, {str(k): str(v) for k, v in labels.items()}, block, pods))
        if not out:
            raise TopologyError("nodes: at least one node is required")
        return tuple(out)

    def _calico(self) -> tuple[dict[str, Any], ...]:
        value = self.doc.get("calico", [])
        if isinstance(value, str):
            p = self._path(value, "calico")
            try:
                docs = [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
            except yaml.YAMLError:
                raise TopologyError(f"calico = {value!r} is not valid YAML") from None
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
                    ipaddress.IPv4Network(cidr)
                except (ValueError, TypeError):
                    raise TopologyError(
                        f"calico[{i}] IPPool spec.cidr = {cidr!r} is not an IPv4 CIDR"
                    ) from None
            if d.get("kind") == "BGPConfiguration":
                asn = (d.get("spec") or {}).get("asNumber")
                if asn is not None and (not isinstance(asn, int) or not 0 < asn < 2**32):
                    raise TopologyError(
                        f"calico[{i}] BGPConfiguration spec.asNumber = {asn!r} is not an AS number"
                    )
            out.append(d)
        # The Calico emulator's own validation (calicoctl-like messages naming the field).
        from bgplab.calico.resources import load_resources

        try:
            if out:
                load_resources(yaml.safe_dump_all(out))
        except UserError as exc:
            raise TopologyError(f"calico: {exc}") from None
        return tuple(out)

    def _cross_checks(self, topo: Topology) -> None:
        names = [s.name for s in topo.subnets] + topo.host_names()
        _unique(names, "name (subnets, routers and nodes share one name space)")
        addrs = [str(i.address) for r in topo.routers for i in r.interfaces]
        addrs += [str(n.address) for n in topo.nodes]
        _unique(addrs, "address")
        for i, a in enumerate(topo.nodes):
            if topo.router.address_in(a.subnet) is None:
                raise TopologyError(
                    f"nodes[{i}] ({a.name}) is in subnet {a.subnet.name}, which the router is not attached to"
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
        raise TopologyError(
            f"{where}.{key} = {value!r} is not an IPv4 CIDR (like 192.168.0.0/24)"
        ) from None


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
