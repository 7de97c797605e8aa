"""Scenario 6: adaptive scaling on an I/O-bound workload.

The workload is SIMULATED I/O: each task sleeps (perf.simtasks.simulated_io), standing for a
fixer command waiting on the network. A sleep lasts as long on a loaded machine, but the policy
reads system-wide CPU and load, so a busy neighbour can still hold `auto` back. It runs
through runner's SagePool at fixed sizes 1, 2, 4, 8, 16 and with `auto`: the pool plus
runner's own ResourceMonitor, ScalingPolicy (its defaults, what `runner process --workers auto
--max-workers 16` does) and Autoscaler, wired as `runner process` wires them (queue depth =
backlog bounded by the queue size).

Every run is timed the same way: from a pool that has not started a single sage to the last
task's result, start-up (and, for `auto`, its whole ramp) included. `auto` and the largest
fixed size run the same workload, RUN_S seconds of work at 16 workers (`--quick`: 1 s).
Running that workload at 1 worker would take 16 times as long, more than the suite's budget,
so each smaller fixed size k gets k/16 of it: every fixed run lasts about RUN_S and pays its
start-up once, so their rates compare fairly. If a smaller size turns out fastest, it runs
again on the full workload and that run is the baseline for auto / best fixed. In all the
scenario takes about 65 s on 2 cores (`--quick`: about 10 s).
"""

from __future__ import annotations

import os
import queue as stdqueue
import time
from collections import deque
from datetime import datetime
from typing import Any

from perf import simtasks
from perf.common import Context, ratio
from perf.profiling import profiled
from runner.pool import SagePool
from runner.records.metrics import RunMetrics
from runner.run.backend import INFLIGHT_PER_WORKER
from runner.scaling.autoscaler import Autoscaler
from runner.scaling.monitor import PsutilSampler, ResourceMonitor
from runner.scaling.policy import ScalingPolicy

SLEEP_S = 0.02
FIXED_SIZES = (1, 2, 4, 8, 16)
MAX_WORKERS = 16
QUEUE_SIZE = 500
RUN_S = {True: 1.0, False: 10.0}


def workload(size: int, run_s: float) -> int:
    """Tasks that keep `size` workers busy for `run_s` seconds at the ideal rate."""
    return round(size * run_s / SLEEP_S)


def drive(
    pool: SagePool,
    tasks: int,
    cap_s: float,
    began: float,
    metrics: RunMetrics | None = None,
    backlog: deque[int] | None = None,
) -> dict[str, Any]:
    """Feed `tasks` sleeps through the pool as runner's dispatcher does (submit while a slot is
    free) until the last result, or `cap_s` after `began`. Times are seconds since `began`."""
    backlog = backlog if backlog is not None else deque(range(tasks))
    completions: stdqueue.SimpleQueue[float] = stdqueue.SimpleQueue()
    done: list[float] = []
    while len(done) < tasks and time.monotonic() - began < cap_s:
        while backlog and pool.free_slots() > 0:
            key = backlog.popleft()
            if metrics is not None:
                metrics.record_enqueued(key)
                metrics.record_started(key)
            future = pool.submit(simtasks.simulated_io, SLEEP_S)
            future.add_done_callback(lambda _f, k=key: _finished(completions, metrics, k))
        try:
            done.append(completions.get(timeout=0.05) - began)
        except stdqueue.Empty:
            continue
    elapsed = (done[-1] if len(done) == tasks else time.monotonic() - began) if done else cap_s
    return {
        "tasks": tasks,
        "tasks_done": len(done),
        "elapsed_s": round(elapsed, 3),
        "tasks_per_s": len(done) / elapsed,
        "capped": len(done) < tasks,
        "completions": done,
    }


def _finished(completions: stdqueue.SimpleQueue[float], metrics: RunMetrics | None, key: int) -> None:
    if metrics is not None:
        metrics.record_finished(key, "committed", "Medium")
    completions.put(time.monotonic())


def fixed(size: int, tasks: int, cap_s: float) -> dict[str, Any]:
    """`tasks` sleeps through a pool of `size` sages, timed from before the first sage starts."""
    pool = SagePool(size, simtasks.ready, inflight_per_worker=INFLIGHT_PER_WORKER)
    began = time.monotonic()
    pool.start(wait=False)
    try:
        result = drive(pool, tasks, cap_s, began)
    finally:
        pool.shutdown(wait=True)
    result.pop("completions")
    return {"workers": size, **result}


