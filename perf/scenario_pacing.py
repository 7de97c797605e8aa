"""Scenario 4: publishing to GitHub's limits, with time compressed.

    runner process --github bench/paced ──HTTP──> emulator (limits enforced, time_scale S)
    naive loop (PyGithub, no pacing)    ──HTTP──> same emulator: bench/naive at S,
                                                  bench/naive-realtime at S = 1

The emulator runs S emulated seconds per real second for its rate-limit windows
(content creation: 80 per minute, 500 per hour). runner's own pacing is scaled by the same
S in runner.toml: write and notify intervals and waits divided by S, per-window budgets
multiplied by S (its windows are fixed in real seconds, so this keeps the same rate; the
batch stays under one emulated hour's budget, where that equivalence holds).

Achieved content-creation rate comes from the emulator's own timestamps of runner's pull
requests and comments, converted to emulated time. The allowed rate is runner's policy
(one notifying write per notify_interval, 3 s: 20 per minute), itself under GitHub's 80.

The naive loop has no clock of its own to scale: its pace is the loopback round trip. At
S = 60 that round trip lasts 60 emulated times longer, which makes it look slow; so it also
runs at S = 1, where the emulator's limits are GitHub's in real time.
"""
from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from perf.common import Context, run_cli, runner_argv
from perf.profiling import profiled
from perf.workload import git, git_env

TOKEN = "bench-token-not-a-secret"
TIME_SCALE = 60.0
NOTIFY_INTERVAL_S = 3.0
WRITE_INTERVAL_S = 1.0
GITHUB_CONTENT_PER_MINUTE = 80
GITHUB_CONTENT_PER_HOUR = 500
NAMES = ("bench/paced", "bench/naive", "bench/naive-realtime")


def runner_toml(scale: float) -> str:
    return "\n".join([
        "[github]",
        f"write_interval = {WRITE_INTERVAL_S / scale}",
        f"notify_interval = {NOTIFY_INTERVAL_S / scale}",
        f"content_per_minute = {int(GITHUB_CONTENT_PER_MINUTE * scale)}",
        f"content_per_hour = {int(GITHUB_CONTENT_PER_HOUR * scale)}",
        f"max_wait = {120.0 / scale}",
        f"secondary_wait = {60.0 / scale}",
        "",
    ])


def _control(url: str, path: str, method: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url + path, method=method, data=b"" if method == "POST" else None),
                           timeout=10).read()


def _bare(source: Path, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(target)], check=True, capture_output=True,
                   env=git_env())
    return target


def _client(url: str):
    from github import Auth, Github

    return Github(base_url=url, auth=Auth.Token(TOKEN), retry=None, timeout=10,
                  seconds_between_requests=None, seconds_between_writes=None)


def seed(emulator, names: list[str], count: int) -> None:
    """The same `count` issues in each repository, created with the limits off."""
    emulator.configure(secondary_limits=False)
    client = _client(emulator.url)
    for name in names:
        repo = client.get_repo(name)
        for n in range(1, count + 1):
            repo.create_issue(f"Crash when saving record {n}", body=f"save_record fails in app/orders/record.py ({n})",
                              labels=["bug"])
    emulator.configure(secondary_limits=True)


def export_issues(url: str, name: str, path: Path) -> Path:
    repo = _client(url).get_repo(name)
    with path.open("w") as out:
        for item in repo.get_issues(state="open"):
            out.write(json.dumps(item.raw_data) + "\n")
    return path


def content_times(emulator, name: str) -> list[float]:
    """Real creation times of every pull request and comment in a repository (the emulator's clock)."""
    with emulator.state.lock:
        repo = emulator.state.repos[name]
        pulls = [i.created_at for i in repo.issues.values() if i.pull is not None]
        comments = [c.created_at for c in repo.comments.values()]
    return sorted(pulls + comments)


