"""Collector: the thread that turns sage results into commits and report records.

    pool futures ──> results (SimpleQueue) ──> Collector ──batch per repository──> RepoWriter
                                                   │
                                                   ├── failures: RetryPolicy -> requeue / failed / deferred
                                                   └── terminal: record -> ReportSink, metrics, observer

Batching lets one fast-import checkpoint and one lock acquisition cover many
commits; a batch closes after `BATCH_MAX` results or `BATCH_WAIT_S`.
"""
from __future__ import annotations

import queue as stdqueue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from runner.gitstore import RepoWriter, WriteItem
from runner.ledger import Ledger, Ticket
from runner.models import DEFERRED, FAILED, NO_CHANGE, CommitOutcome, SageResult
from runner.queue import PriorityQueue
from runner.retry import RetryPolicy

BATCH_MAX = 1000
PARALLEL_REPOS = 4
BATCH_WAIT_S = 0.25


@dataclass
class Done:
    """A finished sage task: the ticket and either its result or its exception."""

    ticket: Ticket
    result: SageResult | None
    error: BaseException | None


class Collector(threading.Thread):
    def __init__(
        self,
        writers: dict[str, RepoWriter],
        ledger: Ledger,
        queue: PriorityQueue[Ticket],
        policy: RetryPolicy,
        finish: Callable[..., None],
        after_commit: Callable[[Ticket, CommitOutcome, SageResult], None],
        message_for: Callable[[Ticket, SageResult], str],
        directory_for: Callable[[int], str],
        branch_for: Callable[[int], str],
    ) -> None:
        super().__init__(name="runner-collector", daemon=True)
        self.results: stdqueue.SimpleQueue[Done] = stdqueue.SimpleQueue()
        self.writers = writers
        self.ledger = ledger
        self.queue = queue
        self.policy = policy
        self.finish = finish
        self.after_commit = after_commit
        self.message_for = message_for
        self.directory_for = directory_for
        self.branch_for = branch_for
        self.retries = 0
        self._parallel: ThreadPoolExecutor | None = None
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def submit_done(self, done: Done) -> None:
        self.results.put(done)

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        try:
            while not (self._halt.is_set() and self.results.empty()):
                batch = self._next_batch()
                if batch:
                    self._handle(batch)
                elif self.ledger.finished():
                    break
        except BaseException as exc:
            self.error = exc
        finally:
            if self._parallel is not None:
                self._parallel.shutdown(wait=True)

    def _next_batch(self) -> list[Done]:
        try:
            first = self.results.get(timeout=0.1)
        except stdqueue.Empty:
            return []
        batch, deadline = [first], time.monotonic() + BATCH_WAIT_S
        while len(batch) < BATCH_MAX:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.results.get(timeout=remaining) if remaining > 0 else self.results.get_nowait())
            except stdqueue.Empty:
                break
        return batch

    def _handle(self, batch: list[Done]) -> None:
        by_repo: dict[str, list[Done]] = {}
        for done in batch:
            if done.error is not None:
                self._failed_attempt(done.ticket, done.error)
            else:
                by_repo.setdefault(done.ticket.repo_key, []).append(done)
        to_write: dict[str, list[Done]] = {}
        for repo_key, items in by_repo.items():
            for done in items:
                if done.result.written is not None:
                    self.after_commit(done.ticket, done.result.written, done.result)
                elif done.result.fixer is not None and not done.result.changes:
                    self.finish(done.ticket, NO_CHANGE, None, None, done.result)
                else:
                    to_write.setdefault(repo_key, []).append(done)
        for items, outcomes in self._write_all(to_write):
            for done, outcome in zip(items, outcomes):
                self.after_commit(done.ticket, outcome, done.result)

    def _write_all(self, groups: dict[str, list[Done]]) -> list[tuple[list[Done], list[CommitOutcome]]]:
        """Write each repository's group; different repositories in parallel (their locks are separate).

        Only the git work runs in the helper threads; outcomes are handled back on this thread.
        """
        def write(repo_key: str) -> tuple[list[Done], list[CommitOutcome]]:
            items = groups[repo_key]
            return items, self.writers[repo_key].write([self._write_item(d.ticket, d.result) for d in items])

        if len(groups) <= 1:
            return [write(key) for key in groups]
        if self._parallel is None:
            self._parallel = ThreadPoolExecutor(PARALLEL_REPOS, thread_name_prefix="runner-git")
        return list(self._parallel.map(write, groups))

    def _write_item(self, ticket: Ticket, result: SageResult) -> WriteItem:
        number = ticket.issue.number
        return WriteItem(number, self.branch_for(number), self.directory_for(number), result.files,
                         self.message_for(ticket, result), result.changes, result.modes)

    def _failed_attempt(self, ticket: Ticket, error: BaseException) -> None:
        ticket.last_error = describe(error)
        plan = self.policy.plan(error, ticket.attempts)
        if plan.action == "retry":
            self.retries += 1
            self.queue.requeue(ticket, int(ticket.triage.priority), ticket.enqueued_mono,
                               time.monotonic() + plan.delay_s)
        else:
            status = DEFERRED if plan.action == "defer" else FAILED
            self.finish(ticket, status, None, ticket.last_error, None)


def describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first}"[:500] if first else type(error).__name__
