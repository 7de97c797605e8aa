"""The terminal side: a live view on a terminal, a log line every few seconds
otherwise, and a summary table at the end. Only the master imports this."""
from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from runner.ghclient import redact

LOG_EVERY_S = 5.0
PRIORITIES = ("Critical", "High", "Medium", "Low")


class TerminalObserver:
    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, soft_wrap=True)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.done = 0
        self.total = 0
        self._progress: Progress | None = None
        self._task = None
        self._last_log = time.monotonic()

    def run_started(self, info: dict[str, Any]) -> None:
        self.total = info["items"]
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]runner[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[status]}"), console=self.console, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("issues", total=self.total, status="starting")
        elif not self.quiet:
            repos = ", ".join(f"{k}={v}" for k, v in info["repositories"].items())
            self.console.print(f"runner {info['run_id']}: {self.total} items, {info['workers']} workers, {repos}")

    def issue_finished(self, record: dict[str, Any]) -> None:
        self.done += 1

    def tick(self, snapshot: dict[str, Any]) -> None:
        depth = " ".join(f"{p[0]}:{n}" for p, n in zip(PRIORITIES, snapshot["queue"]))
        p95 = f"{snapshot['p95']:.2f}s" if snapshot.get("p95") is not None else "-"
        status = (f"queue {depth} | workers {snapshot['busy']}/{snapshot['workers']} busy, target {snapshot['target']}"
                  f" | {snapshot['throughput']}/s p95 {p95} | breaker {snapshot['breaker']} | scaling {snapshot['scaling']}")
        if self._progress is not None:
            handled = sum(snapshot["totals"][k] for k in ("succeeded", "failed", "deferred", "skipped", "invalid"))
            self._progress.update(self._task, completed=handled, status=status)
        elif not self.quiet and time.monotonic() - self._last_log >= LOG_EVERY_S:
            self._last_log = time.monotonic()
            self.console.print(f"runner: {self.done} issues done | {status}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def summary(self, outcome: Any) -> None:
        self.close()
        totals = outcome.totals
        if self.quiet:
            line = ", ".join(f"{k} {v}" for k, v in totals.items())
            print(f"runner {outcome.run_id}: exit {outcome.exit_code}: {line}; report {outcome.json_path}",
                  file=sys.stderr if outcome.exit_code else sys.stdout)
            return
        table = Table(title=f"runner {outcome.run_id}", show_header=True)
        for key in totals:
            table.add_column(key, justify="right")
        table.add_row(*(str(v) for v in totals.values()))
        self.console.print(table)
        if outcome.by_status:
            self.console.print("by status: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.by_status.items())))
        self.console.print(f"report: {outcome.json_path}\n        {outcome.md_path}")
        self.console.print(f"exit code {outcome.exit_code}")

    def note(self, message: str) -> None:
        print(f"runner: {message}", file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        self.close()
        message = redact(message)
        if self.console.is_terminal:
            self.console.print(f"[bold red]runner: error:[/] {message}", highlight=False, soft_wrap=True)
        else:
            print(f"runner: error: {message}", file=sys.stderr, flush=True)
