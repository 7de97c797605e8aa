"""The human-readable results: bench-<timestamp>.md next to the JSON and the charts."""

from __future__ import annotations

from typing import Any

MB = 1024 * 1024


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def med(stat: dict[str, Any] | None, digits: int = 1) -> str:
    """`median (min–max, n)` of a perf.common.summary."""
    if not stat or stat.get("median") is None:
        return "–"
    if stat["n"] == 1:
        return fmt(stat["median"], digits)
    return f"{fmt(stat['median'], digits)} ({fmt(stat['min'], digits)}–{fmt(stat['max'], digits)}, n={stat['n']})"


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return [*lines, ""]


def render(result: dict[str, Any]) -> str:
    s = result["scenarios"]
    out = [
        f"# runner benchmark {result['timestamp']}",
        "",
        f"Command: `{result['command']}` ({'quick' if result['quick'] else 'full'} suite), "
        f"{result['duration_s']:.0f} s in all. Numbers are medians over repeated runs with (min–max, n).",
        "",
    ]
    out += _machine(result["machine"])
    out += ["## Targets", ""]
    out += table(
        ["target", "measured", "goal", "met", "note"],
        [
            [
                t["target"],
                _measured(t["measured"]),
                t["goal"],
                {True: "**met**", False: "**not met**", None: "not measured"}[t["met"]],
                t["note"],
            ]
            for t in result["targets"]
        ],
    )
    for name, section in (
        ("original", _original),
        ("pipeline", _pipeline),
        ("baselines", _baselines),
        ("pacing", _pacing),
        ("scale", _scale),
        ("adaptive", _adaptive),
        ("crash", _crash),
        ("bigrepo", _bigrepo),
    ):
        data = s.get(name)
        if data is None:
            continue
        if "error" in data:
            out += [f"## {name}", "", "Failed:", "", "```", data["error"][-1500:], "```", ""]
            continue
        out += section(data, result)
    out += ["## Charts", ""] + [f"![{n}]({f})" for n, f in result.get("charts", {}).items()] + [""]
    out += _profiles(s)
    return "\n".join(out) + "\n"


def _measured(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_measured(v)}" for k, v in value.items())
    if isinstance(value, float):
        return fmt(value, 3 if abs(value) < 10 else 1)
    return fmt(value)


def _machine(m: dict[str, Any]) -> list[str]:
    memory = fmt(m["memory_bytes"] / MB, 0)
    return [
        "## Machine",
        "",
        f"{m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['cpu_model']}, {memory} MB RAM; "
        f"Python {m['python']}; {m['git']}; {m['platform']}; load average at start {m['load_avg_at_start']}.",
        "",
    ]


def _original(d: dict[str, Any], _r) -> list[str]:
    rows = []
    for c in d["cases"]:
        sim, real = c["simulated"], c["real"]
        rows.append(
            [
                c["case"],
                c["workers"],
                c["issues"],
                c["old_published_issues_per_s"],
                med(sim["issues_per_s"]),
                fmt(sim["ideal_issues_per_s"]),
                fmt(sim["of_ideal"], 2),
                med(sim["error_rate_after_retries"], 3),
                med(real["issues_per_s"]),
                med(real["issues_per_s_wall"]),
                med(real["error_rate_after_retries"], 3),
                med(real["retries"], 0),
            ]
        )
    text = [
        "## 1. The original four cases",
        "",
        "SIMULATED columns: runner's SagePool and retry policy running tasks that only sleep "
        "(100 ms; 50 ms in stress) in place of external latency, like the old report. REAL columns: "
        "`runner process` on a generated repository (triage, analysis, rendering, one commit per issue); "
        "issues/s is runner's own figure (first enqueue to last finish, pool start-up included), 'wall' "
        "adds the CLI's start-up. Stress injects 5% transient failures: simulated by a seeded die, real by "
        f"a template that hangs until the {d['stress_timeout_s']} s per-issue timeout kills the sage; in "
        "both, a retry waits runner's backoff (0.25–0.5 s), which sets the length of a 50-issue batch.",
        "",
    ]
    return text + table(
        [
            "case",
            "workers",
            "issues",
            "old report",
            "SIMULATED issues/s",
            "ideal",
            "of ideal",
            "SIM error rate",
            "REAL issues/s",
            "REAL wall issues/s",
            "REAL error rate",
            "REAL retries",
        ],
        rows,
    )


