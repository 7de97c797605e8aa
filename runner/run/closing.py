"""The end of a run: the report's sections (metrics, scaling, breaker and pacing events), the
report itself, the journal's row for the run, the closing log lines, and the `RunOutcome`.

A report that cannot be written fails the run (exit 1) but says that the work itself stands,
so a full disk or a bad `--report-dir` never reads as lost branches.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from runner.core.logs import LOGGER
from runner.core.status import ExitCode
from runner.pool import WorkerPool
from runner.records.report import ReportError
from runner.run.outcome import RunOutcome
from runner.run.summary import github_counts, pool_stats

if TYPE_CHECKING:
    from runner.run.pipeline import ProcessRun

log = logging.getLogger(LOGGER)


def finish_run(run: ProcessRun, pool: WorkerPool) -> RunOutcome:
    """Write the report, close the run's journal row, log the closing lines, and say how it ended."""
    sink, publishing = run.parts.sink, run.parts.publishing
    totals = sink.totals
    code = ExitCode.FAILED if totals["failed"] else ExitCode.DEFERRED if totals["deferred"] else ExitCode.OK
    metrics = run.metrics.as_dict()
    metrics.update(
        {
            "init_time_s": run.extra.get("init_s"),
            "index_build_s": run.extra.get("index_s"),
            "workers": run.extra.get("workers_at_end"),
            "pool": pool_stats(pool),
            "retries": run.parts.collector.retries,
            "peak_rss_bytes": {
                "master": run.parts.monitor.peak_master_rss(),
                "worker": run.parts.monitor.peak_worker_rss(),
            },
            "worker_count_series": run.parts.autoscaler.sizes,
        }
    )
    events: list[dict[str, Any]] = []
    pacing: list[dict[str, Any]] = []
    if publishing is not None:
        metrics["github"] = {**github_counts(publishing.publishers), "pacing": publishing.pacer.summary()}
        events = [e.as_dict() for e in publishing.breaker.events]
        pacing = [e.as_dict() for e in publishing.pacer.events]
    history = run.parts.autoscaler.history()
    sections = {
        "dry_run": run.config.dry_run,
        "metrics": metrics,
        "scaling_history": history,
        "breaker_events": events,
        "pacing_events": pacing,
    }
    if run.stop_reason:
        sections["stopped"] = run.stop_reason
    json_path = md_path = failure = None
    try:
        json_path, md_path = sink.finish(code, sections)
    except ReportError as exc:
        failure = _report_failure(run, exc)
    final = code if failure is None else ExitCode.FAILED
    if run.journal is not None:
        run.journal.run_finished(run.run_id, final, dict(sink.totals), str(json_path) if json_path else None)
    for event in events:
        log.info("breaker %s: %s -> %s", event["name"], event["from_state"], event["to_state"])
    for event in pacing:
        log.info(
            "pacing %s at %s: %s; intervals %s s / %s s",
            event["event"],
            event["at"],
            event["github"] or "-",
            event["write_interval_s"],
            event["notify_interval_s"],
        )
    for decision in history:
        if decision.get("applied"):
            log.info("scaling %s %s -> %s", decision["action"], decision["from_size"], decision["to_size"])
    log.info(
        "run %s finished: exit %d, %s%s; report %s",
        run.run_id,
        final,
        ", ".join(f"{k} {v}" for k, v in sink.totals.items()),
        f" (stopped: {run.stop_reason})" if run.stop_reason else "",
        json_path or "not written",
    )
    return RunOutcome(
        final,
        run.run_id,
        json_path,
        md_path,
        dict(totals),
        dict(sink.by_status),
        run.extra,
        report_error=failure,
        work_exit_code=code,
    )


def _report_failure(run: ProcessRun, exc: ReportError) -> str:
    """What failed, where, and what stands: the report is gone, the work is not."""
    if run.config.dry_run:
        work = "this was a dry run, so nothing was written to git"
    elif run.journal is not None:
        work = (
            f"the work itself is done: the branches are in place and every issue's final state is in the "
            f"journal {run.journal.path} (runner status --state-dir {run.config.state_dir} lists it)"
        )
    else:
        work = "the work itself is done: the branches are in place"
    message = (
        f"the report could not be written in {exc.report_dir}: {exc}; no report was kept (its partial "
        f"files were removed); {work}"
    )
    log.error("run %s: %s", run.run_id, message)
    return message
