"""The terminal side: a live view on a terminal, a log line every few seconds
otherwise, and a summary table at the end. Only the master imports this.

Everything printed may hold text that is not ours (paths, issue titles, error
replies from GitHub), so Rich's markup and emoji codes are off for the whole
console: text is printed as it is, and styles come only from `Text` spans.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from runner.core.secrets import redact

LOG_EVERY_S = 5.0
PRIORITIES = ("Critical", "High", "Medium", "Low")


def plain_console(**options: Any) -> Console:
    """A console that prints strings literally: `[x]` and `:x:` are text, not markup or emoji."""
    return Console(
        **{"stderr": True, "soft_wrap": True, "markup": False, "emoji": False, "highlight": False, **options}
    )


class TerminalObserver:
    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.console = console or plain_console()
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.done = 0
        self.total = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_log = time.monotonic()

    def run_started(self, info: dict[str, Any]) -> None:
        self.total = info["items"]
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]runner[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[status]}", markup=False),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("issues", total=self.total, status="starting")
        elif not self.quiet:
            repos = ", ".join(f"{k}={v}" for k, v in info["repositories"].items())
            self.console.print(f"runner {info['run_id']}: {self.total} items, {info['workers']} workers, {repos}")

    def issue_finished(self, record: dict[str, Any]) -> None:
        self.done += 1

    def tick(self, snapshot: dict[str, Any]) -> None:
        depth = " ".join(f"{p[0]}:{n}" for p, n in zip(PRIORITIES, snapshot["queue"], strict=False))
        p95 = f"{snapshot['p95']:.2f}s" if snapshot.get("p95") is not None else "-"
        status = (
            f"queue {depth} | workers {snapshot['busy']}/{snapshot['workers']} busy, target {snapshot['target']}"
            f" | {snapshot['throughput']}/s p95 {p95} | breaker {snapshot['breaker']} | scaling {snapshot['scaling']}"
            f"{paused_note(snapshot.get('paused_until'))}"
        )
        if self._progress is not None:
            assert self._task is not None
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
        if outcome.report_error:
            self.error(outcome.report_error)
        if outcome.extra.get("nothing_to_do"):
            print(f"runner {outcome.run_id}: nothing to do: {outcome.extra['nothing_to_do']}")
            return
        if self.quiet:
            line = ", ".join(f"{k} {v}" for k, v in totals.items())
            where = f"report {outcome.json_path}" if outcome.json_path else "no report"
            print(
                f"runner {outcome.run_id}: exit {outcome.exit_code}: {line}; {where}",
                file=sys.stderr if outcome.exit_code else sys.stdout,
            )
            return
        table = Table(title=Text(f"runner {outcome.run_id}"), show_header=True)
        for key in totals:
            table.add_column(Text(key), justify="right")
        table.add_row(*(Text(str(v)) for v in totals.values()))
        self.console.print(table)
        if outcome.by_status:
            self.console.print("by status: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.by_status.items())))
        if outcome.json_path:
            self.console.print(f"report: {outcome.json_path}\n        {outcome.md_path}")
        else:
            self.console.print("report: not written")
        self.console.print(f"exit code {outcome.exit_code}")

    def note(self, message: str) -> None:
        print(f"runner: {message}", file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        self.close()
        message = redact(message)
        if self.console.is_terminal:
            self.console.print(Text.assemble(("runner: error:", "bold red"), " ", message), soft_wrap=True)
        else:
            print(f"runner: error: {message}", file=sys.stderr, flush=True)


def paused_note(until: float | None) -> str:
    """The live view's word on a secondary rate limit: when GitHub lets runner write again (local time)."""
    if until is None:
        return ""
    return f" | paused by GitHub until {time.strftime('%H:%M:%S', time.localtime(until))}"