def _pipeline(d: dict[str, Any], _r) -> list[str]:
    rows = []
    runs = (
        (f"{d['issues']} issues, 1 repo", "one_repo"),
        (f"{d['issues']} issues, 8 repos", "eight_repos"),
        (f"{d['large']['issues']} issues, 1 repo", "large"),
    )
    for label, key in runs:
        a = d[key]
        master, worker = a["peak_rss_master_bytes"]["median"] or 0, a["peak_rss_worker_bytes"]["median"] or 0
        rows.append(
            [
                label,
                med(a["issues_per_s"]),
                med(a["issues_per_s_wall"]),
                med(a["latency_p50_s"], 2),
                med(a["latency_p95_s"], 2),
                med(a["latency_p99_s"], 2),
                med(a["cpu_total_s"], 1),
                fmt(master / MB),
                fmt(worker / MB),
                fmt(a["all_succeeded"]),
            ]
        )
    return [
        "## 2. The real pipeline, local repositories",
        "",
        "`runner process` with `--workers auto`. Latency is runner's own (report `metrics.latency_s`: "
        "enqueue to terminal state, failures included, interpolated percentiles). CPU is per process: "
        "the master with the git processes it waited for, plus every sage (psutil). RSS peaks are "
        "sampled per process every 50 ms.",
        "",
        *table(
            [
                "run",
                "issues/s",
                "wall issues/s",
                "p50 s",
                "p95 s",
                "p99 s",
                "CPU s",
                "master MB",
                "worker MB",
                "all ok",
            ],
            rows,
        ),
        f"Eight repositories vs one: **{fmt(d['eight_vs_one'], 3)}**.",
        "",
    ]


def _baselines(d: dict[str, Any], r: dict[str, Any]) -> list[str]:
    c, e = r["comparisons"], d["engine"]
    rows = [[k, fmt(v)] for k, v in c["rates_issues_per_s"].items()]
    return [
        "## 3. Baselines",
        "",
        f"Naive: {d['naive']['note']}; {d['naive']['issues_measured']} issues in {d['naive']['chunks']} chunks. "
        "Ceiling: the same number of commits, one new branch each, streamed by one `git fast-import`, no analysis.",
        "",
        *table(["what", "issues/s"], rows),
        f"runner / naive: **{fmt(c['runner_over_naive'], 1)}x** ({r['scenarios']['pipeline']['issues']} issues), "
        f"**{fmt(c['runner_large_wall_over_naive'], 1)}x** (large run, wall). runner / ceiling: "
        f"**{fmt(c['runner_over_ceiling'], 2)}** and **{fmt(c['runner_large_wall_over_ceiling'], 2)}**; "
        "against a ceiling that asks git exactly what runner does (its fast-import options, branches "
        "created in packed-refs): "
        f"**{fmt(c.get('runner_large_wall_over_ceiling_runner_settings'), 2)}**.",
        "",
        f"Engine, {e['tasks']} no-op tasks, {e['workers']} workers, {e['inflight_per_worker']} in flight per worker: "
        f"ProcessPoolExecutor {med(e['process_pool_executor_per_s'], 0)}/s, SagePool {med(e['sage_pool_per_s'], 0)}/s, "
        f"ratio **{fmt(e['sage_over_executor'], 2)}** (executor with everything submitted at once: "
        f"{med(e['process_pool_executor_unbounded_per_s'], 0)}/s).",
        "",
    ]


