"""The pacing scenario's moving parts: another client of the same account, one runner case
against the emulator, and what the emulator saw, read back on its emulated clock.

    Competitor ──(runner's token, its own User-Agent)──> emulator <── runner process --github
      waits for runner's first request, then fills       │ every secondary refusal: emulated time,
      the minute (comments until refused or `burst`),     │ reason, client (Stats.limit_events)
      then one comment every `trickle_s`                  │ creation time of each PR and comment
                                                          ▼
    timeline(): episodes (runner's refusals in a row: no PR or comment of runner's between them)
                and recovery (from an episode's first refusal until runner's last RECOVERY_ITEMS
                pull requests and comments came at >= 90% of the configured pace; not counted
                when the next limit came first)

All times here are emulated seconds: the emulator's creation times are real ones, converted
with its clock (the time scale stays the same during a case).
"""

from __future__ import annotations

import statistics
import threading
import urllib.request
from pathlib import Path
from typing import Any

from perf.common import run_cli, runner_argv

TOKEN = "bench-token-not-a-secret"
COMPETITOR_AGENT = "bench-competitor"
RECOVERY_ITEMS = 5
RECOVERED_SHARE = 0.9


def control(url: str, path: str, method: str) -> None:
    urllib.request.urlopen(
        urllib.request.Request(url + path, method=method, data=b"" if method == "POST" else None), timeout=10
    ).read()


def client(url: str, agent: str | None = None):
    from github import Auth, Github

    extra = {"user_agent": agent} if agent else {}
    return Github(
        base_url=url,
        auth=Auth.Token(TOKEN),
        retry=None,
        timeout=10,
        seconds_between_requests=None,
        seconds_between_writes=None,
        **extra,
    )


class Competitor(threading.Thread):
    """Another program with runner's token: when runner's first request arrives it comments
    until GitHub refuses or `burst` comments are made, then once every `trickle_s` (emulated)."""

    def __init__(self, emulator, repo: str, burst: int = 0, trickle_s: float | None = None) -> None:
        super().__init__(name="bench-competitor", daemon=True)
        self.emulator = emulator
        self.burst = burst
        self.trickle_s = trickle_s
        self.created = self.refused = 0
        self.started_at: float | None = None
        self.halt = threading.Event()
        self._issue = client(emulator.url, COMPETITOR_AGENT).get_repo(repo).get_issue(1) if burst or trickle_s else None

    def run(self) -> None:
        while self.emulator.stats["requests"] == 0 and not self.halt.wait(0.002):
            pass
        self.started_at = self.emulator.app.clock.now()
        if self._issue is None:
            return
        while self.created < self.burst and self._comment():
            pass
        while self.trickle_s and not self.halt.wait(self.emulator.app.clock.real_delay(self.trickle_s)):
            self._comment()

    def _comment(self) -> bool:
        from github import GithubException

        try:
            self._issue.create_comment(f"another client's comment {self.created + 1}")
        except GithubException:
            self.refused += 1
            return False
        self.created += 1
        return True

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=30)


def content_times(emulator, name: str) -> list[float]:
    """Emulated creation times of every pull request and comment in a repository."""
    with emulator.state.lock:
        repo = emulator.state.repos[name]
        real = [i.created_at for i in repo.issues.values() if i.pull is not None]
        real += [c.created_at for c in repo.comments.values()]
    clock = emulator.app.clock
    return sorted(clock.emulated_time_of(t) for t in real)


