"""The master: one `runner process` run, from the input file to the report.

    input ──> source (streamed) ──> intake thread: route, triage, dedupe ──> queue (heapq)
                                                                               │
      pipeline: dispatch loop ──> pool.submit(Task) ─── sages ───> futures ◀───┘
                                                                     │
      collector thread: commits (git.store) ◀── results ─────────────┘
           │       └─> publisher stage (runner.github), when publishing
           └─> recorder: ledger, report, journal, metrics (runner.records)

parts assembles a run's collaborators in one place; backend chooses the pool; spool makes the
input a file; closing writes the report at the end; nightly runs every configured repository
from the journal; outcome is what a run returns.
"""

from __future__ import annotations

from runner.run.outcome import NullObserver, Observer, RunAbort, RunOutcome

__all__ = ["NullObserver", "Observer", "RunAbort", "RunOutcome"]
