"""The Calico datastore: resources, labels, IPAM blocks, saved to a directory.

``bgplab calico apply/delete/get/label`` are separate processes, so the state
lives in ``<state>/state.json`` (default ``/run/bgplab/calico``). Every change
is checked as a whole on a copy first (resource validation, IPAM) and only
then committed and saved: a file with one bad resource changes nothing.
Running node agents record their sockets under ``runtime`` so that
``node status`` and ``apply`` can find them.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bgplab.calico import ipam
from bgplab.calico.resources import (
    BGPConfiguration,
    BGPPeer,
    BlockAffinity,
    Endpoints,
    IPPool,
    KubernetesNode,
    Node,
    Resource,
    ResourceError,
    Secret,
    Service,
    check_label,
    resource_from_doc,
)
from bgplab.errors import UserError

DEFAULT_STATE_DIR = Path("/run/bgplab/calico")
STATE_FILE = "state.json"


class DatastoreError(UserError):
    """A change the datastore refuses (missing resource, bad label...)."""


class Datastore:
    """In-memory Calico resources, optionally persisted to ``state_dir``."""

    def __init__(self, state_dir: str | Path | None = None):
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._res: dict[tuple[str, str], Resource] = {}
        self._blocks: dict[str, list[str]] = {}
        self.runtime: dict[str, dict[str, Any]] = {}
        if self.state_dir is not None:
            self._load()

    # ----- persistence -------------------------------------------------
    @property
    def state_path(self) -> Path | None:
        return self.state_dir / STATE_FILE if self.state_dir is not None else None

    def _load(self) -> None:
        path = self.state_path
        assert path is not None
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text())
            for doc in data.get("resources", []):
                res = resource_from_doc(doc)
                self._res[res.key] = res
            self._blocks = {k: list(v) for k, v in data.get("blocks", {}).items()}
            self.runtime = dict(data.get("runtime", {}))
        except (OSError, ValueError, ResourceError) as exc:
            raise DatastoreError(f"cannot read Calico state {path}: {exc}") from None

    def save(self) -> None:
        path = self.state_path
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "resources": [r.doc for r in self._sorted(self._res.values())],
            "blocks": self._blocks,
            "runtime": self.runtime,
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)

    def reload(self) -> None:
        """Re-read the state file (another process may have changed it)."""
        if self.state_dir is not None:
            self._res, self._blocks, self.runtime = {}, {}, {}
            self._load()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Read-modify-write under a lock: a long-lived process (the lab)
        and ``bgplab calico apply`` may change the same state dir."""
        if self.state_dir is None:
            yield
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.reload()
            yield

    # ----- changes -----------------------------------------------------
    def apply(self, resources: Iterable[Resource]) -> list[Resource]:
        """Create or replace resources; all or nothing. Returns them."""
        items = list(resources)
        with self._transaction():
            new = dict(self._res)
            for res in items:
                new[res.key] = res
            self._commit(new)
        return items

    def delete(self, resources: Iterable[Resource]) -> list[Resource]:
        """Delete resources by kind and name; all or nothing."""
        items = list(resources)
        with self._transaction():
            new = dict(self._res)
            for res in items:
                if res.key not in new:
                    raise DatastoreError(f"resource does not exist: {res.ident}")
                del new[res.key]
                if isinstance(res, Service):
                    # Kubernetes' endpoints controller removes a service's Endpoints with it.
                    new.pop(("Endpoints", res.key[1]), None)
            self._commit(new)
        return items

    def label(self, node: str, key: str, value: str | None, *, overwrite: bool = True) -> Node:
        """``kubectl label nodes NODE key=value`` (``value=None``: ``key-``)."""
        with self._transaction():
            self.node(node)  # not found: names the nodes there are
            current = self._res[("Node", node)]
            doc = copy.deepcopy(current.doc)
            labels = doc.setdefault("metadata", {}).setdefault("labels", {}) or {}
            doc["metadata"]["labels"] = labels
            if value is None:
                if key not in labels:
                    raise DatastoreError(f'label "{key}" not found on node {node}')
                del labels[key]
            else:
                check_label(key, value, f"Node({node})")
                if not overwrite and key in labels and labels[key] != value:
                    raise DatastoreError(
                        f"'{key}' already has a value ({labels[key]}), and --overwrite is false"
                    )
                labels[key] = value
            res = resource_from_doc(doc)
            assert isinstance(res, Node)
            new = dict(self._res)
            new[res.key] = res
            self._commit(new)
        return res

    def set_secret(self, name: str, key: str, value: str) -> None:
        """Store a BGP password, as a Kubernetes Secret ``name`` would hold it
        (for ``password: {secretKeyRef: {name, key}}``)."""
        current = self._res.get(("Secret", name))
        doc: dict[str, Any] = (
            copy.deepcopy(current.doc)
            if current is not None
            else {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}}
        )
        string_data: dict[str, str] = doc.setdefault("stringData", {})
        string_data[key] = value
        data: dict[str, str] = doc.get("data") or {}
        data.pop(key, None)
        self.apply([resource_from_doc(doc)])

    def set_runtime(self, node: str, **info: Any) -> None:
        """Record (or, without ``info``, forget) a running node agent."""
        with self._transaction():
            if info:
                self.runtime[node] = dict(info)
            else:
                self.runtime.pop(node, None)
            self.save()

    def _commit(self, new: dict[tuple[str, str], Resource]) -> None:
        nodes = [r for r in new.values() if isinstance(r, Node)]
        pools = [r for r in new.values() if isinstance(r, IPPool)]
        affinities = [r for r in new.values() if isinstance(r, BlockAffinity)]
        if affinities:
            # Calico's own IPAM state: a node's blocks are exactly its affinities.
            blocks: dict[str, list[str]] = {n.name: [] for n in nodes}
            for a in sorted(affinities, key=lambda a: a.name):
                if not a.deleted:
                    blocks.setdefault(a.node, []).append(a.cidr)
        else:
            blocks = ipam.allocate(nodes, pools, self._blocks)
        self._res = new
        self._blocks = blocks
        self.save()

    # ----- queries -----------------------------------------------------
    @staticmethod
    def _sorted(items: Iterable[Resource]) -> list[Resource]:
        return sorted(items, key=lambda r: (r.kind, r.name))

    def get(self, kind: str, name: str | None = None) -> list[Resource]:
        found = [r for r in self._sorted(self._res.values()) if r.kind == kind]
        if name is not None:
            found = [r for r in found if r.name == name]
            if not found:
                raise DatastoreError(f"resource does not exist: {kind}({name})")
        return found

    def nodes(self) -> list[Node]:
        """The Calico nodes, each with its Kubernetes node's labels (if any) under its own."""
        return [self._with_kube_labels(r) for r in self.get("Node") if isinstance(r, Node)]

    def _with_kube_labels(self, node: Node) -> Node:
        kube = self._res.get(("KubernetesNode", node.name))
        if not isinstance(kube, KubernetesNode) or not kube.labels:
            return node
        return dataclasses.replace(node, labels={**kube.labels, **node.labels})

    def node(self, name: str) -> Node:
        res = self._res.get(("Node", name))
        if not isinstance(res, Node):
            names = ", ".join(n.name for n in self.nodes()) or "none"
            raise DatastoreError(f'nodes "{name}" not found (the nodes: {names})')
        return self._with_kube_labels(res)

    def peers(self) -> list[BGPPeer]:
        return [r for r in self.get("BGPPeer") if isinstance(r, BGPPeer)]

    def config(self) -> BGPConfiguration | None:
        """The global ``default`` BGPConfiguration, if any."""
        res = self._res.get(("BGPConfiguration", "default"))
        return res if isinstance(res, BGPConfiguration) else None

    def node_config(self, node: str) -> BGPConfiguration | None:
        res = self._res.get(("BGPConfiguration", f"node.{node}"))
        return res if isinstance(res, BGPConfiguration) else None

    def pools(self) -> list[IPPool]:
        return [r for r in self.get("IPPool") if isinstance(r, IPPool)]

    def affinities(self) -> list[BlockAffinity]:
        """BlockAffinity objects (when any exist, they are the IPAM blocks)."""
        return [r for r in self.get("BlockAffinity") if isinstance(r, BlockAffinity)]

    def services(self) -> list[tuple[Service, Endpoints | None]]:
        """Each Service with the Endpoints of the same namespace and name."""
        eps = {r.key[1]: r for r in self.get("Endpoints") if isinstance(r, Endpoints)}
        return [
            (svc, eps.get(svc.key[1])) for svc in self.get("Service") if isinstance(svc, Service)
        ]

    def secret(self, name: str, key: str) -> str | None:
        for res in self.get("Secret"):
            if isinstance(res, Secret) and res.name == name:
                return res.values().get(key)
        return None

    def blocks_for(self, node: str) -> list[str]:
        """The IPAM blocks (CIDR strings) affine to ``node``."""
        return list(self._blocks.get(node, []))

    def pod_ips(self, node: str, count: int, version: int = 4) -> list[str]:
        """Addresses for ``count`` pods on ``node``, from its first block."""
        for block in self.blocks_for(node):
            if (":" in block) == (version == 6):
                return ipam.pod_addresses(block, count)
        raise DatastoreError(f"node {node} has no IPv{version} block (is there an IPPool?)")
