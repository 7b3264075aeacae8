"""``bgplab calico ...``: calicoctl-like commands against a lab's state dir.

    bgplab calico apply -f FILE           create/replace resources
    bgplab calico delete -f FILE          delete them
    bgplab calico get KIND [NAME] [-o yaml]
    bgplab calico label NODE key=value    (kubectl label nodes; key- removes)
    bgplab calico render NODE [--per-pod-routes] [-d DIR]
    bgplab calico node status NODE        calicoctl node status
    bgplab calico confd-test DIR          Calico-style confd test cases: identical or diff
    bgplab calico node run NODE --workdir DIR [--netns NS] [--speaker bird]

``--state DIR`` holds the datastore. Without it, the commands act on the
running lab's nodes when a lab is up (``<lab rundir>/calico``, the lab run
dir being ``/run/bgplab/lab`` or ``$BGPLAB_LAB_RUNDIR``), else on
/run/bgplab/calico. ``apply``, ``delete`` and ``label`` re-render the
affected nodes and reconfigure their running speakers.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bgplab.calico import agent as agent_mod
from bgplab.calico import confdtests
from bgplab.calico.confd import render_node
from bgplab.calico.datastore import DEFAULT_STATE_DIR, Datastore, DatastoreError
from bgplab.calico.resources import KIND_ALIASES, Resource, dump_resources, load_resources
from bgplab.calico.status import node_status
from bgplab.errors import UserError


def state_dir(given: str | None) -> Path:
    """``--state`` if given, else the running lab's datastore, else the default."""
    if given:
        return Path(given)
    from bgplab.lab.lab import calico_state_dir  # the lab depends on calico, not back

    return calico_state_dir() or DEFAULT_STATE_DIR


def _ds(args: argparse.Namespace) -> Datastore:
    return Datastore(state_dir(args.state))


