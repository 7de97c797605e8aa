from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import replace

import pytest
from conftest import FakeClock

from runner.scaling.policy import ScalingPolicy, ramp
from runner.scaling.samples import Decision, PerfSample, ResourceSample


def machine(
    cpu: float = 20.0, mem: float = 40.0, load: float = 0.3, workers: int = 4, worker_cpu: float = 3.0
) -> ResourceSample:
    return ResourceSample(
        at=0.0,
        cpu_percent=cpu,
        mem_percent=mem,
        load_per_cpu=load,
        master_rss=80 << 20,
        worker_rss=[60 << 20] * workers,
        worker_cpu=[worker_cpu] * workers,
        worker_pids=list(range(100, 100 + workers)),
    )


def run(
    queue: int = 20,
    busy: int = 4,
    live: int = 4,
    recent: float = 2.0,
    previous: float = 2.0,
    errors: float = 0.0,
    completed: int | None = None,
) -> PerfSample:
    return PerfSample(
        throughput_recent=recent,
        throughput_previous=previous,
        p95_latency_s=1.5,
        error_rate=errors,
        queue_depth=queue,
        busy_workers=busy,
        live_workers=live,
        completed_recent=completed,
    )


def policy(clock: FakeClock | None = None, **overrides) -> ScalingPolicy:
    options = dict(
        min_workers=1, max_workers=8, clock=clock or FakeClock(100.0), wall_clock=lambda: 1_700_000_000.0, cpu_count=2
    )
    options.update(overrides)
    return ScalingPolicy(**options)


def test_ramp():
    assert [ramp(x, 1, 3) for x in (0, 1, 2, 3, 4)] == [0, 0, 0.5, 1, 1]


def test_io_bound_workload_is_advised_to_grow_with_full_confidence():
    advice = policy(max_workers=16).advise(machine(cpu=15), run(queue=30, busy=4, live=4))
    assert advice.action == "grow"
    assert advice.target == 12
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
    assert policy().advise(machine(), run(queue=30)).target == 8
    assert policy().advise(machine(), run(queue=1, live=2, busy=2)).target == 3


def test_grow_step_is_proportional_to_size_and_confidence():
    wide = policy(max_workers=64)
    assert wide.advise(machine(), run(queue=99, live=2, busy=2)).target == 6
    assert wide.advise(machine(), run(queue=99, live=6, busy=6)).target == 18
    assert policy(max_workers=64, growth=1.0).advise(machine(), run(queue=99, live=6, busy=6)).target == 12
    weak = wide.advise(machine(), run(queue=99, live=6, busy=6, recent=1.6, previous=2.0))
    assert weak.action == "grow" and weak.confidence == 0.75
    assert weak.target == 6 + 9


def test_cpu_heavy_workers_grow_one_at_a_time():
    # 2 cores, 40% used, each busy worker uses 0.9 of a core: no room for a second one.
    advice = policy(max_workers=16).advise(machine(cpu=40, workers=1, worker_cpu=90.0), run(live=1, busy=1))
    assert (advice.action, advice.target) == ("grow", 2)
    assert any("step capped" in reason for reason in advice.reasons)
    roomy = policy(max_workers=16).advise(machine(cpu=10, workers=2, worker_cpu=20.0), run(live=2, busy=2))
    assert roomy.target == 6  # 1.16 spare cores hold 5 more at 0.2 each: the x3 step fits
    tight = policy(max_workers=16).advise(machine(cpu=10, workers=2, worker_cpu=40.0), run(live=2, busy=2))
    assert tight.target == 4  # 1.16 spare cores hold 2 more at 0.4 each


def test_near_the_cpu_mark_growth_falls_back_to_one_worker():
    advice = policy(max_workers=16).advise(machine(cpu=72), run(queue=30, live=4, busy=4))
    assert advice.action == "grow" and advice.confidence >= 0.6
    assert advice.target == 5


def test_grow_acts_on_one_decision_shrink_needs_the_same_advice_six_times_in_a_row():
    clock = FakeClock(100.0)
    scaler = policy(clock)
    first = scaler.decide(machine(), run(live=2, busy=2), current_size=2)
    assert (first.applied, first.action, first.from_size, first.to_size) == (True, "grow", 2, 6)
    clock.advance(60)
    idle = run(queue=0, busy=1, live=6)
    decisions = [scaler.decide(machine(), idle, current_size=6) for _ in range(6)]
    assert [(d.applied, d.suppressed_by) for d in decisions[:5]] == [(False, "hysteresis")] * 5
    assert (decisions[5].applied, decisions[5].action, decisions[5].to_size) == (True, "shrink", 5)


