"""Scenario 4: publishing to GitHub's limits, with time compressed.

    runner process --github bench/<case> ──HTTP──> emulator (limits enforced, time_scale S)
    another client, same token            ──HTTP──> same emulator, same account (perf.pacing_cases)
    naive loop (PyGithub, no pacing)      ──HTTP──> bench/naive at S, bench/naive-realtime at S = 1

The emulator runs S emulated seconds per real second for its rate-limit windows (content
creation: 80 per minute, 500 per hour, per account). runner gets the same S as `time_scale` in
runner.toml, which divides every duration of its pacing (intervals, windows, waits), so it
keeps GitHub's rules on the emulated clock. Cases:

    steady       fresh limits: runner's pace against its policy (a notifying write every 3 s)
    competitor   another client of the account fills the minute's content budget as runner
                 starts publishing (30 issues, at 10x; again with --no-comment)
    injected     the emulator answers a secondary limit at random (seeded), every 3 emulated
                 minutes on average, with retry-after 60 s, whatever the budget
    long         1,000 issues (2,000 PRs and comments: four emulated hours of GitHub's 500 per
                 hour, at 240x), the other client's burst at the start and a comment every 10 minutes

What is measured comes from the emulator's side: creation times of runner's PRs and comments,
and every refusal with its reason and client, on the emulated clock. Violations are grouped into
episodes (refusals in a row) and each episode timed until runner is back to 90% of its pace.

The naive loop has no clock of its own to scale: its pace is the loopback round trip. At
S = 60 that round trip lasts 60 emulated times longer, which makes it look slow; so it also
runs at S = 1, where the emulator's limits are GitHub's in real time.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from perf.common import Context
from perf.pacing_cases import TOKEN, client, content_times, control, rate_per_minute, run_case, runner_summary, timeline
from perf.profiling import profiled
from perf.workload import git, git_env

TIME_SCALE = 60.0
NOTIFY_INTERVAL_S = 3.0
GITHUB_CONTENT_PER_MINUTE = 80
GITHUB_CONTENT_PER_HOUR = 500
MINUTE_BURST = GITHUB_CONTENT_PER_MINUTE
INJECT_EVERY_S = 180.0
INJECT_SEED = 7
TRICKLE_S = 600.0


QUICK_SKIPS = ("competitor_no_comment", "long")


def sizes(quick: bool) -> dict[str, int]:
    """Issues per case; quick mode leaves out the --no-comment case and the long batch."""
    return {
        "steady": 42 if quick else 100,
        "competitor": 10 if quick else 30,
        "injected": 30 if quick else 100,
        "long": 0 if quick else 1000,
    }


def scales(quick: bool) -> dict[str, float]:
    """Emulated seconds per real second: the other client's burst must fit well inside a minute,
    and the long batch's four hours inside the suite's budget."""
    return {"competitor": 20.0 if quick else 10.0, "long": 240.0}


def runner_toml(scale: float, max_wait_s: float = 120.0) -> str:
    """runner's [github] settings on the emulated clock: defaults, with time compressed by `scale`."""
    return f"[github]\ntime_scale = {scale}\nmax_wait = {max_wait_s}\n"


def _bare(source: Path, target: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(source), str(target)], check=True, capture_output=True, env=git_env()
    )
    return target


def seed(emulator, counts: dict[str, int]) -> None:
    """`count` issues in each repository, created with the limits off."""
    emulator.configure(secondary_limits=False)
    gh = client(emulator.url)
    for name, count in counts.items():
        repo = gh.get_repo(name)
        for n in range(1, count + 1):
            repo.create_issue(
                f"Crash when saving record {n}", body=f"save_record fails in app/orders/record.py ({n})", labels=["bug"]
            )
    emulator.configure(secondary_limits=True)


def export_issues(url: str, name: str, path: Path) -> Path:
    repo = client(url).get_repo(name)
    with path.open("w") as out:
        for item in repo.get_issues(state="open"):
            out.write(json.dumps(item.raw_data) + "\n")
    return path


def naive_publish(url: str, name: str, numbers: list[int]) -> dict[str, int]:
    """PR + comment per issue in a tight loop: no pacing, no retry, errors counted."""
    from github import GithubException

    repo = client(url).get_repo(name)
    created = refused = 0
    for number in numbers:
        for make in (
            lambda n=number: repo.create_pull(
                base="main", head=f"runner/issue-{n}", title=f"#{n}", body=f"Closes #{n}", draft=True
            ),
            lambda n=number: repo.get_issue(n).create_comment(f"draft PR for #{n}"),
        ):
            try:
                make()
                created += 1
            except GithubException:
                refused += 1
    return {"content_created": created, "requests_refused": refused}


