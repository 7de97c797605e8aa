"""Recorder: an issue's terminal state, written once to everything that keeps it.

    collector (a batch's outcomes), publisher, intake, stop
        │ finish_many([Finish, ...])
        ▼
    Recorder ──> ledger (no longer open) ──> metrics (latency, counts)
             ──> redact ──> report line ──> journal row ──> log ──> observer (progress)

The issues of a batch reach their terminal state together, when its branches are in
place, so they are recorded together: each lock is taken and the clock read once per
call rather than once per issue. Recording is the last thing a run does after its
last result, so its cost per issue is the length of the run's tail. Errors are scrubbed of
the token here, once, before any of them is written: they quote git, GitHub and the
output of fixer commands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

from runner.core.clock import now_iso
from runner.core.logs import LOGGER
from runner.core.models import CommitOutcome, SageResult, Ticket
from runner.core.secrets import redact
from runner.core.status import Status
from runner.records.issue import issue_record
from runner.records.journal import Journal, journal_state
from runner.records.metrics import RunMetrics
from runner.records.report import ReportSink
from runner.run.ledger import Ledger
from runner.run.outcome import Observer

log = logging.getLogger(LOGGER)


class Finish(NamedTuple):
    """One issue's terminal state and what is known about how it got there (a tuple:
    thousands are made per second at the end of a run)."""

    ticket: Ticket
    status: str
    outcome: CommitOutcome | None = None
    error: str | None = None
    result: SageResult | None = None
    pull_request: str | None = None
    comment: str | None = None


class Recorder:
    def __init__(
        self,
        *,
        ledger: Ledger,
        metrics: RunMetrics,
        sink: ReportSink,
        journal: Journal | None,
        observer: Observer,
        branch_for: Callable[[int], str],
        run_id: str,
    ) -> None:
        self.ledger = ledger
        self.metrics = metrics
        self.sink = sink
        self.journal = journal
        self.observer = observer
        self.branch_for = branch_for
        self.run_id = run_id

    def finish(
        self,
        ticket: Ticket,
        status: str,
        outcome: CommitOutcome | None,
        error: str | None,
        result: SageResult | None,
        pull_request: str | None = None,
        comment: str | None = None,
    ) -> None:
        self.finish_many([Finish(ticket, status, outcome, error, result, pull_request, comment)])

    def finish_many(self, items: Sequence[Finish], log_each: bool = True) -> None:
        """Record each item's terminal state; each ticket must be finished exactly once.

        `log_each=False` leaves failed and deferred issues out of the log, for a caller that logs
        how many there were: one line each for the unread rest of a stopped input would rotate
        the rest of the run's story out of the log files."""
        if not items:
            return
        items = [_redacted(item) for item in items]
        self.ledger.close_many([item.ticket for item in items])
        self.metrics.record_finished_many([(i.ticket.key, i.status, i.ticket.triage.priority.label) for i in items])
        now, finished_at = time.monotonic(), now_iso()
        records = [self._record(item, now - item.ticket.enqueued_mono, finished_at) for item in items]
        self._add_busy(items)
        self.sink.add_issues(records)
        if self.journal is not None:
            rows = [self._row(item, record, finished_at) for item, record in zip(items, records, strict=False)]
            self.journal.record_rows(rows, durable=any(item.pull_request or item.comment for item in items))
        for item, record in zip(items, records, strict=False):
            if log_each and item.status in (Status.FAILED, Status.CHECK_FAILED, Status.DEFERRED):
                ticket = item.ticket
                log.warning("issue %s#%d %s: %s", ticket.repo_key or "", ticket.issue.number, item.status, item.error)
            self.observer.issue_finished(record)

    def _record(self, item: Finish, latency_s: float, finished_at: str) -> dict:
        ticket = item.ticket
        return issue_record(
            ticket,
            item.status,
            self.branch_for(ticket.issue.number),
            item.outcome,
            item.error,
            item.result,
            item.pull_request,
            latency_s,
            finished_at,
            comment=item.comment,
        )

    def _row(self, item: Finish, record: dict, finished_at: str) -> tuple:
        ticket = item.ticket
        return Journal.row(
            ticket.repo_key,
            ticket.issue.number,
            journal_state(item.status),
            run_id=self.run_id,
            attempts=ticket.attempts,
            error=item.error,
            content_hash=ticket.issue.content_hash,
            branch=record["branch"],
            commit=record["commit"],
            pull_request=item.pull_request,
            at=finished_at,
        )

    def _add_busy(self, items: Sequence[Finish]) -> None:
        busy: dict[int, float] = {}
        for item in items:
            if item.result is not None:
                busy[item.result.worker_pid] = busy.get(item.result.worker_pid, 0.0) + item.result.busy_s
        for pid, seconds in busy.items():
            self.metrics.record_busy(pid, seconds)


def _redacted(item: Finish) -> Finish:
    """The item with its error, and the fixer facts its result carries, free of the token."""
    if item.error:
        item = item._replace(error=redact(item.error))
    result = item.result
    if result is not None and result.fixer:
        clean = {key: _scrubbed(value) for key, value in result.fixer.items()}
        if clean != result.fixer:
            item = item._replace(result=replace(result, fixer=clean))
    return item


def _scrubbed(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {key: _scrubbed(v) for key, v in value.items()}
    return value