def test_a_different_advice_restarts_the_streak():
    clock = FakeClock(100.0)
    scaler = policy(clock)
    idle = run(queue=0, busy=1)
    for _ in range(5):
        scaler.decide(machine(), idle, 4)
    scaler.decide(machine(), run(queue=10, busy=2), 4)  # hold
    assert scaler.decide(machine(), idle, 4).suppressed_by == "hysteresis"


def test_cooldown_blocks_changes_until_it_has_passed():
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=16)
    assert scaler.decide(machine(), run(live=2, busy=2), 2).applied
    clock.advance(0.3)
    decision = scaler.decide(machine(), run(live=6, busy=6), 6)
    assert (decision.suppressed_by, decision.to_size) == ("cooldown", 6)
    clock.advance(0.2)
    assert scaler.decide(machine(), run(live=6, busy=6), 6).to_size == 16


def test_shrink_waits_for_its_longer_cooldown_after_any_resize():
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=16)
    assert scaler.decide(machine(), run(live=4, busy=4), 4).to_size == 12
    idle = run(queue=0, busy=2, live=12)
    decisions = []
    for _ in range(29):
        clock.advance(0.5)
        decisions.append(scaler.decide(machine(), idle, 12))
    assert not any(d.applied for d in decisions)
    assert decisions[-1].suppressed_by == "cooldown"
    clock.advance(0.5)  # 15 s after the growth
    shrink = scaler.decide(machine(), idle, 12)
    assert (shrink.applied, shrink.to_size) == (True, 11)
    clock.advance(0.5)
    assert scaler.decide(machine(), idle, 11).suppressed_by == "hysteresis"


def test_low_mean_confidence_suppresses():
    scaler = policy()
    half_idle_cpu = machine(cpu=78)  # headroom about 0.3: grow advised, weakly
    decisions = [scaler.decide(half_idle_cpu, run(), 4) for _ in range(3)]
    assert all(d.action == "grow" and d.suppressed_by == "confidence" for d in decisions)
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
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=16)
    scaler.decide(machine(), run(), 4)
    scaler.decide(machine(), run(live=12, busy=12), 12)
    clock.advance(1)
    for _ in range(3):
        scaler.decide(machine(cpu=78), run(live=12, busy=12), 12)
    kinds = [(d.applied, d.suppressed_by, d.repeats) for d in scaler.history]
    assert kinds == [(True, None, 1), (False, "cooldown", 1), (False, "confidence", 3)]
    payload = json.loads(json.dumps([d.as_dict() for d in scaler.history]))
    entry = payload[0]
    assert entry["at"] == "2023-11-14T22:13:20.000+00:00"
    assert (entry["action"], entry["from_size"], entry["to_size"]) == ("grow", 4, 12)
    assert entry["inputs"]["queue_depth"] == 20
    assert entry["inputs"]["worker_rss_total"] == 4 * (60 << 20)
    assert entry["scores"]["grow"] == 1.0
    assert entry["reasons"]


def test_history_is_bounded():
    scaler = policy(history=5, grow_cooldown_s=0)
    for size in range(1, 8):
        scaler.decide(machine(), run(live=size, busy=size), size)
    assert len(scaler.history) == 5


def _simulate_long_tasks(
    scaler: ScalingPolicy,
    clock: FakeClock,
    *,
    issues: int,
    task_s: Callable[[], float],
    size: int,
    cpu_per_worker: float,
) -> list[Decision]:
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
        perf = run(
            queue=queue, busy=len(running), live=size, recent=recent / 10, previous=previous / 10, completed=recent
        )
        sample = machine(cpu=cpu, load=cpu / 100, workers=size, worker_cpu=2 * cpu_per_worker)
        decision = scaler.decide(sample, perf, size)
        if decision.applied:
            applied.append(decision)
            size = decision.to_size
    return applied


def direction_changes(decisions: list[Decision]) -> int:
    actions = [d.action for d in decisions]
    return sum(1 for before, after in itertools.pairwise(actions) if before != after)


@pytest.mark.parametrize("seed", range(5))
def test_long_variable_tasks_grow_then_shrink_without_oscillating(seed):
    rng = random.Random(seed)
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=8)
    applied = _simulate_long_tasks(
        scaler, clock, issues=80, task_s=lambda: rng.uniform(2.0, 20.0), size=2, cpu_per_worker=4.0
    )
    assert applied[0].action == "grow"
    assert max(d.to_size for d in applied) == 8
    assert direction_changes(applied) <= 1


