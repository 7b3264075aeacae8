"""calicoctl resources (projectcalico.org/v3): loading and validation.

A file may hold one document, several (``---``), or a ``kind: List``. Every
resource is checked before anything uses it, and a bad field gives a
calicoctl-like message that names it, e.g.
``BGPPeer(rack1-tor): error with field peerIP = '192.168.2.999' (invalid IP)``.
The resource keeps its document (``doc``) so that ``get -o yaml`` and the
state file can write it back unchanged.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from bgplab.calico.selector import SelectorError, parse_selector
from bgplab.errors import UserError

API_VERSION = "projectcalico.org/v3"
KINDS = ("BGPConfiguration", "BGPPeer", "Node", "IPPool", "Secret")
# Lower-case aliases calicoctl accepts on the command line (`get bgppeers`).
KIND_ALIASES = {
    "bgpconfiguration": "BGPConfiguration",
    "bgpconfigurations": "BGPConfiguration",
    "bgpconfig": "BGPConfiguration",
    "bgpconfigs": "BGPConfiguration",
    "bgppeer": "BGPPeer",
    "bgppeers": "BGPPeer",
    "node": "Node",
    "nodes": "Node",
    "no": "Node",
    "ippool": "IPPool",
    "ippools": "IPPool",
    "pool": "IPPool",
    "pools": "IPPool",
    "secret": "Secret",
    "secrets": "Secret",
}
# Annotation that pins a node's IPAM blocks (comma-separated CIDRs), so the
# seed's exact blocks can be reproduced.
BLOCKS_ANNOTATION = "bgplab.io/ipam-blocks"

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_COMMUNITY = re.compile(r"^(\d+):(\d+)(:(\d+))?$")
_LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "fatal", "none")
_MODES = ("Never", "Always", "CrossSubnet")


class ResourceError(UserError):
    """A resource document that calicoctl would reject."""


class FieldError(ResourceError):
    """One field of one resource has a bad value."""

    def __init__(self, where: str, fieldname: str, value: object, reason: str):
        super().__init__(f"{where}: error with field {fieldname} = '{_show(value)}' ({reason})")
        self.fieldname = fieldname


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_asn(value: object) -> int:
    """An AS number: an integer, or 'a.b' (asdot), 0 < asn < 2**32."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        asn = value
    elif isinstance(value, str) and re.fullmatch(r"\d+", value):
        asn = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\d+\.\d+", value):
        hi, lo = (int(x) for x in value.split("."))
        if hi > 0xFFFF or lo > 0xFFFF:
            raise ValueError("out of range")
        asn = hi << 16 | lo
    else:
        raise ValueError("not an AS number")
    if not 0 < asn < 2**32:
        raise ValueError("out of range")
    return asn


def parse_peer_ip(text: str) -> tuple[str, int]:
    """``ip``, ``ip:port`` or ``[v6]:port`` -> (address, port or 0)."""
    host, port = text, 0
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)", text)
    if m:
        host, port = m.group(1), int(m.group(2))
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        if not p.isdigit():
            raise ValueError("invalid port")
        port = int(p)
    ip = ipaddress.ip_address(host)
    if port and not 0 < port < 65536:
        raise ValueError("invalid port")
    return str(ip), port


