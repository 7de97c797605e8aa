"""The journal keeps each issue's last step across crashes and never forgets earlier facts."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from runner.records.journal import DONE, Journal, JournalError, journal_state

CRASH_AFTER_DURABLE = """
import os, sys
from pathlib import Path
from runner.records.journal import Journal
journal = Journal(Path(sys.argv[1]))
journal.record("o/r", 1, "committed", content_hash="h1", branch="runner/issue-1", commit="c1")
journal.record("o/r", 1, "pushing", durable=True)
journal.record("o/r", 2, "committed", content_hash="h2")
os._exit(9)
"""


def test_a_step_written_durably_survives_the_process_dying(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    proc = subprocess.run([sys.executable, "-c", CRASH_AFTER_DURABLE, str(path)], capture_output=True)
    assert proc.returncode == 9, proc.stderr.decode()
    journal = Journal(path)
    row = journal.get("o/r", 1)
    assert row is not None
    assert (row.state, row.branch, row.commit, row.content_hash) == ("pushing", "runner/issue-1", "c1", "h1")
    journal.close()


def test_a_later_step_keeps_the_facts_it_does_not_know(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.record("o/r", 7, "committed", content_hash="h", branch="runner/issue-7", commit="c", attempts=1)
    journal.record("o/r", 7, "pr-opened", pull_request="https://example.test/pull/3", durable=True)
    journal.record("o/r", 7, DONE, durable=True)
    row = journal.get("o/r", 7)
    assert row is not None
    assert (row.state, row.branch, row.commit, row.pull_request, row.attempts) == (
        DONE,
        "runner/issue-7",
        "c",
        "https://example.test/pull/3",
        1,
    )
    assert journal.is_done("o/r", 7, "h")
    assert not journal.is_done("o/r", 7, "changed-since")
    journal.close()


def test_retry_requeues_only_the_states_asked_for(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    for number, state in ((1, "failed"), (2, "deferred"), (3, DONE)):
        journal.record("o/r", number, state)
    assert journal.requeue(("failed", "deferred")) == 2
    assert journal.counts() == {"retry": 2, DONE: 1}
    assert [row.number for row in journal.rows(states=("retry",), repo="o/r")] == [1, 2]
    journal.close()


def test_triage_labels_and_comment_are_remembered_apart(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.record_triage("o/r", 4, added=frozenset({"bug"}))
    journal.record_triage("o/r", 4, comment="https://example.test/c/1")
    assert journal.triage_state("o/r", 4) == ("https://example.test/c/1", frozenset({"bug"}))
    assert journal.comments("o/r") == {("o/r", 4): "https://example.test/c/1"}
    assert journal.triage_state("o/r", 5) == (None, frozenset())
    journal.close()


def test_runs_are_listed_newest_first_with_their_totals(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.run_started("r1", "process")
    journal.run_finished("r1", 0, {"done": 3}, "reports/r1.json")
    [run] = journal.runs()
    assert (run["run_id"], run["exit_code"], run["totals"]) == ("r1", 0, {"done": 3})
    journal.close()


def test_a_damaged_journal_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database, it is text " * 200)
    with pytest.raises(JournalError, match=r"damaged.*move it aside"):
        Journal(path)


OPEN_UNDER_A_FILE_SIZE_LIMIT = """
import resource, sys
from pathlib import Path
from runner.records.journal import Journal, JournalError
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
try:
    Journal(Path(sys.argv[1]))
except JournalError as exc:
    sys.exit(str(exc))
"""


def test_a_journal_that_cannot_be_written_says_why_and_is_not_called_damaged(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    proc = subprocess.run([sys.executable, "-c", OPEN_UNDER_A_FILE_SIZE_LIMIT, str(path)], capture_output=True)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert f"the journal {path} cannot be written: a file reached the process's file-size limit" in err
    assert "damaged" not in err
    journal = Journal(path)
    journal.run_started("r1", "process")
    assert [run["run_id"] for run in journal.runs()] == ["r1"]
    journal.close()


def test_a_journal_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(JournalError, match="schema 99"):
        Journal(path)


def test_successful_report_statuses_are_done_in_the_journal() -> None:
    assert journal_state("committed") == DONE
    assert journal_state("failed") == "failed"
