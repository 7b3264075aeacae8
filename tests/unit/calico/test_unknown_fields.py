"""A misspelled field is rejected as calicoctl rejects it (issue 18, finding 1):
each kind, an unknown field at each nesting level, one line naming the kind, the
resource, the field and the fields that exist there; nothing is stored, through
``bgplab calico apply`` and through a lab topology's ``calico:`` section alike."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgplab.app import main
from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import ResourceError, load_resources, resource_from_doc
from bgplab.lab.topology import TopologyError, load_topology, parse_topology, seed_path

V3 = "projectcalico.org/v3"
GOOD: dict[str, dict[str, Any]] = {
    "BGPConfiguration": {
        "apiVersion": V3,
        "kind": "BGPConfiguration",
        "metadata": {"name": "default", "labels": {"a": "b"}},
        "spec": {
            "asNumber": 64512,
            "communities": [{"name": "c1", "value": "65000:100"}],
            "prefixAdvertisements": [{"cidr": "10.0.0.0/8", "communities": ["c1"]}],
            "serviceClusterIPs": [{"cidr": "10.96.0.0/12"}],
            "nodeMeshPassword": {"secretKeyRef": {"name": "s", "key": "k"}},
        },
    },
    "BGPPeer": {
        "apiVersion": V3,
        "kind": "BGPPeer",
        "metadata": {"name": "rack1-tor"},
        "spec": {
            "peerIP": "192.168.2.16",
            "asNumber": 63400,
            "nodeSelector": "rack == 'rack-1'",
            "password": {"secretKeyRef": {"name": "s", "key": "k"}},
        },
    },
    "Node": {
        "apiVersion": V3,
        "kind": "Node",
        "metadata": {"name": "n1"},
        "spec": {
            "bgp": {"ipv4Address": "10.0.0.1/24"},
            "orchRefs": [{"nodeName": "n1", "orchestrator": "k8s"}],
        },
    },
    "IPPool": {
        "apiVersion": V3,
        "kind": "IPPool",
        "metadata": {"name": "pool"},
        "spec": {"cidr": "10.41.0.0/16", "ipip": {"enabled": False}},
    },
    "Secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "kube-system"},
        "stringData": {"k": "v"},
    },
    "Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc"},
        "spec": {"clusterIP": "10.96.0.10", "externalTrafficPolicy": "Local"},
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}},
    },
    "Endpoints": {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "svc"},
        "subsets": [
            {
                "addresses": [{"ip": "10.41.0.5", "nodeName": "n1", "targetRef": {"kind": "Pod"}}],
                "ports": [{"port": 80}],
            }
        ],
    },
    "KubernetesNode": {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {"rack": "r1"}},
        "spec": {"podCIDR": "10.41.0.0/24"},
    },
    "BlockAffinity": {
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "BlockAffinity",
        "metadata": {"name": "n1-10-41-0-0-26"},
        "spec": {"node": "n1", "cidr": "10.41.0.0/26", "state": "confirmed"},
    },
}
# (kind, path to the mapping that gets the unknown field, the field's dotted name,
#  a field that exists at that level)
CASES = [
    ("BGPConfiguration", (), "kindd", "apiVersion"),
    ("BGPConfiguration", ("metadata",), "metadata.labelz", "labels"),
    ("BGPConfiguration", ("spec",), "spec.nodeToNodeMeshEnabld", "nodeToNodeMeshEnabled"),
    ("BGPConfiguration", ("spec", "communities", 0), "spec.communities[0].valu", "value"),
    (
        "BGPConfiguration",
        ("spec", "prefixAdvertisements", 0),
        "spec.prefixAdvertisements[0].comunities",
        "communities",
    ),
    ("BGPConfiguration", ("spec", "serviceClusterIPs", 0), "spec.serviceClusterIPs[0].cdr", "cidr"),
    (
        "BGPConfiguration",
        ("spec", "nodeMeshPassword", "secretKeyRef"),
        "spec.nodeMeshPassword.secretKeyRef.nam",
        "name",
    ),
    ("BGPPeer", (), "speck", "spec"),
    ("BGPPeer", ("metadata",), "metadata.labelz", "labels"),
    ("BGPPeer", ("spec",), "spec.nodeSelectr", "nodeSelector"),
    ("BGPPeer", ("spec", "password"), "spec.password.secretRef", "secretKeyRef"),
    ("BGPPeer", ("spec", "password", "secretKeyRef"), "spec.password.secretKeyRef.keys", "key"),
    ("Node", (), "stauts", "status"),
    ("Node", ("metadata",), "metadata.anotations", "annotations"),
    ("Node", ("spec",), "spec.bgpp", "bgp"),
    ("Node", ("spec", "bgp"), "spec.bgp.ipv4Adress", "ipv4Address"),
    ("Node", ("spec", "orchRefs", 0), "spec.orchRefs[0].node", "nodeName"),
    ("IPPool", (), "specs", "spec"),
    ("IPPool", ("metadata",), "metadata.nmae", "name"),
    ("IPPool", ("spec",), "spec.ipipmode", "ipipMode"),
    ("IPPool", ("spec", "ipip"), "spec.ipip.enable", "enabled"),
    ("Secret", (), "stringdata", "stringData"),
    ("Secret", ("metadata",), "metadata.namespce", "namespace"),
    ("Service", (), "sepc", "spec"),
    ("Service", ("metadata",), "metadata.labelz", "labels"),
    ("Service", ("spec",), "spec.clusterIp", "clusterIP"),
    ("Service", ("status",), "status.loadBalancers", "loadBalancer"),
    ("Service", ("status", "loadBalancer"), "status.loadBalancer.ingres", "ingress"),
    (
        "Service",
        ("status", "loadBalancer", "ingress", 0),
        "status.loadBalancer.ingress[0].address",
        "ip",
    ),
    ("Endpoints", (), "subset", "subsets"),
    ("Endpoints", ("metadata",), "metadata.labelz", "labels"),
    ("Endpoints", ("subsets", 0), "subsets[0].adresses", "addresses"),
    ("Endpoints", ("subsets", 0, "addresses", 0), "subsets[0].addresses[0].node", "nodeName"),
    (
        "Endpoints",
        ("subsets", 0, "addresses", 0, "targetRef"),
        "subsets[0].addresses[0].targetRef.nam",
        "name",
    ),
    ("Endpoints", ("subsets", 0, "ports", 0), "subsets[0].ports[0].prot", "port"),
    ("KubernetesNode", (), "specc", "spec"),
    ("KubernetesNode", ("metadata",), "metadata.labelz", "labels"),
    ("KubernetesNode", ("spec",), "spec.podCidr", "podCIDR"),
    ("BlockAffinity", (), "spek", "spec"),
    ("BlockAffinity", ("metadata",), "metadata.labelz", "labels"),
    ("BlockAffinity", ("spec",), "spec.nod", "node"),
]


def _bad(kind: str, path: tuple[Any, ...], field: str) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD[kind])
    target: Any = doc
    for step in path:
        target = target[step]
    target[field.rpartition(".")[2].split("[")[0]] = "typo"
    return doc


def test_every_kind_has_cases_and_its_good_document_is_accepted() -> None:
    assert {c[0] for c in CASES} == set(GOOD)
    for doc in GOOD.values():
        resource_from_doc(copy.deepcopy(doc))


@pytest.mark.parametrize(("kind", "path", "field", "exists"), CASES)
def test_unknown_field_is_rejected_naming_it(
    kind: str, path: tuple[Any, ...], field: str, exists: str, tmp_path: Path
) -> None:
    doc = _bad(kind, path, field)
    name = doc["metadata"]["name"]
    shown_kind = doc["kind"]  # a Kubernetes Node is named Node
    with pytest.raises(ResourceError) as err:
        resource_from_doc(doc)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{shown_kind}({name}): unknown field {field} (the fields of ")
    assert f" {exists}," in msg or f" {exists})" in msg, msg  # lists the fields that exist
    # Nothing stored: a file with a good resource and the bad one changes nothing.
    ds = Datastore(tmp_path)
    before = ds.state_path.read_text() if ds.state_path and ds.state_path.exists() else None
    text = yaml.safe_dump_all([GOOD["IPPool"], doc])
    with pytest.raises(ResourceError, match="unknown field"):
        ds.apply(load_resources(text))
    after = ds.state_path.read_text() if ds.state_path and ds.state_path.exists() else None
    assert before == after and Datastore(tmp_path).get("IPPool") == []


def test_apply_command_says_one_line_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    st = str(tmp_path / "state")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(GOOD["IPPool"]))
    assert main(["calico", "--state", st, "apply", "-f", str(good)]) == 0
    state = (tmp_path / "state" / "state.json").read_text()
    bad = tmp_path / "peer.yaml"
    bad.write_text(yaml.safe_dump_all([GOOD["Node"], _bad("BGPPeer", ("spec",), "nodeSelectr")]))
    capsys.readouterr()
    assert main(["calico", "--state", st, "apply", "-f", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"bgplab: {bad} (resource 2): BGPPeer(rack1-tor): unknown field ")
    assert "spec.nodeSelectr (the fields of spec are: asNumber, " in err
    assert (tmp_path / "state" / "state.json").read_text() == state


def test_topology_calico_section_uses_the_same_check(tmp_path: Path) -> None:
    topo = yaml.safe_load(seed_path().read_text())
    peer = next(d for d in topo["calico"] if d["kind"] == "BGPPeer")
    peer["spec"]["nodeSelectr"] = peer["spec"].pop("nodeSelector")
    with pytest.raises(TopologyError) as err:
        parse_topology(yaml.safe_dump(topo), tmp_path / "t.yaml")
    assert "unknown field spec.nodeSelectr (the fields of spec are: " in str(err.value)
    assert str(err.value).startswith("calico[")
    load_topology(seed_path())  # the seed itself is clean


def test_state_file_round_trip_keeps_validating(tmp_path: Path) -> None:
    # A state file written by an older bgplab with an unknown field: a clear error.
    ds = Datastore(tmp_path)
    ds.apply(load_resources(yaml.safe_dump(GOOD["IPPool"])))
    data = json.loads((tmp_path / "state.json").read_text())
    data["resources"][0]["spec"]["ipipmode"] = "Always"
    (tmp_path / "state.json").write_text(json.dumps(data))
    with pytest.raises(Exception, match="unknown field spec.ipipmode"):
        Datastore(tmp_path)