@dataclass
class Resource:
    """One calicoctl resource: kind, name, labels and its validated spec."""

    kind: str
    name: str
    doc: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    @property
    def ident(self) -> str:
        return f"{self.kind}({self.name})"

    def validate(self) -> None:
        """Raise :class:`FieldError` for the first bad field."""

    def err(self, fieldname: str, value: object, reason: str) -> FieldError:
        return FieldError(self.ident, fieldname, value, reason)

    # Small typed readers used by validate() and the renderer.
    def _bool(self, name: str) -> bool | None:
        v = self.spec.get(name)
        if v is None:
            return None
        if not isinstance(v, bool):
            raise self.err(name, v, "must be true or false")
        return v

    def _cidr(self, name: str, value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        if not isinstance(value, str):
            raise self.err(name, value, "invalid CIDR")
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise self.err(name, value, "invalid CIDR") from None

    def _selector(self, name: str) -> None:
        v = self.spec.get(name)
        if v is None or v == "":
            return
        try:
            parse_selector(v)
        except SelectorError as exc:
            raise self.err(name, v, f"invalid selector: {exc.reason}") from None

    def _secret_ref(self, name: str) -> None:
        v = self.spec.get(name)
        if v is None:
            return
        ref = v.get("secretKeyRef") if isinstance(v, dict) else None
        if (
            not isinstance(ref, dict)
            or not isinstance(ref.get("name"), str)
            or not isinstance(ref.get("key"), str)
        ):
            raise self.err(name, v, "must be {secretKeyRef: {name: ..., key: ...}}")


class BGPConfiguration(Resource):
    @property
    def is_default(self) -> bool:
        return self.name == "default"

    @property
    def node_name(self) -> str | None:
        """The node a ``node.<name>`` configuration applies to."""
        return self.name[5:] if self.name.startswith("node.") else None

    def validate(self) -> None:
        if not (self.is_default or self.node_name):
            raise self.err("name", self.name, "must be 'default' or 'node.<nodename>'")
        s = self.spec
        self._bool("nodeToNodeMeshEnabled")
        if "asNumber" in s:
            try:
                parse_asn(s["asNumber"])
            except ValueError:
                raise self.err("asNumber", s["asNumber"], "invalid AS number") from None
        lvl = s.get("logSeverityScreen")
        if lvl is not None and (not isinstance(lvl, str) or lvl.lower() not in _LOG_LEVELS):
            raise self.err(
                "logSeverityScreen", lvl, "must be one of Debug, Info, Warning, Error, Fatal, None"
            )
        for name in ("serviceClusterIPs", "serviceExternalIPs", "serviceLoadBalancerIPs"):
            items = s.get(name)
            if items is None:
                continue
            if not isinstance(items, list):
                raise self.err(name, items, "must be a list of {cidr: ...}")
            for item in items:
                if not isinstance(item, dict) or "cidr" not in item:
                    raise self.err(name, item, "must be a list of {cidr: ...}")
                self._cidr(f"{name}.cidr", item["cidr"])
        names = set()
        for item in s.get("communities") or []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise self.err("communities", item, "must be a list of {name, value}")
            if not _COMMUNITY.match(str(item.get("value", ""))):
                raise self.err("communities.value", item.get("value"), "invalid community value")
            names.add(item["name"])
        for item in s.get("prefixAdvertisements") or []:
            if not isinstance(item, dict) or "cidr" not in item:
                raise self.err(
                    "prefixAdvertisements", item, "must be a list of {cidr, communities}"
                )
            self._cidr("prefixAdvertisements.cidr", item["cidr"])
            for c in item.get("communities") or []:
                if not (isinstance(c, str) and (_COMMUNITY.match(c) or c in names)):
                    raise self.err("prefixAdvertisements.communities", c, "unknown community")
        port = s.get("listenPort")
        if port is not None and (
            not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536
        ):
            raise self.err("listenPort", port, "must be 1-65535")
        mode = s.get("bindMode")
        if mode is not None and mode not in ("None", "NodeIP"):
            raise self.err("bindMode", mode, "must be None or NodeIP")
        self._secret_ref("nodeMeshPassword")
        mrt = s.get("nodeMeshMaxRestartTime")
        if mrt is not None and not _DURATION.match(str(mrt)):
            raise self.err("nodeMeshMaxRestartTime", mrt, "invalid duration")


class BGPPeer(Resource):
    @property
    def peer_ip(self) -> str:
        return str(self.spec.get("peerIP") or "")

    @property
    def node(self) -> str:
        return str(self.spec.get("node") or "")

    @property
    def node_selector(self) -> str:
        return str(self.spec.get("nodeSelector") or "")

    @property
    def peer_selector(self) -> str:
        return str(self.spec.get("peerSelector") or "")

    @property
    def as_number(self) -> int:
        v = self.spec.get("asNumber")
        return parse_asn(v) if v is not None else 0

    @property
    def is_global(self) -> bool:
        return not self.node and not self.node_selector

    def validate(self) -> None:
        s = self.spec
        if self.peer_ip:
            try:
                parse_peer_ip(self.peer_ip)
            except ValueError:
                raise self.err("peerIP", self.peer_ip, "invalid IP") from None
        if self.peer_ip and self.peer_selector:
            raise self.err("peerSelector", self.peer_selector, "cannot be used with peerIP")
        if not self.peer_ip and not self.peer_selector:
            raise self.err("peerIP", "", "either peerIP or peerSelector must be set")
        if self.node and self.node_selector:
            raise self.err("nodeSelector", self.node_selector, "cannot be used with node")
        if "asNumber" in s:
            try:
                parse_asn(s["asNumber"])
            except ValueError:
                raise self.err("asNumber", s["asNumber"], "invalid AS number") from None
        elif self.peer_ip:
            raise self.err("asNumber", "", "required with peerIP")
        self._selector("nodeSelector")
        self._selector("peerSelector")
        self._secret_ref("password")
        self._bool("keepOriginalNextHop")
        src = s.get("sourceAddress")
        if src is not None and src not in ("UseNodeIP", "None"):
            raise self.err("sourceAddress", src, "must be UseNodeIP or None")
        mrt = s.get("maxRestartTime")
        if mrt is not None and not _DURATION.match(str(mrt)):
            raise self.err("maxRestartTime", mrt, "invalid duration")
        filters = s.get("filters")
        if filters is not None and not (
            isinstance(filters, list) and all(isinstance(f, str) for f in filters)
        ):
            raise self.err("filters", filters, "must be a list of BGPFilter names")


class Node(Resource):
    @property
    def bgp(self) -> dict[str, Any]:
        bgp = self.spec.get("bgp")
        return bgp if isinstance(bgp, dict) else {}

    @property
    def ipv4_address(self) -> str:
        """The node's IPv4 BGP address without the mask ('' when unset)."""
        v = self.bgp.get("ipv4Address")
        return str(ipaddress.ip_interface(v).ip) if v else ""

    @property
    def ipv4_network(self) -> str:
        v = self.bgp.get("ipv4Address")
        return str(ipaddress.ip_interface(v).network) if v else ""

    @property
    def ipv6_address(self) -> str:
        v = self.bgp.get("ipv6Address")
        return str(ipaddress.ip_interface(v).ip) if v else ""

    @property
    def ipv6_network(self) -> str:
        v = self.bgp.get("ipv6Address")
        return str(ipaddress.ip_interface(v).network) if v else ""

    @property
    def as_number(self) -> int | None:
        v = self.bgp.get("asNumber")
        return parse_asn(v) if v is not None else None

    @property
    def rr_cluster_id(self) -> str:
        return str(self.bgp.get("routeReflectorClusterID") or "")

    @property
    def pinned_blocks(self) -> list[str]:
        text = self.annotations.get(BLOCKS_ANNOTATION, "")
        return [b.strip() for b in text.split(",") if b.strip()]

    def validate(self) -> None:
        bgp = self.spec.get("bgp")
        if bgp is not None and not isinstance(bgp, dict):
            raise self.err("bgp", bgp, "must be a mapping")
        for name, version in (("ipv4Address", 4), ("ipv6Address", 6)):
            v = self.bgp.get(name)
            if v is None or v == "":
                continue
            try:
                iface = ipaddress.ip_interface(v)
            except ValueError:
                raise self.err(name, v, "invalid IP") from None
            if iface.version != version:
                raise self.err(name, v, f"not an IPv{version} address")
        if "asNumber" in self.bgp:
            try:
                parse_asn(self.bgp["asNumber"])
            except ValueError:
                raise self.err("asNumber", self.bgp["asNumber"], "invalid AS number") from None
        rr = self.bgp.get("routeReflectorClusterID")
        if rr:
            try:
                ipaddress.IPv4Address(rr)
            except ValueError:
                raise self.err("routeReflectorClusterID", rr, "must be an IPv4 address") from None
        for block in self.pinned_blocks:
            try:
                ipaddress.ip_network(block)
            except ValueError:
                raise self.err(
                    f"metadata.annotations[{BLOCKS_ANNOTATION}]", block, "invalid CIDR"
                ) from None


class IPPool(Resource):
    @property
    def cidr(self) -> str:
        return str(ipaddress.ip_network(self.spec["cidr"], strict=False))

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.spec["cidr"], strict=False).version

    @property
    def block_size(self) -> int:
        return int(self.spec.get("blockSize") or (26 if self.version == 4 else 122))

    @property
    def ipip_mode(self) -> str:
        return str(self.spec.get("ipipMode") or "Never")

    @property
    def vxlan_mode(self) -> str:
        return str(self.spec.get("vxlanMode") or "Never")

    @property
    def disabled(self) -> bool:
        return bool(self.spec.get("disabled"))

    @property
    def node_selector(self) -> str:
        return str(self.spec.get("nodeSelector") or "all()")

    def validate(self) -> None:
        if "cidr" not in self.spec:
            raise self.err("cidr", "", "required")
        net = self._cidr("cidr", self.spec["cidr"])
        bs = self.spec.get("blockSize")
        if bs is not None:
            lo, hi = (20, 32) if net.version == 4 else (116, 128)
            if not isinstance(bs, int) or isinstance(bs, bool) or not lo <= bs <= hi:
                raise self.err("blockSize", bs, f"must be {lo}-{hi}")
            if bs < net.prefixlen:
                raise self.err("blockSize", bs, "smaller than the pool's prefix length")
        for name in ("ipipMode", "vxlanMode"):
            v = self.spec.get(name)
            if v is not None and v not in _MODES:
                raise self.err(name, v, "must be Never, Always or CrossSubnet")
        if self.ipip_mode != "Never" and self.vxlan_mode != "Never":
            raise self.err("vxlanMode", self.vxlan_mode, "cannot be enabled with ipipMode")
        self._bool("natOutgoing")
        self._bool("disabled")
        self._selector("nodeSelector")