def rate_per_minute(times: list[float]) -> float | None:
    """Items per emulated minute, first to last."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0]) * 60.0


def episodes(refusals: list[float], content: list[float]) -> list[list[float]]:
    """Refusals grouped into episodes: a refusal after which runner created nothing before the
    next one belongs to the same episode (GitHub's "limits in a row")."""
    groups: list[list[float]] = []
    for at in sorted(refusals):
        if groups and not any(groups[-1][-1] < t < at for t in content):
            groups[-1].append(at)
        else:
            groups.append([at])
    return groups


def recovered_after(start: float, content: list[float], pace_gap_s: float, until: float | None = None) -> float | None:
    """Seconds from `start` until the last RECOVERY_ITEMS items after it came at least at 90% of
    the configured pace (mean gap <= pace_gap_s / 0.9); None when the batch ended first, or
    the next limit came (`until`)."""
    after = [t for t in content if t > start and (until is None or t < until)]
    for end in range(RECOVERY_ITEMS - 1, len(after)):
        span = after[end] - after[end - RECOVERY_ITEMS + 1]
        if span / (RECOVERY_ITEMS - 1) <= pace_gap_s / RECOVERED_SHARE:
            return after[end] - start
    return None


def timeline(refusals: list[float], content: list[float], pace_gap_s: float, start: float) -> dict[str, Any]:
    """Episodes and the recovery after each, which only counts if it came before the next limit."""
    groups = episodes(refusals, content)
    ends = [group[0] for group in groups[1:]] + [None]
    recoveries = [recovered_after(group[0], content, pace_gap_s, end) for group, end in zip(groups, ends, strict=False)]
    measured = [r for r in recoveries if r is not None]
    return {
        "violations": len(refusals),
        "episodes": len(groups),
        "max_violations_per_episode": max((len(g) for g in groups), default=0),
        "episode_starts_s": [round(g[0] - start, 1) for g in groups],
        "recovery_s": [None if r is None else round(r, 1) for r in recoveries],
        "recovery_s_max": round(max(measured), 1) if measured else None,
        "recovery_s_median": round(statistics.median(measured), 1) if measured else None,
        "not_recovered_before_the_next_limit": sum(
            r is None and end is not None for r, end in zip(recoveries, ends, strict=False)
        ),
    }


def run_case(
    ctx,
    emulator,
    name: str,
    clone: Path,
    issues: Path,
    toml: str,
    *,
    scale: float,
    competitor: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    timeout_s: float = 600.0,
    stop_after_s: float | None = None,
) -> dict[str, Any]:
    """One `runner process --github name` with the emulator at `scale`, limits and stats reset,
    and another client of the account as `competitor` says (burst, trickle_s)."""
    work = ctx.path(name.replace("/", "-"))
    (work / "runner.toml").write_text(toml)
    emulator.configure(**{"time_scale": scale, "inject_secondary_every_s": 0.0, **(settings or {})})
    other = Competitor(emulator, "bench/other", **(competitor or {}))
    control(emulator.url, "/_emulator/reset-limits", "POST")
    control(emulator.url, "/_emulator/stats", "DELETE")
    other.start()
    cli = run_cli(
        runner_argv(
            str(issues),
            "--repo",
            str(clone),
            "--github",
            name,
            "--publish",
            "pr",
            "--commit-plan",
            *args,
            state=work / "state",
            reports=work / "reports",
        ),
        work / "reports",
        cwd=work,
        env={"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": emulator.url},
        timeout_s=timeout_s,
        stop_after_s=stop_after_s,
    )
    other.stop()
    stats = emulator.stats
    events = emulator.app.stats.limit_events()
    mine = [e for e in events if e["agent"] != COMPETITOR_AGENT]
    start = other.started_at if other.started_at is not None else emulator.app.clock.now()
    content = content_times(emulator, name)
    return {
        "cli": cli,
        "start": start,
        "content": content,
        "refusals": [e["at"] for e in mine],
        "refusal_reasons": _count(e["reason"] for e in mine),
        "injected": sum(e["reason"] == "injected" for e in mine),
        "competitor": {"created": other.created, "refused": other.refused},
        "requests": stats["requests"],
        "writes": stats["writes"],
        "primary_violations": stats["primary_limit_violations"],
        "wall_s": round(cli.wall_s, 2),
    }


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def runner_summary(case: dict[str, Any]) -> dict[str, Any]:
    """What runner's own report says about pacing."""
    cli = case["cli"]
    github = cli.metrics.get("github") or {}
    report = cli.report or {}
    return {
        "exit_code": cli.exit_code,
        "totals": cli.totals,
        "rate_limited_retries": github.get("rate_limited"),
        "pacing": github.get("pacing"),
        "pacing_events": len(report.get("pacing_events") or []),
    }
