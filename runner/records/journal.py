"""The journal: what runner has done, per issue and per run, in SQLite (WAL).

It survives crashes because every change is a committed transaction; a run
killed at any moment leaves each issue at its last journaled step. The journal
is not the source of truth for side effects: before redoing a step, the
publisher looks at the truth (the branch tip, a PR with this head, the marker
comment), so a step that happened but was not journaled is found, not redone.

    queued -> committed -> pushing -> pushed -> opening-pr -> pr-opened -> commenting -> commented -> done
                                       (or failed / deferred / skipped)
    publish mode triage (nothing pushed):
    queued -> committed -> labelling -> labelled -> commenting -> commented -> done

The `triage` table keeps what a triage run put on each issue: its comment's URL and the
labels runner added, so that a label a person removed later is not put back.

Each step with a side effect outside the repository is written before ("pushing",
"opening-pr", "commenting") and after it happens, at once (not batched).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.core.clock import now_iso
from runner.core.errors import UsageError
from runner.core.status import SUCCEEDED
from runner.core.storage import write_failure

SCHEMA_VERSION = 1
FLUSH_ROWS = 500
FLUSH_S = 0.25
DONE = "done"
TERMINAL_OK = SUCCEEDED
# What a file that is not a usable journal raises; a full disk, a file-size limit or a
# read-only directory raise others, and moving the journal aside would not help with those.
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS issues (
    repo TEXT NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, content_hash TEXT, branch TEXT, commit_id TEXT, pull_request TEXT,
    run_id TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (repo, number));
CREATE INDEX IF NOT EXISTS issues_state ON issues(state);
CREATE TABLE IF NOT EXISTS triage (
    repo TEXT NOT NULL, number INTEGER NOT NULL, comment TEXT, labels TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (repo, number));
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    exit_code INTEGER, totals TEXT, report TEXT);
"""


class JournalError(UsageError):
    """The journal cannot be used (exit 2); the message says what to do."""


