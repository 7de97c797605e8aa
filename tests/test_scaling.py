from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Callable

import pytest

from runner.scaling import Decision, PerfSample, ResourceSample, ScalingPolicy, ramp


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def machine(cpu: float = 20.0, mem: float = 40.0, load: float = 0.3, workers: int = 4) -> ResourceSample:
    return ResourceSample(at=0.0, cpu_percent=cpu, mem_percent=mem, load_per_cpu=load,
                          master_rss=80 << 20, worker_rss=[60 << 20] * workers,
                          worker_cpu=[3.0] * workers, worker_pids=list(range(100, 100 + workers)))


def run(queue: int = 20, busy: int = 4, live: int = 4, recent: float = 2.0, previous: float = 2.0,
        errors: float = 0.0, completed: int | None = None) -> PerfSample:
    return PerfSample(throughput_recent=recent, throughput_previous=previous, p95_latency_s=1.5,
                      error_rate=errors, queue_depth=queue, busy_workers=busy, live_workers=live,
                      completed_recent=completed)


def policy(clock: FakeClock | None = None, **overrides) -> ScalingPolicy:
    options = dict(min_workers=1, max_workers=8, clock=clock or FakeClock(),
                   wall_clock=lambda: 1_700_000_000.0)
    options.update(overrides)
    return ScalingPolicy(**options)


def test_ramp():
    assert [ramp(x, 1, 3) for x in (0, 1, 2, 3, 4)] == [0, 0, 0.5, 1, 1]


def test_io_bound_workload_is_advised_to_grow_with_full_confidence():
    advice = policy().advise(machine(cpu=15), run(queue=30, busy=4, live=4))
    assert advice.action == "grow"
    assert advice.target == 5
    assert advice.confidence == 1.0
    assert any("queued" in reason for reason in advice.reasons)


def test_cpu_saturated_machine_does_not_grow_even_with_a_deep_queue():
    advice = policy().advise(machine(cpu=97, load=1.0), run(queue=30))
    assert advice.action == "hold"
    assert advice.scores["headroom"] == 0.0
    assert any("cpu" in reason for reason in advice.reasons)


def test_cpu_close_to_the_high_mark_blocks_confident_growth():
    advice = policy().advise(machine(cpu=80), run(queue=30))
    assert advice.confidence < 0.6 or advice.action != "grow"


def test_empty_queue_never_grows():
    for busy in range(5):
        advice = policy().advise(machine(cpu=5), run(queue=0, busy=busy))
        assert advice.action != "grow"


def test_queue_with_idle_workers_does_not_grow():
    advice = policy().advise(machine(), run(queue=10, busy=2, live=4))
    assert advice.action == "hold"


def test_falling_throughput_blocks_growth():
    advice = policy().advise(machine(), run(queue=30, recent=1.0, previous=2.0))
    assert advice.action == "hold"
    assert any("falling" in reason for reason in advice.reasons)


def test_falling_throughput_over_few_completions_is_not_trusted():
    advice = policy().advise(machine(), run(queue=30, recent=0.1, previous=0.2, completed=1))
    assert advice.action == "grow"


def test_memory_over_high_mark_shrinks():
    advice = policy().advise(machine(mem=97), run(queue=30))
    assert advice.action == "shrink"
    assert advice.target == 3
    assert advice.confidence == 1.0


def test_oversubscribed_load_shrinks():
    advice = policy().advise(machine(cpu=100, load=3.5), run(queue=30))
    assert advice.action == "shrink"


def test_error_spike_shrinks():
    advice = policy().advise(machine(), run(queue=30, errors=0.6))
    assert advice.action == "shrink"
    assert any("error rate" in reason for reason in advice.reasons)


def test_idle_workers_with_empty_queue_shrink():
    advice = policy().advise(machine(), run(queue=0, busy=1, live=4))
    assert advice.action == "shrink"
    assert advice.target == 3


