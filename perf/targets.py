"""Ratios between scenarios, and the issue's targets marked met / not met.

Targets are measured, never asserted: a miss is a finding for the results, not a failure
of the benchmark.
"""

from __future__ import annotations

from typing import Any

MB = 1024 * 1024


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _div(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def comparisons(scenarios: dict[str, Any]) -> dict[str, Any]:
    pipeline, baselines = scenarios.get("pipeline") or {}, scenarios.get("baselines") or {}
    n, large = pipeline.get("issues"), _get(pipeline, "large", "issues")
    one = _get(pipeline, "one_repo", "issues_per_s", "median")
    eight = _get(pipeline, "eight_repos", "issues_per_s", "median")
    large_wall = _get(pipeline, "large", "issues_per_s_wall", "median")
    naive = _get(baselines, "naive", "issues_per_s", "median")
    ceiling = _get(baselines, "ceiling", "commits_per_s", "median")
    ceiling_large = _get(baselines, "ceiling_large", "commits_per_s")
    ceiling_tuned = _get(baselines, "ceiling_large_runner_settings", "commits_per_s")
    return {
        "rates_issues_per_s": {
            "naive GitPython loop": naive,
            f"runner, {n} issues, 1 repo": one,
            f"runner, {n} issues, 8 repos": eight,
            f"runner, {large} issues, wall incl. start-up": large_wall,
            f"ceiling: 1 fast-import, {n} commits": ceiling,
            f"ceiling: 1 fast-import, {large} commits": ceiling_large,
            f"ceiling with runner's fast-import settings, {large} commits": ceiling_tuned,
        },
        "runner_large_wall_over_naive": _div(large_wall, naive),
        "runner_large_wall_over_ceiling": _div(large_wall, ceiling_large),
        "runner_large_wall_over_ceiling_runner_settings": _div(large_wall, ceiling_tuned),
        "runner_over_naive": _div(one, naive),
        "runner_over_ceiling": _div(one, ceiling),
        "eight_repos_over_one": _div(eight, one),
        "sage_pool_over_process_pool_executor": _get(baselines, "engine", "sage_over_executor"),
    }


def _row(name: str, measured: Any, goal: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"target": name, "measured": measured, "goal": goal, "met": None if met is None else bool(met), "note": note}


def _at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def evaluate(scenarios: dict[str, Any], comp: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    large = _get(scenarios, "pipeline", "large", "issues")
    size_note = f"quick mode: {large} issues instead of 10,000" if quick else ""
    rows = [
        _row(
            f"{large} issues, one repo, CLI with start-up vs naive",
            comp["runner_large_wall_over_naive"],
            ">= 25x",
            _at_least(comp["runner_large_wall_over_naive"], 25),
            size_note,
        ),
        _row(
            f"{large} issues, one repo, CLI with start-up vs ceiling",
            comp["runner_large_wall_over_ceiling"],
            ">= 0.60",
            _at_least(comp["runner_large_wall_over_ceiling"], 0.60),
            size_note,
        ),
        _row(
            "eight repositories vs one (median issues/s)",
            comp["eight_repos_over_one"],
            ">= 1.0",
            _at_least(comp["eight_repos_over_one"], 1.0),
        ),
        _row(
            "engine no-op: SagePool / ProcessPoolExecutor",
            comp["sage_pool_over_process_pool_executor"],
            ">= 0.8",
            _at_least(comp["sage_pool_over_process_pool_executor"], 0.8),
        ),
    ]
    pacing = scenarios.get("pacing") or {}
    of_allowed, violations = _get(pacing, "runner", "of_allowed"), _get(pacing, "runner", "violations")
    rows.append(
        _row(
            "pacing: achieved / allowed content rate; limit violations",
            {"of_allowed": of_allowed, "violations": violations},
            ">= 0.90 and 0 violations",
            None if of_allowed is None else of_allowed >= 0.9 and violations == 0,
            "allowed = runner's notify interval (3 s), below GitHub's 80/min",
        )
    )
    rows += _pacing_limit_rows(pacing, quick)
    rows += _memory_rows(scenarios.get("scale") or {}, quick)
    rows += _bigrepo_rows(scenarios.get("bigrepo") or {}, quick)
    adaptive = scenarios.get("adaptive") or {}
    rows.append(
        _row(
            "adaptive (runner's default policy) vs best fixed size",
            adaptive.get("auto_vs_best_fixed"),
            ">= 0.90",
            _at_least(adaptive.get("auto_vs_best_fixed"), 0.9),
            "every run timed from a cold pool to its last task",
        )
    )
    crash = scenarios.get("crash") or {}
    rows.append(
        _row(
            "crash: issues lost with a sage SIGKILLed every second",
            crash.get("issues_lost"),
            "0 (must)",
            None if crash.get("issues_lost") is None else crash["issues_lost"] == 0,
            f"throughput kept: {crash.get('throughput_kept')}",
        )
    )
    return rows


def _pacing_limit_rows(pacing: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    limited = [pacing[k] for k in ("competitor", "competitor_no_comment", "injected") if pacing.get(k)]
    recoveries = [r for case in limited for r in case.get("recovery_s") or [] if r is not None]
    interrupted = sum(case.get("not_recovered_before_the_next_limit") or 0 for case in limited)
    unmeasured = sum(r is None for case in limited for r in case.get("recovery_s") or []) - interrupted
    worst = max(recoveries) if recoveries else None
    cases = limited + ([pacing["long"]] if pacing.get("long") else [])
    per_episode = max((c.get("max_violations_per_episode") or 0 for c in cases), default=None) if cases else None
    long = pacing.get("long") or {}
    share = long.get("of_budget_left")
    return [
        _row(
            "pacing: after a secondary limit, back to >= 90% of the configured pace within (emulated s, worst episode)",
            worst,
            "<= 120 s",
            None if worst is None else worst <= 120,
            f"{len(recoveries)} episodes (another client's burst, injected limits)"
            + (f"; {interrupted} more with the next limit inside their two minutes" if interrupted else "")
            + (f"; {unmeasured} ended with the batch" if unmeasured else ""),
        ),
        _row(
            "pacing: violations per limit episode (worst)",
            per_episode,
            "<= 1",
            None if per_episode is None else per_episode <= 1,
            "; ".join(
                f"{k} {pacing[k]['violations']} in {pacing[k]['episodes']}"
                for k in ("competitor", "competitor_no_comment", "injected", "long")
                if pacing.get(k)
            ),
        ),
        _row(
            "pacing: long batch, PRs and comments per hour / GitHub's 500 less the other client's",
            share,
            ">= 0.90",
            _at_least(share, 0.9),
            f"{long.get('issues')} issues, {long.get('hours')} emulated hours at {long.get('time_scale')}x"
            if long
            else "full suite only"
            if quick
            else "",
        ),
    ]


def _bigrepo_rows(big: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    shape = big.get("repository") or {}
    note = f"{shape.get('files', 0):,} files, {shape.get('bytes', 0) / MB:,.0f} MB" + ("; quick mode" if quick else "")
    sages = _get(big, "big", "sage_uss_mb") or []
    ratio = big.get("big_over_small_issues_per_s")
    return [
        _row(
            "big repository: peak USS of a sage",
            max(sages) if sages else None,
            "< 100 MB",
            None if not sages else max(sages) < 100,
            note,
        ),
        _row(
            "big repository: index update after 10 changed files",
            big.get("incremental_10_files_s"),
            "< 2 s",
            None if big.get("incremental_10_files_s") is None else big["incremental_10_files_s"] < 2,
            f"first build {big.get('index_build_s')} s",
        ),
        _row(
            "big repository: issues/s vs the small bench repository",
            ratio,
            ">= 0.80 (informative)",
            None if ratio is None else ratio >= 0.8,
            "same issue count, `--dry-run --workers auto`",
        ),
    ]


def _memory_rows(scale: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    small, large = scale.get("small") or {}, scale.get("large") or {}
    peak = _get(large, "peak_master_rss_bytes", "sampled")
    peak_mb = round(peak / MB, 1) if peak else None
    within = scale.get("large_vs_small_peak_master_rss")
    note = (
        f"large input: all {large.get('input_items'):,} items read by the first pass, "
        f"{large.get('processed'):,} processed before the {large.get('cap_s')} s cap; "
        f"small input: {small.get('processed'):,} of {small.get('input_items'):,} processed"
        if large
        else ""
    )
    if quick:
        note = "quick mode; " + note
    growth = small.get("processing_rss_growth_second_half_bytes")
    small_peak = _get(small, "peak_master_rss_bytes", "sampled")
    flat = round(growth / small_peak, 3) if growth is not None and small_peak else None
    per_10k = small.get("rss_growth_per_10k_issues_bytes")
    return [
        _row(
            "master peak RSS at the largest input",
            peak_mb,
            "< 150 MB",
            None if peak_mb is None else peak_mb < 150,
            note,
        ),
        _row(
            "master peak RSS, largest vs smaller input",
            within,
            "within 10% (<= 1.10)",
            None if within is None else within <= 1.10,
            "compares runs that processed different numbers of issues when the larger one was capped",
        ),
        _row(
            "master RSS flat while processing (smaller input, growth over the 2nd half / peak)",
            flat,
            "<= 0.05",
            None if flat is None else flat <= 0.05,
            f"{round(per_10k / MB, 2)} MB more per 10,000 issues processed" if per_10k is not None else "",
        ),
    ]
