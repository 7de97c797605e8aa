from __future__ import annotations

import json
import statistics

import pytest
from conftest import FakeClock

from runner.records.metrics import RunMetrics, percentiles, summarize


def finish_one_by_one(metrics: RunMetrics, clock: FakeClock, count: int, every_s: float, priority: int = 1) -> None:
    """Issues 0..count-1 each enqueued and committed `every_s` apart."""
    for key in range(count):
        metrics.record_enqueued(key)
        clock.advance(every_s)
        metrics.record_finished(key, "committed", priority)


def test_percentiles_of_nothing_are_none():
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_percentiles_of_one_value_are_that_value():
    assert percentiles([2.5]) == {"p50": 2.5, "p95": 2.5, "p99": 2.5}


def test_percentiles_interpolate_between_samples():
    result = percentiles([1.0, 2.0])
    assert result["p50"] == pytest.approx(1.5)
    assert result["p95"] == pytest.approx(1.95)
    assert result["p99"] == pytest.approx(1.99)


def test_percentiles_match_inclusive_quantiles_and_are_not_nearest_rank():
    values = [float(v) for v in range(1, 11)]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    assert percentiles(values) == {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}
    assert percentiles(values)["p95"] == pytest.approx(9.55)


def test_summarize():
    assert summarize([1.0, 3.0])["mean"] == 2.0
    assert summarize([1.0, 3.0])["max"] == 3.0
    assert summarize([])["mean"] is None


def test_latency_runs_from_first_enqueue_to_terminal_state_including_retries_and_failures():
    clock = FakeClock(500.0)
    metrics = RunMetrics(clock=clock)
    metrics.record_enqueued(7)
    clock.advance(2.0)
    metrics.record_started(7)
    clock.advance(1.0)
    metrics.record_enqueued(7)  # retry re-enters the queue
    clock.advance(3.0)
    metrics.record_started(7)
    clock.advance(0.5)
    metrics.record_finished(7, "failed", "high")
    summary = metrics.as_dict()
    assert summary["latency_s"]["p50"] == pytest.approx(6.5)
    assert summary["service_s"]["p50"] == pytest.approx(0.5)
    assert summary["starts"] == 2
    assert metrics.in_flight() == 0


def test_counts_error_rate_and_skipped_handling():
    clock = FakeClock(500.0)
    metrics = RunMetrics(clock=clock)
    outcomes = [
        (1, "published", "high"),
        (2, "failed", "low"),
        (3, "committed", "low"),
        (4, "skipped", "low"),
        (5, "deferred", "medium"),
    ]
    for key, _, _ in outcomes:
        metrics.record_enqueued(key)
    clock.advance(1.0)
    for key, status, priority in outcomes:
        metrics.record_finished(key, status, priority)
    assert metrics.error_rate() == pytest.approx(1 / 4)
    summary = metrics.as_dict()
    assert summary["attempted"] == 4
    assert summary["by_status"] == {"committed": 1, "deferred": 1, "failed": 1, "published": 1, "skipped": 1}
    assert summary["by_priority"] == {"high": 1, "low": 3, "medium": 1}
    assert summary["latency_s"]["count"] == 4


def test_error_rate_is_zero_before_anything_finished():
    assert RunMetrics(clock=FakeClock(500.0)).error_rate() == 0.0


def test_recent_and_previous_throughput_use_moving_windows():
    clock = FakeClock(500.0)
    metrics = RunMetrics(clock=clock)
    for key in range(30):
        metrics.record_enqueued(key)
    for key in range(10):  # 10 finishes during the first 10 s
        clock.advance(1.0)
        metrics.record_finished(key, "committed", 1)
    for key in range(10, 30):  # 20 finishes during the next 10 s
        clock.advance(0.5)
        metrics.record_finished(key, "failed" if key % 4 == 0 else "committed", 1)
    assert metrics.throughput_recent(10) == pytest.approx(2.0)
    assert metrics.throughput_previous(10) == pytest.approx(1.0)
    assert metrics.completed_recent(10) == 20
    assert metrics.error_rate_recent(10) == pytest.approx(5 / 20)
    assert metrics.throughput_overall() == pytest.approx(30 / 20)
    clock.advance(100)
    assert metrics.throughput_recent(10) == 0.0


def test_old_finish_times_are_pruned():
    clock = FakeClock(500.0)
    metrics = RunMetrics(clock=clock, max_window_s=5)
    finish_one_by_one(metrics, clock, 100, every_s=1.0)
    assert len(metrics._recent) <= 11


def test_busy_time_accumulates_per_worker():
    metrics = RunMetrics(clock=FakeClock(500.0))
    metrics.record_busy(101, 1.5)
    metrics.record_busy(101, 2.0)
    metrics.record_busy(102, 0.25)
    assert metrics.as_dict()["worker_busy_s"] == {"101": 3.5, "102": 0.25}


def test_throughput_series_is_bounded_monotone_and_ends_at_the_total():
    clock = FakeClock(500.0)
    metrics = RunMetrics(clock=clock, max_series_points=50)
    finish_one_by_one(metrics, clock, 1001, every_s=0.01, priority=2)
    series = metrics.throughput_series()
    assert len(series) <= 52
    assert series[0] == (0.0, 0)
    assert series[-1][1] == 1001
    assert series[-1][0] == pytest.approx(10.01)
    counts = [count for _, count in series]
    times = [t for t, _ in series]
    assert counts == sorted(counts) and times == sorted(times)


def test_empty_metrics_as_dict_is_json_serializable():
    payload = json.loads(json.dumps(RunMetrics(clock=FakeClock(500.0)).as_dict()))
    assert payload["attempted"] == 0
    assert payload["latency_s"]["p95"] is None
    assert payload["throughput_series"] == []


def test_full_metrics_as_dict_is_json_serializable():
    clock = FakeClock(500.0)
    metrics = RunMetrics(clock=clock)
    for key in [("octo/repo", 1), ("octo/repo", 2)]:
        metrics.record_enqueued(key)
        metrics.record_started(key)
        clock.advance(1)
        metrics.record_finished(key, "published", 3)
    payload = json.loads(json.dumps(metrics.as_dict()))
    assert payload["latency_s"]["count"] == 2
    assert payload["throughput_per_s"] == pytest.approx(1.0)
    assert payload["by_priority"] == {"3": 2}


def test_latencies_are_kept_exactly_up_to_the_sample_size_then_sampled_uniformly():
    from runner.records.metrics import Reservoir

    small = Reservoir(100, seed=1)
    for value in range(50):
        small.append(float(value))
    assert "sampled" not in small.summary() and small.summary()["p50"] == 24.5
    big = Reservoir(1000, seed=1)
    for value in range(100_000):
        big.append(value / 100_000)
    summary = big.summary()
    assert len(big.values) == 1000 and summary["sampled"] == 1000
    assert summary["count"] == 100_000 and summary["max"] == 0.99999
    assert summary["mean"] == pytest.approx(0.5, abs=1e-4)
    assert summary["p50"] == pytest.approx(0.5, abs=0.05) and summary["p95"] == pytest.approx(0.95, abs=0.03)


def test_finish_counts_stay_bounded_however_many_issues_finish():
    clock = FakeClock(500.0)
    metrics = RunMetrics(clock=clock, max_window_s=10)
    finish_one_by_one(metrics, clock, 20_000, every_s=0.01)
    assert len(metrics._recent) <= 2 * 10 / 0.1 + 2
    assert metrics.completed_recent(10) == pytest.approx(1000, abs=10)