def test_targets_respect_bounds_and_grow_step_is_bounded_by_queue():
    assert policy(max_workers=4).advise(machine(), run()).target == 4
    assert policy(min_workers=4).advise(machine(mem=99), run()).target == 4
    assert policy(max_step=4).advise(machine(), run(queue=30)).target == 8
    assert policy(max_step=4).advise(machine(), run(queue=2, live=2, busy=2)).target == 4


def test_decide_needs_the_same_advice_hysteresis_times_in_a_row():
    clock = FakeClock()
    scaler = policy(clock)
    first = scaler.decide(machine(), run(), current_size=4)
    second = scaler.decide(machine(), run(), current_size=4)
    assert (first.applied, first.suppressed_by) == (False, "hysteresis")
    assert (second.applied, second.suppressed_by) == (False, "hysteresis")
    third = scaler.decide(machine(), run(), current_size=4)
    assert (third.applied, third.action, third.from_size, third.to_size) == (True, "grow", 4, 5)


def test_a_different_advice_restarts_the_streak():
    scaler = policy()
    scaler.decide(machine(), run(), 4)
    scaler.decide(machine(), run(), 4)
    scaler.decide(machine(), run(queue=10, busy=2), 4)  # hold
    assert scaler.decide(machine(), run(), 4).suppressed_by == "hysteresis"


def test_cooldown_blocks_changes_until_it_has_passed():
    clock = FakeClock()
    scaler = policy(clock, cooldown_s=15)
    for _ in range(3):
        decision = scaler.decide(machine(), run(), 4)
    assert decision.applied
    for _ in range(3):
        clock.advance(1)
        decision = scaler.decide(machine(), run(live=5, busy=5), 5)
    assert decision.suppressed_by == "cooldown"
    assert decision.to_size == 5
    clock.advance(12)
    assert scaler.decide(machine(), run(live=5, busy=5), 5).applied


def test_low_mean_confidence_suppresses():
    scaler = policy()
    half_idle_cpu = machine(cpu=78)  # headroom about 0.3: grow advised, weakly
    decisions = [scaler.decide(half_idle_cpu, run(), 4) for _ in range(3)]
    assert decisions[-1].action == "grow"
    assert decisions[-1].suppressed_by == "confidence"
    assert decisions[-1].confidence < 0.6


def test_at_max_size_grow_advice_is_suppressed_by_bounds():
    scaler = policy(max_workers=4)
    decisions = [scaler.decide(machine(), run(), 4) for _ in range(3)]
    assert decisions[-1].suppressed_by == "bounds"
    assert not decisions[-1].reportable


def test_size_outside_bounds_is_corrected_immediately():
    scaler = policy(min_workers=2, max_workers=6)
    below = scaler.decide(machine(), run(queue=0, busy=0, live=1), 1)
    assert (below.applied, below.action, below.to_size) == (True, "grow", 2)
    above = scaler.decide(machine(), run(live=9, busy=9), 9)
    assert (above.applied, above.action, above.to_size) == (True, "shrink", 6)


def test_history_holds_applied_and_cooldown_or_confidence_suppressed_decisions_as_json():
    clock = FakeClock()
    scaler = policy(clock)
    for _ in range(4):
        scaler.decide(machine(), run(), 4)
    for _ in range(3):
        scaler.decide(machine(cpu=78), run(), 5)
    kinds = [(d.applied, d.suppressed_by) for d in scaler.history]
    assert kinds == [(True, None), (False, "cooldown"), (False, "confidence")]
    payload = json.loads(json.dumps([d.as_dict() for d in scaler.history]))
    entry = payload[0]
    assert entry["at"] == "2023-11-14T22:13:20.000+00:00"
    assert (entry["action"], entry["from_size"], entry["to_size"]) == ("grow", 4, 5)
    assert entry["inputs"]["queue_depth"] == 20
    assert entry["inputs"]["worker_rss_total"] == 4 * (60 << 20)
    assert entry["scores"]["grow"] == 1.0
    assert entry["reasons"]


