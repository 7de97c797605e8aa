"""The human-readable results: bench-<timestamp>.md next to the JSON and the charts. Sections
4 (results_md_pacing) and 5 to 7 (results_md_scaling) are rendered in modules of their own.
"""

from __future__ import annotations

from typing import Any

from perf.md_format import MB, fmt, med, table
from perf.results_md_pacing import pacing_section
from perf.results_md_scaling import adaptive_section, crash_section, scale_section


def render(result: dict[str, Any]) -> str:
    s = result["scenarios"]
    out = [
        f"# runner benchmark {result['timestamp']}",
        "",
        f"Command: `{result['command']}` ({'quick' if result['quick'] else 'full'} sizes), "
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
        ("pacing", pacing_section),
        ("scale", scale_section),
        ("adaptive", adaptive_section),
        ("crash", crash_section),
        ("bigrepo", _bigrepo),
    ):
        data = s.get(name)
        if data is None:
            continue
        if "error" in data:
            out += [f"## {name}", "", "Failed:", "", "```", data["error"][-1500:], "```", ""]
            continue
        out += section(data, result)
    if result.get("charts"):
        out += ["## Charts", ""] + [f"![{n}]({f})" for n, f in result["charts"].items()] + [""]
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


def _bigrepo(d: dict[str, Any], _r) -> list[str]:
    shape = d["repository"]
    rows = [
        [
            key,
            fmt(x.get("issues_per_s")),
            fmt(x.get("master_uss_mb")),
            fmt(x.get("master_rss_mb")),
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
        *table(["repository", "issues/s", "master USS MB", "master RSS MB", "largest sage USS MB", "wall s"], rows),
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