class Secret(Resource):
    """A Kubernetes Secret (``apiVersion: v1``) holding BGP passwords."""

    def values(self) -> dict[str, str]:
        out = {str(k): str(v) for k, v in (self.doc.get("stringData") or {}).items()}
        for k, v in (self.doc.get("data") or {}).items():
            out[str(k)] = base64.b64decode(str(v)).decode()
        return out

    def validate(self) -> None:
        for k, v in (self.doc.get("data") or {}).items():
            try:
                base64.b64decode(str(v), validate=True).decode()
            except ValueError:
                raise self.err(f"data.{k}", v, "not base64") from None


_CLASSES: dict[str, type[Resource]] = {
    "BGPConfiguration": BGPConfiguration,
    "BGPPeer": BGPPeer,
    "Node": Node,
    "IPPool": IPPool,
    "Secret": Secret,
}


def resource_from_doc(doc: object, where: str = "") -> Resource:
    """Build and validate one resource from a parsed YAML document."""
    at = f"{where}: " if where else ""
    if not isinstance(doc, dict):
        raise ResourceError(f"{at}a resource must be a mapping, not {type(doc).__name__}")
    kind = doc.get("kind")
    if kind not in _CLASSES:
        raise ResourceError(f"{at}resource type '{kind}' is not supported")
    api = doc.get("apiVersion")
    expected = "v1" if kind == "Secret" else API_VERSION
    if api != expected:
        raise ResourceError(
            f"{at}{kind}: error with field apiVersion = '{api}' (must be {expected})"
        )
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ResourceError(f"{at}{kind}: error with field metadata.name = '' (required)")
    name = meta["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise ResourceError(f"{at}{kind}: error with field metadata.name = '{name}' (invalid name)")
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(annotations, dict):
        raise ResourceError(f"{at}{kind}({name}): labels and annotations must be mappings")
    for k, v in labels.items():
        check_label(str(k), str(v), f"{at}{kind}({name})")
    spec = doc.get("spec")
    if spec is not None and not isinstance(spec, dict):
        raise ResourceError(f"{at}{kind}({name}): error with field spec (must be a mapping)")
    res = _CLASSES[kind](
        kind,
        name,
        doc,
        {str(k): str(v) for k, v in labels.items()},
        {str(k): str(v) for k, v in annotations.items()},
    )
    try:
        res.validate()
    except FieldError as exc:
        raise ResourceError(f"{at}{exc}") from None
    return res


def check_label(key: str, value: str, where: str) -> None:
    if not _LABEL_KEY.match(key) or len(key) > 316:
        raise ResourceError(
            f"{where}: error with field metadata.labels = '{key}' (invalid label key)"
        )
    if not _LABEL_VALUE.match(value) or len(value) > 63:
        raise ResourceError(
            f"{where}: error with field metadata.labels = '{value}' (invalid label value)"
        )


def _documents(text: str, where: str) -> Iterable[object]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ResourceError(f"{where}:{line}: invalid YAML: {problem}") from None
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, dict) and doc.get("kind") == "List":
            items = doc.get("items")
            if not isinstance(items, list):
                raise ResourceError(f"{where}: kind List needs an 'items' list")
            yield from items
        else:
            yield doc


