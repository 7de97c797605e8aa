"""Log files in the state directory, rotated, with the token scrubbed.

Cron runs are read after the fact, so every run leaves its story in
`<state-dir>/logs/runner.log` (5 files of 5 MB at most): start and end,
failures and deferrals, breaker transitions, applied scaling decisions.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from runner.core.logs import LOGGER
from runner.core.secrets import redact
from runner.core.storage import StorageError, write_failure

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 4


class _RedactingFormatter(logging.Formatter):
    """Scrubs the whole formatted line, so a traceback or stack logged with it is covered too."""

    def __init__(self, fmt: str, secrets: list[str] | None) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets or () if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), *self.secrets)


def setup_logging(state_dir: Path, secrets: list[str] | None = None) -> logging.Logger:
    """Attach a rotating file handler (once per process) to the `runner` logger. Every line is
    scrubbed of `secrets` and of the tokens runner read or took out of its environment.
    `StorageError` when the log directory cannot be written (the first write a run makes)."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    target = (state_dir / "logs" / "runner.log").resolve()
    for handler in logger.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == target:
            return logger
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot write the log file {target}: {write_failure(target.parent, exc)}") from None
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(process)d %(message)s", secrets))
    logger.addHandler(handler)
    logger.propagate = False
    return logger