def naive_case(emulator, name: str, count: int, scale: float) -> dict[str, Any]:
    """The naive loop against fresh limits and stats, at the given time scale."""
    emulator.configure(time_scale=scale, inject_secondary_every_s=0.0)
    control(emulator.url, "/_emulator/reset-limits", "POST")
    control(emulator.url, "/_emulator/stats", "DELETE")
    result = naive_publish(emulator.url, name, list(range(1, count + 1)))
    stats = emulator.stats
    return {
        **result,
        "time_scale": scale,
        "content_attempted": 2 * count,
        "achieved_per_minute": rate_per_minute(content_times(emulator, name)),
        "violations": stats["limit_violations"],
        "secondary_violations": stats["secondary_limit_violations"],
        "requests": stats["requests"],
    }


class Bench:
    """The emulator, one clone and one GitHub repository per case, and the issues of each."""

    def __init__(self, ctx: Context, emulator, work: Path, clones: dict[str, Path], issues: dict[str, Path]) -> None:
        self.ctx, self.emulator, self.work, self.clones, self.issues = ctx, emulator, work, clones, issues

    def case(self, name: str, toml: str, scale: float, **kw: Any) -> dict[str, Any]:
        return run_case(self.ctx, self.emulator, name, self.clones[name], self.issues[name], toml, scale=scale, **kw)


def steady(bench: Bench, name: str) -> dict[str, Any]:
    case = bench.case(name, runner_toml(TIME_SCALE), TIME_SCALE, timeout_s=300)
    achieved = rate_per_minute(case["content"])
    allowed = 60.0 / NOTIFY_INTERVAL_S
    return {
        **runner_summary(case),
        "content_created": len(case["content"]),
        "achieved_per_minute": achieved,
        "of_allowed": round(achieved / allowed, 3) if achieved else None,
        "violations": len(case["refusals"]),
        "secondary_violations": len(case["refusals"]),
        "primary_violations": case["primary_violations"],
        "requests": case["requests"],
        "writes": case["writes"],
        "wall_s": case["wall_s"],
    }


def after_limits(case: dict[str, Any], issues: int) -> dict[str, Any]:
    """Time to publish, the pace after the first limit, and the limit episodes."""
    content, start = case["content"], case["start"]
    took = content[-1] - start if content else None
    first_clear = next((t for t in content if case["refusals"] and t > max(case["refusals"][:1])), None)
    after = [t for t in content if first_clear is not None and t >= first_clear]
    achieved = rate_per_minute(after)
    return {
        **runner_summary(case),
        "issues": issues,
        "content_created": len(content),
        "time_to_publish_s": round(took, 1) if took else None,
        "achieved_per_minute_after_first_limit": round(achieved, 2) if achieved else None,
        "of_allowed_after_first_limit": round(achieved / (60.0 / NOTIFY_INTERVAL_S), 3) if achieved else None,
        **timeline(case["refusals"], content, NOTIFY_INTERVAL_S, start),
        "refusal_reasons": case["refusal_reasons"],
        "injected": case["injected"],
        "competitor": case["competitor"],
        "wall_s": case["wall_s"],
    }


def competitor(bench: Bench, name: str, count: int, scale: float, no_comment: bool = False) -> dict[str, Any]:
    args = ("--no-comment",) if no_comment else ()
    case = bench.case(name, runner_toml(scale), scale, competitor={"burst": MINUTE_BURST}, args=args, timeout_s=300)
    result = after_limits(case, count)
    per_issue = 1 if no_comment else 2
    ideal = 60.0 + count * per_issue * NOTIFY_INTERVAL_S
    took = result["time_to_publish_s"]
    return {
        **result,
        "no_comment": no_comment,
        "time_scale": scale,
        "ideal_s": ideal,
        "of_ideal": round(ideal / took, 3) if took else None,
    }


def injected(bench: Bench, name: str, count: int) -> dict[str, Any]:
    case = bench.case(
        name,
        runner_toml(TIME_SCALE),
        TIME_SCALE,
        timeout_s=420,
        settings={"inject_secondary_every_s": INJECT_EVERY_S, "inject_secondary_wait_s": 60.0, "seed": INJECT_SEED},
    )
    result = after_limits(case, count)
    ideal = count * 2 * NOTIFY_INTERVAL_S + 60.0 * result["injected"]
    took = result["time_to_publish_s"]
    return {
        **result,
        "every_s": INJECT_EVERY_S,
        "seed": INJECT_SEED,
        "ideal_s": ideal,
        "of_ideal": round(ideal / took, 3) if took else None,
    }


