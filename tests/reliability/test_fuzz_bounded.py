"""The fuzz targets, run for a bounded time on every CI run.

Each target (BGP decoder + session machine, configuration parser + filter
compiler) gets a short random-mutation run from its seed corpus; the long
coverage-guided runs are in the README. A crash here saves its input as
``crash-*`` in the working directory; copy it into the corpus so that it
becomes a regression test.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
SECONDS = 12.0


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", FUZZ / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.parametrize("target,corpus", [("fuzz_decoder", "decoder"), ("fuzz_config", "config")])
def test_fuzz_target_survives_a_bounded_run(target: str, corpus: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)  # filters log their run-time errors; not a failure
    mod = load(target)
    runs = mod.run_random(FUZZ / "corpus" / corpus, SECONDS, seed=1234)
    assert runs > 100  # it really ran


@pytest.mark.parametrize("target,corpus", [("fuzz_decoder", "decoder"), ("fuzz_config", "config")])
def test_every_corpus_input_is_handled(target: str, corpus: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)
    mod = load(target)
    files = sorted((FUZZ / "corpus" / corpus).iterdir())
    assert files
    for p in files:
        mod.one_input(p.read_bytes())