@dataclass(frozen=True)
class IssueRow:
    repo: str
    number: int
    state: str
    attempts: int
    last_error: str | None
    content_hash: str | None
    branch: str | None
    commit: str | None
    pull_request: str | None
    updated_at: str


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pending: list[tuple] = []
        self._flushed_at = time.monotonic()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(f"BEGIN;\n{SCHEMA}\nCOMMIT;")  # one transaction: the WAL gets each page once
            self._check_version()
        except sqlite3.DatabaseError as exc:
            if not getattr(exc, "sqlite_errorname", "").startswith(_DAMAGED):
                raise JournalError(
                    f"the journal {path} cannot be written: {write_failure(path.parent, exc)}; "
                    "nothing was done: rerun once it can be written"
                ) from None
            raise JournalError(
                f"the journal {path} is damaged ({exc}); move it aside and rerun: runner rebuilds it, "
                "and the next run reconciles every issue against git and GitHub"
            ) from None

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise JournalError(f"the journal {self.path} has schema {row[0]}, this runner needs {SCHEMA_VERSION}")

    def record(
        self,
        repo: str,
        number: int,
        state: str,
        *,
        run_id: str | None = None,
        attempts: int | None = None,
        error: str | None = None,
        content_hash: str | None = None,
        branch: str | None = None,
        commit: str | None = None,
        pull_request: str | None = None,
        durable: bool = False,
    ) -> None:
        """Move an issue to `state`, keeping earlier facts that this step does not know.

        Local steps are written in small batches (one transaction per `FLUSH_ROWS` or
        `FLUSH_S`); a crash can lose the last batch, which the next run finds again by
        looking at git. Steps with side effects elsewhere (`durable`) are written at once.
        """
        self.record_rows(
            [
                self.row(
                    repo,
                    number,
                    state,
                    run_id=run_id,
                    attempts=attempts,
                    error=error,
                    content_hash=content_hash,
                    branch=branch,
                    commit=commit,
                    pull_request=pull_request,
                )
            ],
            durable=durable,
        )

    @staticmethod
    def row(
        repo: str,
        number: int,
        state: str,
        *,
        run_id: str | None = None,
        attempts: int | None = None,
        error: str | None = None,
        content_hash: str | None = None,
        branch: str | None = None,
        commit: str | None = None,
        pull_request: str | None = None,
        at: str | None = None,
    ) -> tuple:
        """One step for `record_rows`; the arguments mean what they mean for `record`."""
        return (
            repo,
            number,
            state,
            attempts,
            error,
            content_hash,
            branch,
            commit,
            pull_request,
            run_id,
            at or now_iso(),
            attempts,
        )

    def record_rows(self, rows: list[tuple], durable: bool = False) -> None:
        """Several steps (from `row`) in order, as `record` writes one."""
        with self._lock:
            self._pending.extend(rows)
            if durable or len(self._pending) >= FLUSH_ROWS or time.monotonic() - self._flushed_at >= FLUSH_S:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                """INSERT INTO issues (repo, number, state, attempts, last_error, content_hash, branch, commit_id,
                                       pull_request, run_id, updated_at)
                   VALUES (?, ?, ?, COALESCE(?, 0), ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (repo, number) DO UPDATE SET
                     state = excluded.state,
                     attempts = COALESCE(?, attempts),
                     last_error = excluded.last_error,
                     content_hash = COALESCE(excluded.content_hash, content_hash),
                     branch = COALESCE(excluded.branch, branch),
                     commit_id = COALESCE(excluded.commit_id, commit_id),
                     pull_request = COALESCE(excluded.pull_request, pull_request),
                     run_id = COALESCE(excluded.run_id, run_id),
                     updated_at = excluded.updated_at""",
                rows,
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get(self, repo: str, number: int) -> IssueRow | None:
        with self._lock:
            self._flush_locked()
            row = self._db.execute(
                "SELECT repo, number, state, attempts, last_error, content_hash, branch, commit_id, pull_request, "
                "updated_at FROM issues WHERE repo = ? AND number = ?",
                (repo, number),
            ).fetchone()
        return IssueRow(*row) if row else None

    def is_done(self, repo: str, number: int, content_hash: str) -> bool:
        row = self.get(repo, number)
        return row is not None and row.state == DONE and row.content_hash == content_hash

    def rows(self, states: tuple[str, ...] | None = None, repo: str | None = None) -> Iterator[IssueRow]:
        query = (
            "SELECT repo, number, state, attempts, last_error, content_hash, branch, commit_id, pull_request, "
            "updated_at FROM issues"
        )
        clauses, args = [], []
        if states:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            args += list(states)
        if repo is not None:
            clauses.append("repo = ?")
            args.append(repo)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        with self._lock:
            self._flush_locked()
            found = self._db.execute(query + " ORDER BY repo, number", args).fetchall()
        return (IssueRow(*row) for row in found)

    def counts(self) -> dict[str, int]:
        with self._lock:
            self._flush_locked()
            return dict(self._db.execute("SELECT state, COUNT(*) FROM issues GROUP BY state").fetchall())

    def requeue(self, states: tuple[str, ...]) -> int:
        """Mark failed/deferred issues for the next run (`runner retry`)."""
        with self._lock:
            self._flush_locked()
            cursor = self._db.execute(
                f"UPDATE issues SET state = 'retry', updated_at = ? WHERE state IN ({','.join('?' * len(states))})",
                (now_iso(), *states),
            )
            return cursor.rowcount

    def triage_state(self, repo: str, number: int) -> tuple[str | None, frozenset[str]]:
        """The URL of runner's triage comment on the issue, and the labels (lower case) runner
        has put on it: a label runner added that is gone was removed by a person."""
        with self._lock:
            row = self._db.execute(
                "SELECT comment, labels FROM triage WHERE repo = ? AND number = ?", (repo, number)
            ).fetchone()
        return (row[0], frozenset(json.loads(row[1]))) if row else (None, frozenset())

    def record_triage(
        self, repo: str, number: int, *, comment: str | None = None, added: frozenset[str] | None = None
    ) -> None:
        """Remember the triage comment's URL and/or the labels runner has put on the issue (at once:
        each follows a write on GitHub)."""
        labels = json.dumps(sorted(added)) if added is not None else None
        with self._lock:
            self._db.execute(
                """INSERT INTO triage (repo, number, comment, labels) VALUES (?, ?, ?, COALESCE(?, '[]'))
                   ON CONFLICT (repo, number) DO UPDATE SET comment = COALESCE(excluded.comment, comment),
                     labels = COALESCE(?, labels)""",
                (repo, number, comment, labels, labels),
            )

    def comments(self, repo: str | None = None) -> dict[tuple[str, int], str]:
        """Every triage comment runner wrote, by (repo, number)."""
        query, args = "SELECT repo, number, comment FROM triage WHERE comment IS NOT NULL", []
        if repo is not None:
            query, args = query + " AND repo = ?", [repo]
        with self._lock:
            return {(r, n): c for r, n, c in self._db.execute(query, args).fetchall()}

    def run_started(self, run_id: str, command: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO runs (run_id, command, started_at) VALUES (?, ?, ?)",
                (run_id, command, now_iso()),
            )

    def run_finished(self, run_id: str, exit_code: int, totals: dict[str, Any], report: str | None) -> None:
        with self._lock:
            self._flush_locked()
            self._db.execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, totals = ?, report = ? WHERE run_id = ?",
                (now_iso(), exit_code, json.dumps(totals), report, run_id),
            )

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        with self._lock:
            found = self._db.execute(
                "SELECT run_id, command, started_at, finished_at, exit_code, totals, report FROM runs "
                "ORDER BY started_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("run_id", "command", "started_at", "finished_at", "exit_code", "totals", "report")
        return [
            {**dict(zip(keys, row, strict=False)), "totals": json.loads(row[5]) if row[5] else None} for row in found
        ]

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            self._db.close()


def journal_state(status: str) -> str:
    """The journal state for a report status."""
    return DONE if status in TERMINAL_OK else status
