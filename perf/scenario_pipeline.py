"""Scenario 2: the real pipeline on local repositories, no network.

`runner process` (triage, analysis, rendering, one commit per issue on its own branch)
on the same generated issues, into one repository and spread over eight (alternately, so
that drift in the machine hits both alike); then the large
one-repository run from the command line, start-up included, that the baselines are
compared with. The suite's warm-up run (perf/bench.py) precedes these runs. One extra
in-process run of the one-repository case is profiled (master process, every thread); it
is not one of the timed runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from perf.common import CliRun, Context, run_cli, runner_argv, summary
from perf.profiling import profiled
from perf.workload import issues, write_issues

REPOS_MANY = 8
HISTOGRAM_BINS = 30


def sizes(quick: bool) -> dict[str, int]:
    return {"issues": 200 if quick else 2000, "large": 800 if quick else 10_000, "reps": 1 if quick else 5}


def one_repo_run(ctx: Context, path: Path, tag: str) -> CliRun:
    work = ctx.path(f"pipeline-{tag}")
    repo = ctx.fresh_repo(tag)
    return run_cli(
        runner_argv(
            str(path), "--repo", str(repo), "--workers", "auto", state=work / "state", reports=work / "reports"
        ),
        work / "reports",
        timeout_s=400,
    )


def many_repo_run(ctx: Context, path: Path, names: list[str]) -> CliRun:
    work = ctx.path("pipeline-8repos")
    flags = []
    for name in names:
        flags += ["--repo", f"{name}={ctx.fresh_repo(name.replace('/', '-'))}"]
    return run_cli(
        runner_argv(str(path), *flags, "--workers", "auto", state=work / "state", reports=work / "reports"),
        work / "reports",
        timeout_s=400,
    )


def latencies(run: CliRun) -> list[float]:
    records = (run.report or {}).get("issues") or []
    return [r["latency_s"] for r in records if r.get("latency_s") is not None]


def histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    if not values:
        return {"edges": [], "counts": []}
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return {"edges": [round(low + i * width, 4) for i in range(bins + 1)], "counts": counts}


def aggregate(runs: list[CliRun]) -> dict[str, Any]:
    """Median and spread over repeated runs, plus every run's own figures."""
    figures = [r.figures() for r in runs]
    lat = [f["latency_s"] or {} for f in figures]
    worker_peaks = [max(f["peak_rss_bytes"]["sampled_workers"] or [0]) for f in figures]
    return {
        "issues_per_s": summary([f["issues_per_s"] for f in figures]),
        "issues_per_s_wall": summary([f["issues_per_s_wall"] for f in figures]),
        "latency_p50_s": summary([x.get("p50") for x in lat]),
        "latency_p95_s": summary([x.get("p95") for x in lat]),
        "latency_p99_s": summary([x.get("p99") for x in lat]),
        "cpu_total_s": summary([f["cpu_s"]["total"] for f in figures]),
        "peak_rss_master_bytes": summary([f["peak_rss_bytes"]["sampled_master"] for f in figures]),
        "peak_rss_worker_bytes": summary(worker_peaks),
        "all_succeeded": all(f["exit_code"] == 0 and f["totals"].get("failed") == 0 for f in figures),
        "runs": figures,
    }


def profile_in_process(ctx: Context, path: Path) -> dict[str, Any]:
    """The one-repository case once more, inside this process, under cProfile."""
    from runner.config import build_config
    from runner.run.pipeline import ProcessRun

    work = ctx.path("pipeline-profiled")
    config = build_config(
        {
            "repo_args": [str(ctx.fresh_repo("profiled"))],
            "state_dir": work / "state",
            "report_dir": work / "reports",
            "quiet": True,
        }
    )
    with profiled() as profiles:
        outcome = ProcessRun(config, str(path)).execute()
    return {"exit_code": outcome.exit_code, **profiles.top()}


def run(ctx: Context) -> dict[str, Any]:
    n = sizes(ctx.quick)
    names = [f"bench/repo-{i}" for i in range(REPOS_MANY)]
    data = ctx.path("pipeline-inputs")
    one = write_issues(data / "one.jsonl", issues(n["issues"], seed=21))
    many = write_issues(data / "many.jsonl", issues(n["issues"], seed=21, repositories=names))
    large = write_issues(data / "large.jsonl", issues(n["large"], seed=23))
    single, spread = [], []
    for _ in range(n["reps"]):
        single.append(one_repo_run(ctx, one, "one"))
        spread.append(many_repo_run(ctx, many, names))
    big = one_repo_run(ctx, large, "large")
    middle = sorted(single, key=lambda r: r.metrics.get("throughput_per_s") or 0)[len(single) // 2]
    result = {
        "issues": n["issues"],
        "reps": n["reps"],
        "one_repo": aggregate(single),
        "eight_repos": aggregate(spread),
        "large": {"issues": n["large"], **aggregate([big])},
        "latency_histogram_one_repo": histogram(latencies(middle)),
        "profile": profile_in_process(ctx, one),
    }
    result["eight_vs_one"] = _ratio(result["eight_repos"], result["one_repo"])
    for path in (one, many, large):
        path.unlink()
    shutil.rmtree(data, ignore_errors=True)
    return result


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    x, y = a["issues_per_s"]["median"], b["issues_per_s"]["median"]
    return round(x / y, 3) if x and y else None
