"""A run's parts, built in one place: which stage talks to which is readable here, top to bottom.

`ProcessRun` asks `assemble` once, after its repositories are open and its pool exists, and
keeps the `RunParts` it gets back; nothing is wired later. What the parts call back into the
run (a commit is done, an issue was queued, a stop kept issues from starting) is the run's
`RunHooks`, passed by keyword like every other collaborator.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from runner.config import Config, ConfigError
from runner.core.models import CommitOutcome, Issue, SageResult, Ticket
from runner.core.retry import RetryPolicy
from runner.git.message import commit_message
from runner.git.store import RepoWriter
from runner.github.breaker import CircuitBreaker
from runner.pool import WorkerPool
from runner.records.journal import Journal
from runner.records.metrics import RunMetrics
from runner.records.report import ReportError, ReportSink
from runner.run import source
from runner.run.collector import Collector
from runner.run.intake import Intake
from runner.run.ledger import Ledger
from runner.run.outcome import Observer
from runner.run.queue import PriorityQueue
from runner.run.recorder import Recorder
from runner.run.routing import Router
from runner.scaling import Autoscaler, PsutilSampler, ResourceMonitor, ScalingPolicy

if TYPE_CHECKING:
    from runner.run.publishing import PublishStage

MONITOR_INTERVAL_S = 0.1


class RunHooks(Protocol):
    """What the parts tell the run."""

    def after_commit(self, committed: list[tuple[Ticket, CommitOutcome, SageResult]]) -> None: ...
    def enqueued(self, ticket: Ticket) -> None: ...
    def defer_unstarted(self, tickets: list[Ticket], log_each: bool = False) -> None: ...
    def skip_reason(self, repo_key: str, issue: Issue) -> str | None: ...
    def step_recorder(self, repo_key: str) -> Callable[..., None]: ...


@dataclass
class Publishing:
    """The GitHub side of a run that publishes: one breaker and one pacer for every repository."""

    breaker: CircuitBreaker
    pacer: Any
    publishers: dict[str, Any]
    stage: PublishStage


@dataclass
class RunParts:
    sink: ReportSink
    ledger: Ledger
    recorder: Recorder
    queue: PriorityQueue[Ticket]
    collector: Collector
    intake: Intake
    monitor: ResourceMonitor
    autoscaler: Autoscaler
    publishing: Publishing | None

    @property
    def stage(self) -> PublishStage | None:
        return self.publishing.stage if self.publishing is not None else None

    @property
    def breaker(self) -> CircuitBreaker | None:
        return self.publishing.breaker if self.publishing is not None else None

    @property
    def pacer(self) -> Any:
        return self.publishing.pacer if self.publishing is not None else None

    def start_scaling(self) -> None:
        """Once the pool runs: sample the machine, and let the policy resize the pool."""
        self.monitor.start()
        self.autoscaler.start()


def assemble(
    *,
    config: Config,
    run_id: str,
    scan: source.Scan,
    writers: dict[str, RepoWriter],
    pool: WorkerPool,
    journal: Journal | None,
    observer: Observer,
    metrics: RunMetrics,
    router: Router,
    stop_event: threading.Event,
    hooks: RunHooks,
) -> RunParts:
    """Every part of one run, wired; nothing is started."""
    try:
        sink = ReportSink(config.report_dir, run_id)
    except ReportError as exc:
        raise ConfigError(f"cannot write reports in {config.report_dir}: {exc}") from None
    ledger = Ledger()
    recorder = Recorder(
        ledger=ledger,
        metrics=metrics,
        sink=sink,
        journal=journal,
        observer=observer,
        branch_for=config.branch_for,
        run_id=run_id,
    )
    queue: PriorityQueue[Ticket] = PriorityQueue(config.queue_size, config.aging_s)
    collector = Collector(
        writers=writers,
        ledger=ledger,
        queue=queue,
        policy=RetryPolicy(max_attempts=config.max_attempts),
        finish=recorder.finish,
        after_commit=hooks.after_commit,
        message_for=commit_message,
        directory_for=config.plan_dir_for,
        branch_for=config.branch_for,
    )
    publishing = _publishing(
        config=config,
        writers=writers,
        ledger=ledger,
        recorder=recorder,
        stop_event=stop_event,
        hooks=hooks,
        journal=journal,
    )
    intake = Intake(
        scan=scan,
        config=config,
        router=router,
        queue=queue,
        ledger=ledger,
        sink=sink,
        on_enqueued=hooks.enqueued,
        on_stopped=hooks.defer_unstarted,
        stop=stop_event,
        skip_reason=hooks.skip_reason,
        own_labels=_own_labels(config, journal),
    )
    monitor = ResourceMonitor(PsutilSampler(os.getpid(), pool.worker_pids), interval_s=MONITOR_INTERVAL_S)
    low, high = (config.workers, config.workers) if config.workers else (config.min_workers, config.max_workers)
    autoscaler = Autoscaler(
        pool=pool, policy=ScalingPolicy(low, high), monitor=monitor, metrics=metrics, queue_depth=lambda: len(queue)
    )
    return RunParts(
        sink=sink,
        ledger=ledger,
        recorder=recorder,
        queue=queue,
        collector=collector,
        intake=intake,
        monitor=monitor,
        autoscaler=autoscaler,
        publishing=publishing,
    )


def _own_labels(config: Config, journal: Journal | None) -> Callable[[str, int], frozenset[str]]:
    """The labels runner put on an issue in publish mode triage (from the journal), which the
    intake leaves out of the issue: runner's own output must not become its next triage's input."""
    settings = config.github_settings
    if journal is None or settings is None or settings.publish != "triage":
        return lambda _key, _number: frozenset()
    return lambda key, number: journal.triage_state(key, number)[1]


def _publishing(
    *,
    config: Config,
    writers: dict[str, RepoWriter],
    ledger: Ledger,
    recorder: Recorder,
    stop_event: threading.Event,
    hooks: RunHooks,
    journal: Journal | None,
) -> Publishing | None:
    """Publishers per repository when `--github` is set (and this is not a dry run): pull requests,
    or in publish mode triage labels and a comment on each issue. PyGithub is imported only then:
    a local run does not pay for it."""
    settings = config.github_settings
    if settings is None or config.dry_run:
        return None
    assert config.github is not None, "--github comes with the GitHub settings"
    from runner.github.client import make_github
    from runner.github.pacing import Pacer
    from runner.github.publisher import Publisher
    from runner.github.triage import LabelMemory, TriagePublisher
    from runner.run.publishing import PublishStage

    breaker = CircuitBreaker(
        "github",
        window_size=20,
        failure_rate_threshold=0.5,
        minimum_calls=5,
        wait_in_open_s=30.0,
        permitted_calls_in_half_open=3,
    )
    gh = make_github(settings)
    pacer = Pacer(
        settings.write_interval_s,
        settings.notify_interval_s,
        settings.content_per_minute,
        settings.content_per_hour,
        settings.max_wait_s,
        settings.secondary_wait_s,
        settings.time_scale,
    )

    def publisher(key: str, w: RepoWriter) -> Publisher:
        common: dict[str, Any] = dict(
            settings=settings,
            gh=gh,
            full_name=key or config.github,
            repo_path=w.repo,
            base=w.base_name,
            breaker=breaker,
            pacer=pacer,
            on_step=hooks.step_recorder(key),
        )
        if settings.publish == "triage":
            return TriagePublisher(memory=LabelMemory(journal, key), **common)
        return Publisher(**common)

    publishers = {key: publisher(key, w) for key, w in writers.items()}
    stage = PublishStage(
        publishers=publishers, ledger=ledger, finish=recorder.finish, labels=settings.labels, stopping=stop_event
    )
    return Publishing(breaker=breaker, pacer=pacer, publishers=publishers, stage=stage)