def rate_per_minute(times: list[float], scale: float) -> float | None:
    """Content created per emulated minute, first to last creation."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / ((times[-1] - times[0]) * scale) * 60.0


def naive_publish(url: str, name: str, numbers: list[int]) -> dict[str, int]:
    """PR + comment per issue in a tight loop: no pacing, no retry, errors counted."""
    from github import GithubException

    repo = _client(url).get_repo(name)
    created = refused = 0
    for number in numbers:
        for make in (lambda n=number: repo.create_pull(base="main", head=f"runner/issue-{n}", title=f"#{n}",
                                                        body=f"Closes #{n}", draft=True),
                     lambda n=number: repo.get_issue(n).create_comment(f"draft PR for #{n}")):
            try:
                make()
                created += 1
            except GithubException:
                refused += 1
    return {"content_created": created, "requests_refused": refused}


def naive_case(emulator, name: str, count: int, scale: float) -> dict[str, Any]:
    """The naive loop against fresh limits and stats, at the given time scale."""
    emulator.configure(time_scale=scale)
    _control(emulator.url, "/_emulator/reset-limits", "POST")
    _control(emulator.url, "/_emulator/stats", "DELETE")
    result = naive_publish(emulator.url, name, list(range(1, count + 1)))
    stats = emulator.stats
    return {**result, "time_scale": scale, "content_attempted": 2 * count,
            "achieved_per_minute": rate_per_minute(content_times(emulator, name), scale),
            "violations": stats["limit_violations"], "secondary_violations": stats["secondary_limit_violations"],
            "requests": stats["requests"]}


def run(ctx: Context) -> dict[str, Any]:
    from runner.testing.github_emulator import Emulator, EmulatorConfig

    count = 42 if ctx.quick else 100
    scale = TIME_SCALE
    work = ctx.path("pacing")
    clone = ctx.fresh_repo("pacing-clone")
    remotes = {name: _bare(clone, work / f"{name.split('/')[1]}.git") for name in NAMES}
    git(clone, "remote", "add", "origin", str(remotes["bench/paced"]))
    config = EmulatorConfig(time_scale=scale, content_per_minute=GITHUB_CONTENT_PER_MINUTE,
                            content_per_hour=GITHUB_CONTENT_PER_HOUR)
    with Emulator(remotes, tokens={TOKEN}, config=config) as emulator:
        seed(emulator, list(NAMES), count)
        issues_path = export_issues(emulator.url, "bench/paced", work / "issues.jsonl")
        (work / "runner.toml").write_text(runner_toml(scale))
        _control(emulator.url, "/_emulator/reset-limits", "POST")
        _control(emulator.url, "/_emulator/stats", "DELETE")
        cli = run_cli(runner_argv(str(issues_path), "--repo", str(clone), "--github", "bench/paced",
                                  state=work / "state", reports=work / "reports"),
                      work / "reports", cwd=work, env={"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": emulator.url},
                      timeout_s=300)
        runner_stats = emulator.stats
        runner_times = content_times(emulator, "bench/paced")
        for name in NAMES[1:]:
            git(clone, "push", "-q", str(remotes[name]), "refs/heads/runner/*:refs/heads/runner/*")
        naive_scaled = naive_case(emulator, "bench/naive", count, scale)
        with profiled(threads=False) as profiles:
            naive_real_time = naive_case(emulator, "bench/naive-realtime", count, 1.0)
    allowed = 60.0 / NOTIFY_INTERVAL_S
    achieved = rate_per_minute(runner_times, scale)
    figures = cli.figures()
    return {
        "issues": count, "time_scale": scale, "runner_toml": runner_toml(scale),
        "allowed_per_minute": {"runner_policy": allowed, "github_limit": GITHUB_CONTENT_PER_MINUTE,
                               "github_hourly": GITHUB_CONTENT_PER_HOUR},
        "runner": {
            "exit_code": cli.exit_code, "totals": figures["totals"], "content_created": len(runner_times),
            "achieved_per_minute": achieved,
            "of_allowed": round(achieved / allowed, 3) if achieved else None,
            "violations": runner_stats["limit_violations"],
            "secondary_violations": runner_stats["secondary_limit_violations"],
            "primary_violations": runner_stats["primary_limit_violations"],
            "rate_limited_retries": ((cli.metrics.get("github") or {}).get("rate_limited")),
            "requests": runner_stats["requests"], "writes": runner_stats["writes"],
            "wall_s": figures["wall_s"],
        },
        "naive_same_time_scale": naive_scaled,
        "naive_real_time": naive_real_time,
        "profile_top": profiles.top(), "profile_of": "the naive publisher loop in real time (its own thread; "
                                               "what it creates is set by the limit, not by its speed)",
    }
