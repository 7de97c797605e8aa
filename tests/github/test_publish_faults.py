"""Publishing when GitHub or the network misbehaves: server errors and the breaker, the primary
and the secondary rate limits, replies lost after GitHub acted, and a push that hangs. Each ends
with every issue published exactly once, by the run or the next one."""

from __future__ import annotations

import socket
import threading

import pytest
from conftest import git, latest_report, marker_comments, pulls

pytestmark = pytest.mark.timeout(240)


def test_server_errors_open_the_breaker_defer_and_a_rerun_completes(github_world, tmp_path):
    world = github_world()
    world.seed(12)
    path = world.issues_file(tmp_path / "issues.jsonl")
    world.emulator.configure(failure_rate=1.0)
    result = world.process(path)
    assert result.returncode == 3, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"deferred"}
    assert any(e["to_state"] == "open" for e in report["breaker_events"])
    world.emulator.configure(failure_rate=0.0)
    assert pulls(world) == []
    again = world.process(path)
    assert again.returncode == 0, again.stderr.decode()
    assert len(pulls(world)) == 12


def test_primary_limit_defers_and_a_later_run_completes(github_world, tmp_path):
    world = github_world()
    world.seed(10)
    path = world.issues_file(tmp_path / "issues.jsonl")
    world.emulator.configure(primary_limit=world.emulator.stats.get("requests", 0) + 25)
    flags = ["--max-wait", "2"]
    result = world.process(path, extra=flags)
    assert result.returncode == 3, result.stderr.decode()
    statuses = [r["status"] for r in latest_report(tmp_path / "reports")["issues"]]
    assert "deferred" in statuses and "failed" not in statuses
    world.emulator.configure(primary_limit=5000)
    world.reset_limits()
    again = world.process(path, extra=flags)
    assert again.returncode == 0, again.stderr.decode()
    assert len(pulls(world)) == 10


def test_secondary_limit_is_hit_once_then_respected(github_world, tmp_path):
    world = github_world()
    world.seed(4)
    path = world.issues_file(tmp_path / "issues.jsonl")
    world.emulator.configure(min_write_interval_s=0.4)
    result = world.process(path)
    assert result.returncode == 0, result.stderr.decode()
    stats = world.emulator.stats
    assert stats["secondary_limit_violations"] == 1, stats
    assert len(pulls(world)) == 4


def test_lost_replies_never_duplicate_pull_requests_or_comments(github_world, tmp_path):
    world = github_world()
    numbers = world.seed(10)
    path = world.issues_file(tmp_path / "issues.jsonl")
    world.emulator.configure(lost_reply_rate=0.25, seed=7)
    codes = []
    for _ in range(6):
        result = world.process(path)
        codes.append(result.returncode)
        if result.returncode == 0:
            break
    assert codes[-1] == 0, codes
    assert world.emulator.stats["replies_lost"] > 0
    world.emulator.configure(lost_reply_rate=0.0)
    heads = [p.head.ref for p in pulls(world)]
    assert sorted(heads) == sorted(f"runner/issue-{n}" for n in numbers)
    assert all(marker_comments(world, n) == 1 for n in numbers)


class HangingServer:
    """Accepts connections and never answers: a stuck proxy or a black-holed host."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except TimeoutError:
                continue

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for conn in self.held:
            conn.close()
        self.sock.close()


def test_a_push_that_hangs_is_killed_after_push_timeout_and_its_issues_deferred(github_world, tmp_path):
    import psutil

    world = github_world()
    numbers = world.seed(3)
    path = world.issues_file(tmp_path / "issues.jsonl")
    hanging = HangingServer()
    url = f"http://127.0.0.1:{hanging.port}/acme/inventory.git"
    try:
        git(world.clone, "remote", "set-url", "origin", url)
        result = world.process(path, extra=["--push-timeout", "1"])
        assert result.returncode == 3, result.stderr.decode()
        assert "Traceback" not in result.stderr.decode()
        assert hanging.held, "git never reached the hanging remote"
        report = latest_report(tmp_path / "reports")
        assert sorted(r["number"] for r in report["issues"]) == sorted(numbers)
        assert {r["status"] for r in report["issues"]} == {"deferred"}
        assert all("timed out after 1 s" in r["error"] for r in report["issues"])
        left = [p for p in psutil.process_iter(["cmdline"]) if url in " ".join(p.info["cmdline"] or [])]
        assert left == []
    finally:
        hanging.close()
    git(world.clone, "remote", "set-url", "origin", str(world.bare))
    again = world.process(path)
    assert again.returncode == 0, again.stderr.decode()
    assert len(pulls(world)) == 3 and all(marker_comments(world, n) == 1 for n in numbers)
