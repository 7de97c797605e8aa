"""PNG charts of a benchmark result (matplotlib, Agg backend: no display needed).

Each chart reads only the result dictionary, so a chart can be redrawn from a saved
bench-<timestamp>.json: `python -m perf.charts perf/results/bench-<timestamp>.json`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MB = 1024 * 1024


def throughput_vs_workers(result: dict[str, Any], ax_pair) -> None:
    left, right = ax_pair
    cases = [c for c in result["scenarios"]["original"]["cases"] if c["case"] != "stress"]
    workers = [c["workers"] for c in cases]
    left.plot(workers, [c["simulated"]["ideal_issues_per_s"] for c in cases], "k--", label="ideal (workers / 0.1 s)")
    left.plot(
        workers,
        [c["simulated"]["issues_per_s"]["median"] for c in cases],
        "o-",
        label="runner engine, SIMULATED 0.1 s sleep",
    )
    left.plot(workers, [c["old_published_issues_per_s"] for c in cases], "s:", label="old report (sleep)")
    left.plot(workers, [c["real"]["issues_per_s"]["median"] for c in cases], "^-", label="runner process, real work")
    left.set(title="Original cases (10/20/30 issues)", xlabel="workers", ylabel="issues/s")
    left.legend(fontsize=7)
    adaptive = result["scenarios"]["adaptive"]
    fixed = adaptive["fixed"]
    right.plot([f["workers"] for f in fixed], [f["tasks_per_s"] for f in fixed], "o-", label="fixed size")
    right.axhline(adaptive["auto_default_policy"]["tasks_per_s"], color="tab:red", label="auto (runner default)")
    right.set(
        title=f"SIMULATED I/O ({adaptive['label'].split(': ')[-1]})",
        xlabel="workers",
        ylabel="tasks/s",
        xscale="log",
        xticks=[f["workers"] for f in fixed],
    )
    right.set_xticklabels([str(f["workers"]) for f in fixed])
    right.legend(fontsize=7)


def latency_distribution(result: dict[str, Any], ax) -> None:
    pipeline = result["scenarios"]["pipeline"]
    hist = pipeline["latency_histogram_one_repo"]
    if hist["counts"]:
        edges = hist["edges"]
        ax.bar(edges[:-1], hist["counts"], width=edges[1] - edges[0], align="edge", alpha=0.7)
    one = pipeline["one_repo"]
    for key, style in (("latency_p50_s", "-"), ("latency_p95_s", "--"), ("latency_p99_s", ":")):
        value = one[key]["median"]
        if value is not None:
            ax.axvline(value, color="k", ls=style, label=f"{key.split('_')[1]} {value:.2f} s (median of runs)")
    ax.set(
        title=f"Latency, enqueue to terminal state ({pipeline['issues']} issues, one repository, median run)",
        xlabel="seconds",
        ylabel="issues",
    )
    ax.legend()


def scaling_timeline(result: dict[str, Any], ax) -> None:
    adaptive = result["scenarios"]["adaptive"]
    run = adaptive["auto_default_policy"]
    sizes = run["worker_count_series"]
    if sizes:
        ax.step([t for t, _ in sizes], [n for _, n in sizes], where="post", color="tab:blue", label="workers")
    ax.set(
        ylabel="workers",
        title=f"auto, runner's default policy ({run['tasks']} tasks from a cold pool)",
        xlabel="seconds (green lines: applied scaling decisions)",
    )
    twin = ax.twinx()
    series = run["throughput_series"]
    twin.plot([t for t, _ in series], [n for _, n in series], color="tab:orange", label="tasks/s")
    best = adaptive["best_fixed"]
    twin.axhline(best["tasks_per_s"], color="tab:orange", ls=":", label=f"best fixed ({best['workers']}), average")
    twin.set(ylabel="tasks/s (per 0.5 s)", ylim=(0, None))
    ax.set_ylim(0, None)
    for decision in run["decisions"]:
        if decision["applied"]:
            ax.axvline(decision["t_s"], color="tab:green", alpha=0.5, lw=1)
    ax.legend(loc="upper left", fontsize=7)
    twin.legend(loc="lower right", fontsize=7)


def runner_vs_baselines(result: dict[str, Any], ax) -> None:
    comparisons = result["comparisons"]
    bars = [(k, v) for k, v in comparisons["rates_issues_per_s"].items() if v]
    if not bars:
        raise ValueError("no scenario with a rate ran")
    ax.barh([k for k, _ in bars], [v for _, v in bars], color="tab:blue")
    for i, (_, value) in enumerate(bars):
        ax.text(value, i, f" {value:.0f}", va="center", fontsize=8)
    ax.set(xscale="log", xlabel="issues (commits) per second, log scale", title="runner vs baselines")


def scale_memory(result: dict[str, Any], ax) -> None:
    scale = result["scenarios"]["scale"]
    for key in ("small", "large"):
        run = scale[key]
        series = run["master_rss_series"]
        ax.plot(
            [t for t, _ in series],
            [mb for _, mb in series],
            label=f"{run['input_items']:,} issues input ({run['processed']:,} processed)",
        )
        if run.get("first_pass_s"):
            ax.axvline(run["first_pass_s"], ls=":", color="grey")
    ax.set(title="Master RSS during --dry-run (dotted: end of the first pass)", xlabel="seconds", ylabel="MB")
    ax.legend(fontsize=8)


CHARTS: dict[str, tuple[Callable[..., None], tuple[int, int], tuple[float, float]]] = {
    "throughput-vs-workers": (throughput_vs_workers, (1, 2), (11, 4)),
    "latency-distribution": (latency_distribution, (1, 1), (8, 4)),
    "scaling-timeline": (scaling_timeline, (1, 1), (9, 4)),
    "runner-vs-baselines": (runner_vs_baselines, (1, 1), (9, 4)),
    "scale-memory": (scale_memory, (1, 1), (8, 4)),
}


def draw_all(result: dict[str, Any], out_dir: Path, stem: str) -> dict[str, str]:
    """Every chart whose data is present; returns chart name -> file name."""
    written = {}
    for name, (draw, grid, size) in CHARTS.items():
        fig, axes = plt.subplots(*grid, figsize=size)
        try:
            draw(result, axes)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            plt.close(fig)
            print(f"chart {name} skipped: {exc!r}", file=sys.stderr)
            continue
        fig.tight_layout()
        path = out_dir / f"{stem}-{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written[name] = path.name
    return written


if __name__ == "__main__":
    source = Path(sys.argv[1])
    print(draw_all(json.loads(source.read_text()), source.parent, source.stem))
