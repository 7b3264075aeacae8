"""``bgplab calico ...`` end to end through the umbrella CLI (no daemons)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgplab.app import main
from bgplab.calico.confd import render_node
from bgplab.calico.datastore import Datastore

from .conftest import FIXTURES, GOLDEN


def run(capsys: pytest.CaptureFixture[str], state: Path, *argv: str) -> tuple[int, str, str]:
    rc = main(["calico", "--state", str(state), *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_seed_walkthrough(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = tmp_path / "state"
    assert run(capsys, st, "apply", "-f", str(FIXTURES / "cluster/seed-nodes.yaml"))[0] == 0
    rc, out, _ = run(capsys, st, "apply", "-f", str(FIXTURES / "seed/bgpconfiguration.yaml"))
    assert (rc, out) == (0, "Successfully applied 1 'BGPConfiguration' resource(s)\n")
    for peer in ("rack1-tor", "rack2-tor"):
        assert run(capsys, st, "apply", "-f", str(FIXTURES / f"seed/{peer}.yaml"))[0] == 0
    # The seed labels rke-node5, which does not exist: a clear error.
    rc, _, err = run(capsys, st, "label", "rke-node5", "rack=rack-1")
    assert rc == 1 and err == (
        'bgplab: nodes "rke-node5" not found (the nodes: rke-node3, rke-node4, rke-node6, '
        "rke-node7)\n"
    )
    for line in (GOLDEN / "seed/labels.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            node, kv = line.split()
            rc, out, _ = run(capsys, st, "label", node, kv)
            assert (rc, out) == (0, f"node/{node} labeled\n")
    rc, out, _ = run(capsys, st, "get", "bgpPeers")
    assert out.splitlines() == [
        "NAME        PEERIP         NODE               ASN",
        "rack1-tor   192.168.2.16   rack == 'rack-1'   63400",
        "rack2-tor   192.168.0.40   rack == 'rack-2'   63400",
    ]
    rc, out, _ = run(capsys, st, "get", "bgppeer", "rack2-tor", "-o", "yaml")
    assert out == (FIXTURES / "seed/rack2-tor.yaml").read_text()
    # Rendering from the saved state equals the golden seed files.
    rc, out, _ = run(capsys, st, "render", "rke-node7", "-d", str(tmp_path / "out"))
    assert rc == 0
    for name in ("bird.cfg", "bird_aggr.cfg", "bird_ipam.cfg"):
        golden = (GOLDEN / "seed/rke-node7" / name).read_text().partition("\n")[2]
        assert (tmp_path / "out" / name).read_text() == golden
    rc, out, _ = run(capsys, st, "delete", "-f", str(FIXTURES / "seed/rack1-tor.yaml"))
    assert (rc, out) == (0, "Successfully deleted 1 'BGPPeer' resource(s)\n")
    assert "Node_192_168_2_16" not in render_node(Datastore(st), "rke-node7")["bird.cfg"]
    rc, out, _ = run(capsys, st, "node", "status", "rke-node7")
    assert (rc, out) == (1, "Calico process is not running.\n")
    # Issue 18, finding 6: a wrong node name lists the nodes there are.
    rc, out, err = run(capsys, st, "node", "status", "rke-node99")
    assert (rc, out) == (1, "")
    assert err == (
        'bgplab: nodes "rke-node99" not found (the nodes: rke-node3, rke-node4, rke-node6, '
        "rke-node7)\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: [oops\n", "invalid YAML"),
        (
            "apiVersion: projectcalico.org/v3\nkind: Widget\nmetadata: {name: w}\n",
            "resource type 'Widget' is not supported",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\n"
            'spec: {peerIP: 10.0.0.1, asNumber: 1, nodeSelector: "rack =="}\n',
            "error with field nodeSelector",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\n"
            "spec: {cidr: 10.0.0.300/16}\n",
            "error with field cidr = '10.0.0.300/16'",
        ),
        # Issue 12's bad input: each names the resource and the field.
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\n"
            "spec: {communities: [{name: c, value: '65536:1'}]}\n",
            "BGPConfiguration(default): error with field communities.value = '65536:1' "
            "(neither a standard community (aa:nn, 16-bit parts) nor a large one",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\n"
            "spec: {prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [no-such-name]}]}\n",
            "BGPConfiguration(default): error with field prefixAdvertisements.communities = "
            "'no-such-name' (neither a standard community",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\n"
            "spec: {peerIP: '10.192.0.3:99999', asNumber: 1}\n",
            "BGPPeer(p): error with field peerIP = '10.192.0.3:99999' (invalid port (1-65535))",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\n"
            "spec: {peerIP: '[ac13::57]:x', asNumber: 1}\n",
            "BGPPeer(p): error with field peerIP = '[ac13::57]:x' (invalid port (1-65535))",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n"
            "spec: {type: LoadBalancer, externalTrafficPolicy: Local}\n",
            "Service(svc): error with field spec.clusterIP = '' (required: the service's cluster IP)",
        ),
        (
            "apiVersion: crd.projectcalico.org/v1\nkind: BlockAffinity\nmetadata: {name: b}\n"
            "spec: {node: n1, cidr: 10.0.0.0/26, state: maybe}\n",
            "BlockAffinity(b): error with field spec.state = 'maybe'",
        ),
        (
            "apiVersion: v1\nkind: BGPPeer\nmetadata: {name: p}\n",
            "BGPPeer: error with field apiVersion = 'v1' (must be projectcalico.org/v3)",
        ),
    ],
)
def test_bad_files_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    st = tmp_path / "state"
    assert run(capsys, st, "apply", "-f", str(FIXTURES / "seed/rack1-tor.yaml"))[0] == 0
    before = (st / "state.json").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text((FIXTURES / "seed/rack2-tor.yaml").read_text() + "---\n" + content)
    rc, out, err = run(capsys, st, "apply", "-f", str(bad))
    assert rc == 1 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert (st / "state.json").read_text() == before


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = tmp_path / "state"
    rc, _, err = run(capsys, st, "apply", "-f", str(tmp_path / "missing.yaml"))
    assert rc == 1 and "cannot read" in err
    rc, _, err = run(capsys, st, "get", "widgets")
    assert rc == 1 and "resource type 'widgets' is not supported" in err
    rc, _, err = run(capsys, st, "render", "ghost")
    assert rc == 1 and 'nodes "ghost" not found' in err
    rc, _, err = run(capsys, st, "node", "status", "ghost")
    assert rc == 1 and err == 'bgplab: nodes "ghost" not found (the nodes: none)\n'
    rc, _, err = run(capsys, st, "label", "ghost", "novalue")
    assert rc == 1 and "invalid label spec" in err
