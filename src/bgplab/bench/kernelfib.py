"""kernel-fib scenario (issue 4): placeholder until implemented."""

from __future__ import annotations

from bgplab.bench.scenarios import RunOptions, RunResult, Spec


def run_kernel_fib(spec: Spec, kind: str, opts: RunOptions) -> RunResult:
    return RunResult(spec.name, kind, error="kernel-fib not implemented yet")
