"""Golden cases: resources in tests/fixtures/calico, loaded into a Datastore."""

from __future__ import annotations

from pathlib import Path

from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import load_resources

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "calico"
GOLDEN = FIXTURES / "golden"
# case -> (fixture files, render options)
CASES: dict[str, tuple[list[str], dict[str, bool]]] = {
    "seed": (
        [
            "cluster/seed-nodes.yaml",
            "seed/bgpconfiguration.yaml",
            "seed/rack1-tor.yaml",
            "seed/rack2-tor.yaml",
        ],
        {},
    ),
    "seed-per-pod": (
        [
            "cluster/seed-nodes.yaml",
            "seed/bgpconfiguration.yaml",
            "seed/rack1-tor.yaml",
            "seed/rack2-tor.yaml",
        ],
        {"per_pod_routes": True},
    ),
    "seed-service": (
        [
            "cluster/seed-nodes.yaml",
            "seed/bgpconfiguration.yaml",
            "seed/rack1-tor.yaml",
            "seed/rack2-tor.yaml",
        ],
        {},
    ),
    "mesh": (["golden/mesh/resources.yaml"], {}),
    "global": (["golden/global/resources.yaml"], {}),
    "rr": (["golden/rr/resources.yaml"], {}),
}


def seed_labels() -> list[tuple[str, str, str]]:
    out = []
    for line in (GOLDEN / "seed" / "labels.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            node, kv = line.split()
            k, v = kv.split("=")
            out.append((node, k, v))
    return out


def load_case(case: str) -> tuple[Datastore, dict[str, bool]]:
    files, opts = CASES[case]
    ds = Datastore()
    for f in files:
        ds.apply(load_resources(FIXTURES / f))
    if case.startswith("seed"):
        for node, k, v in seed_labels():
            ds.label(node, k, v)
    if case == "seed-service":
        # calicoctl patch BGPConfig default --patch '{"spec": {"serviceClusterIPs": ...}}'
        import copy
        import json

        from bgplab.calico.resources import resource_from_doc

        cfg = ds.config()
        assert cfg is not None
        doc = copy.deepcopy(cfg.doc)
        doc["spec"].update(
            json.loads((FIXTURES / "seed/service-cidr-patch.json").read_text())["spec"]
        )
        ds.apply([resource_from_doc(doc)])
    return ds, opts
