"""The pacing section of bench-<timestamp>.md: runner's pull requests, labels and comments
against the emulator's content limits beside a naive publisher, then the limit cases (another
client filling the minute, injected secondary limits, a long batch) and how it recovered.
"""

from __future__ import annotations

from typing import Any

from perf.md_format import fmt, table


def pacing_section(d: dict[str, Any], _r) -> list[str]:
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
