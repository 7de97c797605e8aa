"""Plain types shared by the run and its callers: the outcome, the observer, an aborted start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runner.core.errors import RunnerError


class RunAbort(RunnerError):
    """The run cannot start (nothing was written); carries its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Observer(Protocol):
    """What the terminal UI (or a log) hears; the pipeline never imports the UI."""

    def run_started(self, info: dict[str, Any]) -> None: ...
    def issue_finished(self, record: dict[str, Any]) -> None: ...
    def tick(self, snapshot: dict[str, Any]) -> None: ...


class NullObserver:
    def run_started(self, info: dict[str, Any]) -> None:
        pass

    def issue_finished(self, record: dict[str, Any]) -> None:
        pass

    def tick(self, snapshot: dict[str, Any]) -> None:
        pass


@dataclass
class RunOutcome:
    """How a run ended. Without a report (`report_error` says why) the paths are None and
    `exit_code` is ExitCode.FAILED; `work_exit_code` is what the issues alone would have given."""

    exit_code: int
    run_id: str
    json_path: Path | None
    md_path: Path | None
    totals: dict[str, int]
    by_status: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)
    report_error: str | None = None
    work_exit_code: int | None = None

    def __post_init__(self) -> None:
        if self.work_exit_code is None:
            self.work_exit_code = self.exit_code
