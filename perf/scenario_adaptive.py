"""Scenario 6: adaptive scaling on an I/O-bound workload.

The workload is SIMULATED I/O: each task sleeps (perf.simtasks.simulated_io), standing for a
fixer command waiting on the network, since runner's fixer commands are not built yet. It
runs through runner's SagePool at fixed sizes 1, 2, 4, 8, 16 and with `auto`: the pool plus
runner's own ResourceMonitor, ScalingPolicy and Autoscaler, wired as `runner process` wires
them (one decision a second, queue depth = backlog bounded by the queue size).

`auto` runs with runner's policy defaults (what `runner process --workers auto
--max-workers 16` does) and, for comparison, with a faster-reacting policy (short cooldown,
bigger steps) that is NOT runner's default.
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
from runner.autoscale import Autoscaler
from runner.executor import INFLIGHT_PER_WORKER
from runner.metrics import RunMetrics
from runner.monitor import PsutilSampler, ResourceMonitor
from runner.pool import SagePool
from runner.scaling import ScalingPolicy

SLEEP_S = 0.02
FIXED_SIZES = (1, 2, 4, 8, 16)
MAX_WORKERS = 16
QUEUE_SIZE = 500
TUNED = {"cooldown_s": 2.0, "hysteresis": 2, "max_step": 4}


def drive(pool: SagePool, tasks: int, cap_s: float, metrics: RunMetrics | None = None,
          backlog: deque[int] | None = None) -> dict[str, Any]:
    """Feed `tasks` sleeps through the pool as runner's dispatcher does (submit while a slot is
    free); stop at `cap_s`. Returns throughput and completion times."""
    backlog = backlog if backlog is not None else deque(range(tasks))
    completions: stdqueue.SimpleQueue[float] = stdqueue.SimpleQueue()
    done: list[float] = []
    began = time.monotonic()
    submitted = 0
    while len(done) < tasks and time.monotonic() - began < cap_s:
        while backlog and pool.free_slots() > 0:
            key = backlog.popleft()
            if metrics is not None:
                metrics.record_enqueued(key)
                metrics.record_started(key)
            future = pool.submit(simtasks.simulated_io, SLEEP_S)
            future.add_done_callback(lambda _f, k=key: _finished(completions, metrics, k))
            submitted += 1
        try:
            done.append(completions.get(timeout=0.05) - began)
        except stdqueue.Empty:
            continue
    elapsed = time.monotonic() - began
    return {"tasks_done": len(done), "elapsed_s": elapsed, "tasks_per_s": len(done) / elapsed,
            "capped": len(done) < tasks, "completions": done}


def _finished(completions: stdqueue.SimpleQueue[float], metrics: RunMetrics | None, key: int) -> None:
    if metrics is not None:
        metrics.record_finished(key, "committed", "Medium")
    completions.put(time.monotonic())


def fixed(size: int, tasks: int, cap_s: float) -> dict[str, Any]:
    pool = SagePool(size, simtasks.ready, inflight_per_worker=INFLIGHT_PER_WORKER)
    pool.start()
    try:
        result = drive(pool, tasks, cap_s)
    finally:
        pool.shutdown(wait=True)
    result.pop("completions")
    return {"workers": size, **result}


def auto(tasks: int, cap_s: float, policy_args: dict[str, Any]) -> dict[str, Any]:
    """runner's autoscaling loop around the pool, starting where `--workers auto` starts."""
    start_size = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    pool = SagePool(start_size, simtasks.ready, inflight_per_worker=INFLIGHT_PER_WORKER)
    pool.start()
    metrics, backlog = RunMetrics(), deque(range(tasks))
    monitor = ResourceMonitor(PsutilSampler(os.getpid(), pool.worker_pids), interval_s=0.1)
    policy = ScalingPolicy(1, MAX_WORKERS, **policy_args)
    wall0 = time.time()
    scaler = Autoscaler(pool, policy, monitor, metrics, lambda: min(len(backlog), QUEUE_SIZE))
    monitor.start()
    scaler.start()
    try:
        result = drive(pool, tasks, cap_s, metrics, backlog)
    finally:
        scaler.stop()
        scaler.join(timeout=5)
        monitor.stop()
        pool.shutdown(wait=True)
    return {
        "start_workers": start_size, "policy": {"min_workers": 1, "max_workers": MAX_WORKERS, **policy_args},
        "tasks_done": result["tasks_done"], "elapsed_s": result["elapsed_s"], "tasks_per_s": result["tasks_per_s"],
        "capped": result["capped"],
        "worker_count_series": [[round(t, 3), n] for t, n in scaler.sizes],
        "throughput_series": per_second(result["completions"]),
        "decisions": [_decision(d, wall0) for d in scaler.history()],
        "pool_started": pool.stats().started,
    }


def _decision(d: dict[str, Any], wall0: float) -> dict[str, Any]:
    at = datetime.fromisoformat(d["at"]).timestamp() - wall0
    return {"t_s": round(at, 3), "action": d["action"], "from": d["from_size"], "to": d["to_size"],
            "applied": d["applied"], "suppressed_by": d["suppressed_by"], "repeats": d.get("repeats", 1),
            "reasons": d["reasons"][:2]}


def per_second(times: list[float]) -> list[list[float]]:
    """Completions per whole second of the run (the last, partial second left out)."""
    whole = int(max(times)) if times else 0
    buckets = [0] * whole
    for t in times:
        if t < whole:
            buckets[int(t)] += 1
    return [[i + 0.5, n] for i, n in enumerate(buckets)]


def run(ctx: Context) -> dict[str, Any]:
    fixed_cap, auto_cap = (0.6, 3.0) if ctx.quick else (2.5, 24.0)
    tasks = int(MAX_WORKERS / SLEEP_S * (3.0 if ctx.quick else 10.0))
    load_before = os.getloadavg()
    fixed_runs = [fixed(size, tasks, fixed_cap) for size in FIXED_SIZES]
    shipped = auto(tasks, auto_cap, {})
    tuned = auto(tasks, auto_cap * 2 / 3, TUNED)
    with profiled() as profiles:
        fixed(MAX_WORKERS, tasks, fixed_cap / 2)
    best = max(fixed_runs, key=lambda r: r["tasks_per_s"])
    return {
        "label": f"SIMULATED I/O: each task sleeps {SLEEP_S} s", "tasks": tasks,
        "load_avg_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "fixed_cap_s": fixed_cap, "auto_cap_s": auto_cap,
        "fixed": fixed_runs, "best_fixed": {"workers": best["workers"], "tasks_per_s": best["tasks_per_s"]},
        "auto_default_policy": shipped, "auto_tuned_policy": tuned,
        "auto_vs_best_fixed": ratio(shipped["tasks_per_s"], best["tasks_per_s"]),
        "tuned_vs_best_fixed": ratio(tuned["tasks_per_s"], best["tasks_per_s"]),
        "profile_top": profiles.top(),
        "profile_of": f"an extra, untimed {fixed_cap / 2} s run at {MAX_WORKERS} workers (all threads)",
    }