def long_batch(bench: Bench, name: str, count: int, scale: float) -> dict[str, Any]:
    case = bench.case(
        name,
        runner_toml(scale, max_wait_s=4000.0),
        scale,
        timeout_s=900,
        competitor={"burst": MINUTE_BURST, "trickle_s": TRICKLE_S},
    )
    result = after_limits(case, count)
    content, start = case["content"], case["start"]
    hours = (content[-1] - start) / 3600.0 if content else None
    other = case["competitor"]["created"]
    runner_per_hour = len(content) / hours if hours else None
    other_per_hour = other / hours if hours else None
    left = GITHUB_CONTENT_PER_HOUR - other_per_hour if other_per_hour is not None else None
    return {
        **result,
        "time_scale": scale,
        "hours": round(hours, 3) if hours else None,
        "runner_per_hour": round(runner_per_hour, 1) if runner_per_hour else None,
        "other_client_per_hour": round(other_per_hour, 1) if other_per_hour is not None else None,
        "budget_left_per_hour": round(left, 1) if left is not None else None,
        "of_budget_left": round(runner_per_hour / left, 3) if runner_per_hour and left else None,
    }


def run(ctx: Context) -> dict[str, Any]:
    from runner.testing.emulator import Emulator, EmulatorConfig

    n, scale = sizes(ctx.quick), scales(ctx.quick)
    counts = {
        "bench/paced": n["steady"],
        "bench/competitor": n["competitor"],
        "bench/competitor-no-comment": n["competitor"],
        "bench/injected": n["injected"],
        "bench/long": n["long"],
        "bench/naive": n["steady"],
        "bench/naive-realtime": n["steady"],
    }
    work = ctx.path("pacing")
    clones = {name: ctx.fresh_repo(f"pacing-{name.split('/')[1]}") for name in counts if "naive" not in name}
    remotes = {
        name: _bare(clones.get(name, clones["bench/paced"]), work / f"{name.split('/')[1]}.git")
        for name in (*counts, "bench/other")
    }
    for name, clone in clones.items():
        git(clone, "remote", "add", "origin", str(remotes[name]))
    config = EmulatorConfig(
        time_scale=TIME_SCALE, content_per_minute=GITHUB_CONTENT_PER_MINUTE, content_per_hour=GITHUB_CONTENT_PER_HOUR
    )
    with Emulator(remotes, tokens={TOKEN}, config=config) as emulator:
        seed(emulator, {**counts, "bench/other": 1})
        issues = {name: export_issues(emulator.url, name, work / f"{name.split('/')[1]}.jsonl") for name in clones}
        bench = Bench(ctx, emulator, work, clones, issues)
        cases = {
            "steady": lambda: steady(bench, "bench/paced"),
            "competitor": lambda: competitor(bench, "bench/competitor", n["competitor"], scale["competitor"]),
            "competitor_no_comment": lambda: competitor(
                bench, "bench/competitor-no-comment", n["competitor"], scale["competitor"], no_comment=True
            ),
            "injected": lambda: injected(bench, "bench/injected", n["injected"]),
            "long": lambda: long_batch(bench, "bench/long", n["long"], scale["long"]),
        }
        results = {}
        for key, call in cases.items():
            if ctx.quick and key in QUICK_SKIPS:
                continue
            ctx.log(f"[bench] pacing: {key} ...")
            results[key] = call()
        for name in ("bench/naive", "bench/naive-realtime"):
            git(clones["bench/paced"], "push", "-q", str(remotes[name]), "refs/heads/runner/*:refs/heads/runner/*")
        naive_scaled = naive_case(emulator, "bench/naive", n["steady"], TIME_SCALE)
        with profiled(threads=False) as profiles:
            naive_real_time = naive_case(emulator, "bench/naive-realtime", n["steady"], 1.0)
    return {
        "issues": n["steady"],
        "time_scale": TIME_SCALE,
        "runner_toml": runner_toml(TIME_SCALE),
        "allowed_per_minute": {
            "runner_policy": 60.0 / NOTIFY_INTERVAL_S,
            "github_limit": GITHUB_CONTENT_PER_MINUTE,
            "github_hourly": GITHUB_CONTENT_PER_HOUR,
        },
        "runner": results["steady"],
        **{key: value for key, value in results.items() if key != "steady"},
        "naive_same_time_scale": naive_scaled,
        "naive_real_time": naive_real_time,
        "profile_top": profiles.top(),
        "profile_of": "the naive publisher loop in real time (its own thread; "
        "what it creates is set by the limit, not by its speed)",
    }
