"""Sections 5 to 7 of bench-<timestamp>.md, load and resilience: scale and memory of a dry run
on large inputs, what the adaptive policy decided, and the throughput kept (and issues lost)
when sages are killed.
"""

from __future__ import annotations

from typing import Any

from perf.md_format import MB, fmt, med, table


def scale_section(d: dict[str, Any], _r) -> list[str]:
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


def adaptive_section(d: dict[str, Any], _r) -> list[str]:
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


def crash_section(d: dict[str, Any], _r) -> list[str]:
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