def test_history_is_bounded():
    scaler = policy(history=5, hysteresis=1, cooldown_s=0)
    for size in range(1, 8):
        scaler.decide(machine(), run(live=size, busy=size), size)
    assert len(scaler.history) == 5


def _simulate_long_tasks(scaler: ScalingPolicy, clock: FakeClock, *, issues: int, task_s: Callable[[], float],
                         size: int, cpu_per_worker: float) -> list[Decision]:
    """A crude discrete-time pool sampled once a second: a worker holds one task at a time."""
    queue, running, finished_times, applied = issues, [], [], []
    for _ in range(2000):
        clock.advance(1.0)
        now = clock.now
        finished_times += [end for end in running if end <= now]
        running = [end for end in running if end > now]
        while queue and len(running) < size:
            running.append(now + task_s())
            queue -= 1
        if not queue and not running:
            break
        recent = sum(1 for t in finished_times if now - 10 < t <= now)
        previous = sum(1 for t in finished_times if now - 20 < t <= now - 10)
        cpu = min(100.0, 5 + cpu_per_worker * len(running))
        perf = run(queue=queue, busy=len(running), live=size, recent=recent / 10,
                   previous=previous / 10, completed=recent)
        decision = scaler.decide(machine(cpu=cpu, load=cpu / 100, workers=size), perf, size)
        if decision.applied:
            applied.append(decision)
            size = decision.to_size
    return applied


def direction_changes(decisions: list[Decision]) -> int:
    actions = [d.action for d in decisions]
    return sum(1 for before, after in zip(actions, actions[1:]) if before != after)


@pytest.mark.parametrize("seed", range(5))
def test_long_variable_tasks_grow_then_shrink_without_oscillating(seed):
    rng = random.Random(seed)
    clock = FakeClock()
    scaler = policy(clock, max_workers=8)
    applied = _simulate_long_tasks(scaler, clock, issues=80, task_s=lambda: rng.uniform(2.0, 20.0),
                                   size=2, cpu_per_worker=4.0)
    assert applied[0].action == "grow"
    assert max(d.to_size for d in applied) == 8
    assert direction_changes(applied) <= 1


def test_cpu_bound_tasks_stop_growing_at_saturation():
    clock = FakeClock()
    scaler = policy(clock, max_workers=8)
    applied = _simulate_long_tasks(scaler, clock, issues=60, task_s=lambda: 5.0, size=1, cpu_per_worker=45.0)
    assert max(d.to_size for d in applied) == 2
    assert direction_changes(applied) <= 1


def test_alternating_advice_never_acts():
    scaler = policy()
    for step in range(30):
        perf = run() if step % 2 else run(queue=0, busy=1)
        assert not scaler.decide(machine(), perf, 4).applied


@pytest.mark.parametrize("kwargs", [dict(min_workers=0, max_workers=2), dict(min_workers=3, max_workers=2),
                                    dict(min_workers=1, max_workers=2, hysteresis=0)])
def test_invalid_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError):
        ScalingPolicy(**kwargs)


def test_samples_are_plain_data():
    sample = machine(workers=2)
    assert sample.total_rss == (80 << 20) + 2 * (60 << 20)
    assert replace(run(), queue_depth=0).queue_depth == 0


def test_repeated_identical_suppressions_are_folded_in_history():
    clock = FakeClock()
    scaler = policy(clock, cooldown_s=15)
    for _ in range(3):
        scaler.decide(machine(), run(), 4)
    for _ in range(10):
        clock.advance(1)
        scaler.decide(machine(), run(live=5, busy=5), 5)
    entries = [(d.applied, d.suppressed_by, d.repeats) for d in scaler.history]
    assert entries == [(True, None, 1), (False, "cooldown", 8)]
