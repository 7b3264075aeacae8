"""Replay the fuzz corpus (seeds and any saved crash) through the fuzz
target: every input that ever crashed stays a regression test."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CORPUS = sorted((ROOT / "fuzz/corpus/decoder").glob("*"))


@functools.cache
def _target():
    spec = importlib.util.spec_from_file_location("fuzz_decoder", ROOT / "fuzz/fuzz_decoder.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_corpus_is_there() -> None:
    assert len(CORPUS) >= 20


def test_corpus_inputs() -> None:
    target = _target().one_input
    for path in CORPUS:
        try:
            target(path.read_bytes())
        except Exception as exc:  # name the input that broke
            raise AssertionError(f"{path.name}: {exc!r}") from exc


def test_random_mutation_runner_smoke() -> None:
    # a second of the fallback mutator: it must find no crash
    mod = _target()
    assert mod.run_random(ROOT / "fuzz/corpus/decoder", 1.0, seed=1) > 100