def load_resources(path_or_text: str | Path) -> list[Resource]:
    """Parse and validate calicoctl YAML from a file path or from YAML text.

    Raises :class:`ResourceError` (a :class:`UserError`) on the first problem;
    nothing is returned for a file with any bad resource.
    """
    if isinstance(path_or_text, Path) or (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and path_or_text.strip()
        and Path(path_or_text).is_file()
    ):
        path = Path(path_or_text)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ResourceError(f"cannot read {path}: {exc.strerror}") from None
        where = str(path)
    elif (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and path_or_text.endswith((".yaml", ".yml", ".json"))
    ):
        raise ResourceError(f"cannot read {path_or_text}: no such file")
    else:
        text, where = str(path_or_text), "<input>"
    out: list[Resource] = []
    for i, doc in enumerate(_documents(text, where), 1):
        out.append(resource_from_doc(doc, f"{where} (resource {i})" if where else ""))
    if not out:
        raise ResourceError(f"{where}: no resources found")
    return out


def dump_resources(resources: Iterable[Resource]) -> str:
    """YAML for ``get -o yaml``: one document, or a List for several."""
    docs = [r.doc for r in resources]
    if len(docs) == 1:
        return str(yaml.safe_dump(docs[0], sort_keys=False))
    return str(
        yaml.safe_dump(
            {
                "apiVersion": API_VERSION,
                "kind": f"{docs[0]['kind'] if docs else ''}List",
                "items": docs,
                "metadata": {},
            },
            sort_keys=False,
        )
    )
