"""The static checks gate the suite: ``ruff check src tests`` and ``mypy src``
pass, with the settings in pyproject.toml (pinned in the ``dev`` extra).

Both run from the repository root, whatever the current directory; a checker
that is not installed skips its test (``pip install -e .[dev]`` brings both).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/unit/ -> the repository


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False)


def _report(res: subprocess.CompletedProcess[str]) -> str:
    return f"exit status {res.returncode}\n{res.stdout}{res.stderr}"


def test_ruff_check_passes() -> None:
    if importlib.util.find_spec("ruff") is not None:
        ruff = [sys.executable, "-m", "ruff"]
    elif (exe := shutil.which("ruff")) is not None:
        ruff = [exe]
    else:
        pytest.skip("ruff is not installed (pip install -e .[dev])")
    # no --config: ruff finds pyproject.toml (and nested ruff.toml files) itself
    res = _run([*ruff, "check", "src", "tests"], timeout=300)
    assert res.returncode == 0, "ruff check src tests:\n" + _report(res)


def test_mypy_passes() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e .[dev])")
    res = _run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                "src"], timeout=900)
    assert res.returncode == 0, "mypy src:\n" + _report(res)
