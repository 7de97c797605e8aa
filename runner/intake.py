"""Intake: the reader thread between the input file and the priority queue.

It streams validated items, records invalid and skipped ones in the report,
triages each issue, notes possible duplicates, and puts a ticket on the
bounded queue, blocking while the queue is full (backpressure, never drops).
"""
from __future__ import annotations

import threading
from typing import Callable

from runner import source
from runner.config import Config
from runner.dedupe import DuplicateFinder
from runner.ledger import Ledger, Ticket
from runner.models import InvalidItem, Issue
from runner.queue import PriorityQueue
from runner.report import ReportSink
from runner.triage import Triager


class Intake(threading.Thread):
    def __init__(
        self,
        scan: source.Scan,
        config: Config,
        repo_keys: dict[str, str],
        queue: PriorityQueue[Ticket],
        ledger: Ledger,
        sink: ReportSink,
        on_enqueued: Callable[[Ticket], None],
        on_unroutable: Callable[[Ticket, str], None],
        stop: threading.Event,
        skip_reason: Callable[[str, Issue], str | None] = lambda _key, _issue: None,
    ) -> None:
        super().__init__(name="runner-intake", daemon=True)
        self.scan = scan
        self.config = config
        self.repo_keys = repo_keys
        self.queue = queue
        self.ledger = ledger
        self.sink = sink
        self.on_enqueued = on_enqueued
        self.on_unroutable = on_unroutable
        self.stop = stop
        self.skip_reason = skip_reason
        self.triager = Triager(config.rules)
        self.finders: dict[str, DuplicateFinder] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for event in source.items(self.scan):
                if self.stop.is_set():
                    break
                self.sink.count_read()
                self._handle(event)
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
        triage = self.triager.triage(issue)
        repo_key = self._route(issue)
        ticket = Ticket(issue, triage, repo_key if repo_key is not None else (issue.repository or ""))
        if repo_key is None:
            self.on_unroutable(ticket, f"repository {issue.repository!r} is not mapped to a local clone "
                                       f"(use --repo {issue.repository}=PATH or [repos] in runner.toml)")
            return
        skip = self.skip_reason(repo_key, issue)
        if skip:
            self.sink.add_skipped(issue.position, issue.number, skip)
            return
        finder = self.finders.setdefault(repo_key, DuplicateFinder())
        ticket.duplicates = finder.check(issue.number, issue.title)
        self.ledger.add(ticket)
        self.on_enqueued(ticket)
        while not self.queue.put(ticket, int(triage.priority), timeout=0.5):
            if self.stop.is_set():
                return

    def _route(self, issue: Issue) -> str | None:
        """The repository key an issue goes to: its own mapping, else the default `--repo`."""
        if issue.repository and issue.repository in self.repo_keys:
            return issue.repository
        return "" if "" in self.repo_keys else None
