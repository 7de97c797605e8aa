"""`runner process`: the master process from input file to report.

    input ──scan──> Intake ──put──> PriorityQueue ──get──> dispatch loop (this thread)
                    (thread)        (bounded heap)          │ submit while the pool has a free slot
                                                            ▼
                                   Collector <──results── pool of sages (processes)
                                   (thread: git writes, retries, records)
                                        │ terminal states, a batch at a time
                                        ▼
                                   Recorder ──> ledger, metrics, journal,
                                                ReportSink ──> <run-id>.json / .md

Each stage hands plain data to the next; only retries flow back, into the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner.config import Config, ConfigError
from runner.core.clock import new_run_id
from runner.core.logs import LOGGER
from runner.core.models import CommitOutcome, SageResult, Ticket
from runner.core.status import Status
from runner.git.store import RepoWriter
from runner.pool import InitializerError, PoolBroken, WorkerPool
from runner.records.issue import CarriedIssue, record_carried
from runner.records.journal import Journal
from runner.records.metrics import RunMetrics
from runner.run import source
from runner.run.backend import make_pool, start_early
from runner.run.closing import finish_run
from runner.run.collector import Done
from runner.run.outcome import NullObserver, Observer, RunOutcome
from runner.run.parts import RunParts, assemble
from runner.run.recorder import Finish
from runner.run.repositories import fixer_spec, index_paths, open_writers, sage_outputs
from runner.run.routing import Router
from runner.run.spool import spool_input
from runner.sage import worker as sage

log = logging.getLogger(LOGGER)
FIXER_MARGIN_S = 60.0
# Refill the pool once this many slots are free (each sage holds 8 tasks): one wake-up
# of the dispatcher per few results rather than per result.
DISPATCH_BURST = 4


class ProcessRun:
    """One run of `runner process` (or a night's batch): `execute` opens the repositories,
    builds the pool, asks `assemble` for the rest, dispatches, winds down and reports."""

    parts: RunParts  # set once by _run, from `assemble`

    def __init__(
        self,
        config: Config,
        input_spec: str | None,
        observer: Observer | None = None,
        journal: Journal | None = None,
        skip_unchanged: bool = False,
        command: str = "process",
        carried: Sequence[CarriedIssue] = (),
    ) -> None:
        self.journal = None if config.dry_run else journal
        self.carried = carried
        self.skip_unchanged = skip_unchanged
        self.command = command
        self.config = config
        self.input_spec = input_spec
        self.observer = observer or NullObserver()
        self.run_id = new_run_id()
        self.stop_event = threading.Event()
        self.metrics = RunMetrics()
        self.router = Router.from_config(config)
        self.extra: dict[str, Any] = {}
        self.stop_reason: str | None = None

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop taking new work; in-flight issues finish (up to the grace period), the rest are deferred."""
        log.warning("run %s: %s, stopping", self.run_id, reason)
        self.stop_reason = reason
        self.stop_event.set()

    def execute(self) -> RunOutcome:
        """Run the batch; raises ConfigError / InputError (exit 2) before anything is written."""
        start_early(self.config)
        writers = open_writers(self.config)
        work_dir = self.config.state_dir / "tmp"
        spooled = self.input_spec in ("-", None)
        path = (
            spool_input(self.config, self.input_spec, work_dir, self.extra)
            if spooled or self.input_spec is None
            else Path(self.input_spec)
        )
        try:
            if not path.is_file():
                raise source.InputError(f"{path}: no such file")
            setup = self._sage_setup(writers)
            pool = self._make_pool(setup)
            try:
                if self.config.backend == "local":
                    pool.start(wait=False)  # sages load the index while the input is checked
                return self._run(source.scan(path, work_dir, self.router.key), writers, pool)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        finally:
            if spooled:
                path.unlink(missing_ok=True)
            for writer in writers.values():
                writer.close()

    def _sage_setup(self, writers: dict[str, RepoWriter]) -> sage.SageSetup:
        started = time.perf_counter()
        paths = index_paths(writers, self.config.state_dir / "cache")
        self.extra["index_s"] = round(time.perf_counter() - started, 3)
        templates = str(self.config.templates_dir) if self.config.templates_dir else None
        repos = {key: (str(w.repo), w.base_commit, str(w.lock.lock_file)) for key, w in writers.items()}
        return sage.SageSetup(
            paths,
            templates,
            self.config.branch_prefix,
            self.config.plan_dir,
            repos,
            fixer_spec(self.config, writers, self.run_id),
            sage_outputs(self.config, writers),
        )

    def _make_pool(self, setup: sage.SageSetup):
        cfg = self.config
        if setup.fixer:
            cfg = replace(cfg, task_timeout=(cfg.task_timeout or 600.0) + FIXER_MARGIN_S)
        return make_pool(cfg, setup)

    def _run(self, scan: source.Scan, writers: dict[str, RepoWriter], pool: WorkerPool) -> RunOutcome:
        parts = self.parts = assemble(
            config=self.config,
            run_id=self.run_id,
            scan=scan,
            writers=writers,
            pool=pool,
            journal=self.journal,
            observer=self.observer,
            metrics=self.metrics,
            router=self.router,
            stop_event=self.stop_event,
            hooks=self,
        )
        if self.journal is not None:
            self.journal.run_started(self.run_id, self.command)
        record_carried(parts.sink, self.journal, self.run_id, self.carried)
        parts.intake.start()
        try:
            pool.start()
        except (InitializerError, PoolBroken) as exc:
            pool.shutdown(wait=False, cancel_futures=True)
            self.stop_event.set()
            raise ConfigError(f"sage workers could not start: {exc}") from None
        self.extra["init_s"] = [round(t, 4) for t in pool.stats().init_times_s]
        parts.start_scaling()
        log.info(
            "run %s (%s) started: %d items, %d workers, repositories %s",
            self.run_id,
            self.command,
            scan.items,
            pool.live_size,
            ", ".join(str(w.repo) for w in writers.values()),
        )
        self.observer.run_started(
            {
                "run_id": self.run_id,
                "items": scan.items,
                "workers": pool.live_size,
                "repositories": {k or "(default)": str(w.repo) for k, w in writers.items()},
            }
        )
        parts.collector.start()
        if parts.stage is not None:
            parts.stage.start()
        try:
            self._dispatch(pool)
        finally:
            self.extra["workers_at_end"] = pool.live_size
            self._wind_down(pool)
        for thread in (parts.intake, parts.collector, parts.stage):
            if thread is not None and thread.error is not None:
                raise thread.error
        return finish_run(self, pool)

    def _wind_down(self, pool: WorkerPool) -> None:
        """Stop every part in the order data flows, so nothing in flight is dropped."""
        parts = self.parts
        self.stop_event.set()
        parts.autoscaler.stop()
        parts.monitor.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        parts.queue.close()
        parts.collector.stop()
        parts.collector.join()
        if parts.stage is not None:
            parts.stage.stop()
            parts.stage.join()
        parts.intake.join(None if self.stop_reason else 5)  # after a stop it reads the rest of the input
        self._defer_leftovers()
        if parts.intake.read_after_stop:
            log.warning("run %s: %d issues read after the stop deferred", self.run_id, parts.intake.read_after_stop)

    def _dispatch(self, pool) -> None:
        """Hand queued issues to the pool, choosing each one only once a slot is free, so an
        urgent issue that arrives meanwhile still goes first."""
        last_tick, stopping_since = 0.0, None
        while not self.parts.ledger.finished():
            if self.stop_event.is_set():
                stopping_since = stopping_since or time.monotonic()
                if self._drained(time.monotonic() - stopping_since):
                    return
                continue
            if pool.wait_for_slot(0.1, at_least=DISPATCH_BURST):
                got = self.parts.queue.get(timeout=0.05)
                while got is not None:
                    self._start(pool, got[0])
                    got = self.parts.queue.get(timeout=0) if pool.free_slots() > 0 else None
            now = time.monotonic()
            if now - last_tick >= 0.25:
                last_tick = now
                self.observer.tick(self._snapshot(pool))
            for stage in (self.parts.collector, self.parts.stage):
                if stage is not None and stage.error is not None:
                    raise stage.error

    def _start(self, pool, ticket: Ticket) -> None:
        ticket.mark_started()
        self.metrics.record_started(ticket.key)
        future = pool.submit(sage.work, ticket.task())
        future.add_done_callback(
            lambda f, t=ticket: None if f.cancelled() else self.parts.collector.submit_done(_done(t, f))
        )

    def _drained(self, stopping_for: float) -> bool:
        """While stopping: defer what has not started; True once nothing runs or the grace is over."""
        self.defer_unstarted(self.parts.queue.drain(), log_each=True)
        busy = [t for t in self.parts.ledger.open_tickets() if t.started_at is not None]
        if not busy or stopping_for >= self.config.grace_s:
            return True
        self.parts.ledger.wait_changed(0.1)
        return False

    def skip_reason(self, repo_key: str, issue) -> str | None:
        if (
            self.skip_unchanged
            and self.journal is not None
            and self.journal.is_done(repo_key, issue.number, issue.content_hash)
        ):
            return "unchanged since the last run"
        return None

    def _snapshot(self, pool: WorkerPool) -> dict[str, Any]:
        last = self.parts.autoscaler.last
        return {
            "queue": self.parts.queue.depth_by_level(),
            "open": self.parts.ledger.open_count(),
            "workers": pool.live_size,
            "busy": pool.busy_count,
            "target": pool.target_size,
            "throughput": round(self.metrics.throughput_recent(5.0), 1),
            "p95": self.metrics.latency_p95(),
            "scaling": f"{last.action} {last.from_size}->{last.to_size}" if last else "-",
            "breaker": self.breaker_state(),
            "totals": dict(self.parts.sink.totals),
            "paused_until": self.parts.pacer.paused_until() if self.parts.pacer is not None else None,
        }

    def breaker_state(self) -> str:
        breaker = self.parts.breaker
        return breaker.state.value if breaker is not None else "-"

    def step_recorder(self, repo_key: str) -> Callable[..., None]:
        def record(number: int, step: str, pull_request: str | None = None) -> None:
            if self.journal is not None:
                self.journal.record(repo_key, number, step, pull_request=pull_request, run_id=self.run_id, durable=True)

        return record

    def after_commit(self, committed: list[tuple[Ticket, CommitOutcome, SageResult]]) -> None:
        """Without a publisher the terminal row follows at once in the same journal batch,
        so a separate "committed" row would add nothing a crash could use. A fix that failed
        its check is committed but stays local: `check-failed`, published only with `--publish-failed`."""
        stage = self.parts.stage
        if stage is None:
            self.parts.recorder.finish_many([_finish_local(t, o, r) for t, o, r in committed])
            return
        from runner.run.publishing import Pending

        for ticket, outcome, result in committed:
            held = (
                outcome.status in (Status.COMMITTED, Status.UNCHANGED)
                and result.check_error is not None
                and not self.config.publish_failed
            )
            if outcome.status not in (Status.COMMITTED, Status.UNCHANGED) or held:
                self.parts.recorder.finish_many([_finish_local(ticket, outcome, result)])
                continue
            if self.journal is not None:
                self.journal.record(
                    ticket.repo_key,
                    ticket.issue.number,
                    Status.COMMITTED,
                    commit=outcome.commit,
                    branch=outcome.branch,
                    content_hash=ticket.issue.content_hash,
                    run_id=self.run_id,
                )
            stage.submit(Pending(ticket, outcome, result))

    def enqueued(self, ticket: Ticket) -> None:
        self.metrics.record_enqueued(ticket.key)
        if self.journal is not None:
            self.journal.record(
                ticket.repo_key,
                ticket.issue.number,
                "queued",
                run_id=self.run_id,
                branch=self.config.branch_for(ticket.issue.number),
            )

    def defer_unstarted(self, tickets: list[Ticket], log_each: bool = False) -> None:
        """Issues a stop kept from starting: queued ones, and those read after the stop (logged as one count)."""
        reason = f"run stopped ({self.stop_reason}) before this issue started"
        self.parts.recorder.finish_many([Finish(t, Status.DEFERRED, error=reason) for t in tickets], log_each)

    def _defer_leftovers(self) -> None:
        """Whatever is still open after a stop ends as deferred, never lost."""
        reason = "run interrupted before this issue finished"
        self.parts.recorder.finish_many(
            [Finish(t, Status.DEFERRED, error=reason) for t in self.parts.ledger.open_tickets()]
        )


def _finish_local(ticket: Ticket, outcome: CommitOutcome, result: SageResult) -> Finish:
    """The terminal state of a commit that is not published: its own, or `check-failed`."""
    if outcome.status in (Status.COMMITTED, Status.UNCHANGED) and result.check_error is not None:
        return Finish(ticket, Status.CHECK_FAILED, outcome, result.check_error, result)
    return Finish(ticket, outcome.status, outcome, outcome.error, result)


def _done(ticket: Ticket, future) -> Done:
    try:
        return Done(ticket, future.result(), None)
    except BaseException as exc:  # the collector classifies it
        return Done(ticket, None, exc)
