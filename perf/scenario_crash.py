"""Scenario 7: what a crashing worker costs.

The real pipeline on a generated repository while a sage is SIGKILLed every second
(sages are found as the children of runner's fork server), against the same run with no
kills. Kept throughput is the ratio of the two; lost issues are counted from runner's
report (every input number must appear exactly once, in a terminal state) and from the
repository (one branch per succeeded issue).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import psutil

from perf.common import CliRun, Context, is_sage, ratio, run_cli, runner_argv, summary
from perf.workload import git, issues, write_issues

KILL_EVERY_S = 1.0
TERMINAL = {"committed", "published", "unchanged", "no-change", "skipped", "failed", "deferred"}


class Killer(threading.Thread):
    """SIGKILLs one live sage of `pid` every `every_s` seconds until stopped."""

    def __init__(self, pid: int, every_s: float = KILL_EVERY_S) -> None:
        super().__init__(name="bench-killer", daemon=True)
        self.pid = pid
        self.every_s = every_s
        self.killed: list[int] = []
        self._halt = threading.Event()
        self._turn = 0

    def run(self) -> None:
        while not self._halt.wait(self.every_s):
            victims = self._sages()
            if not victims:
                continue
            victim = victims[self._turn % len(victims)]
            self._turn += 1
            try:
                os.kill(victim.pid, signal.SIGKILL)
                self.killed.append(victim.pid)
            except ProcessLookupError:
                pass

    def _sages(self) -> list[psutil.Process]:
        try:
            children = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return []
        found = []
        for child in children:
            try:
                if child.name() != "git" and is_sage(child, self.pid):
                    found.append(child)
            except psutil.Error:
                continue
        return found

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def lost_issues(run: CliRun, expected: int, repo: Path) -> dict[str, Any]:
    """Input issues without exactly one terminal record, and succeeded issues without a branch."""
    records = (run.report or {}).get("issues") or []
    numbers = [r["number"] for r in records if r.get("status") in TERMINAL]
    branches = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/runner/").split()
    succeeded = (run.report or {}).get("totals", {}).get("succeeded", 0)
    return {
        "missing": len(set(range(1, expected + 1)) - set(numbers)),
        "duplicated": len(numbers) - len(set(numbers)),
        "failed": (run.report or {}).get("totals", {}).get("failed"),
        "branches": len(branches),
        "succeeded": succeeded,
        "succeeded_without_branch": max(0, succeeded - len(branches)),
    }


def one_run(ctx: Context, path: Path, count: int, kill: bool) -> dict[str, Any]:
    work = ctx.path("crash-kill" if kill else "crash-calm")
    repo = ctx.fresh_repo("crash")
    killers: list[Killer] = []

    def start_killer(pid: int, _watcher) -> None:
        if kill:
            killers.append(Killer(pid))
            killers[0].start()

    run = run_cli(
        runner_argv(str(path), "--repo", str(repo), "--workers", "2", state=work / "state", reports=work / "reports"),
        work / "reports",
        timeout_s=300,
        on_start=start_killer,
    )
    for killer in killers:
        killer.stop()
    figures = run.figures()
    return {
        "killed": len(killers[0].killed) if killers else 0,
        "lost": lost_issues(run, count, repo),
        "issues_per_s": figures["issues_per_s"],
        "issues_per_s_wall": figures["issues_per_s_wall"],
        "exit_code": run.exit_code,
        "retries": figures["retries"],
        "pool": figures["pool"],
        "latency_s": figures["latency_s"],
    }


def run(ctx: Context) -> dict[str, Any]:
    count = 400 if ctx.quick else 2000
    reps = 1 if ctx.quick else 2
    path = write_issues(ctx.path("crash-input") / "issues.jsonl", issues(count, seed=31))
    calm, killed = [], []
    for _ in range(reps):
        calm.append(one_run(ctx, path, count, kill=False))
        killed.append(one_run(ctx, path, count, kill=True))
    calm_rate = summary([r["issues_per_s"] for r in calm])
    kill_rate = summary([r["issues_per_s"] for r in killed])
    lost = sum(
        r["lost"]["missing"] + r["lost"]["duplicated"] + r["lost"]["succeeded_without_branch"] for r in killed + calm
    )
    return {
        "issues": count,
        "reps": reps,
        "kill_every_s": KILL_EVERY_S,
        "no_kill": {"issues_per_s": calm_rate, "runs": calm},
        "with_kills": {"issues_per_s": kill_rate, "kills": summary([r["killed"] for r in killed]), "runs": killed},
        "throughput_kept": ratio(kill_rate["median"], calm_rate["median"]),
        "issues_lost": lost,
    }
