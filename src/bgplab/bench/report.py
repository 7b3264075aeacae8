"""Results: medians over repeats, a Markdown table with bgplabd/BIRD 2
ratios, a JSON dump of every run, and a PNG plot."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from bgplab.bench.metrics import median
from bgplab.bench.scenarios import RunResult
from bgplab.errors import UserError

METRICS = (
    "wall_s",
    "established_s",
    "cpu_s",
    "rss_mb",
    "routes_per_s",
    "churn_median_ms",
    "churn_p99_ms",
    "ctl_max_s",
)


# set-up evidence (bench/connectstats.py), medians over the runs, in the note
CONNECT_EXTRAS = ("listen_drops", "syn_retried_sessions", "est_p50_s")

LEGEND = (
    "\nRatios: the row's value / BIRD 2's in the same invocation (BIRD 1.6's for "
    "kernel-fib); below 1.00x is better. Medians over the successful runs; "
    "hold expiries and drops are totals over all runs.\n"
)


@dataclass
class Summary:
    """Medians of the successful repeats of one (scenario, target)."""

    scenario: str
    target: str
    runs: int
    ok_runs: int
    values: dict[str, float]
    hold_expiries: int
    drops: int
    error: str


def summarize(results: list[RunResult]) -> list[Summary]:
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.scenario, r.target), []).append(r)
    out = []
    for (scen, tgt), rs in groups.items():
        ok = [r for r in rs if r.ok]
        values = {m: median([getattr(r, m, float("nan")) for r in ok]) for m in METRICS}
        for key in ("remove_s", "loop_stall_s", *CONNECT_EXTRAS):
            seen = [r.extra[key] for r in ok if key in r.extra]
            if seen:
                values[key] = median(seen)
        errors = sorted({r.error for r in rs if r.error})
        out.append(
            Summary(
                scen,
                tgt,
                len(rs),
                len(ok),
                values,
                hold_expiries=sum(r.hold_expiries for r in rs),
                drops=sum(r.drops for r in rs),
                error="; ".join(errors),
            )
        )
    return out


def _fmt(v: float, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def _ratio(a: float, b: float) -> str:
    if any(math.isnan(x) for x in (a, b)) or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def markdown_table(summaries: list[Summary]) -> str:
    """One row per (scenario, target); every other row carries its ratio to
    BIRD 2 of the same invocation (BIRD 1.6 for kernel-fib) for time, CPU
    and memory."""
    head = (
        "| scenario | target | ok/runs | wall s | all Established s | CPU s | peak RSS MB "
        "| routes/s | churn p50/p99 ms | max ctl reply s | hold expiries | drops | wall ratio "
        "| CPU ratio | RSS ratio | note |"
    )
    sep = "|" + "---|" * 16
    lines = [head, sep]
    by_key = {(s.scenario, s.target): s for s in summaries}
    for s in summaries:
        v = s.values
        ref_kind = reference(s.scenario, by_key)
        ref = by_key.get((s.scenario, ref_kind))
        rv = ref.values if ref and s.target != ref_kind else None
        churn = "-"
        if not math.isnan(v["churn_median_ms"]):
            churn = f"{_fmt(v['churn_median_ms'])}/{_fmt(v['churn_p99_ms'])}"
        lines.append(
            "| "
            + " | ".join(
                [
                    s.scenario,
                    s.target,
                    f"{s.ok_runs}/{s.runs}",
                    _fmt(v["wall_s"]),
                    _fmt(v["established_s"]),
                    _fmt(v["cpu_s"]),
                    _fmt(v["rss_mb"], 1),
                    _fmt(v["routes_per_s"], 0),
                    churn,
                    _fmt(v.get("ctl_max_s", float("nan"))),
                    str(s.hold_expiries),
                    str(s.drops),
                    _ratio(v["wall_s"], rv["wall_s"]) if rv else "-",
                    _ratio(v["cpu_s"], rv["cpu_s"]) if rv else "-",
                    _ratio(v["rss_mb"], rv["rss_mb"]) if rv else "-",
                    _note(s),
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def reference(scenario: str, by_key: dict[tuple[str, str], Summary]) -> str:
    """Ratios are to BIRD 2 of the same invocation; kernel-fib has no BIRD 2
    row (it compares with BIRD 1.6, whose kernel protocol bgplabd mirrors)."""
    return "bird2" if (scenario, "bird2") in by_key else "bird1"


def _note(s: Summary) -> str:
    parts = []
    if "remove_s" in s.values:
        parts.append(f"kernel removal {_fmt(s.values['remove_s'])} s")
    v = s.values
    if "loop_stall_s" in v:
        parts.append(f"longest loop stall {_fmt(v['loop_stall_s'], 3)} s")
    if v.get("listen_drops", 0) > 0 or v.get("syn_retried_sessions", 0) > 0:
        # the listen queue overflowed: sessions waited for TCP's SYN retry
        parts.append(
            f"listen drops {_fmt(v.get('listen_drops', 0), 0)}, "
            f"SYN retried {_fmt(v.get('syn_retried_sessions', 0), 0)}, "
            f"half Established by {_fmt(v.get('est_p50_s', float('nan')))} s"
        )
    if s.error:
        parts.append(s.error.replace("|", "/")[:160])
    return "; ".join(parts)


def write_json(results: list[RunResult], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in results], indent=1, default=str))


def read_json(path: Path) -> list[RunResult]:
    """Runs written by :func:`write_json` (to merge invocations into one table)."""
    try:
        rows = json.loads(path.read_text())
        return [RunResult(**row) for row in rows]
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"cannot read results from {path}: {exc}") from exc


def plot(summaries: list[Summary], path: Path) -> bool:
    """Bar charts of wall time, CPU and peak RSS per scenario, every target
    side by side. Returns False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    scenarios = list(dict.fromkeys(s.scenario for s in summaries))
    targets = list(dict.fromkeys(s.target for s in summaries))
    by_key = {(s.scenario, s.target): s for s in summaries}
    metrics = [
        ("wall_s", "wall s to convergence"),
        ("cpu_s", "daemon CPU s"),
        ("rss_mb", "peak RSS MB"),
    ]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(6, 2 + 1.6 * len(scenarios)), 9))
    width = 0.8 / max(1, len(targets))
    for ax, (m, label) in zip(axes, metrics):
        for j, t in enumerate(targets):
            xs, ys = [], []
            for i, sc in enumerate(scenarios):
                s = by_key.get((sc, t))
                v = s.values[m] if s else float("nan")
                xs.append(i + j * width)
                ys.append(0 if math.isnan(v) else v)
            ax.bar(xs, ys, width, label=t)
        ax.set_ylabel(label)
        ax.set_xticks([i + width * (len(targets) - 1) / 2 for i in range(len(scenarios))])
        ax.set_xticklabels(scenarios, fontsize=8)
        ax.set_yscale("symlog")  # GoBGP/FRR outliers would flatten the rest
    axes[0].legend(fontsize=8, ncols=min(5, len(targets)))
    axes[0].set_title("bgplab bench (missing bar = failed or not run)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
