from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from runner.scaling.monitor import PsutilSampler, ResourceMonitor, ResourceSample

MB = 1 << 20


class CountingSampler:
    """Synthetic samples whose master RSS rises then falls, so peaks are checkable."""

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.calls = 0
        self.fail_on = fail_on or set()

    def __call__(self) -> ResourceSample:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"sample {self.calls} failed")
        rss = (100 - abs(50 - self.calls)) * MB
        return ResourceSample(
            at=float(self.calls),
            cpu_percent=10.0,
            mem_percent=30.0,
            load_per_cpu=0.2,
            master_rss=rss,
            worker_rss=[rss // 2, self.calls * MB],
            worker_cpu=[1.0, 2.0],
            worker_pids=[11, 12],
        )


def wait_for_samples(count: int) -> tuple[threading.Event, Callable[[ResourceSample], None]]:
    reached = threading.Event()
    seen = []

    def on_sample(sample: ResourceSample) -> None:
        seen.append(sample)
        if len(seen) >= count:
            reached.set()

    return reached, on_sample


@pytest.mark.timeout(20)
def test_thread_samples_into_history_and_stops():
    reached, on_sample = wait_for_samples(5)
    monitor = ResourceMonitor(CountingSampler(), interval_s=0.01, on_sample=on_sample)
    monitor.start()
    assert reached.wait(10)
    monitor.stop()
    assert not monitor.running
    taken = monitor.samples_taken
    assert taken >= 5
    assert [s.at for s in monitor.history()] == [float(n) for n in range(1, taken + 1)]
    assert monitor.latest().at == float(taken)


@pytest.mark.timeout(20)
def test_stop_does_not_wait_out_a_long_interval():
    reached, on_sample = wait_for_samples(1)
    monitor = ResourceMonitor(CountingSampler(), interval_s=3600, on_sample=on_sample)
    monitor.start()
    assert reached.wait(10)
    monitor.stop(timeout=5)
    assert not monitor.running
    assert monitor.samples_taken == 1


@pytest.mark.timeout(20)
def test_context_manager_and_restart():
    reached, on_sample = wait_for_samples(1)
    monitor = ResourceMonitor(CountingSampler(), interval_s=0.01, on_sample=on_sample)
    with monitor:
        assert reached.wait(10)
    assert not monitor.running
    reached.clear()
    monitor.start()
    monitor.start()
    assert reached.wait(10)
    monitor.stop()
    assert not monitor.running


def test_history_is_bounded_but_peaks_cover_the_whole_run():
    monitor = ResourceMonitor(CountingSampler(), history=10)
    for _ in range(100):
        monitor.sample_once()
    history = monitor.history()
    assert len(history) == 10
    assert history[-1].at == 100.0
    assert monitor.peak_master_rss() == 100 * MB
    assert monitor.peak_worker_rss() == 100 * MB
    assert monitor.peak_total_rss() == (100 + 50 + 50) * MB


def test_empty_monitor():
    monitor = ResourceMonitor(CountingSampler())
    assert monitor.latest() is None
    assert monitor.history() == []
    assert monitor.peak_master_rss() == 0
    monitor.stop()


@pytest.mark.timeout(20)
def test_failing_sampler_and_callback_do_not_kill_the_thread():
    reached, count_samples = wait_for_samples(6)

    def on_sample(sample: ResourceSample) -> None:
        count_samples(sample)
        if sample.at == 4.0:
            raise ValueError("callback failed")

    monitor = ResourceMonitor(CountingSampler(fail_on={2, 3}), interval_s=0.01, on_sample=on_sample)
    monitor.start()
    assert reached.wait(10)
    monitor.stop()
    assert monitor.errors == 3
    assert isinstance(monitor.last_error, (RuntimeError, ValueError))
    assert 2.0 not in [s.at for s in monitor.history()]


def test_invalid_interval_is_rejected():
    with pytest.raises(ValueError):
        ResourceMonitor(CountingSampler(), interval_s=0)


ALLOCATE = "import sys\nblock = b'\\x01' * (100 * 1024 * 1024)\nprint('ready', flush=True)\nsys.stdin.read()\n"


@pytest.mark.timeout(60)
def test_psutil_sampler_sees_a_real_worker_allocate_100_mb_and_tolerates_dead_pids():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    worker = subprocess.Popen(
        [sys.executable, "-c", ALLOCATE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline().strip() == "ready"
        pids = [worker.pid, dead.pid]
        sampler = PsutilSampler(os.getpid(), lambda: pids)
        sample = sampler()
        second = sampler()
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)
    assert sample.worker_pids == [worker.pid]
    assert sample.worker_rss[0] >= 95 * MB
    assert sample.master_rss > 10 * MB
    assert sample.total_rss == sample.master_rss + sample.worker_rss[0]
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert 0.0 <= sample.mem_percent <= 100.0
    assert sample.load_per_cpu >= 0.0
    assert all(cpu >= 0.0 for cpu in second.worker_cpu)
    after_exit = sampler()
    assert after_exit.worker_pids == []
    assert after_exit.worker_rss == []


SPIN = (
    "import sys, time\n"
    "print('go', flush=True)\n"
    "while time.process_time() < 0.3: pass\n"
    "print('done', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.mark.timeout(60)
def test_psutil_sampler_measures_worker_cpu():
    spin = subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert spin.stdout.readline().strip() == "go"
        sampler = PsutilSampler(os.getpid(), lambda: [spin.pid])
        first = sampler()
        assert spin.stdout.readline().strip() == "done"
        sample = sampler()
    finally:
        spin.stdin.close()
        spin.wait(timeout=30)
    assert first.worker_pids == [spin.pid]
    assert sample.worker_cpu[0] > 1.0
