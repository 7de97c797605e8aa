"""Intake: the reader thread between the input file and the priority queue.

It streams validated items, records invalid and skipped ones in the report,
routes each issue to its clone (runner/run/routing.py; an issue of a repository
no clone holds is skipped), triages it, notes possible duplicates, and puts a
ticket on the bounded queue, blocking while the queue is full (backpressure,
never drops).

After a stop it keeps reading, without analysis or queueing, so that every
valid issue of the input still ends in the report: as skipped or invalid like
any other run, else as deferred, recorded in batches.
"""
from __future__ import annotations

import threading
from typing import Callable

from runner.run import source
from runner.config import Config
from runner.run.dedupe import DuplicateFinder
from runner.run.ledger import Ledger
from runner.core.models import Ticket
from runner.core.models import InvalidItem, Issue
from runner.run.queue import PriorityQueue
from runner.records.report import ReportSink
from runner.run.routing import Router
from runner.learn.settings import RunTriager

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
        self._stopped: list[Ticket] = []

    def run(self) -> None:
        try:
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