def auto(tasks: int, cap_s: float, policy_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """runner's autoscaling loop around the pool, starting where `--workers auto` starts."""
    policy_args = policy_args or {}
    start_size = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    pool = SagePool(start_size, simtasks.ready, inflight_per_worker=INFLIGHT_PER_WORKER)
    metrics, backlog = RunMetrics(), deque(range(tasks))
    wall0, began = time.time(), time.monotonic()
    pool.start(wait=False)
    monitor = ResourceMonitor(PsutilSampler(os.getpid(), pool.worker_pids), interval_s=0.1)
    policy = ScalingPolicy(1, MAX_WORKERS, **policy_args)
    scaler = Autoscaler(pool, policy, monitor, metrics, lambda: min(len(backlog), QUEUE_SIZE))
    monitor.start()
    scaler.start()
    try:
        result = drive(pool, tasks, cap_s, began, metrics, backlog)
    finally:
        scaler.stop()
        scaler.join(timeout=5)
        monitor.stop()
        pool.shutdown(wait=True)
    shift = scaler.t0 - began
    return {
        "start_workers": start_size,
        "policy": {"min_workers": 1, "max_workers": MAX_WORKERS, **policy_args},
        **{k: v for k, v in result.items() if k != "completions"},
        "worker_count_series": [[0.0, start_size]] + [[round(t + shift, 3), n] for t, n in scaler.sizes],
        "throughput_series": rate_series(result["completions"]),
        "decisions": [_decision(d, wall0) for d in scaler.history()],
        "pool_started": pool.stats().started,
    }


def _decision(d: dict[str, Any], wall0: float) -> dict[str, Any]:
    at = datetime.fromisoformat(d["at"]).timestamp() - wall0
    return {
        "t_s": round(at, 3),
        "action": d["action"],
        "from": d["from_size"],
        "to": d["to_size"],
        "applied": d["applied"],
        "suppressed_by": d["suppressed_by"],
        "repeats": d.get("repeats", 1),
        "reasons": d["reasons"][:2],
    }


def rate_series(times: list[float], bucket_s: float = 0.5) -> list[list[float]]:
    """Completions per second in buckets of `bucket_s` (the last, partial bucket left out)."""
    whole = int(max(times) / bucket_s) if times else 0
    buckets = [0] * whole
    for t in times:
        if t < whole * bucket_s:
            buckets[min(int(t / bucket_s), whole - 1)] += 1
    return [[round((i + 0.5) * bucket_s, 3), n / bucket_s] for i, n in enumerate(buckets)]


def warm_fork_server() -> None:
    """Start the fork server before timing anything, so no measured run pays for it."""
    pool = SagePool(1, simtasks.ready)
    pool.start()
    pool.shutdown(wait=True)


def run(ctx: Context) -> dict[str, Any]:
    run_s = RUN_S[ctx.quick]
    cap_s = 3 * run_s + 10
    tasks = workload(MAX_WORKERS, run_s)
    warm_fork_server()
    load_before = os.getloadavg()
    fixed_runs = [fixed(size, workload(size, run_s), cap_s) for size in FIXED_SIZES]
    shipped = auto(tasks, cap_s)
    best = max(fixed_runs, key=lambda r: r["tasks_per_s"])
    baseline = best if best["tasks"] == tasks else fixed(best["workers"], tasks, cap_s)
    with profiled() as profiles:
        fixed(MAX_WORKERS, tasks // 8, cap_s)
    return {
        "label": f"SIMULATED I/O: each task sleeps {SLEEP_S} s",
        "tasks": tasks,
        "run_s": run_s,
        "cap_s": cap_s,
        "load_avg_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "fixed": fixed_runs,
        "best_fixed": {
            "workers": best["workers"],
            "tasks_per_s": baseline["tasks_per_s"],
            "tasks": tasks,
            "rerun_on_full_workload": baseline is not best,
        },
        "auto_default_policy": shipped,
        "auto_vs_best_fixed": ratio(shipped["tasks_per_s"], baseline["tasks_per_s"]),
        "profile_top": profiles.top(),
        "profile_of": f"an extra, untimed run of {tasks // 8} tasks at {MAX_WORKERS} workers (all threads)",
    }
