"""Which datastore ``bgplab calico`` uses: ``--state``, else a running lab's, else the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgplab.app import main
from bgplab.calico.cli import state_dir
from bgplab.calico.datastore import DEFAULT_STATE_DIR, Datastore
from bgplab.lab.lab import RUNDIR_ENV, calico_state_dir
from bgplab.lab.nodeconf import seed_datastore
from bgplab.lab.topology import load_topology

from .conftest import FIXTURES


@pytest.fixture
def lab_rundir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab run dir as ``lab up`` leaves it (state file, seeded datastore), minus the lab."""
    rundir = tmp_path / "lab"
    monkeypatch.setenv(RUNDIR_ENV, str(rundir))
    seed_datastore(Datastore(rundir / "calico"), load_topology(), [])
    return rundir


def test_no_lab_means_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RUNDIR_ENV, str(tmp_path / "nolab"))
    assert calico_state_dir() is None
    assert state_dir(None) == DEFAULT_STATE_DIR
    assert state_dir(str(tmp_path / "x")) == tmp_path / "x"


def test_a_datastore_without_lab_state_is_not_a_lab(lab_rundir: Path) -> None:
    assert calico_state_dir() is None
    (lab_rundir / "state.json").write_text("{}")
    assert calico_state_dir() == lab_rundir / "calico"
    assert state_dir(None) == lab_rundir / "calico"
    assert state_dir("/elsewhere") == Path("/elsewhere")


def test_commands_act_on_the_lab_datastore(
    lab_rundir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (lab_rundir / "state.json").write_text("{}")
    assert main(["calico", "get", "bgppeer"]) == 0
    out = capsys.readouterr().out
    assert "rack1-tor" in out and "rack2-tor" in out
    assert main(["calico", "delete", "-f", str(FIXTURES / "seed/rack1-tor.yaml")]) == 0
    assert capsys.readouterr().out == "Successfully deleted 1 'BGPPeer' resource(s)\n"
    names = [p.name for p in Datastore(lab_rundir / "calico").peers()]
    assert "rack1-tor" not in names and "rack2-tor" in names
    # The seeded nodes are there, with the topology's labels; no speaker is running.
    assert main(["calico", "node", "status", "rke-node3"]) == 1
    assert capsys.readouterr().out == "Calico process is not running.\n"
    # --state still wins.
    assert main(["calico", "--state", str(tmp_path / "other"), "get", "bgppeer"]) == 0
    assert capsys.readouterr().out.splitlines() == ["NAME   PEERIP   NODE   ASN"]
