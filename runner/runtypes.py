"""Plain types shared by the run and its callers: exit codes, the outcome, the observer."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DEFERRED, EXIT_LOCKED = 0, 1, 2, 3, 75


class RunAbort(Exception):
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
    `exit_code` is EXIT_FAILED; `work_exit_code` is what the issues alone would have given."""

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


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
