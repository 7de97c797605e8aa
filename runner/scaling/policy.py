"""Adaptive pool-size policy: pure scoring plus hysteresis, confidence and cooldown.

Why: the right number of sage workers depends on the workload. Issues that wait on
git and HTTP leave the CPU idle, so more workers help; issues that burn CPU already
saturate the machine, so more workers only add memory and context switches.

    ResourceSample (monitor) ─┐
                              ├─> advise() ──> Advice ──> decide() ──> Decision ──> pool.resize()
    PerfSample (RunMetrics) ──┘   (stateless)             (hysteresis, confidence,
                                                           bounds, cooldown)

Formula (``ramp(x, lo, hi)`` is 0 at or below ``lo``, 1 at or above ``hi``, linear
between; ``live = max(live_workers, 1)``; ``load`` is load1 / cpu_count)::

    headroom = 1 - max(ramp(cpu,  0.8*cpu_high,  cpu_high),
                       ramp(mem,  0.8*mem_high,  mem_high),
                       ramp(load, 0.8*load_high, load_high))
    backlog  = ramp(queue_depth / live, 0, 1)          # a queued issue per worker = full
    busy     = ramp(busy_workers / live, 0.75, 1)      # (nearly) every worker busy
    trend    = (throughput_recent - throughput_previous) / throughput_previous
               (0 when throughput_previous == 0)
    trust    = min(1, completed_recent / 10)           # 1 when completed_recent is unknown
    steady   = 1 - trust * ramp(-trend, 0.1, 0.5)      # throughput not falling
    errors   = ramp(error_rate, 0.1, 0.5)
    grow     = backlog * busy * headroom * steady * (1 - errors)

    overload = max(ramp(mem, mem_high, mem_high + 10), ramp(load, load_high, 2*load_high))
    idle     = ramp((live - busy_workers) / live, 0, 0.5) if queue_depth == 0 else 0
    shrink   = max(overload, errors, idle)

    score      = grow - shrink                               # in [-1, 1]
    action     = "grow" if score >= 0.2, "shrink" if score <= -0.2, else "hold"
    confidence = |score| for grow/shrink; 1 - |score| / 0.2 for hold

Consequences: an I/O-bound pool (every worker busy, queue deep, CPU low) scores
grow = 1. A CPU-saturated machine has headroom 0, so it never grows; it shrinks only
when oversubscribed (load above ``load_high`` per CPU) or short of memory, because at
full CPU fewer workers would not finish sooner. ``queue_depth == 0`` makes
``backlog`` 0, so an empty queue never grows the pool. Growth is blocked from 80%
of a high mark while shrinking starts only above it; that gap keeps one extra
worker's footprint from flipping the advice. p95 latency is recorded but not scored:
it includes queue wait, so it rises with any backlog and says little about contention.

Grow steps are multiplicative, like TCP slow start (2 -> 6 -> 16 in two decisions);
shrink steps are one worker::

    step  = clamp(ceil(current * growth * confidence), 1, min(queue_depth, max_step))
    room  = max(1, floor(spare / per_worker))   # only when step > 1 and per_worker > 0
            spare      = (0.8*cpu_high - cpu) / 100 * cpu_count  # cores before headroom falls
            per_worker = sum(worker_cpu) / 100 / busy_workers    # cores a busy worker uses
    grow to   min(max_workers, current + min(step, room))        # growth 2: at most x3
    shrink to max(min_workers, current - 1)

``room`` keeps a big step from overshooting into CPU saturation: CPU-heavy workers,
or a machine near the mark, grow one worker at a time; I/O-bound ones are not capped.

``decide`` turns advice into a resize. In order: sizes outside
``[min_workers, max_workers]`` are corrected at once; ``hold`` does nothing; the
same action must have been advised ``grow_hysteresis`` (1) / ``shrink_hysteresis``
(6) calls in a row ("hysteresis"); their mean confidence must reach
``confidence_threshold`` ("confidence"); the target must differ from the current
size ("bounds"); a grow needs ``grow_cooldown_s`` (0.4 s) since the last size
change, a shrink ``shrink_cooldown_s`` (15 s) since the last size change or grow
advice ("cooldown"). An applied change restarts the streak. Hysteresis counts
calls: the Autoscaler calls every 0.5 s with the CPU averaged since its previous
call, so a shrink needs 3 s of the same advice.

Growth may act on one call because that call sees half a second of CPU and needs
a queue, every worker busy and headroom. A sage still starting is live but not
busy, so after a step of a quarter of the pool or more the next call holds until
the new sages have taken work: each step sees the effect of the previous one.
Shrinking is slow because an idle worker costs memory, a missing one throughput.
Seconds-long tasks cannot make the pool oscillate: grow needs a queue with every
worker busy, shrink-for-idle an empty queue with idle workers, and a shrink needs
its advice 6 calls in a row and 15 s without a resize or grow advice, then removes
one worker. So gaps of under 15 s between bursts never shrink the pool, it turns
from growing to shrinking at most once in 15 s, and alternating advice only grows it.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from runner.scaling.samples import Action, Advice, Decision, PerfSample, ResourceSample, Suppression

DEADBAND = 0.2


def ramp(x: float, lo: float, hi: float) -> float:
    if x <= lo:
        return 0.0
    if x >= hi:
        return 1.0
    return (x - lo) / (hi - lo)


class ScalingPolicy:
    """Advises and decides pool sizes; see the module docstring for the formula.

    ``decide`` keeps streak and cooldown state: call it from one thread only.
    """

    def __init__(
        self,
        min_workers: int,
        max_workers: int,
        *,
        grow_cooldown_s: float = 0.4,
        shrink_cooldown_s: float = 15.0,
        confidence_threshold: float = 0.6,
        grow_hysteresis: int = 1,
        shrink_hysteresis: int = 6,
        growth: float = 2.0,
        max_step: int | None = None,
        cpu_high: float = 85.0,
        mem_high: float = 85.0,
        load_high: float = 1.5,
        cpu_count: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        history: int = 500,
    ) -> None:
        if not 1 <= min_workers <= max_workers:
            raise ValueError("need 1 <= min_workers <= max_workers")
        if grow_hysteresis < 1 or shrink_hysteresis < 1:
            raise ValueError("grow_hysteresis and shrink_hysteresis must be >= 1")
        if growth <= 0 or (max_step is not None and max_step < 1):
            raise ValueError("growth must be > 0 and max_step >= 1")
        self.min_workers = min_workers
        self.max_workers = max_workers
        self.cooldown_s = {"grow": grow_cooldown_s, "shrink": shrink_cooldown_s}
        self.hysteresis = {"grow": grow_hysteresis, "shrink": shrink_hysteresis}
        self.confidence_threshold = confidence_threshold
        self.growth = growth
        self.max_step = max_step
        self.cpu_high = cpu_high
        self.mem_high = mem_high
        self.load_high = load_high
        self.cpu_count = cpu_count or os.cpu_count() or 1
        self._clock = clock
        self._wall_clock = wall_clock
        self._streak_action: Action | None = None
        self._streak: deque[float] = deque(maxlen=max(grow_hysteresis, shrink_hysteresis))
        self._last_change: float | None = None
        self._last_demand: float | None = None
        self._history: deque[Decision] = deque(maxlen=history)

    @property
    def history(self) -> list[Decision]:
        """Applied decisions and those suppressed by cooldown or confidence (bounded;
        consecutive identical suppressions are folded into one entry with ``repeats``)."""
        return list(self._history)

    def advise(self, resource: ResourceSample, perf: PerfSample, current_size: int | None = None) -> Advice:
        """Score one pair of samples; no state is read or written."""
        current = perf.live_workers if current_size is None else current_size
        scores, reasons = self._score(resource, perf)
        score = scores["score"]
        if score >= DEADBAND:
            action: Action = "grow"
        elif score <= -DEADBAND:
            action = "shrink"
        else:
            action = "hold"
        confidence = abs(score) if action != "hold" else 1.0 - abs(score) / DEADBAND
        target = self._target(action, confidence, current, perf.queue_depth)
        if action == "grow":
            target, capped = self._cpu_capped(target, current, resource, perf)
            reasons += capped
        return Advice(action, target, round(confidence, 4), reasons, scores)

    def decide(self, resource: ResourceSample, perf: PerfSample, current_size: int) -> Decision:
        """Advise, then apply hysteresis, confidence, bounds and cooldown."""
        now = self._clock()
        advice = self.advise(resource, perf, current_size)
        if not self.min_workers <= current_size <= self.max_workers:
            return self._bounds_correction(advice, resource, perf, current_size, now)
        if advice.action == "grow":
            self._last_demand = now
        confidence = self._update_streak(advice)
        suppressed = self._suppression(advice, confidence, current_size, now)
        applied = advice.action != "hold" and suppressed is None
        decision = self._decision(
            advice,
            resource,
            perf,
            current_size,
            advice.target if applied else current_size,
            applied,
            suppressed,
            confidence,
        )
        if applied:
            self._mark_change(now)
        if decision.reportable:
            self._remember(decision)
        return decision

    def _score(self, r: ResourceSample, p: PerfSample) -> tuple[dict[str, float], list[str]]:
        live = max(p.live_workers, 1)
        s = {
            "cpu_block": ramp(r.cpu_percent, 0.8 * self.cpu_high, self.cpu_high),
            "mem_block": ramp(r.mem_percent, 0.8 * self.mem_high, self.mem_high),
            "load_block": ramp(r.load_per_cpu, 0.8 * self.load_high, self.load_high),
            "backlog": ramp(p.queue_depth / live, 0.0, 1.0),
            "busy": ramp(p.busy_workers / live, 0.75, 1.0),
            "trend": _trend(p.throughput_recent, p.throughput_previous),
            "errors": ramp(p.error_rate, 0.1, 0.5),
            "mem_over": ramp(r.mem_percent, self.mem_high, self.mem_high + 10),
            "load_over": ramp(r.load_per_cpu, self.load_high, 2 * self.load_high),
            "idle": ramp((live - p.busy_workers) / live, 0.0, 0.5) if p.queue_depth == 0 else 0.0,
        }
        trust = 1.0 if p.completed_recent is None else min(1.0, p.completed_recent / 10)
        s["steady"] = 1.0 - trust * ramp(-s["trend"], 0.1, 0.5)
        s["headroom"] = 1.0 - max(s["cpu_block"], s["mem_block"], s["load_block"])
        s["grow"] = s["backlog"] * s["busy"] * s["headroom"] * s["steady"] * (1.0 - s["errors"])
        s["shrink"] = max(s["mem_over"], s["load_over"], s["errors"], s["idle"])
        s["score"] = s["grow"] - s["shrink"]
        s = {key: round(value, 4) for key, value in s.items()}
        return s, self._reasons(r, p, s)

    def _reasons(self, r: ResourceSample, p: PerfSample, s: dict[str, float]) -> list[str]:
        candidates = [
            (p.queue_depth > 0, f"{p.queue_depth} queued, {p.busy_workers}/{p.live_workers} workers busy"),
            (s["cpu_block"] > 0, f"cpu {r.cpu_percent:.0f}% near high mark {self.cpu_high:.0f}%"),
            (s["mem_block"] > 0, f"memory {r.mem_percent:.0f}% near high mark {self.mem_high:.0f}%"),
            (s["load_block"] > 0, f"load {r.load_per_cpu:.2f} per cpu near high mark {self.load_high:.2f}"),
            (s["steady"] < 1, f"throughput falling {-s['trend']:.0%}"),
            (s["errors"] > 0, f"error rate {p.error_rate:.0%}"),
            (s["idle"] > 0, f"{p.live_workers - p.busy_workers} idle workers, empty queue"),
        ]
        reasons = [text for applies, text in candidates if applies]
        return reasons or ["nothing to change"]

    def _target(self, action: Action, confidence: float, current: int, queue_depth: int) -> int:
        if action == "grow":
            step = math.ceil(round(current * self.growth * confidence, 6))
            step = max(1, min(step, queue_depth, self.max_step or step))
            return min(self.max_workers, current + step)
        if action == "shrink":
            return max(self.min_workers, current - 1)
        return current

    def _cpu_capped(self, target: int, current: int, r: ResourceSample, p: PerfSample) -> tuple[int, list[str]]:
        """Limit a multi-worker step to what the spare CPU can run at today's CPU per busy worker."""
        per_worker = sum(r.worker_cpu) / 100 / max(p.busy_workers, 1)
        if target - current <= 1 or per_worker <= 0:
            return target, []
        spare = max(0.0, 0.8 * self.cpu_high - r.cpu_percent) / 100 * self.cpu_count
        room = max(1, int(spare / per_worker))
        if current + room >= target:
            return target, []
        return current + room, [
            f"step capped at {room}: a busy worker uses {per_worker:.2f} cpu, {spare:.2f} cpu spare"
        ]

    def _update_streak(self, advice: Advice) -> float:
        if advice.action != self._streak_action:
            self._streak_action = advice.action
            self._streak.clear()
        self._streak.append(advice.confidence)
        window = list(self._streak)[-self.hysteresis.get(advice.action, 1) :]
        return round(sum(window) / len(window), 4)

    def _suppression(self, advice: Advice, confidence: float, current: int, now: float) -> Suppression | None:
        action = advice.action
        if action == "hold":
            return None
        if len(self._streak) < self.hysteresis[action]:
            return "hysteresis"
        if confidence < self.confidence_threshold:
            return "confidence"
        if advice.target == current:
            return "bounds"
        quiet_since = self._last_change if action == "grow" else self._last_demand
        if quiet_since is not None and now - quiet_since < self.cooldown_s[action]:
            return "cooldown"
        return None

    def _bounds_correction(
        self, advice: Advice, resource: ResourceSample, perf: PerfSample, current: int, now: float
    ) -> Decision:
        target = min(max(current, self.min_workers), self.max_workers)
        action: Action = "grow" if target > current else "shrink"
        reasons = [f"size {current} outside [{self.min_workers}, {self.max_workers}]", *advice.reasons]
        corrected = Advice(action, target, 1.0, reasons, advice.scores)
        decision = self._decision(corrected, resource, perf, current, target, True, None, 1.0)
        self._mark_change(now)
        self._history.append(decision)
        return decision

    def _remember(self, decision: Decision) -> None:
        """Keep history readable: a run of identical suppressions becomes one entry."""
        last = self._history[-1] if self._history else None
        if (
            last is not None
            and not decision.applied
            and not last.applied
            and (last.action, last.suppressed_by, last.from_size)
            == (decision.action, decision.suppressed_by, decision.from_size)
        ):
            self._history[-1] = replace(last, repeats=last.repeats + 1)
        else:
            self._history.append(decision)

    def _mark_change(self, now: float) -> None:
        self._last_change = now
        self._last_demand = now
        self._streak_action = None
        self._streak.clear()

    def _decision(
        self,
        advice: Advice,
        r: ResourceSample,
        p: PerfSample,
        current: int,
        to_size: int,
        applied: bool,
        suppressed: Suppression | None,
        confidence: float,
    ) -> Decision:
        return Decision(
            at=_iso_ms(self._wall_clock()),
            action=advice.action,
            from_size=current,
            to_size=to_size,
            applied=applied,
            suppressed_by=suppressed,
            confidence=confidence,
            inputs=_inputs_summary(r, p),
            reasons=list(advice.reasons),
            scores=dict(advice.scores),
        )


def _trend(recent: float, previous: float) -> float:
    return (recent - previous) / previous if previous > 0 else 0.0


def _inputs_summary(r: ResourceSample, p: PerfSample) -> dict[str, Any]:
    worker_cpu = sum(r.worker_cpu) / len(r.worker_cpu) if r.worker_cpu else 0.0
    return {
        "cpu_percent": round(r.cpu_percent, 1),
        "mem_percent": round(r.mem_percent, 1),
        "load_per_cpu": round(r.load_per_cpu, 2),
        "master_rss": r.master_rss,
        "worker_rss_total": sum(r.worker_rss),
        "worker_cpu_mean": round(worker_cpu, 1),
        "queue_depth": p.queue_depth,
        "busy_workers": p.busy_workers,
        "live_workers": p.live_workers,
        "throughput_recent": round(p.throughput_recent, 3),
        "throughput_previous": round(p.throughput_previous, 3),
        "p95_latency_s": None if p.p95_latency_s is None else round(p.p95_latency_s, 3),
        "error_rate": round(p.error_rate, 4),
    }


def _iso_ms(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")
