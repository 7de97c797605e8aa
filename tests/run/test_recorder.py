"""Recording terminal states: everything that keeps one gets each issue exactly once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from runner.core.models import CommitOutcome, Issue, Priority, SageResult, Ticket, Triage
from runner.records.journal import Journal
from runner.records.metrics import RunMetrics
from runner.records.report import ReportSink
from runner.run.ledger import Ledger
from runner.run.recorder import Finish, Recorder

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Seen:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def run_started(self, info: dict) -> None:
        pass

    def issue_finished(self, record: dict) -> None:
        self.records.append(record)

    def tick(self, snapshot: dict) -> None:
        pass


def ticket(number: int, repo_key: str = "") -> Ticket:
    issue = Issue(number, f"issue {number}", "", (), None, None, None, number, f"hash-{number}")
    return Ticket(issue, Triage(Priority.HIGH, "bug", "label", "label"), repo_key, attempts=1)


def result(number: int, pid: int) -> SageResult:
    return SageResult(number, "", (), "low", (), worker_pid=pid, busy_s=0.5)


@pytest.fixture
def parts(tmp_path: Path):
    ledger, clock, seen = Ledger(), Clock(), Seen()
    metrics = RunMetrics(clock=clock)
    sink = ReportSink(tmp_path / "reports", "run-1")
    journal = Journal(tmp_path / "journal.sqlite")
    recorder = Recorder(
        ledger=ledger,
        metrics=metrics,
        sink=sink,
        journal=journal,
        observer=seen,
        branch_for=lambda n: f"runner/issue-{n}",
        run_id="run-1",
    )
    yield recorder, ledger, metrics, clock, sink, journal, seen, tmp_path
    journal.close()


def committed(number: int, pid: int = 7) -> Finish:
    outcome = CommitOutcome(number, "committed", f"runner/issue-{number}", f"{number:040x}")
    return Finish(ticket(number), "committed", outcome, None, result(number, pid))


def journal_rows(path: Path) -> dict[int, tuple]:
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT number, state, attempts, commit_id, branch, content_hash, updated_at FROM issues")
        return {row[0]: row[1:] for row in found}


def test_a_batch_is_recorded_everywhere_once_in_order(parts):
    recorder, ledger, metrics, clock, sink, journal, seen, tmp_path = parts
    items = [committed(1), committed(2, pid=8), committed(3)]
    failed = Finish(ticket(4), "failed", None, "git: refused", None)
    for item in (*items, failed):
        ledger.add(item.ticket)
        metrics.record_enqueued(item.ticket.key)
    clock.now += 2.0
    recorder.finish_many([*items, failed])

    assert ledger.open_count() == 0
    snapshot = metrics.as_dict()
    assert snapshot["by_status"] == {"committed": 3, "failed": 1}
    assert snapshot["latency_s"]["count"] == 4 and snapshot["latency_s"]["max"] == pytest.approx(2.0)
    assert snapshot["worker_busy_s"] == {"7": 1.0, "8": 0.5}
    assert sink.totals["succeeded"] == 3 and sink.totals["failed"] == 1
    assert [r["number"] for r in seen.records] == [1, 2, 3, 4]
    json_path, _ = sink.finish(1, {})
    report = json.loads(json_path.read_text())
    assert [(i["number"], i["status"], i["commit"]) for i in report["issues"]] == [
        (1, "committed", f"{1:040x}"),
        (2, "committed", f"{2:040x}"),
        (3, "committed", f"{3:040x}"),
        (4, "failed", None),
    ]
    assert len({i["finished_at"] for i in report["issues"]}) == 1
    journal.flush()
    rows = journal_rows(tmp_path / "journal.sqlite")
    assert rows[1][:5] == ("done", 1, f"{1:040x}", "runner/issue-1", "hash-1")
    assert rows[4][:2] == ("failed", 1)
    assert rows[1][5] == report["issues"][0]["finished_at"]


def test_a_pull_request_is_journaled_before_finish_returns(parts):
    recorder, ledger, _, _, _, _, _, tmp_path = parts
    item = committed(5)
    ledger.add(item.ticket)
    recorder.finish_many([Finish(item.ticket, "published", item.outcome, None, item.result, "https://pr/5")])
    other = Journal(tmp_path / "journal.sqlite")
    try:
        row = other.get("", 5)
    finally:
        other.close()
    assert row is not None and row.state == "done" and row.pull_request == "https://pr/5"


def test_an_empty_batch_records_nothing(parts):
    recorder, _, metrics, _, sink, _, seen, _ = parts
    recorder.finish_many([])
    assert metrics.as_dict()["by_status"] == {} and sink.totals["succeeded"] == 0 and not seen.records


def test_journal_rows_written_together_keep_their_order_and_earlier_facts(tmp_path: Path):
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        journal.record("r", 9, "failed", attempts=3, error="boom", branch="runner/issue-9")
        journal.flush()
        journal.record_rows(
            [
                Journal.row("r", 9, "queued", run_id="run-2"),
                Journal.row("r", 9, "done", attempts=1, commit="c" * 40, at="2026-01-01T00:00:00.000Z"),
            ]
        )
        row = journal.get("r", 9)
    finally:
        journal.close()
    assert (row.state, row.attempts, row.last_error, row.branch, row.commit) == (
        "done",
        1,
        None,
        "runner/issue-9",
        "c" * 40,
    )
    assert row.updated_at == "2026-01-01T00:00:00.000Z"