def test_cpu_bound_tasks_stop_growing_at_saturation():
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=8)
    applied = _simulate_long_tasks(scaler, clock, issues=60, task_s=lambda: 5.0, size=1, cpu_per_worker=45.0)
    assert max(d.to_size for d in applied) == 2
    assert direction_changes(applied) <= 1


def test_alternating_advice_never_shrinks():
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=16)
    size, applied = 2, []
    for step in range(60):
        clock.advance(0.5)
        perf = run(live=size, busy=size) if step % 2 else run(queue=0, busy=1, live=size)
        decision = scaler.decide(machine(), perf, size)
        if decision.applied:
            applied.append(decision)
            size = decision.to_size
    assert [d.action for d in applied] == ["grow", "grow"]
    assert size == 16


def _bursts(scaler: ScalingPolicy, clock: FakeClock, work_s: float, gap_s: float) -> list[tuple[float, Decision]]:
    """Bursts of queued work separated by idle gaps, decided every 0.5 s for 5 minutes."""
    size, applied, period = 2, [], work_s + gap_s
    for step in range(600):
        clock.advance(0.5)
        working = (step * 0.5) % period < work_s
        perf = run(queue=50, live=size, busy=size) if working else run(queue=0, busy=0, live=size)
        decision = scaler.decide(machine(), perf, size)
        if decision.applied:
            applied.append((clock.now, decision))
            size = decision.to_size
    return applied


def test_bursts_with_short_gaps_do_not_flap():
    clock = FakeClock(100.0)
    applied = _bursts(policy(clock, max_workers=16), clock, work_s=10, gap_s=10)
    assert [d.to_size for _, d in applied] == [6, 16]


@pytest.mark.parametrize("gap_s", [20, 40])
def test_bursts_with_long_gaps_turn_around_at_most_once_per_shrink_cooldown(gap_s):
    clock = FakeClock(100.0)
    applied = _bursts(policy(clock, max_workers=16), clock, work_s=10, gap_s=gap_s)
    assert [d.to_size for _, d in applied[:2]] == [6, 16]
    assert any(d.action == "shrink" for _, d in applied)
    for (before_at, before), (at, after) in itertools.pairwise(applied):
        if after.action == "shrink":
            assert at - before_at >= 15
            assert after.to_size == before.to_size - 1


def test_a_deep_queue_at_low_cpu_ramps_2_to_16_in_two_decisions():
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=16)
    size, sizes = 2, [2]
    for _ in range(4):
        decision = scaler.decide(machine(cpu=12, workers=size), run(queue=500, live=size, busy=size), size)
        size = decision.to_size
        sizes.append(size)
        clock.advance(0.5)
    assert sizes == [2, 6, 16, 16, 16]


def test_high_cpu_never_grows_however_deep_the_queue():
    clock = FakeClock(100.0)
    scaler = policy(clock, max_workers=16)
    for cpu in (86.0, 92.0, 99.0, 100.0):
        for _ in range(10):
            clock.advance(0.5)
            decision = scaler.decide(machine(cpu=cpu, load=1.0), run(queue=500, live=2, busy=2), 2)
            assert not decision.applied and decision.action != "grow"


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(min_workers=0, max_workers=2),
        dict(min_workers=3, max_workers=2),
        dict(min_workers=1, max_workers=2, grow_hysteresis=0),
        dict(min_workers=1, max_workers=2, shrink_hysteresis=0),
        dict(min_workers=1, max_workers=2, growth=0),
        dict(min_workers=1, max_workers=2, max_step=0),
    ],
)
def test_invalid_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError):
        ScalingPolicy(**kwargs)


def test_samples_are_plain_data():
    sample = machine(workers=2)
    assert sample.total_rss == (80 << 20) + 2 * (60 << 20)
    assert replace(run(), queue_depth=0).queue_depth == 0


def test_repeated_identical_suppressions_are_folded_in_history():
    clock = FakeClock(100.0)
    scaler = policy(clock, grow_cooldown_s=15)
    scaler.decide(machine(), run(), 4)
    for _ in range(10):
        clock.advance(1)
        scaler.decide(machine(), run(live=5, busy=5), 5)
    entries = [(d.applied, d.suppressed_by, d.repeats) for d in scaler.history]
    assert entries == [(True, None, 1), (False, "cooldown", 10)]
