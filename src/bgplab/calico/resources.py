"""calicoctl resources (projectcalico.org/v3): loading and validation.

A file may hold one document, several (``---``), or a ``kind: List``. Every
resource is checked before anything uses it, and a bad field gives a
calicoctl-like message that names it, e.g.
``BGPPeer(rack1-tor): error with field peerIP = '192.168.2.999' (invalid IP)``.
The resource keeps its document (``doc``) so that ``get -o yaml`` and the
state file can write it back unchanged.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bgplab.calico.kube import BlockAffinity, Endpoints, KubernetesNode, Secret, Service
from bgplab.calico.model import (
    NAME,
    FieldError,
    Resource,
    ResourceError,
    check_label,
    parse_asn,
    parse_peer_ip,
)
from bgplab.calico.schema import SCHEMAS, unknown_field

__all__ = [
    "BGPConfiguration",
    "BGPPeer",
    "BlockAffinity",
    "Endpoints",
    "FieldError",
    "IPPool",
    "KubernetesNode",
    "Node",
    "Resource",
    "ResourceError",
    "Secret",
    "Service",
    "check_label",
    "dump_resources",
    "load_resources",
    "parse_asn",
    "parse_peer_ip",
    "resource_from_doc",
]

API_VERSION = "projectcalico.org/v3"
KINDS = (
    "BGPConfiguration",
    "BGPPeer",
    "Node",
    "IPPool",
    "Secret",
    "Service",
    "Endpoints",
    "KubernetesNode",
    "BlockAffinity",
)
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
    "service": "Service",
    "services": "Service",
    "svc": "Service",
    "endpoints": "Endpoints",
    "ep": "Endpoints",
    "blockaffinity": "BlockAffinity",
    "blockaffinities": "BlockAffinity",
    "kubernetesnode": "KubernetesNode",
    "kubernetesnodes": "KubernetesNode",
}
# Annotation that pins a node's IPAM blocks (comma-separated CIDRs), so the
# seed's exact blocks can be reproduced.
BLOCKS_ANNOTATION = "bgplab.io/ipam-blocks"

_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_COMMUNITY = re.compile(r"^(\d+):(\d+)(:(\d+))?$")
_NOT_COMMUNITY = (
    "neither a standard community (aa:nn, 16-bit parts) nor a large one (aa:nn:mm, 32-bit parts)"
)
_LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "fatal", "none")
_MODES = ("Never", "Always", "CrossSubnet")


def _not_community(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 60:
        # A YAML 1.1 reader (not ours) turned an unquoted 5663:12 into 339792.
        return _NOT_COMMUNITY + "; a number here is an unquoted aa:nn read as base 60: quote it"
    return _NOT_COMMUNITY


def community_ok(value: object) -> bool:
    """A standard (``aa:nn``, 16-bit parts) or large (``aa:nn:mm``, 32-bit parts) community."""
    m = _COMMUNITY.match(value) if isinstance(value, str) else None
    if m is None:
        return False
    parts = [int(p) for p in value.split(":")]  # type: ignore[attr-defined]  # (a str: it matched)
    limit = 0xFFFF if len(parts) == 2 else 0xFFFFFFFF
    return all(p <= limit for p in parts)


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
            if not community_ok(item.get("value")):
                raise self.err(
                    "communities.value", item.get("value"), _not_community(item.get("value"))
                )
            names.add(item["name"])
        for item in s.get("prefixAdvertisements") or []:
            if not isinstance(item, dict) or "cidr" not in item:
                raise self.err(
                    "prefixAdvertisements", item, "must be a list of {cidr, communities}"
                )
            self._cidr("prefixAdvertisements.cidr", item["cidr"])
            for c in item.get("communities") or []:
                if isinstance(c, str) and c in names:
                    continue
                if not community_ok(c):
                    reason = _not_community(c)
                    if isinstance(c, str) and ":" not in c:
                        reason += " nor the name of one under communities"
                    raise self.err("prefixAdvertisements.communities", c, reason)
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
            except ValueError as exc:
                raise self.err("peerIP", self.peer_ip, str(exc)) from None
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


K8S = "v1"
CRD = "crd.projectcalico.org/v1"
# (apiVersion, kind) -> (the datastore's kind, class). A v1 Node is a Kubernetes
# node, a projectcalico.org/v3 Node a Calico one.
_CLASSES: dict[tuple[str, str], tuple[str, type[Resource]]] = {
    (API_VERSION, "BGPConfiguration"): ("BGPConfiguration", BGPConfiguration),
    (API_VERSION, "BGPPeer"): ("BGPPeer", BGPPeer),
    (API_VERSION, "Node"): ("Node", Node),
    (API_VERSION, "IPPool"): ("IPPool", IPPool),
    (K8S, "Secret"): ("Secret", Secret),
    (K8S, "Service"): ("Service", Service),
    (K8S, "Endpoints"): ("Endpoints", Endpoints),
    (K8S, "Node"): ("KubernetesNode", KubernetesNode),
    (CRD, "BlockAffinity"): ("BlockAffinity", BlockAffinity),
}
_API_VERSIONS: dict[str, list[str]] = {}
for _api, _kind in _CLASSES:
    _API_VERSIONS.setdefault(_kind, []).append(_api)


def resource_from_doc(doc: object, where: str = "", *, validate: bool = True) -> Resource:
    """Build and validate one resource from a parsed YAML document.

    ``validate=False`` (for delete) checks only what names the resource:
    apiVersion, kind and metadata.name.
    """
    at = f"{where}: " if where else ""
    if not isinstance(doc, dict):
        raise ResourceError(f"{at}a resource must be a mapping, not {type(doc).__name__}")
    kind = doc.get("kind")
    if kind not in _API_VERSIONS:
        raise ResourceError(
            f"{at}resource type '{kind}' is not supported "
            f"(supported: {', '.join(sorted(_API_VERSIONS))})"
        )
    api = doc.get("apiVersion")
    if (api, kind) not in _CLASSES:
        expected = " or ".join(_API_VERSIONS[kind])
        raise ResourceError(
            f"{at}{kind}: error with field apiVersion = '{api}' (must be {expected})"
        )
    store_kind, cls = _CLASSES[(api, kind)]  # type: ignore[index]  # (a key: checked above)
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ResourceError(f"{at}{kind}: error with field metadata.name = '' (required)")
    name = meta["name"]
    if not isinstance(name, str) or not NAME.match(name):
        raise ResourceError(f"{at}{kind}: error with field metadata.name = '{name}' (invalid name)")
    ident = f"{at}{kind}({name})"
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(annotations, dict):
        raise ResourceError(f"{ident}: labels and annotations must be mappings")
    if validate:
        found = unknown_field(doc, SCHEMAS[store_kind])
        if found:
            path, known = found
            level = path.rpartition(".")[0] or "the resource"
            raise ResourceError(
                f"{ident}: unknown field {path} (the fields of {level} are: {', '.join(known)})"
            )
        for k, v in labels.items():
            check_label(str(k), str(v), ident)
        spec = doc.get("spec")
        if spec is not None and not isinstance(spec, dict):
            raise ResourceError(f"{ident}: error with field spec (must be a mapping)")
    res = cls(
        store_kind,
        name,
        doc,
        {str(k): str(v) for k, v in labels.items()},
        {str(k): str(v) for k, v in annotations.items()},
    )
    if validate:
        try:
            res.validate()
        except FieldError as exc:
            raise ResourceError(f"{at}{exc}") from None
    return res


class _Loader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: ``5663:12`` is a string (a community), not
    YAML 1.1's base-60 integer 339792."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:int"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def _documents(text: str, where: str) -> Iterable[object]:
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
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


def load_resources(
    path_or_text: str | Path, *, validate: bool = True, source: str = "<input>"
) -> list[Resource]:
    """Parse and validate calicoctl YAML from a file path or from YAML text.

    ``validate=False`` (what delete needs) checks only the resources' names;
    ``source`` names YAML text in messages (``<stdin>``).

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
        text, where = str(path_or_text), source
    out: list[Resource] = []
    for i, doc in enumerate(_documents(text, where), 1):
        out.append(
            resource_from_doc(doc, f"{where} (resource {i})" if where else "", validate=validate)
        )
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
