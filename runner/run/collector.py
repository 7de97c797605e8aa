"""Collector: the thread that turns sage results into commits and report records.

    pool futures ──> results (SimpleQueue) ──> Collector ──add──> WriteBatch per repository
                                                   │              (git fast-import, fed as
                                                   │               results arrive)
                                                   ├── failures: RetryPolicy -> requeue / failed / deferred
                                                   └── batch closed: outcomes, a chunk at a time -> Recorder

Each result is streamed into its repository's open batch at once, so git builds
objects while the sages are still working. A batch is sealed after `BATCH_MAX`
commits, after `BATCH_AGE_S` (`TAIL_BATCH_AGE_S` near the end of the input; longer
while more than two repositories have a batch open), or as soon as every open issue
is in it (which is how the last one ends a run with little left for git to do);
git then finishes it while the next batch of that repository already streams, and
its issues are recorded once its branches are in place, `RECORD_CHUNK` at a time
between new results so that git is never left waiting for input. One batch per
repository may be sealed at a time.
"""

from __future__ import annotations

import queue as stdqueue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from runner.core.models import CommitOutcome, SageResult, Ticket
from runner.core.retry import RetryPolicy
from runner.core.status import Status
from runner.git.store import RepoWriter, WriteBatch, WriteItem
from runner.run.ledger import Ledger
from runner.run.queue import PriorityQueue

BATCH_MAX = 1000
BATCH_AGE_S = 1.0
TAIL_BATCH_AGE_S = 0.25
TAIL_QUEUE = 1000
OPEN_BATCHES_AT_BASE_AGE = 2
POLL_S = 0.05
DRAIN_MAX = 256
RECORD_CHUNK = 64


@dataclass
class Done:
    """A finished sage task: the ticket and either its result or its exception."""

    ticket: Ticket
    result: SageResult | None
    error: BaseException | None


# An issue whose commit is in an open or sealed batch, with the result it was made from.
Streamed = tuple[Ticket, SageResult]


