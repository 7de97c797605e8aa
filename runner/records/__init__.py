"""What a run keeps: the report a person reads, the journal the next run resumes from, and the
metrics both show.

    terminal state of an issue ──> issue.issue_record ──┬─> report.ReportSink (<run-id>.json/.md)
                                                        └─> journal.Journal (SQLite, WAL)
    every outcome ──> metrics.RunMetrics (latency, throughput) ──> report, scaling policy
"""

from __future__ import annotations

from runner.records.journal import Journal, JournalError
from runner.records.metrics import RunMetrics
from runner.records.report import ReportError, ReportSink

__all__ = ["Journal", "JournalError", "ReportError", "ReportSink", "RunMetrics"]
