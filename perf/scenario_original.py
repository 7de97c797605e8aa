"""Scenario 1: the old system's four published cases, measured twice.

SIMULATED: runner's SagePool and RetryPolicy drive tasks whose only work is a sleep that
stands for external latency (100 ms per issue, 50 ms in the stress case). This is the
only kind of number the old report had; it shows the engine's overhead, nothing more.

REAL: `runner process` on a freshly generated repository: triage, analysis, rendering and
one commit per issue. In the stress case 5% of attempts hang in a template (the Jinja
`random` filter picks them) until runner's per-issue timeout kills the sage: a transient
failure that runner retries, as a crashed worker or a stuck fixer would be.
"""

from __future__ import annotations

import heapq
import queue as stdqueue
import random
import shutil
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from perf import simtasks
from perf.common import Context, ratio, run_cli, runner_argv, summary
from perf.profiling import profiled
from perf.workload import issues, write_issues
from runner.core.retry import RetryPolicy
from runner.pool import SagePool
from runner.records.metrics import percentiles
from runner.run.backend import INFLIGHT_PER_WORKER
from runner.sage.render import shipped_templates

OLD_PUBLISHED = {"sequential": 9.88, "concurrent_5": 48.66, "concurrent_10": 96.84, "stress": 89.92}
CASES = (  # name, workers, issues, simulated latency (s), injected transient failure rate
    ("sequential", 1, 10, 0.100, 0.0),
    ("concurrent_5", 5, 20, 0.100, 0.0),
    ("concurrent_10", 10, 30, 0.100, 0.0),
    ("stress", 10, 50, 0.050, 0.05),
)
STRESS_TIMEOUT_S = 0.5
CHAOS = (
    "{# benchmark only: about 1 attempt in 20 hangs until runner's timeout kills the sage #}\n"
    "{% if range(20)|random == 0 %}{% for a in range(100000) %}{% for b in range(100000) %}"
    "{% endfor %}{% endfor %}{% endif %}\n"
)


def run_simulated(workers: int, count: int, latency_s: float, failure_rate: float, seed: int = 1) -> dict[str, Any]:
    """Issues through SagePool with runner's retry policy; failures decided by a seeded die per attempt."""
    dice = random.Random(seed)
    policy = RetryPolicy(max_attempts=3)
    pool = SagePool(workers, simtasks.ready, inflight_per_worker=INFLIGHT_PER_WORKER)
    pool.start()
    began = time.monotonic()
    ready = [(began, n, 1) for n in range(1, count + 1)]
    completions: stdqueue.SimpleQueue[tuple[Future, int, int]] = stdqueue.SimpleQueue()
    finished: dict[int, tuple[float, bool]] = {}
    retries = 0
    try:
        while len(finished) < count:
            now = time.monotonic()
            while ready and ready[0][0] <= now and pool.free_slots() > 0:
                _, number, attempt = heapq.heappop(ready)
                future = pool.submit(simtasks.simulated_issue, number, latency_s, dice.random() < failure_rate)
                future.add_done_callback(lambda f, n=number, a=attempt: completions.put((f, n, a)))
            wait = min(0.05, max(0.0, ready[0][0] - now)) if ready and pool.free_slots() > 0 else 0.05
            try:
                future, number, attempt = completions.get(timeout=wait)
            except stdqueue.Empty:
                continue
            error = future.exception()
            plan = policy.plan(error, attempt) if error is not None else None
            if plan is not None and plan.action == "retry":
                retries += 1
                heapq.heappush(ready, (time.monotonic() + plan.delay_s, number, attempt + 1))
            else:
                finished[number] = (time.monotonic() - began, error is not None)
    finally:
        pool.shutdown(wait=True)
    elapsed = max(t for t, _ in finished.values())
    failed = sum(1 for _, f in finished.values() if f)
    return {
        "issues_per_s": count / elapsed,
        "elapsed_s": elapsed,
        "retries": retries,
        "error_rate": failed / count,
        "latency_s": percentiles([t for t, _ in finished.values()]),
    }


def chaos_templates(target: Path) -> Path:
    """Shipped templates with the injected hang at the top of the one every kind extends."""
    shutil.copytree(shipped_templates(), target)
    plan = target / "default" / "PLAN.md.j2"
    plan.write_text(CHAOS + plan.read_text())
    return target


def run_real(ctx: Context, workers: int, count: int, stress: bool) -> dict[str, Any]:
    work = ctx.path(f"original-{workers}w-{count}")
    repo = ctx.fresh_repo("original")
    path = write_issues(work / "issues.jsonl", issues(count, seed=11))
    extra = ["--workers", str(workers)]
    if stress:
        extra += ["--templates", str(chaos_templates(work / "templates")), "--timeout", str(STRESS_TIMEOUT_S)]
    run = run_cli(
        runner_argv(str(path), "--repo", str(repo), *extra, state=work / "state", reports=work / "reports"),
        work / "reports",
        timeout_s=120,
    )
    figures = run.figures()
    figures["timeouts"] = (run.metrics.get("pool") or {}).get("timeouts")
    return figures


def run(ctx: Context) -> dict[str, Any]:
    reps = 1 if ctx.quick else 3
    run_simulated(2, 4, 0.01, 0.0)
    simulated = {
        name: [run_simulated(w, n, lat, fail, seed=rep) for rep in range(reps)] for name, w, n, lat, fail in CASES
    }
    with profiled() as profiles:
        run_simulated(*CASES[-1][1:], seed=99)
    real = {name: [run_real(ctx, w, n, fail > 0) for _ in range(reps)] for name, w, n, _, fail in CASES}
    cases = []
    for name, workers, count, latency, failure_rate in CASES:
        ideal = workers / latency
        sim_rate = summary([r["issues_per_s"] for r in simulated[name]])
        real_rate = summary([r["issues_per_s"] for r in real[name]])
        cases.append(
            {
                "case": name,
                "workers": workers,
                "issues": count,
                "simulated_latency_s": latency,
                "injected_failure_rate": failure_rate,
                "old_published_issues_per_s": OLD_PUBLISHED[name],
                "simulated": {
                    "label": f"SIMULATED: sleep({latency}) stands for external latency",
                    "issues_per_s": sim_rate,
                    "ideal_issues_per_s": ideal,
                    "of_ideal": ratio(sim_rate["median"], ideal),
                    "error_rate_after_retries": summary([r["error_rate"] for r in simulated[name]]),
                    "retries": summary([r["retries"] for r in simulated[name]]),
                    "runs": simulated[name],
                },
                "real": {
                    "label": "REAL: runner process on a generated repository (analysis, render, commit)",
                    "issues_per_s": real_rate,
                    "issues_per_s_wall": summary([r["issues_per_s_wall"] for r in real[name]]),
                    "error_rate_after_retries": summary([r["error_rate"] for r in real[name]]),
                    "retries": summary([r["retries"] for r in real[name]]),
                    "timeouts": summary([r["timeouts"] for r in real[name]]),
                    "runs": real[name],
                },
            }
        )
    return {
        "cases": cases,
        "reps": reps,
        "stress_timeout_s": STRESS_TIMEOUT_S,
        "profile_top": profiles.top(),
        "profile_of": "an extra, untimed simulated stress run (master process, all threads)",
    }
