"""What every scenario shares: the run context and budget, repeated measurements,
`runner process` as a watched subprocess, and reading runner's report.

    scenario ──> Context.reps / Context.fresh_repo ──> run_cli(argv)
                                                         │ Popen `python -m runner process ...`
                                                         ├─ ProcessWatcher thread: psutil every 50 ms,
                                                         │  per process (master, each sage), never system-wide
                                                         └─ CliRun: wall time, exit code, CPU seconds,
                                                            peak RSS, runner's own report (read_report)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from perf.workload import make_repo


@dataclass
class Context:
    """Where a scenario works and how much it may do; passed to every scenario's `run`."""

    root: Path
    quick: bool
    deadline: float
    log: Callable[[str], None] = print
    _templates: dict[tuple[int, int], Path] = field(default_factory=dict)
    _counter: int = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def path(self, name: str) -> Path:
        """A fresh, unique directory under the work root."""
        self._counter += 1
        target = self.root / f"{self._counter:03d}-{name}"
        target.mkdir(parents=True)
        return target

    def clean(self) -> None:
        """Remove every scenario directory (the repository templates stay): a scenario's many
        branches and reports are deleted on its own time, not at the end of the suite."""
        for child in self.root.iterdir():
            if child.name[:3].isdigit():
                shutil.rmtree(child, ignore_errors=True)

    def fresh_repo(self, name: str = "repo", seed: int = 1) -> Path:
        """A copy of the seeded project repository, with no runner branches yet, on disk
        (synced), so that a timed run does not share the disk with its set-up's write-back."""
        key = (seed, 160)
        if key not in self._templates:
            self._templates[key] = make_repo(self.root / f"template-{seed}", seed=seed)
        target = self.path(name) / "repo"
        shutil.copytree(self._templates[key], target, symlinks=True)
        os.sync()
        return target


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median and spread of repeated measurements (spread = max - min, and relative to the median)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"n": 0, "median": None, "min": None, "max": None, "spread": None, "spread_pct": None, "values": []}
    median = statistics.median(vals)
    spread = max(vals) - min(vals)
    return {
        "n": len(vals),
        "median": median,
        "min": min(vals),
        "max": max(vals),
        "spread": spread,
        "spread_pct": round(100 * spread / median, 1) if median else None,
        "values": [round(v, 4) for v in vals],
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


@dataclass
class ProcessPeaks:
    master_rss: int = 0
    worker_rss: dict[int, int] = field(default_factory=dict)
    worker_cpu: dict[int, float] = field(default_factory=dict)
    helper_cpu: dict[int, float] = field(default_factory=dict)
    rss_series: list[tuple[float, int]] = field(default_factory=list)
    max_workers_seen: int = 0


def is_sage(proc: psutil.Process, master_pid: int) -> bool:
    """Sages are the fork server's children: forkserver in the command line, not the master's own child."""
    return "forkserver" in " ".join(proc.cmdline()) and proc.ppid() != master_pid


class ProcessWatcher(threading.Thread):
    """Samples a process tree with psutil: master RSS over time, every sage's peak RSS and CPU."""

    def __init__(self, pid: int, interval_s: float = 0.05, series_every_s: float = 0.5) -> None:
        super().__init__(name="bench-watcher", daemon=True)
        self.pid = pid
        self.interval_s = interval_s
        self.series_every_s = series_every_s
        self.peaks = ProcessPeaks()
        self.on_sample: Callable[[list[psutil.Process]], None] | None = None
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        try:
            master = psutil.Process(self.pid)
        except psutil.Error:
            return
        next_point = 0.0
        while not self._halt.is_set():
            try:
                rss = master.memory_info().rss
                children = master.children(recursive=True)
            except psutil.Error:
                return
            self.peaks.master_rss = max(self.peaks.master_rss, rss)
            now = time.monotonic() - self._t0
            if now >= next_point:
                self.peaks.rss_series.append((round(now, 2), rss))
                next_point = now + self.series_every_s
            sages = self._sample_children(children)
            self.peaks.max_workers_seen = max(self.peaks.max_workers_seen, len(sages))
            if self.on_sample is not None:
                self.on_sample(sages)
            self._halt.wait(self.interval_s)

    def _sample_children(self, children: list[psutil.Process]) -> list[psutil.Process]:
        sages = []
        for child in children:
            try:
                if child.name() == "git":
                    continue
                times = child.cpu_times()
                if is_sage(child, self.pid):
                    sages.append(child)
                    self.peaks.worker_rss[child.pid] = max(
                        self.peaks.worker_rss.get(child.pid, 0), child.memory_info().rss
                    )
                    self.peaks.worker_cpu[child.pid] = times.user + times.system
                else:
                    self.peaks.helper_cpu[child.pid] = times.user + times.system
            except psutil.Error:
                continue
        return sages

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


@dataclass
class CliRun:
    """One `runner process` run seen from outside, plus runner's own report."""

    argv: list[str]
    exit_code: int
    wall_s: float
    cpu_master_s: float
    cpu_workers_s: float
    cpu_helpers_s: float
    peaks: ProcessPeaks
    report: dict[str, Any] | None
    stderr: str

    @property
    def metrics(self) -> dict[str, Any]:
        return (self.report or {}).get("metrics") or {}

    @property
    def totals(self) -> dict[str, int]:
        return (self.report or {}).get("totals") or {}

    def issues_per_s_wall(self) -> float | None:
        done = self.metrics.get("attempted")
        return done / self.wall_s if done and self.wall_s else None

    def figures(self) -> dict[str, Any]:
        """The numbers a scenario keeps from one run (runner's own report first, outside view next)."""
        m = self.metrics
        return {
            "exit_code": self.exit_code,
            "totals": self.totals,
            "issues_per_s": m.get("throughput_per_s"),
            "issues_per_s_wall": self.issues_per_s_wall(),
            "wall_s": round(self.wall_s, 3),
            "latency_s": m.get("latency_s"),
            "error_rate": m.get("error_rate"),
            "retries": m.get("retries"),
            "pool": m.get("pool"),
            "cpu_s": {
                "master_incl_git": round(self.cpu_master_s, 3),
                "workers": round(self.cpu_workers_s, 3),
                "mp_helpers": round(self.cpu_helpers_s, 3),
                "total": round(self.cpu_master_s + self.cpu_workers_s + self.cpu_helpers_s, 3),
            },
            "peak_rss_bytes": {
                "report": m.get("peak_rss_bytes"),
                "sampled_master": self.peaks.master_rss,
                "sampled_workers": sorted(self.peaks.worker_rss.values(), reverse=True),
            },
        }


def runner_argv(*args: str, state: Path, reports: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "runner",
        "process",
        *args,
        "-q",
        "--state-dir",
        str(state),
        "--report-dir",
        str(reports),
    ]


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """runner needs no git identity; strip any GIT_* the caller has, as a user's shell would not have ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return {**env, **(extra or {})}


def run_cli(
    argv: list[str],
    reports: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 600.0,
    stop_after_s: float | None = None,
    on_start: Callable[[int, ProcessWatcher], None] | None = None,
) -> CliRun:
    """Run `runner process` to the end (or SIGTERM it after `stop_after_s`: runner then finishes
    in-flight issues and writes its report) while watching its processes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=cli_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watcher = ProcessWatcher(proc.pid)
    watcher.start()
    if on_start is not None:
        on_start(proc.pid, watcher)
    stderr_chunks: list[bytes] = []
    stream = proc.stderr
    assert stream is not None
    reader = threading.Thread(target=lambda: stderr_chunks.append(stream.read()), daemon=True)
    reader.start()
    try:
        if stop_after_s is not None:
            try:
                proc.wait(timeout=stop_after_s)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    wall = time.perf_counter() - started
    watcher.stop()
    reader.join(timeout=5)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    master_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peaks = watcher.peaks
    return CliRun(
        argv,
        proc.returncode,
        wall,
        master_cpu,
        sum(peaks.worker_cpu.values()),
        sum(peaks.helper_cpu.values()),
        peaks,
        latest_report(reports),
        b"".join(stderr_chunks).decode(errors="replace")[-2000:],
    )


def latest_report(reports: Path) -> dict[str, Any] | None:
    files = sorted(reports.glob("*.json"), key=lambda p: p.stat().st_mtime_ns) if reports.is_dir() else []
    return read_report(files[-1]) if files else None


SKIPPED_MARK = b'\n  "skipped": ['
ARRAY_END = b"\n  ],\n"
ISSUES_INLINE_LIMIT = 16 * 1024 * 1024


def read_report(path: Path) -> dict[str, Any]:
    """The report; without its per-issue list when the file is large (runner writes the
    sections, metrics and scaling_history among them, after the issues, so a big report is
    read from its tail instead of parsing a million records) or when that list is damaged
    (then `unreadable_issues` says where)."""
    size = path.stat().st_size
    if size <= ISSUES_INLINE_LIMIT:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            return {**_without_issues(path, size), "issues": None, "unreadable_issues": str(exc)}
    return {**_without_issues(path, size), "issues": None}


def _without_issues(path: Path, size: int) -> dict[str, Any]:
    with path.open("rb") as handle:
        head = json.loads(_head_bytes(handle) + b"}")
        tail = _tail_from(handle, size, SKIPPED_MARK)
    sections = json.loads(b"{" + tail[tail.index(ARRAY_END) + len(ARRAY_END) :])
    return {**head, **sections}


def _head_bytes(handle) -> bytes:
    """The top-level keys before "issues" (one per line), as a JSON object without its closing brace."""
    handle.seek(0)
    lines = []
    for line in handle:
        if line.startswith(b'  "issues"'):
            break
        lines.append(line)
    return b"".join(lines).rstrip().rstrip(b",")


def _tail_from(handle, size: int, mark: bytes) -> bytes:
    chunk = 1 << 20
    offset = size
    while offset > 0:
        offset = max(0, offset - chunk)
        handle.seek(offset)
        data = handle.read(size - offset)
        found = data.rfind(mark)
        if found >= 0:
            return data[found:]
        chunk *= 2
    raise ValueError("report has no sections")