def _pacing(d: dict[str, Any], _r) -> list[str]:
    run, ns, nr = d["runner"], d["naive_same_time_scale"], d["naive_real_time"]
    allowed = d["allowed_per_minute"]
    text = [
        "## 4. GitHub pacing (emulator, time compressed)",
        "",
        f"{d['issues']} issues, each a draft PR + labels + a comment. Emulator time scale {d['time_scale']:.0f}x; "
        "runner's pacing on the same clock through runner.toml:",
        "",
        "```toml",
        d["runner_toml"].strip(),
        "```",
        "",
    ]
    return (
        text
        + table(
            ["publisher", "content created", "per emulated minute", "allowed", "violations", "retries / refused"],
            [
                [
                    "runner --github",
                    run["content_created"],
                    fmt(run["achieved_per_minute"]),
                    f"{fmt(allowed['runner_policy'])} (policy), {allowed['github_limit']} (GitHub)",
                    run["violations"],
                    run["rate_limited_retries"],
                ],
                [
                    f"naive loop, {ns['time_scale']:.0f}x",
                    ns["content_created"],
                    fmt(ns["achieved_per_minute"]),
                    "–",
                    ns["violations"],
                    ns["requests_refused"],
                ],
                [
                    f"naive loop, real time ({nr['time_scale']:.0f}x)",
                    nr["content_created"],
                    fmt(nr["achieved_per_minute"]),
                    "–",
                    nr["violations"],
                    nr["requests_refused"],
                ],
            ],
        )
        + [
            f"runner reached **{fmt(run['of_allowed'], 3)}** of its allowed rate "
            f"with **{run['violations']}** violations "
            f"(exit {run['exit_code']}, {run['totals'].get('succeeded')} published).",
            "",
        ]
        + _pacing_limits(d)
    )


PACING_CASES = (
    ("competitor", "another client filled the minute as runner started"),
    ("competitor_no_comment", "the same, `--no-comment`"),
    ("injected", "a secondary limit injected every 3 min on average (seeded)"),
    ("long", "long batch; the other client's burst, then a comment every 10 min"),
)


def _pacing_limits(d: dict[str, Any]) -> list[str]:
    """The cases with secondary limits, each beside the same case measured on the code before the
    adaptive pacer (perf/results/pacing-before-*.json), when that file is there."""
    before = _pacing_before()
    rows = []
    for key, label in PACING_CASES:
        x, b = d.get(key), (before.get("cases") or {}).get(key) or {}
        if not x:
            continue
        bound = key == "long"
        rows.append(
            [
                label,
                fmt(x["issues"]),
                _took(x),
                _took(b),
                fmt(x.get("ideal_s"), 0),
                "hourly budget" if bound else fmt(x.get("achieved_per_minute_after_first_limit")),
                "–" if bound else fmt(b.get("achieved_per_minute_after_first_limit")),
                f"{x['violations']} in {x['episodes']}",
                f"{b['violations']} in {b['episodes']}" if b else "–",
                fmt(x.get("max_violations_per_episode")),
                "–" if bound else _recovery(x),
                "–" if bound else _recovery(b),
            ]
        )
    out = [
        "### After secondary limits",
        "",
        "Emulated seconds. Time to publish: from runner's first request to its last PR or comment. Ideal: one "
        "pause of a minute per limit, then the configured pace (3 s per PR or comment). Violations are grouped "
        "into episodes (refusals with no PR or comment of runner's between them); recovery: from an episode's "
        "first refusal until runner's last 5 PRs and comments came at >= 90% of its pace (the worst episode; "
        "one whose next limit came first is not counted). The long batch's pace is its hourly budget's."
        + (f" Before: {before.get('label')}." if before else ""),
        "",
    ]
    out += table(
        [
            "case",
            "issues",
            "time to publish",
            "before",
            "ideal",
            "PRs+comments/min after 1st limit",
            "before",
            "violations in episodes",
            "before",
            "max per episode",
            "recovery s (max)",
            "before",
        ],
        rows,
    )
    long, b = d.get("long"), (before.get("cases") or {}).get("long") or {}
    if long:
        out += [
            f"Long batch ({fmt(long['issues'])} issues, {fmt(long.get('hours'), 2)} emulated hours at "
            f"{fmt(long.get('time_scale'), 0)}x): runner created **{fmt(long.get('runner_per_hour'))}** PRs and "
            f"comments per hour; the other client {fmt(long.get('other_client_per_hour'))} per hour, leaving "
            f"{fmt(long.get('budget_left_per_hour'))} of GitHub's 500: **{fmt(long.get('of_budget_left'), 3)}** "
            f"of what was left"
            + (
                f" (before: {fmt(b.get('runner_per_hour'))} per hour, "
                f"{fmt(b.get('of_budget_left'), 3)}; {b.get('note', '')})"
                if b
                else ""
            )
            + ".",
            "",
        ]
    return out


