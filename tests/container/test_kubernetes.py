"""contrib/kubernetes: static checks, since no cluster runs here.

* ``kubernetes-validate --strict`` (PyPI; Kubernetes' own OpenAPI schemas, shipped in the
  package, so it works offline) accepts the Kubernetes resources and rejects a broken one;
* the Deployment keeps the promises docs/container.md makes (two pods, host network,
  labelled nodes, anti-affinity, config from the ConfigMap, readiness from the health check,
  capabilities, read-only root);
* the ConfigMap's bird.conf parses, the Calico resources load with bgplab's calicoctl model;
* (root) the image run the way the pod spec runs it (no capabilities but the listed ones,
  read-only root, the socket directory an empty dir, group 179 added) turns ready: the
  readiness command answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgplab.calico.resources import BGPConfiguration, BGPPeer, load_resources
from bgplab.config import parse_file
from bgplab.lab import container

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "contrib" / "kubernetes"
KUBE_FILES = ["namespace.yaml", "configmap.yaml", "deployment.yaml"]
SEED_CAPS = {"NET_ADMIN", "NET_BROADCAST", "NET_RAW"}


def validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kubernetes-validate")
    assert exe, "kubernetes-validate is missing (pip install -e '.[dev]', scripts/install)"
    return subprocess.run(
        [exe, "--strict", "--no-warn", *map(str, paths)], capture_output=True, text=True
    )


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((K8S / name).read_text())
    return doc


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = load("deployment.yaml")["spec"]["template"]["spec"]
    return spec


def test_kubernetes_validate_accepts_the_manifests() -> None:
    res = validate(*(K8S / f for f in KUBE_FILES))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("passed") == len(KUBE_FILES), res.stdout


def test_kubernetes_validate_rejects_a_broken_deployment(tmp_path: Path) -> None:
    # the tool is doing work: an unknown field and a wrong type fail it
    dep = load("deployment.yaml")
    # (it reports the first problem of a resource, so one each)
    for path, value, word in (
        (["spec", "template", "spec", "hostNetwrok"], True, "hostNetwrok"),
        (["spec", "replicas"], "two", "replicas"),
    ):
        dep = load("deployment.yaml")
        node = dep
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump(dep))
        res = validate(bad)
        assert res.returncode != 0 and word in res.stdout + res.stderr, res


def test_deployment_is_two_reflectors_on_the_labelled_nodes() -> None:
    dep = load("deployment.yaml")
    assert dep["spec"]["replicas"] == 2
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    spec = pod_spec()
    assert spec["hostNetwork"] is True  # the seed's --net=host
    assert spec["nodeSelector"] == {"bgplab.io/route-reflector": "true"}
    (term,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= labels.items()
    # one pod per node and port 179 per node: a rollout never surges a third pod
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


def test_pod_runs_the_image_as_the_seed_runs_it() -> None:
    spec = pod_spec()
    (c,) = spec["containers"]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    # the config from the ConfigMap, read-only at /etc/bird (-v /bird/:/etc/bird:ro)
    assert mounts["/etc/bird"]["readOnly"] is True
    assert (
        volumes[mounts["/etc/bird"]["name"]]["configMap"]["name"]
        == load("configmap.yaml")["metadata"]["name"]
    )
    assert "bird.conf" in load("configmap.yaml")["data"]
    # the socket directory is the only writable place; readiness asks the socket
    assert "emptyDir" in volumes[mounts["/run/bird"]["name"]]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["readinessProbe"]["exec"]["command"] == ["birdc", "show", "status"]
    assert c["livenessProbe"]["exec"]["command"] == ["birdc", "show", "status"]
    caps = c["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"]
    # the seed's three, and only what dropping to user bird needs besides
    assert set(caps["add"]) == SEED_CAPS | {"NET_BIND_SERVICE", "SETUID", "SETGID"}
    assert spec["securityContext"]["supplementalGroups"] == [container.IMAGE_UID]


def test_configmap_config_parses_as_a_reflector(tmp_path: Path) -> None:
    conf = tmp_path / "bird.conf"
    conf.write_text(load("configmap.yaml")["data"]["bird.conf"])
    cfg = parse_file(str(conf))
    bgp = [p for p in cfg.protocols if p.kind == "bgp"]
    assert len(bgp) == 4 and cfg.router_id is None  # each pod: its node's address


def test_calico_resources_point_every_node_at_both_reflectors() -> None:
    res = load_resources(K8S / "bgppeer.yaml")
    conf = next(r for r in res if isinstance(r, BGPConfiguration))
    assert conf.doc["spec"]["nodeToNodeMeshEnabled"] is False
    peers = [r for r in res if isinstance(r, BGPPeer)]
    assert sorted(p.peer_ip for p in peers) == ["192.168.0.40", "192.168.2.16"]
    assert all(p.as_number == 63400 and p.node_selector for p in peers)


@pytest.mark.root
@pytest.mark.slow
def test_pod_security_context_is_enough_to_turn_ready(image: str, tmp_path: Path) -> None:
    """The pod's restrictions, as podman options: the readiness command must pass."""
    etc, run = tmp_path / "etc", tmp_path / "run"
    etc.mkdir()
    run.mkdir()
    run.chmod(0o777)  # what an emptyDir is
    (etc / "bird.conf").write_text(load("configmap.yaml")["data"]["bird.conf"])
    tmp_path.chmod(0o755)
    etc.chmod(0o755)
    (etc / "bird.conf").chmod(0o644)
    (c,) = pod_spec()["containers"]
    caps = c["securityContext"]["capabilities"]["add"]
    name = f"bgplab-t{os.getpid()}-k8s"
    argv = [
        "run", "-d", "--name", name, "--network=none", "--read-only", "--cap-drop=ALL",
        *[f"--cap-add={x}" for x in caps], "--security-opt=no-new-privileges",
        f"--group-add={container.IMAGE_UID}", "-v", f"{run}:/run/bird",
        "-v", f"{etc}:/etc/bird:ro", image, *c["args"],
    ]  # fmt: skip
    container.remove(name)
    try:
        container.podman(argv, timeout=60)
        deadline = time.monotonic() + 30
        out = ""
        while time.monotonic() < deadline:
            out = container.podman(
                ["exec", name, *c["readinessProbe"]["exec"]["command"]], check=False
            )
            if "Daemon is up and running" in out:
                break
            time.sleep(0.5)
        assert "Daemon is up and running" in out, container.logs(name)
        pid = container.container_pid(name)
        status = Path(f"/proc/{pid}/status").read_text()
        assert "Uid:\t179\t179\t179\t179" in status
        assert "CapEff:\t0000000000003400" in status
    finally:
        container.remove(name)
