"""Scenario 5: scale and memory, `runner process --dry-run` on very large inputs.

A dry run still triages every issue in the master and analyses and renders it in the
sages; only git is skipped. On 2 cores that costs a few milliseconds of CPU per issue, so
a million issues cannot be processed inside the benchmark's 10 minutes. What is measured,
exactly:

- the smaller input (100,000; quick: 2,000) runs to the end unless it would overrun its
  time allowance, in which case it gets SIGTERM (runner then finishes in-flight issues,
  defers the queued ones and writes its report) and the result says `capped`;
- the larger input (1,000,000; quick: 20,000) is always given the whole file: runner's first
  pass checks the syntax of every item and counts repeated numbers on disk, then issues
  stream through the bounded queue until the cap, when it gets SIGTERM the same way.

Master RSS is sampled from outside every 50 ms (psutil, master process only) and also read
from runner's own report (metrics.peak_rss_bytes). "Flat" is judged on the processing phase:
the RSS growth over its second half.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from perf.common import CliRun, Context, run_cli, runner_argv
from perf.workload import write_compact_issues

MB = 1024 * 1024
LARGE_RESERVE_S = {True: 9.0, False: 75.0}


def sizes(quick: bool) -> tuple[int, int]:
    return (2_000, 20_000) if quick else (100_000, 1_000_000)


def dry_run(ctx: Context, path: Path, repo: Path, cap_s: float) -> tuple[CliRun, float]:
    work = ctx.path(f"scale-{path.stem}")
    started_wall = datetime.now().timestamp()
    run = run_cli(
        runner_argv(
            str(path),
            "--repo",
            str(repo),
            "--dry-run",
            "--workers",
            "auto",
            state=work / "state",
            reports=work / "reports",
        ),
        work / "reports",
        timeout_s=cap_s + 120,
        stop_after_s=cap_s,
    )
    return run, started_wall


def describe(run: CliRun, items: int, cap_s: float, started_wall: float) -> dict[str, Any]:
    report = run.report or {}
    totals = run.totals
    metrics = run.metrics
    scan_s = None
    if report.get("started_at"):
        scan_s = datetime.fromisoformat(report["started_at"].replace("Z", "+00:00")).timestamp() - started_wall
    processed = (totals.get("succeeded") or 0) + (totals.get("failed") or 0)
    series = run.peaks.rss_series
    growth = second_half_growth(series, scan_s)
    return {
        "input_items": items,
        "cap_s": round(cap_s, 1),
        "capped": processed < items,
        "exit_code": run.exit_code,
        "stopped": report.get("stopped"),
        "totals": totals,
        "processed": processed,
        "wall_s": round(run.wall_s, 2),
        "first_pass_s": round(scan_s, 2) if scan_s is not None else None,
        "issues_per_s": metrics.get("throughput_per_s"),
        "peak_master_rss_bytes": {
            "report": (metrics.get("peak_rss_bytes") or {}).get("master"),
            "sampled": run.peaks.master_rss,
        },
        "peak_worker_rss_bytes": max(run.peaks.worker_rss.values() or [0]),
        "processing_rss_growth_second_half_bytes": growth,
        "rss_growth_per_10k_issues_bytes": round(growth / (processed / 2) * 10_000) if growth and processed else None,
        "master_rss_series": [[t, round(rss / MB, 2)] for t, rss in series],
        "cpu_s": run.figures()["cpu_s"],
        "stderr_tail": None if run.report else run.stderr[-1000:],
    }


def second_half_growth(series: list[tuple[float, int]], processing_from_s: float | None) -> int | None:
    """RSS at the end of processing minus RSS halfway through it (the first pass excluded)."""
    points = [(t, rss) for t, rss in series if processing_from_s is None or t >= processing_from_s]
    if len(points) < 4:
        return None
    middle = points[len(points) // 2][1]
    return max(rss for _, rss in points[len(points) // 2 :]) - middle


def run(ctx: Context, reserve_s: float) -> dict[str, Any]:
    small, large = sizes(ctx.quick)
    data = ctx.path("scale-inputs")
    small_path = data / f"issues-{small}.jsonl"
    large_path = write_compact_issues(data / f"issues-{large}.jsonl", large, prefix_path=small_path, prefix_count=small)
    repo = ctx.fresh_repo("scale")
    allowance = ctx.remaining() - reserve_s
    small_cap = max(20.0, min(allowance - LARGE_RESERVE_S[ctx.quick], 40.0 if ctx.quick else 240.0))
    small_run, small_start = dry_run(ctx, small_path, repo, small_cap)
    small_result = describe(small_run, small, small_cap, small_start)
    large_cap = max(8.0, min(ctx.remaining() - reserve_s, 8.0 if ctx.quick else 120.0))
    large_run, large_start = dry_run(ctx, large_path, repo, large_cap)
    large_result = describe(large_run, large, large_cap, large_start)
    for path in (small_path, large_path):
        path.unlink(missing_ok=True)
    peak_small = small_result["peak_master_rss_bytes"]["sampled"]
    peak_large = large_result["peak_master_rss_bytes"]["sampled"]
    return {
        "small": small_result,
        "large": large_result,
        "large_vs_small_peak_master_rss": round(peak_large / peak_small, 3) if peak_small else None,
        "input": "compact synthetic issues (title, one-line body, labels)",
    }