def _recovery(x: dict[str, Any]) -> str:
    if not x:
        return "–"
    cut = x.get("not_recovered_before_the_next_limit") or 0
    if x.get("episodes") and x.get("recovery_s_max") is None and not cut:
        return "not before the batch ended"
    return fmt(x.get("recovery_s_max")) + (f" ({cut} cut short by the next limit)" if cut else "")


def _took(x: dict[str, Any]) -> str:
    if not x:
        return "–"
    done = (x.get("totals") or {}).get("succeeded")
    if done is None:
        return f"– ({x.get('note') or 'exit ' + str(x.get('exit_code'))})"
    took = fmt(x.get("time_to_publish_s"), 0)
    if done == x.get("issues"):
        return took
    return f"{took} ({done} of {fmt(x.get('issues'))} published, exit {x.get('exit_code')})"


def _pacing_before() -> dict[str, Any]:
    import json
    from pathlib import Path

    found = sorted((Path(__file__).resolve().parent / "results").glob("pacing-before-*.json"))
    return json.loads(found[-1].read_text()) if found else {}


def _bigrepo(d: dict[str, Any], _r) -> list[str]:
    shape = d["repository"]
    rows = [
        [
            key,
            fmt(x.get("issues_per_s")),
            fmt(x.get("master_uss_mb")),
            fmt(max(x.get("sage_uss_mb") or [0])),
            fmt(x.get("wall_s")),
        ]
        for key, x in (("big", d.get("big")), ("small", d.get("small")))
        if x
    ]
    return [
        "## 8. Related files on a big repository",
        "",
        f"{shape['files']:,} files, {shape['bytes'] / MB:,.0f} MB ({shape['copies']} copies of Python's standard "
        f"library). Code index: first build {fmt(d['index_build_s'])} s ({fmt(d['index_bytes'] / MB)} MB on "
        f"disk, {fmt(d['index_searched'])} files searched of {fmt(d['index_files'])}); update after 10 changed "
        f"files {fmt(d['incremental_10_files_s'])} s (a {d.get('incremental_kind', 'full')} index, "
        f"{fmt(d.get('incremental_bytes', 0) / MB)} MB); {fmt(d.get('issues'))} issues a run.",
        "",
        *table(["repository", "issues/s", "master USS MB", "largest sage USS MB", "wall s"], rows),
        "",
    ]


def _scale(d: dict[str, Any], _r) -> list[str]:
    rows = []
    for key in ("small", "large"):
        x = d[key]
        rows.append(
            [
                fmt(x["input_items"]),
                fmt(x["processed"]),
                fmt(x["capped"]),
                fmt(x["first_pass_s"], 1),
                fmt(x["issues_per_s"]),
                fmt((x["peak_master_rss_bytes"]["sampled"] or 0) / MB),
                fmt((x["peak_master_rss_bytes"]["report"] or 0) / MB),
                fmt((x["processing_rss_growth_second_half_bytes"] or 0) / MB, 2),
                fmt((x.get("rss_growth_per_10k_issues_bytes") or 0) / MB, 2),
                fmt(x["wall_s"]),
            ]
        )
    return [
        "## 5. Scale and memory (`--dry-run`)",
        "",
        "A dry run still analyses and renders every issue in the sages, a few ms of CPU each: a million "
        "issues cannot be processed within the 10-minute budget on 2 cores. Measured exactly: each input is "
        "given whole to `runner process --dry-run`; the first pass reads every item (syntax check and repeated-"
        "number count on disk); processing then runs until the end or until the time cap, when SIGTERM makes "
        "runner finish in-flight issues, defer the queued ones and write its report. "
        f"Input: {d['input']}.",
        "",
        *table(
            [
                "input",
                "processed",
                "capped",
                "first pass s",
                "issues/s",
                "master peak MB (sampled)",
                "master peak MB (report)",
                "RSS growth, 2nd half of processing MB",
                "same, MB per 10k issues",
                "wall s",
            ],
            rows,
        ),
        f"Peak master RSS, largest / smaller input: **{fmt(d['large_vs_small_peak_master_rss'], 3)}**.",
        "",
    ]


