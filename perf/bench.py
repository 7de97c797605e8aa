"""`make bench` / `make bench-quick`: every benchmark scenario, one results file.

    python -m perf.bench [--quick] [--out perf/results] [--only original,pipeline,...]

    warm-up ─> 1 original ─> 2 pipeline ─> 3 baselines ─> 4 pacing ─> 6 adaptive ─> 7 crash ─> 8 bigrepo ─> 5 scale
                (each scenario module: run(ctx) -> dict)                                   (uses what
                                                                                            time is left)
        ─> comparisons + targets (perf.targets) ─> bench-<ts>.json, bench-<ts>.md, bench-<ts>-*.png

The full suite is sized for 10 minutes on 2 cores, the quick one for 90 seconds. Scale runs
last and takes the time the others left, so the suite keeps its budget on a slower machine
(its results then say how far each input got). A scenario that fails is recorded with its
traceback and the others still run.

Imports of runner and of the scenarios happen inside functions: worker processes started
by forkserver re-import this main module, and each of them should not pay for PyGithub.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perf.common import Context

BUDGET_S = {True: 80.0, False: 545.0}
REPORT_RESERVE_S = {True: 5.0, False: 10.0}
SCENARIOS = ("original", "pipeline", "baselines", "pacing", "adaptive", "crash", "bigrepo", "scale")
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def warm_up(ctx: Context) -> dict[str, Any]:
    """One small real run first, so the first measured run does not pay for cold caches."""
    from perf.common import run_cli, runner_argv
    from perf.workload import issues, write_issues

    work = ctx.path("warmup")
    path = write_issues(work / "issues.jsonl", issues(50, seed=3))
    run = run_cli(
        runner_argv(str(path), "--repo", str(ctx.fresh_repo("warmup")), state=work / "state", reports=work / "reports"),
        work / "reports",
        timeout_s=120,
    )
    return {"exit_code": run.exit_code, "wall_s": round(run.wall_s, 2)}


def bench_command(quick: bool, only: tuple[str, ...]) -> str:
    """The command that runs this again: a make target for the whole suite, else the module call."""
    if set(only) == set(SCENARIOS):
        return "make bench-quick" if quick else "make bench"
    return "python -m perf.bench" + (" --quick" if quick else "") + " --only " + ",".join(only)


def scenario_calls(ctx: Context) -> dict[str, Callable[[], dict[str, Any]]]:
    from perf import (
        scenario_adaptive,
        scenario_baselines,
        scenario_bigrepo,
        scenario_crash,
        scenario_original,
        scenario_pacing,
        scenario_pipeline,
        scenario_scale,
    )

    def baselines() -> dict[str, Any]:
        sizes = scenario_pipeline.sizes(ctx.quick)
        return scenario_baselines.run(ctx, sizes["issues"], sizes["large"])

    return {
        "original": lambda: scenario_original.run(ctx),
        "pipeline": lambda: scenario_pipeline.run(ctx),
        "baselines": baselines,
        "pacing": lambda: scenario_pacing.run(ctx),
        "adaptive": lambda: scenario_adaptive.run(ctx),
        "crash": lambda: scenario_crash.run(ctx),
        "bigrepo": lambda: scenario_bigrepo.run(ctx),
        "scale": lambda: scenario_scale.run(ctx, REPORT_RESERVE_S[ctx.quick]),
    }


def run_scenarios(ctx: Context, only: tuple[str, ...], keep_work: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {}
    calls = scenario_calls(ctx)
    for name in SCENARIOS:
        if name not in only:
            continue
        began = time.monotonic()
        ctx.log(f"[bench] {name} ...")
        try:
            results[name] = calls[name]()
        except Exception:
            results[name] = {"error": traceback.format_exc()}
        if not keep_work:
            ctx.clean()
        results[name]["duration_s"] = round(time.monotonic() - began, 1)
        ctx.log(
            f"[bench] {name} done in {results[name]['duration_s']} s"
            + (" (FAILED)" if "error" in results[name] else "")
        )
    return results


def write_results(result: dict[str, Any], out_dir: Path, started: float) -> tuple[Path, Path]:
    """Charts first, so the recorded duration includes them; then the JSON and the markdown."""
    from perf import charts, results_md

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{result['timestamp']}"
    result["charts"] = charts.draw_all(result, out_dir, stem)
    result["duration_s"] = round(time.monotonic() - started, 1)
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str) + "\n")
    tmp.replace(json_path)
    md_path.write_text(results_md.render(result))
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every scenario, small (about 90 s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where results go [perf/results]")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios to run")
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary repositories and reports")
    args = parser.parse_args(argv)
    from perf import machine, targets
    from perf.common import Context

    only = tuple(x.strip() for x in args.only.split(",") if x.strip())
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = Path(tempfile.mkdtemp(prefix="runner-bench-"))
    ctx = Context(
        root, args.quick, started + BUDGET_S[args.quick], log=lambda line: print(line, file=sys.stderr, flush=True)
    )
    try:
        result: dict[str, Any] = {
            "timestamp": stamp,
            "command": bench_command(args.quick, only),
            "quick": args.quick,
            "machine": machine.describe(),
            "budget_s": BUDGET_S[args.quick],
        }
        result["warmup"] = warm_up(ctx)
        result["scenarios"] = run_scenarios(ctx, only, args.keep_work)
        result["comparisons"] = targets.comparisons(result["scenarios"])
        result["targets"] = targets.evaluate(result["scenarios"], result["comparisons"], args.quick)
        json_path, md_path = write_results(result, args.out, started)
    finally:
        if not args.keep_work:
            shutil.rmtree(root, ignore_errors=True)
    ctx.log(f"[bench] work directory removed at {time.monotonic() - started:.1f} s")
    print(f"results: {json_path}\n         {md_path}")
    for row in result["targets"]:
        mark = {True: "met", False: "NOT MET", None: "not measured"}[row["met"]]
        print(f"  {mark:>12}  {row['target']}: {row['measured']} (goal {row['goal']})")
    print(f"total {result['duration_s']} s")
    return 1 if any("error" in v for v in result["scenarios"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
