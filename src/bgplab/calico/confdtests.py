"""Run Calico-style confd test cases: resources in, the six BIRD files out,
compared with the files Calico's confd rendered for the same input.

The layout is that of Calico's confd test suite (``confd/tests`` in
projectcalico/calico)::

    mock_data/calicoctl/<case>/input.yaml          applied with calicoctl
    mock_data/calicoctl/<case>/kubectl-input.yaml  applied with kubectl (optional)
    mock_data/calicoctl/<case>/step2/input.yaml    applied on top, compared again (optional;
                                                   step2/kubectl-input.yaml too)
    mock_data/kdd/ipam.yaml, mock_data/kdd/nodes.yaml   loaded before every case (optional)
    compiled_templates/<case>/<file>               what confd rendered (step2/ for step 2)

A case is any directory under ``mock_data/calicoctl`` with an ``input.yaml``
(``<case>`` may be nested: ``mesh/ipip-always``). Each case starts from a
fresh datastore (Calico's suite runs them in turn on one datastore, deleting
each case's resources afterwards; every case applies what it needs). Files
compare as Calico's ``compare_templates`` compares them: equal once blank
lines are ignored (``diff --ignore-blank-lines``), or, for a case whose name
contains ``mesh/communities`` (where confd's line order is not stable), equal
as sorted lines. Only the files present in the golden directory are compared.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bgplab.calico.confd import render_node
from bgplab.calico.datastore import Datastore
from bgplab.calico.resources import load_resources
from bgplab.errors import UserError

DEFAULT_NODE = "kube-master"  # NODENAME in Calico's suite
# CALICO_ROUTER_ID as Calico's test_suite_common.sh sets it for these cases.
SUITE_ROUTER_IDS = {
    "mesh/static-routes-no-ipv4-address": "10.10.10.10",
    "mesh/hash": "hash",
}
_BASE = ("mock_data/kdd/ipam.yaml", "mock_data/kdd/nodes.yaml")


@dataclass(frozen=True)
class FileResult:
    case: str  # "mesh/static-routes" or "mesh/static-routes/step2"
    name: str  # "bird6_ipam.cfg"
    identical: bool
    diff: str  # unified diff, expected -> rendered ("" when identical)


def suite_root(path: str | Path) -> Path:
    """The directory holding ``mock_data/`` and ``compiled_templates/`` (also
    found one level down, in ``tests/``)."""
    root = Path(path)
    for cand in (root, root / "tests"):
        if (cand / "mock_data" / "calicoctl").is_dir():
            return cand
    raise UserError(f"{root}: no mock_data/calicoctl/ here (nor in {root / 'tests'})")


def cases(root: Path, pattern: str = "*") -> list[str]:
    base = root / "mock_data" / "calicoctl"
    found = sorted(
        str(p.parent.relative_to(base))
        for p in base.rglob("input.yaml")
        if p.parent.name != "step2"
    )
    return [c for c in found if fnmatch.fnmatchcase(c, pattern)]


def same(expected: str, rendered: str, case: str) -> bool:
    """Calico's comparison (see the module docstring)."""

    def nonblank(text: str) -> list[str]:
        return [line for line in text.splitlines() if line != ""]

    if nonblank(expected) == nonblank(rendered):
        return True
    return "mesh/communities" in case and sorted(expected.splitlines()) == sorted(
        rendered.splitlines()
    )


def _apply(ds: Datastore, path: Path) -> None:
    if path.is_file():
        ds.apply(load_resources(path))


def _compare(golden: Path, label: str, files: Mapping[str, str]) -> Iterator[FileResult]:
    if not golden.is_dir():
        raise UserError(f"{label}: no golden files in {golden}")
    for path in sorted(p for p in golden.iterdir() if p.is_file()):
        expected = path.read_text()
        rendered = files.get(path.name)
        if rendered is None:
            yield FileResult(label, path.name, False, f"not rendered: {path.name}\n")
            continue
        ok = same(expected, rendered, label)
        diff = (
            ""
            if ok
            else "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    rendered.splitlines(keepends=True),
                    f"calico/{label}/{path.name}",
                    f"bgplab/{label}/{path.name}",
                )
            )
        )
        yield FileResult(label, path.name, ok, diff)


def run_case(
    root: Path, case: str, node: str = DEFAULT_NODE, router_id: str | None = None
) -> list[FileResult]:
    """Apply one case (and its step 2) and compare the rendered files."""
    mock = root / "mock_data" / "calicoctl" / case
    rid = router_id if router_id is not None else SUITE_ROUTER_IDS.get(case, "")
    ds = Datastore()
    for base in _BASE:
        _apply(ds, root / base)
    _apply(ds, mock / "input.yaml")
    _apply(ds, mock / "kubectl-input.yaml")
    out = list(
        _compare(root / "compiled_templates" / case, case, render_node(ds, node, router_id=rid))
    )
    step2 = mock / "step2"
    if (step2 / "input.yaml").is_file() or (step2 / "kubectl-input.yaml").is_file():
        _apply(ds, mock / "step2" / "input.yaml")
        _apply(ds, mock / "step2" / "kubectl-input.yaml")
        label = f"{case}/step2"
        files = render_node(ds, node, router_id=rid)
        out.extend(_compare(root / "compiled_templates" / case / "step2", label, files))
    return out
