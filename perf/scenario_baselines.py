"""Scenario 3: what runner is compared with, on the same issues and the same repository.

naive    the script people write first: GitPython `checkout -b` / write the file / `add` /
         `commit`, one issue at a time, in a clone of the same repository. It writes the
         issue's title and body as the plan (no analysis), so it does less work than runner.
ceiling  the same number of commits, one branch per issue as runner makes them, streamed by
         ONE `git fast-import` process with no analysis: what the git side alone can do, with
         git's defaults. Also measured with runner's own settings for fast-import (a glibc heap
         pad, no reflogs for its branches), so the reader sees what those settings are worth.
engine   no-op tasks through runner's SagePool against a plain ProcessPoolExecutor, with the
         same window of outstanding tasks (perf/engine_overhead.py).

Rates here are baselines only; bench.py divides runner's rates by them.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perf import engine_overhead
from perf.common import Context, ratio, summary
from perf.profiling import profiled
from perf.workload import clone_repo, git, git_env, issues
from runner.git.fastimport import GIT_OPTIONS, HOLDING_REF, IMPORT_OPTIONS, MALLOC_PADDING
from runner.git.packedrefs import PackedRefs

NAIVE_CHUNKS = 3
STAMP = b"Bench Author <bench@example.com> 1704067200 +0000"


def plan_text(item: dict[str, Any]) -> bytes:
    return f"# Plan for #{item['number']}: {item['title']}\n\n{item['body']}\n".encode()


def naive_rates(repo: Path, items: list[dict[str, Any]], warmup: int = 5) -> list[float]:
    """Issues per second of the GitPython loop, for each of NAIVE_CHUNKS consecutive chunks."""
    import git as gitpython

    who = gitpython.Actor("Bench Author", "bench@example.com")
    handle = gitpython.Repo(repo)
    handle.git.update_environment(**{k: v for k, v in git_env().items() if k.startswith("GIT_")})
    commit_one = _naive_commit(handle, repo, who)
    for item in items[:warmup]:
        commit_one(item, prefix="warmup/issue-")
    rest = items[warmup:]
    size = max(1, len(rest) // NAIVE_CHUNKS)
    rates = []
    for start in range(0, size * NAIVE_CHUNKS, size):
        chunk = rest[start : start + size]
        began = time.perf_counter()
        for item in chunk:
            commit_one(item, prefix="naive/issue-")
        rates.append(len(chunk) / (time.perf_counter() - began))
    handle.close()
    return rates


def _naive_commit(handle, repo: Path, who):
    def commit_one(item: dict[str, Any], prefix: str) -> None:
        number = item["number"]
        handle.git.checkout("-q", "-b", f"{prefix}{number}", "main")
        relative = f".runner/issues/{number}/PLAN.md"
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(plan_text(item))
        handle.index.add([relative])
        handle.index.commit(f"plan for #{number}", author=who, committer=who)

    return commit_one


def ceiling_rate(
    repo: Path, items: Iterable[dict[str, Any]], prefix: str = "ceiling/issue-", runner_settings: bool = False
) -> dict[str, Any]:
    """Commits per second of one fast-import stream: one commit on its own new branch per issue.

    With `runner_settings`, git does exactly what runner asks of it: its fast-import
    options and heap pad, commits on the holding ref, then the branches in one write of
    packed-refs. That isolates what runner's own Python costs on top."""
    base = git(repo, "rev-parse", "HEAD").encode()
    count = 0
    options, import_options = (GIT_OPTIONS, IMPORT_OPTIONS) if runner_settings else ((), ("--quiet",))
    env = {**git_env(), **MALLOC_PADDING} if runner_settings else git_env()
    began = time.perf_counter()
    proc = subprocess.Popen(
        ["git", "-C", str(repo), *options, "fast-import", *import_options],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    answers: list[bytes] = []
    reader = threading.Thread(target=lambda: answers.append(proc.stdout.read()), daemon=True)
    reader.start()
    branches = []
    for item in items:
        number, data = item["number"], plan_text(item)
        message = f"plan for #{number}\n".encode()
        branch = b"refs/heads/%s%d" % (prefix.encode(), number)
        ref = HOLDING_REF.encode() if runner_settings else branch
        proc.stdin.write(
            b"commit %s\nmark :%d\ncommitter %s\ndata %d\n%s\nfrom %s\n"
            b"M 100644 inline .runner/issues/%d/PLAN.md\ndata %d\n%s\n\n"
            % (ref, count + 1, STAMP, len(message), message, base, number, len(data), data)
        )
        branches.append(branch.decode())
        count += 1
    if runner_settings:
        proc.stdin.write(
            b"reset %s\n\n" % HOLDING_REF.encode() + b"".join(b"get-mark :%d\n" % mark for mark in range(1, count + 1))
        )
    proc.stdin.close()
    reader.join()
    commits = answers[0].split()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    if runner_settings:
        created = (
            PackedRefs(repo, repo / ".git")
            .create(dict(zip(branches, (c.decode() for c in commits), strict=False)))
            .created
        )
        if len(created) != count:
            raise RuntimeError("packed-refs refused some ceiling branches")
    elapsed = time.perf_counter() - began
    return {"commits": count, "seconds": elapsed, "commits_per_s": count / elapsed}


def engine(tasks: int, reps: int, workers: int = 2, inflight: int = 2) -> dict[str, Any]:
    """engine_overhead's two measurements, alternated so drift hits both alike."""
    executor, sage, unbounded = [], [], []
    for _ in range(reps):
        executor.append(engine_overhead.executor_rate(tasks, workers, inflight))
        sage.append(engine_overhead.sage_rate(tasks, workers, inflight))
    unbounded.append(engine_overhead.executor_unbounded_rate(tasks, workers))
    ex, sg = summary(executor), summary(sage)
    return {
        "tasks": tasks,
        "workers": workers,
        "inflight_per_worker": inflight,
        "process_pool_executor_per_s": ex,
        "sage_pool_per_s": sg,
        "process_pool_executor_unbounded_per_s": summary(unbounded),
        "sage_over_executor": ratio(sg["median"], ex["median"]),
    }


def run(ctx: Context, pipeline_issues: int, large_issues: int) -> dict[str, Any]:
    """Baselines for the same issue sets scenario 2 used (seeds 21 and 23)."""
    quick = ctx.quick
    naive_count = 35 if quick else 125
    naive_items = list(issues(naive_count, seed=23))
    clone = clone_repo(ctx.fresh_repo("naive-src"), ctx.path("naive") / "clone")
    naive = naive_rates(clone, naive_items)
    with profiled(threads=False) as profiles:
        naive_rates(clone, list(issues(naive_count + 20, seed=23))[naive_count:], warmup=0)
    ceilings_small = [
        ceiling_rate(ctx.fresh_repo("ceiling"), issues(pipeline_issues, seed=21)) for _ in range(1 if quick else 3)
    ]
    ceiling_large = ceiling_rate(ctx.fresh_repo("ceiling-large"), issues(large_issues, seed=23))
    ceiling_tuned = ceiling_rate(ctx.fresh_repo("ceiling-tuned"), issues(large_issues, seed=23), runner_settings=True)
    return {
        "naive": {
            "issues_measured": naive_count - 5,
            "chunks": NAIVE_CHUNKS,
            "issues_per_s": summary(naive),
            "note": "measured on a sample of the large issue set (its per-issue cost does not depend on "
            "the batch size); GitPython checkout -b / write / add / commit, no analysis",
        },
        "ceiling": {"issues": pipeline_issues, "commits_per_s": summary([c["commits_per_s"] for c in ceilings_small])},
        "ceiling_large": {"issues": large_issues, **ceiling_large},
        "ceiling_large_runner_settings": {
            "issues": large_issues,
            **ceiling_tuned,
            "note": "what runner asks of git: its fast-import options (heap pad, no reflogs, "
            "zlib level 1, no deltas) and branches created in packed-refs",
        },
        "engine": engine(2000 if quick else 8000, 1 if quick else 3),
        "profile_top": profiles.top(),
        "profile_of": "an extra, untimed naive loop over 20 more issues",
    }