class Collector(threading.Thread):
    def __init__(
        self,
        *,
        writers: dict[str, RepoWriter],
        ledger: Ledger,
        queue: PriorityQueue[Ticket],
        policy: RetryPolicy,
        finish: Callable[..., None],
        after_commit: Callable[[list[tuple[Ticket, CommitOutcome, SageResult]]], None],
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
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self._open: dict[str, tuple[WriteBatch, list[Streamed]]] = {}
        self._sealed: dict[str, tuple[WriteBatch, list[Streamed]]] = {}
        self._unrecorded: deque[tuple[Ticket, CommitOutcome, SageResult]] = deque()

    def submit_done(self, done: Done) -> None:
        self.results.put(done)

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        try:
            while True:
                dones = self._next_results(wait=not self._unrecorded)
                if dones:
                    self._handle(dones)
                self._seal_due()
                self._collect_sealed()
                self._record_some(RECORD_CHUNK)
                if self._quiet() and (self._halt.is_set() or self.ledger.finished()):
                    break
        except BaseException as exc:
            self.error = exc
        finally:
            self._close_all_quietly()

    def _quiet(self) -> bool:
        return not (self._open or self._sealed or self._unrecorded) and self.results.empty()

    def _next_results(self, wait: bool) -> list[Done]:
        """What has arrived; waits only when nothing is left to record."""
        try:
            if wait:
                first = self.results.get(timeout=POLL_S if self._open or self._sealed else 0.1)
            else:
                first = self.results.get_nowait()
        except stdqueue.Empty:
            return []
        dones = [first]
        while len(dones) < DRAIN_MAX:
            try:
                dones.append(self.results.get_nowait())
            except stdqueue.Empty:
                break
        return dones

    def _handle(self, dones: list[Done]) -> None:
        for done in dones:
            if done.error is not None:
                self._failed_attempt(done.ticket, done.error)
                continue
            result = done.result
            assert result is not None, "a task that raised nothing returned a result"
            if result.written is not None:
                self.after_commit([(done.ticket, result.written, result)])
            elif result.fixer is not None and result.fixer.get("error"):
                self.finish(done.ticket, Status.FAILED, None, result.fixer["error"], result)
            elif result.fixer is not None and not result.changes:
                self.finish(done.ticket, Status.NO_CHANGE, None, None, result)
            else:
                self._stream(done.ticket, result)

    def _stream(self, ticket: Ticket, result: SageResult) -> None:
        repo_key = ticket.repo_key
        if repo_key not in self._open:
            self._open[repo_key] = (self.writers[repo_key].open_batch(), [])
        batch, members = self._open[repo_key]
        batch.add(self._write_item(ticket, result))
        members.append((ticket, result))
        if len(batch) >= BATCH_MAX:
            self._seal(repo_key)

    def _seal_due(self) -> None:
        if not self._open:
            return
        now = time.monotonic()
        last = self._nothing_else_in_flight()
        age_limit = self._age_limit()
        for repo_key, (batch, _) in list(self._open.items()):
            if last or now - batch.opened_at >= age_limit:
                self._seal(repo_key)

    def _age_limit(self) -> float:
        """Shorter batches once the whole input is read and little is queued: after the last
        result, what is left to wait for is the last batch's ref updates. Longer ones when
        several repositories have a batch open, so that git processes start about as often
        as with one or two (with eight, each batch's own costs made the run 5% slower)."""
        base = BATCH_AGE_S
        if self.ledger.intake_done.is_set() and len(self.queue) < TAIL_QUEUE:
            base = TAIL_BATCH_AGE_S
        return base * max(1.0, len(self._open) / OPEN_BATCHES_AT_BASE_AGE)

    def _nothing_else_in_flight(self) -> bool:
        """Every open issue is already here, so no result can join a batch before it is old:
        the end of a run, or of a burst. (Sealing on a mere pause in results spawned a git
        process per repository every few hundred milliseconds with eight repositories.)"""
        here = len(self._unrecorded) + sum(len(m) for _, m in (*self._open.values(), *self._sealed.values()))
        return self.results.empty() and self.ledger.open_count() <= here

    def _seal(self, repo_key: str) -> None:
        if repo_key in self._sealed:
            self._collect(*self._sealed.pop(repo_key))
        batch, _members = self._sealed[repo_key] = self._open.pop(repo_key)
        batch.seal()

    def _collect_sealed(self) -> None:
        for repo_key, (batch, members) in list(self._sealed.items()):
            if batch.ready():
                del self._sealed[repo_key]
                self._collect(batch, members)

    def _collect(self, batch: WriteBatch, members: list[Streamed]) -> None:
        self._unrecorded.extend(
            (ticket, outcome, result) for (ticket, result), outcome in zip(members, batch.close(), strict=False)
        )

    def _record_some(self, count: int) -> None:
        """Record a few outcomes at a time: between them new results keep git busy."""
        take = self._unrecorded.popleft
        chunk = [take() for _ in range(min(count, len(self._unrecorded)))]
        if chunk:
            self.after_commit(chunk)

    def _close_all_quietly(self) -> None:
        """On the way out (normally nothing is left): never leave a repository locked."""
        left = [*self._sealed.values(), *self._open.values()]
        self._sealed.clear()
        self._open.clear()
        for batch, members in left:
            try:
                self._collect(batch, members)
            except Exception as exc:
                self.error = self.error or exc
        try:
            self._record_some(len(self._unrecorded))
        except Exception as exc:
            self.error = self.error or exc

    def _write_item(self, ticket: Ticket, result: SageResult) -> WriteItem:
        number = ticket.issue.number
        return WriteItem(
            number,
            self.branch_for(number),
            self.directory_for(number),
            result.files,
            self.message_for(ticket, result),
            result.changes,
            result.modes,
        )

    def _failed_attempt(self, ticket: Ticket, error: BaseException) -> None:
        ticket.last_error = describe(error)
        plan = self.policy.plan(error, ticket.attempts)
        if plan.action == "retry":
            self.retries += 1
            self.queue.requeue(
                ticket, int(ticket.triage.priority), ticket.enqueued_mono, time.monotonic() + plan.delay_s
            )
        else:
            status = Status.DEFERRED if plan.action == "defer" else Status.FAILED
            self.finish(ticket, status, None, ticket.last_error, None)


def describe(error: BaseException, limit: int = 500) -> str:
    """The error's type and first line, at most `limit` characters, cut between words: a token
    in it stays whole, so redaction still recognises it."""
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    if not first:
        return type(error).__name__
    line = f"{type(error).__name__}: {first}"
    if len(line) <= limit:
        return line
    cut = line[: limit + 1].rsplit(None, 1)[0]
    return cut if len(cut) <= limit else ""
