"""The Kubernetes and CRD objects calico-node's confd reads besides Calico's
own resources, as ``kubectl apply`` stores them.

- ``Secret`` (v1): BGP passwords (``password: {secretKeyRef: {name, key}}``).
- ``Service`` and ``Endpoints`` (v1): a service with ``externalTrafficPolicy:
  Local`` and an endpoint on a node is advertised from that node as a /32
  (or /128) static route (see :func:`bgplab.calico.keyspace.build_keyspace`).
- ``Node`` (v1): a Kubernetes node; its labels are the Calico node's labels
  (as in Calico's Kubernetes datastore) for selectors.
- ``BlockAffinity`` (crd.projectcalico.org/v1): an IPAM block affine to a
  node, with its state (``pending``, ``confirmed``, or empty: implicitly
  confirmed). With any BlockAffinity stored, a node's blocks are exactly its
  affinities (the datastore no longer hands out blocks itself).
"""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

from bgplab.calico.model import Resource

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
AFFINITY_STATES = ("", "pending", "confirmed", "pendingDeletion")


def _ip(value: object) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


class Namespaced(Resource):
    """A namespaced Kubernetes object: stored per namespace and name."""

    @property
    def namespace(self) -> str:
        meta = self.doc.get("metadata") or {}
        return str(meta.get("namespace") or "default")

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, f"{self.namespace}/{self.name}")


class Secret(Resource):
    """A Kubernetes Secret (``apiVersion: v1``) holding BGP passwords."""

    def values(self) -> dict[str, str]:
        out = {str(k): str(v) for k, v in (self.doc.get("stringData") or {}).items()}
        for k, v in (self.doc.get("data") or {}).items():
            out[str(k)] = base64.b64decode(str(v)).decode()
        return out

    def validate(self) -> None:
        for name in ("data", "stringData"):
            v = self.doc.get(name)
            if v is not None and not isinstance(v, dict):
                raise self.err(name, v, "must be a mapping of key: value")
        for k, v in (self.doc.get("data") or {}).items():
            try:
                base64.b64decode(str(v), validate=True).decode()
            except ValueError:
                raise self.err(f"data.{k}", v, "not base64") from None


class Service(Namespaced):
    @property
    def cluster_ip(self) -> str:
        return self.spec_text("clusterIP")

    @property
    def local_traffic(self) -> bool:
        return self.spec.get("externalTrafficPolicy") == "Local"

    @property
    def external_ips(self) -> list[str]:
        return [str(ip) for ip in self.spec.get("externalIPs") or []]

    @property
    def ingress_ips(self) -> list[str]:
        status: dict[str, Any] = self.doc.get("status") or {}
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        return [str(i["ip"]) for i in ingress if isinstance(i, dict) and i.get("ip")]

    def validate(self) -> None:
        s = self.spec
        kind = s.get("type", "ClusterIP")
        if kind not in SERVICE_TYPES:
            raise self.err("spec.type", kind, f"must be one of {', '.join(SERVICE_TYPES)}")
        ip = s.get("clusterIP")
        if kind != "ExternalName":
            if not ip:
                raise self.err("spec.clusterIP", "", "required: the service's cluster IP")
            if ip != "None" and not _ip(ip):
                raise self.err("spec.clusterIP", ip, "invalid IP")
        policy = s.get("externalTrafficPolicy")
        if policy is not None and policy not in ("Cluster", "Local"):
            raise self.err("spec.externalTrafficPolicy", policy, "must be Cluster or Local")
        ext = s.get("externalIPs")
        if ext is not None:
            if not isinstance(ext, list):
                raise self.err("spec.externalIPs", ext, "must be a list of IPs")
            for item in ext:
                if not _ip(item):
                    raise self.err("spec.externalIPs", item, "invalid IP")
        for item in self.ingress_ips:
            if not _ip(item):
                raise self.err("status.loadBalancer.ingress.ip", item, "invalid IP")


class Endpoints(Namespaced):
    def addresses(self) -> list[tuple[str, str]]:
        """(ip, nodeName) of the ready addresses."""
        out = []
        for subset in self.doc.get("subsets") or []:
            for addr in subset.get("addresses") or []:
                out.append((str(addr.get("ip", "")), str(addr.get("nodeName") or "")))
        return out

    def validate(self) -> None:
        subsets = self.doc.get("subsets")
        if subsets is None:
            return
        if not isinstance(subsets, list) or not all(isinstance(s, dict) for s in subsets):
            raise self.err("subsets", subsets, "must be a list of {addresses, ports}")
        for subset in subsets:
            for name in ("addresses", "notReadyAddresses"):
                addrs = subset.get(name) or []
                if not isinstance(addrs, list):
                    raise self.err(f"subsets.{name}", addrs, "must be a list of {ip, nodeName}")
                for addr in addrs:
                    ip = addr.get("ip") if isinstance(addr, dict) else addr
                    if not _ip(ip):
                        raise self.err(f"subsets.{name}.ip", ip, "invalid IP")


class KubernetesNode(Resource):
    """A Kubernetes Node: its labels are the Calico node's labels."""


class BlockAffinity(Resource):
    @property
    def node(self) -> str:
        return self.spec_text("node")

    @property
    def cidr(self) -> str:
        return str(ipaddress.ip_network(self.spec["cidr"], strict=False))

    @property
    def state(self) -> str:
        return self.spec_text("state")

    @property
    def deleted(self) -> bool:
        return str(self.spec.get("deleted", "")).lower() == "true"

    def validate(self) -> None:
        if not self.node:
            raise self.err("spec.node", "", "required: the node the block is affine to")
        if "cidr" not in self.spec:
            raise self.err("spec.cidr", "", "required")
        self._cidr("spec.cidr", self.spec["cidr"])
        if self.state not in AFFINITY_STATES:
            raise self.err(
                "spec.state", self.state, "must be pending, confirmed, pendingDeletion or empty"
            )
        if str(self.spec.get("deleted", "")).lower() not in ("", "true", "false"):
            raise self.err("spec.deleted", self.spec.get("deleted"), "must be true, false or empty")