def _friendly(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A root-owned datastore (the lab's) used by another user: one line, no traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except PermissionError as exc:
            where = exc.filename or state_dir(args.state)
            raise UserError(
                f"permission denied: {where} (the lab's state is root's: sudo)"
            ) from None

    return run


def _summary(verb: str, items: list[Resource]) -> str:
    kinds = {r.kind for r in items}
    kind = f" '{kinds.pop()}'" if len(kinds) == 1 else ""
    return f"Successfully {verb} {len(items)}{kind} resource(s)"


def _load(path: str, *, validate: bool = True) -> list[Resource]:
    if path == "-":
        return load_resources(sys.stdin.read(), validate=validate, source="<stdin>")
    if not Path(path).is_file():
        raise UserError(f"cannot read {path}: no such file")
    return load_resources(Path(path), validate=validate)


def _reconfigure(ds: Datastore) -> None:
    for node in agent_mod.reconfigure_running(ds):
        print(f"reconfigured {node}")


def cmd_apply(args: argparse.Namespace) -> int:
    ds = _ds(args)
    items = ds.apply(_load(args.filename))
    print(_summary("applied", items))
    _reconfigure(ds)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    ds = _ds(args)
    items = ds.delete(_load(args.filename, validate=False))
    print(_summary("deleted", items))
    _reconfigure(ds)
    return 0


def _columns(res: Resource) -> list[str]:
    s = res.spec
    if res.kind == "BGPPeer":
        return [
            res.name,
            str(s.get("peerIP", "")),
            str(s.get("node") or s.get("nodeSelector") or "(global)"),
            str(s.get("asNumber", "")),
        ]
    if res.kind == "Node":
        return [res.name]
    if res.kind == "IPPool":
        return [res.name, str(s.get("cidr", "")), str(s.get("nodeSelector") or "all()")]
    if res.kind == "BGPConfiguration":
        mesh = s.get("nodeToNodeMeshEnabled")
        return [res.name, "" if mesh is None else str(mesh).lower(), str(s.get("asNumber", ""))]
    if res.kind == "BlockAffinity":
        return [res.name, str(s.get("node", "")), str(s.get("cidr", "")), str(s.get("state", ""))]
    if res.kind == "Service":
        return [res.name, str(s.get("clusterIP", "")), str(s.get("externalTrafficPolicy", ""))]
    return [res.name]


_HEADERS = {
    "BGPPeer": ["NAME", "PEERIP", "NODE", "ASN"],
    "Node": ["NAME"],
    "IPPool": ["NAME", "CIDR", "SELECTOR"],
    "BGPConfiguration": ["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
    "BlockAffinity": ["NAME", "NODE", "CIDR", "STATE"],
    "Service": ["NAME", "CLUSTER-IP", "EXTERNAL-TRAFFIC-POLICY"],
}


def cmd_get(args: argparse.Namespace) -> int:
    kind = KIND_ALIASES.get(args.kind.lower())
    if kind is None:
        raise UserError(f"resource type '{args.kind}' is not supported")
    items = _ds(args).get(kind, args.name)
    if args.output == "yaml":
        if items:
            print(dump_resources(items), end="")
        return 0
    rows = [_HEADERS.get(kind, ["NAME"])]
    for r in items:
        cols = _columns(r)
        if kind == "BGPConfiguration":
            cols = [cols[0], str(r.spec.get("logSeverityScreen", "")), cols[1], cols[2]]
        rows.append(cols)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    ds = _ds(args)
    for item in args.labels:
        if item.endswith("-") and "=" not in item:
            ds.label(args.node, item[:-1], None)
        elif "=" in item:
            key, _, value = item.partition("=")
            ds.label(args.node, key, value, overwrite=args.overwrite)
        else:
            raise UserError(f"invalid label spec {item!r}: use key=value or key-")
    print(f"node/{args.node} labeled")
    _reconfigure(ds)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    files = render_node(_ds(args), args.node, per_pod_routes=args.per_pod_routes)
    if args.dir:
        out = Path(args.dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text)
            print(out / name)
    else:
        for name, text in files.items():
            print(f"==> {name} <==")
            print(text, end="")
    return 0


def cmd_confd_test(args: argparse.Namespace) -> int:
    root = confdtests.suite_root(args.dir)
    names = confdtests.cases(root, args.case)
    if not names:
        raise UserError(f"{root}: no case matches {args.case!r}")
    router_ids: dict[str, str] = {}
    for item in args.router_id:
        case, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--router-id {item!r}: use CASE=VALUE (an address or hash)")
        router_ids[case] = value
    results = []
    failed = []
    width = max(len(c) for c in names) + len("/step2") + 1
    for case in names:
        try:
            case_results = confdtests.run_case(root, case, args.node, router_ids.get(case))
        except UserError as exc:
            # A case whose input is refused (or whose node is missing) fails; the rest run.
            failed.append(case)
            print(f"{case:<{width}} ERROR: {exc}")
            continue
        for res in case_results:
            results.append(res)
            print(
                f"{res.case:<{width}} {res.name:<15} {'identical' if res.identical else 'DIFFERS'}"
            )
            if res.diff and not args.quiet:
                print(res.diff, end="" if res.diff.endswith("\n") else "\n")
    same = sum(r.identical for r in results)
    errors = f", {len(failed)} with errors" if failed else ""
    print(
        f"{same} of {len(results)} files identical ({len(names)} cases{errors}, node {args.node})"
    )
    return 0 if same == len(results) and not failed else 1


def cmd_status(args: argparse.Namespace) -> int:
    ds = _ds(args)
    ds.node(args.node)
    info = ds.runtime.get(args.node)
    if not info or not info.get("socket"):
        print("Calico process is not running.")
        return 1
    print(node_status(info["socket"], info.get("socket6")), end="")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    ds = _ds(args)
    node_agent = agent_mod.NodeAgent(
        ds, args.node, args.workdir, args.netns, args.speaker, per_pod_routes=args.per_pod_routes
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    node_agent.start()
    print(f"{args.node}: {args.speaker} running, control socket {node_agent.socket}", flush=True)

    def mtime() -> float:
        path = ds.state_path
        return path.stat().st_mtime if path is not None and path.exists() else 0.0

    seen = mtime()
    try:
        while not stop.wait(1.0):
            if not node_agent.alive():
                raise UserError(f"{args.speaker} for {args.node} exited")
            # Like confd's watch: re-render when the datastore changes.
            if mtime() != seen:
                seen = mtime()
                ds.reload()
                try:
                    if node_agent.sync():
                        print(f"{args.node}: reconfigured", flush=True)
                except UserError as exc:
                    print(f"bgplab: {exc}", file=sys.stderr, flush=True)
    finally:
        node_agent.stop()
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state",
        default=None,
        metavar="DIR",
        help="datastore directory (default: the running lab's, <lab rundir>/calico, "
        f"when a lab is up, else {DEFAULT_STATE_DIR})",
    )
    sub = parser.add_subparsers(dest="calico_cmd", metavar="COMMAND")

    p = sub.add_parser("apply", help="create or replace resources from a file")
    p.add_argument("-f", "--filename", required=True, help="YAML file ('-' for stdin)")
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("delete", help="delete the resources named in a file")
    p.add_argument("-f", "--filename", required=True, help="YAML file ('-' for stdin)")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("get", help="list resources of a kind")
    p.add_argument(
        "kind",
        help="bgpPeer, bgpConfiguration, node, ipPool, secret, service, endpoints, "
        "blockAffinity, kubernetesNode",
    )
    p.add_argument("name", nargs="?", help="only this resource (default: all of the kind)")
    p.add_argument(
        "-o",
        "--output",
        choices=("ps", "yaml"),
        default="ps",
        help="a table (ps) or the resources as YAML (default: ps)",
    )
    p.set_defaults(func=cmd_get)

    p = sub.add_parser("label", help="kubectl label nodes NODE key=value")
    p.add_argument("node", help="the node to label")
    p.add_argument("labels", nargs="+", metavar="key=value", help="labels to set (key- removes)")
    p.add_argument("--overwrite", action="store_true", help="allow changing an existing label")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("render", help="print a node's BIRD files as confd renders them")
    p.add_argument("node", help="the node whose files to render")
    p.add_argument(
        "--per-pod-routes",
        action="store_true",
        help="the seed's edited bird_aggr: export /32 pod routes",
    )
    p.add_argument("-d", "--dir", help="write the files here instead of printing")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "confd-test",
        help="run Calico-style confd test cases: identical or the diff, per case and file",
        description="Apply each case's resources (mock_data/calicoctl/<case>/input.yaml, "
        "kubectl-input.yaml, then step2/input.yaml) to a fresh datastore, render the "
        "node's six files and compare them with compiled_templates/<case>/ as Calico's "
        "suite does (blank lines ignored; mesh/communities as sorted lines). Exit 1 if "
        "any file differs. Layout: docs/calico.md.",
    )
    p.add_argument("dir", help="directory with mock_data/ and compiled_templates/ (or tests/)")
    p.add_argument(
        "--node",
        default=confdtests.DEFAULT_NODE,
        help=f"the node confd runs as (NODENAME; default {confdtests.DEFAULT_NODE})",
    )
    p.add_argument("--case", default="*", help="only cases matching this glob (default: all)")
    p.add_argument(
        "--router-id",
        action="append",
        default=[],
        metavar="CASE=VALUE",
        help="CALICO_ROUTER_ID for a case (default: as Calico's suite sets it: "
        + ", ".join(f"{k}={v}" for k, v in confdtests.SUITE_ROUTER_IDS.items())
        + "; others none)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the diffs")
    p.set_defaults(func=cmd_confd_test)

    node = sub.add_parser("node", help="node commands (status, run)")
    nsub = node.add_subparsers(dest="node_cmd", metavar="COMMAND")
    p = nsub.add_parser("status", help="calicoctl node status")
    p.add_argument("node", help="the node to ask (its speaker's control socket)")
    p.set_defaults(func=cmd_status)
    p = nsub.add_parser("run", help="run a node's speaker in the foreground")
    p.add_argument("node", help="the node whose speaker to run")
    p.add_argument("--workdir", required=True, help="directory for its config and socket")
    p.add_argument("--netns", help="network namespace to run it in (default: this one)")
    p.add_argument(
        "--speaker",
        choices=agent_mod.SPEAKERS,
        default="bgplabd",
        help="bgplabd or bird (default: bgplabd)",
    )
    p.add_argument(
        "--per-pod-routes",
        action="store_true",
        help="the seed's edited bird_aggr: export /32 pod routes",
    )
    p.set_defaults(func=cmd_run)

    for action in (sub, nsub):
        for p in action.choices.values():
            func = p.get_default("func")
            if func is not None:
                p.set_defaults(func=_friendly(func))


__all__ = ["register", "DatastoreError"]
