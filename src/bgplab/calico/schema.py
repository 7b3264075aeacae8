"""The fields each resource kind has, at every nesting level.

calicoctl (and kubectl) decode strictly: a field that does not exist is an
error, not an ignored key. A misspelled ``nodeSelectr`` would otherwise turn
a node-specific BGPPeer into a global one. :func:`unknown_field` finds the
first field a document has that its kind does not, and names the fields that
exist there.

A schema is a dict of field name to the schema of its value: another dict
(an object), :class:`ListOf` (a list of such), or ``ANY`` (a value whose
inside is not checked here: label maps, free-form status...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()
Schema = dict[str, Any]


@dataclass(frozen=True)
class ListOf:
    item: Schema


def leaves(words: str) -> Schema:
    """Fields (space-separated names) whose values are not checked further."""
    return dict.fromkeys(words.split(), ANY)


META: Schema = leaves(
    "name namespace labels annotations uid resourceVersion creationTimestamp generation "
    "generateName deletionTimestamp deletionGracePeriodSeconds finalizers ownerReferences "
    "managedFields selfLink clusterName"
)
SECRET_REF: Schema = {"secretKeyRef": {"name": ANY, "key": ANY, "optional": ANY}}
CIDRS = ListOf({"cidr": ANY})

_BGP_CONFIGURATION: Schema = {
    "logSeverityScreen": ANY,
    "nodeToNodeMeshEnabled": ANY,
    "asNumber": ANY,
    "serviceLoadBalancerIPs": CIDRS,
    "serviceExternalIPs": CIDRS,
    "serviceClusterIPs": CIDRS,
    "listenPort": ANY,
    "communities": ListOf({"name": ANY, "value": ANY}),
    "prefixAdvertisements": ListOf({"cidr": ANY, "communities": ANY}),
    "nodeMeshPassword": SECRET_REF,
    "nodeMeshMaxRestartTime": ANY,
    "bindMode": ANY,
    "ignoredInterfaces": ANY,
}
_BGP_PEER: Schema = {
    "node": ANY,
    "peerIP": ANY,
    "asNumber": ANY,
    "nodeSelector": ANY,
    "peerSelector": ANY,
    "password": SECRET_REF,
    "sourceAddress": ANY,
    "maxRestartTime": ANY,
    "keepOriginalNextHop": ANY,
    "numAllowedLocalASNumbers": ANY,
    "ttlSecurity": ANY,
    "filters": ANY,
}
_NODE: Schema = {
    "bgp": {
        "ipv4Address": ANY,
        "ipv6Address": ANY,
        "ipv4IPIPTunnelAddr": ANY,
        "asNumber": ANY,
        "routeReflectorClusterID": ANY,
    },
    "ipv4VXLANTunnelAddr": ANY,
    "vxlanTunnelMACAddr": ANY,
    "ipv6VXLANTunnelAddr": ANY,
    "vxlanTunnelMACAddrV6": ANY,
    "orchRefs": ListOf({"nodeName": ANY, "orchestrator": ANY}),
    "wireguard": {"interfaceIPv4Address": ANY, "interfaceIPv6Address": ANY},
    "addresses": ListOf({"address": ANY, "type": ANY}),
}
_IPPOOL: Schema = {
    "cidr": ANY,
    "vxlanMode": ANY,
    "ipipMode": ANY,
    "natOutgoing": ANY,
    "disabled": ANY,
    "disableBGPExport": ANY,
    "blockSize": ANY,
    "nodeSelector": ANY,
    "allowedUses": ANY,
    "ipip": {"enabled": ANY, "mode": ANY},
    "nat-outgoing": ANY,
}
_ADDRESS: Schema = {
    "ip": ANY,
    "hostname": ANY,
    "nodeName": ANY,
    "targetRef": leaves("kind namespace name uid apiVersion resourceVersion fieldPath"),
}
_SERVICE: Schema = leaves(
    "ports selector clusterIP clusterIPs type externalIPs sessionAffinity loadBalancerIP "
    "loadBalancerSourceRanges externalName externalTrafficPolicy healthCheckNodePort "
    "publishNotReadyAddresses sessionAffinityConfig ipFamilies ipFamilyPolicy "
    "allocateLoadBalancerNodePorts loadBalancerClass internalTrafficPolicy topologyKeys"
)
_SERVICE_STATUS: Schema = {
    "loadBalancer": {"ingress": ListOf({"ip": ANY, "hostname": ANY, "ports": ANY, "ipMode": ANY})},
    "conditions": ANY,
}
_K8S_NODE_SPEC: Schema = leaves(
    "podCIDR podCIDRs providerID unschedulable taints configSource externalID"
)


def _top(**fields: Any) -> Schema:
    return {"apiVersion": ANY, "kind": ANY, "metadata": META, **fields}


# By the resource's kind as the datastore knows it (a v1 Node is KubernetesNode).
SCHEMAS: dict[str, Schema] = {
    "BGPConfiguration": _top(spec=_BGP_CONFIGURATION),
    "BGPPeer": _top(spec=_BGP_PEER),
    "Node": _top(spec=_NODE, status=ANY),
    "IPPool": _top(spec=_IPPOOL),
    "Secret": _top(type=ANY, data=ANY, stringData=ANY, immutable=ANY),
    "Service": _top(spec=_SERVICE, status=_SERVICE_STATUS),
    "Endpoints": _top(
        subsets=ListOf(
            {
                "addresses": ListOf(_ADDRESS),
                "notReadyAddresses": ListOf(_ADDRESS),
                "ports": ListOf({"name": ANY, "port": ANY, "protocol": ANY, "appProtocol": ANY}),
            }
        )
    ),
    "KubernetesNode": _top(spec=_K8S_NODE_SPEC, status=ANY),
    "BlockAffinity": _top(
        spec={"node": ANY, "cidr": ANY, "state": ANY, "deleted": ANY, "type": ANY}
    ),
}


def unknown_field(doc: object, schema: Schema, path: str = "") -> tuple[str, list[str]] | None:
    """The first field of ``doc`` that ``schema`` does not have, as (dotted path,
    the fields that exist at that level); None when every field is known.
    List items are named ``field[i]``."""
    if not isinstance(doc, dict):
        return None
    for key, value in doc.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in schema:
            return where, sorted(schema)
        sub = schema[key]
        if isinstance(sub, dict):
            found = unknown_field(value, sub, where)
        elif isinstance(sub, ListOf) and isinstance(value, list):
            found = None
            for i, item in enumerate(value):
                found = unknown_field(item, sub.item, f"{where}[{i}]")
                if found:
                    break
        else:
            found = None
        if found:
            return found
    return None
