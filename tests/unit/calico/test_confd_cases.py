"""Calico's own confd test cases (tests/fixtures/calico/confd-tests, from
projectcalico/calico's confd/tests): every case, both steps, all six files,
compared as Calico's suite compares them; and the ``confd-test`` command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bgplab.app import main
from bgplab.calico import confdtests

from .conftest import FIXTURES

SUITE = FIXTURES / "confd-tests"
ROOT = confdtests.suite_root(SUITE)
CASES = confdtests.cases(ROOT)


def test_the_suite_is_all_there() -> None:
    assert CASES == [
        "mesh/communities",
        "mesh/hash",
        "mesh/ipip-always",
        "mesh/ipip-cross-subnet",
        "mesh/ipip-off",
        "mesh/static-routes",
        "mesh/static-routes-no-ipv4-address",
        "mesh/vxlan-always",
    ]


@pytest.mark.parametrize("case", CASES)
def test_case_renders_as_calico(case: str) -> None:
    results = confdtests.run_case(ROOT, case)
    steps = 2 if (ROOT / "mock_data/calicoctl" / case / "step2").is_dir() else 1
    assert len(results) == 6 * steps
    assert {r.name for r in results} == {
        "bird.cfg",
        "bird_aggr.cfg",
        "bird_ipam.cfg",
        "bird6.cfg",
        "bird6_aggr.cfg",
        "bird6_ipam.cfg",
    }
    assert [r.diff for r in results if not r.identical] == []


def test_comparison_is_calicos() -> None:
    assert confdtests.same("a\n\nb\n", "a\nb\n\n\n", "mesh/x")
    assert not confdtests.same("a\n b\n", "a\nb\n", "mesh/x")  # only empty lines are blank
    assert not confdtests.same("a\nb\n", "b\na\n", "mesh/x")
    assert confdtests.same("a\nb\n", "b\na\n", "mesh/communities/step2")


def test_command_prints_identical_per_case_and_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calico", "confd-test", str(SUITE), "--case", "mesh/static-routes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 13
    assert lines[0].split() == ["mesh/static-routes", "bird.cfg", "identical"]
    assert lines[6].split() == ["mesh/static-routes/step2", "bird.cfg", "identical"]
    assert lines[-1] == "12 of 12 files identical (1 cases, node kube-master)"


def test_command_shows_the_diff_of_a_users_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A case of one's own in the same layout, with one golden line changed.
    shutil.copytree(ROOT / "mock_data", tmp_path / "mock_data")
    golden = tmp_path / "compiled_templates/mesh/ipip-always"
    shutil.copytree(ROOT / "compiled_templates/mesh/ipip-always", golden)
    text = (golden / "bird_ipam.cfg").read_text()
    (golden / "bird_ipam.cfg").write_text(text.replace('"tunl0"', '"tunl9"'))
    assert main(["calico", "confd-test", str(tmp_path), "--case", "mesh/ipip-always"]) == 1
    out = capsys.readouterr().out
    assert "mesh/ipip-always" in out and "bird_ipam.cfg   DIFFERS" in out
    assert '-    krt_tunnel = "tunl9";\n+    krt_tunnel = "tunl0";\n' in out
    assert out.endswith("5 of 6 files identical (1 cases, node kube-master)\n")


def test_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calico", "confd-test", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no mock_data/calicoctl/ here" in err
    assert main(["calico", "confd-test", str(SUITE), "--case", "nope/*"]) == 1
    assert "no case matches 'nope/*'" in capsys.readouterr().err


def test_router_id_per_case(capsys: pytest.CaptureFixture[str]) -> None:
    # Without the suite's CALICO_ROUTER_ID=hash, mesh/hash renders the node's address.
    argv = ["calico", "confd-test", str(SUITE), "--case", "mesh/hash", "-q"]
    assert main([*argv, "--router-id", "mesh/hash="]) == 1
    out = capsys.readouterr().out
    assert "bird.cfg        DIFFERS" in out and "bird6.cfg       DIFFERS" in out
    assert out.endswith("4 of 6 files identical (1 cases, node kube-master)\n")
    assert main([*argv, "--router-id", "mesh/hash=hash"]) == 0
    assert main([*argv, "--router-id", "nonsense"]) == 1
    assert "use CASE=VALUE" in capsys.readouterr().err


def test_a_case_with_bad_input_fails_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "mock_data", tmp_path / "mock_data")
    shutil.copytree(ROOT / "compiled_templates", tmp_path / "compiled_templates")
    bad = tmp_path / "mock_data/calicoctl/mesh/hash/input.yaml"
    bad.write_text(bad.read_text().replace("logSeverityScreen", "logSeverityScren"))
    assert main(["calico", "confd-test", str(tmp_path), "--case", "mesh/[hi]*", "-q"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("mesh/hash")
    assert "ERROR: " in out[0] and "unknown field spec.logSeverityScren" in out[0]
    assert out[-1] == "18 of 18 files identical (4 cases, 1 with errors, node kube-master)"
