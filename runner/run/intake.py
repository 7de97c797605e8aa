"""Intake: the reader thread between the input file and the priority queue.

It streams validated items, records invalid and skipped ones in the report,
routes each issue to its clone (runner/run/routing.py; an issue of a repository
no clone holds is skipped), leaves out those the user did not select (counted, not
listed: runner.core.selection; for `--limit` a first pass over the input finds
the most urgent), triages it, notes possible duplicates, and puts a
ticket on the bounded queue, blocking while the queue is full (backpressure,
never drops).

After a stop it keeps reading, without analysis or queueing, so that every
valid issue of the input still ends in the report: as skipped or invalid like
any other run, else as deferred, recorded in batches.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable

from runner.config import Config
from runner.core.models import InvalidItem, Issue, Ticket
from runner.learn.settings import RunTriager
from runner.records.report import ReportSink
from runner.run import source
from runner.run.dedupe import DuplicateFinder
from runner.run.ledger import Ledger
from runner.run.queue import PriorityQueue
from runner.run.routing import Router

STOPPED_BATCH = 500


class Intake(threading.Thread):
    def __init__(
        self,
        *,
        scan: source.Scan,
        config: Config,
        router: Router,
        queue: PriorityQueue[Ticket],
        ledger: Ledger,
        sink: ReportSink,
        on_enqueued: Callable[[Ticket], None],
        on_stopped: Callable[[list[Ticket]], None],
        stop: threading.Event,
        skip_reason: Callable[[str, Issue], str | None] = lambda _key, _issue: None,
        own_labels: Callable[[str, int], frozenset[str]] = lambda _key, _number: frozenset(),
    ) -> None:
        super().__init__(name="runner-intake", daemon=True)
        self.scan = scan
        self.config = config
        self.router = router
        self.queue = queue
        self.ledger = ledger
        self.sink = sink
        self.on_enqueued = on_enqueued
        self.on_stopped = on_stopped
        self.stop = stop
        self.skip_reason = skip_reason
        self.own_labels = own_labels
        self.triager = RunTriager(config.rules, config.state_dir, config.learn)
        self.finders: dict[str, DuplicateFinder] = {}
        self.error: BaseException | None = None
        self.read_after_stop = 0
        self.chosen: set[tuple[str, int]] | None = None
        self._stopped: list[Ticket] = []

    def run(self) -> None:
        try:
            self.chosen = self._highest_priority(self.config.selection.limit)
            for event in source.items(self.scan):
                self.sink.count_read()
                self._handle(event)
            self._flush_stopped()
        except BaseException as exc:  # reported by the master, which owns the exit code
            self.error = exc
        finally:
            self.ledger.mark_intake_done()

    def _handle(self, event: Issue | InvalidItem | source.Skip) -> None:
        if isinstance(event, InvalidItem):
            self.sink.add_invalid(event.position, event.line, event.reason, event.number)
        elif isinstance(event, source.Skip):
            self.sink.add_skipped(event.position, event.number, event.reason)
        else:
            self._admit(event)

    def _admit(self, issue: Issue) -> None:
        route = self.router.route(issue.repository)
        if route.key is None:
            self.sink.add_skipped(issue.position, issue.number, route.reason or "no clone for this issue")
            return
        issue = source.without_labels(issue, self.own_labels(route.key, issue.number))
        left_out = self.config.selection.left_out_by(issue)
        if left_out is None and self.chosen is not None and (route.key, issue.number) not in self.chosen:
            left_out = "--limit"
        if left_out is not None:
            self.sink.add_not_selected(left_out)
            self.finders.setdefault(route.key, DuplicateFinder()).remember(issue.number, issue.title)
            return
        skip = self.skip_reason(route.key, issue)
        if skip:
            self.sink.add_skipped(issue.position, issue.number, skip)
            return
        triage = self.triager.triage(issue, route.repository or issue.repository or self.config.github)
        ticket = Ticket(issue, triage, route.key, repository=route.repository)
        if self.stop.is_set():
            self._defer(ticket)
            return
        finder = self.finders.setdefault(route.key, DuplicateFinder())
        ticket.duplicates = finder.check(issue.number, issue.title)
        self.ledger.add(ticket)
        self.on_enqueued(ticket)
        while not self.queue.put(ticket, int(ticket.triage.priority), timeout=0.5):
            if self.stop.is_set():
                return

    def _highest_priority(self, limit: int | None) -> set[tuple[str, int]] | None:
        """`--limit`: the (clone, number) of the `limit` most urgent issues the run would take, by
        triage priority, ties to the earlier in the input (the queue's order); a pass over the whole
        input holding `limit` entries. None without a limit."""
        if limit is None:
            return None
        best: list[tuple[int, int, tuple[str, int]]] = []
        for event in source.items(self.scan):
            if self.stop.is_set():
                break
            if not isinstance(event, Issue):
                continue
            key = self.router.route(event.repository).key
            if key is None or self.config.selection.left_out_by(event) or self.skip_reason(key, event):
                continue
            entry = (-int(self.triager.triage(event).priority), -event.position, (key, event.number))
            if len(best) < limit:
                heapq.heappush(best, entry)
            elif entry > best[0]:
                heapq.heapreplace(best, entry)
        return {key for _, _, key in best}

    def _defer(self, ticket: Ticket) -> None:
        """Read after a stop: no analysis, no queue; recorded as deferred a batch at a time."""
        self.read_after_stop += 1
        self._stopped.append(ticket)
        if len(self._stopped) >= STOPPED_BATCH:
            self._flush_stopped()

    def _flush_stopped(self) -> None:
        if self._stopped:
            batch, self._stopped = self._stopped, []
            self.on_stopped(batch)
