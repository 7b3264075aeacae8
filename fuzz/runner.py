"""What both fuzz targets share: the plain random-mutation loop (used when
atheris is not installed, and by the bounded runs in the test suite) and the
command line."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

Mutator = Callable[[random.Random, bytes, list[bytes]], bytes]


def run_random(one_input: Callable[[bytes], None], mutate: Mutator, corpus: Path,
               seconds: float, seed: int | None = None, tag: str = "") -> int:
    """Mutation fuzzing without coverage feedback; returns executions.

    A crash saves its input as ``crash-TAG-*`` in the current directory and
    re-raises.
    """
    pool = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()] or [b"\x00"]
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        data = mutate(rng, rng.choice(pool), pool)
        try:
            one_input(data)
        except Exception:
            out = Path(f"crash-{tag}{int(time.time())}-{n}")
            out.write_bytes(data)
            print(f"crash after {n} runs, input saved to {out}", file=sys.stderr)
            raise
        n += 1
    return n


def main(argv: list[str], one_input: Callable[[bytes], None], mutate: Mutator,
         default_corpus: Path, write_corpus: Callable[[Path], None], atheris: object,
         tag: str = "") -> None:
    if "--write-corpus" in argv:
        write_corpus(Path(argv[argv.index("--write-corpus") + 1]))
        return
    if atheris is not None and "--seconds" not in argv:
        atheris.Setup(argv, one_input)  # type: ignore[attr-defined]
        atheris.Fuzz()  # type: ignore[attr-defined]
        return
    seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 60.0
    dirs = [Path(a) for a in argv[1:] if not a.startswith("-") and Path(a).is_dir()]
    corpus = dirs[0] if dirs else default_corpus
    n = run_random(one_input, mutate, corpus, seconds, tag=tag)
    print(f"{n} inputs in {seconds:.0f} s, no crash")