def _adaptive(d: dict[str, Any], _r) -> list[str]:
    rows = [
        [
            f["workers"],
            fmt(f["tasks"]),
            fmt(f["tasks_per_s"]),
            fmt(f["elapsed_s"]),
            "" if not f["capped"] else f"capped at {fmt(f['tasks_done'])} tasks",
        ]
        for f in d["fixed"]
    ]
    a = d["auto_default_policy"]
    sizes = [n for _, n in a["worker_count_series"]]
    rows.append(
        [
            "auto (runner's default policy)",
            fmt(a["tasks"]),
            fmt(a["tasks_per_s"]),
            fmt(a["elapsed_s"]),
            f"workers {a['start_workers']}→{max(sizes) if sizes else '?'}"
            + (f", capped at {fmt(a['tasks_done'])} tasks" if a["capped"] else ""),
        ]
    )
    best = d["best_fixed"]
    rerun = " (re-run on the full workload)" if best.get("rerun_on_full_workload") else ""
    decisions = [
        f"- {x['t_s']:.1f} s: {x['action']} {x['from']}→{x['to']}"
        + ("" if x["applied"] else f" suppressed by {x['suppressed_by']} ×{x['repeats']}")
        for x in a["decisions"][:15]
    ]
    return (
        [
            "## 6. Adaptive scaling",
            "",
            f"{d['label']} (stands for a fixer waiting on I/O). Every run is timed from a pool with no sage "
            f"started to the last result, start-up included. auto and the largest fixed size run the same "
            f"{d['tasks']} tasks ({d['run_s']} s of work at 16 workers); a smaller fixed size k runs k/16 of them, "
            f"so every fixed run lasts about as long. runner's policy reads system-wide CPU and load: "
            f"1-minute load average {d['load_avg_1m']['before']} before, {d['load_avg_1m']['after']} after.",
            "",
        ]
        + table(["workers", "tasks", "tasks/s", "seconds", "note"], rows)
        + [
            f"auto / best fixed ({best['workers']} workers{rerun}): **{fmt(d['auto_vs_best_fixed'], 3)}** with "
            f"runner's default policy.",
            "",
            "Scaling decisions (runner's default policy):",
            "",
        ]
        + (decisions or ["- none"])
        + [""]
    )


def _crash(d: dict[str, Any], _r) -> list[str]:
    return [
        "## 7. Crash cost",
        "",
        f"{d['issues']} issues, `--workers 2`; one sage SIGKILLed every {d['kill_every_s']} s "
        f"({med(d['with_kills']['kills'], 0)} kills per run).",
        "",
        *table(
            ["run", "issues/s", "lost"],
            [
                ["no kills", med(d["no_kill"]["issues_per_s"]), "–"],
                ["with kills", med(d["with_kills"]["issues_per_s"]), d["issues_lost"]],
            ],
        ),
        f"Throughput kept: **{fmt(d['throughput_kept'], 3)}**; issues lost: **{d['issues_lost']}** "
        "(every input number exactly once in the report, a branch for every success).",
        "",
    ]


def _profiles(s: dict[str, Any]) -> list[str]:
    out = [
        "## Profiles (cProfile, top functions by own time, blocking waits summed apart)",
        "",
        "Scenarios that only run `runner process` as a subprocess (crash, scale) have no in-process profile; "
        "the JSON has the top 20 of each.",
        "",
    ]
    for name, data in s.items():
        prof = (data or {}).get("profile") or (data or {}).get("profile_top")
        if not prof or not prof.get("functions"):
            continue
        of = data.get("profile_of", "an in-process run of the one-repository case (master, all threads)")
        out += [f"### {name}: {of}", "", f"Time in blocking waits: {prof['waiting_s']} s.", ""]
        rows = [[f"`{r['function']}`", r["calls"], r["tottime_s"], r["cumtime_s"]] for r in prof["functions"][:10]]
        out += table(["function", "calls", "own s", "cumulative s"], rows)
    return out
