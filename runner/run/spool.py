"""The input of `runner process` as a file: standard input copied, or the open issues of
`--github OWNER/NAME` fetched, because the source reads its input twice (a validating scan,
then the issues) and neither stdin nor a listing can be read twice.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from runner.config import Config
from runner.run import source
from runner.run.outcome import RunAbort


def spool_input(config: Config, input_spec: str | None, work_dir: Path, extra: dict[str, Any]) -> Path:
    """stdin, or the open issues fetched from GitHub, as a file the source can read twice; the
    fetched count goes in `extra` (the report's `fetched`)."""
    if input_spec == "-":
        return source.spool_stdin(work_dir)
    from runner.github.client import make_github
    from runner.github.fetch import FetchError, fetch_issues

    settings = config.github_settings
    assert settings is not None and config.github is not None
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="fetched-", suffix=".jsonl", dir=work_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            stats = fetch_issues(
                make_github(settings),
                config.github,
                out,
                since=config.selection.since,
                cache_dir=config.state_dir / "http-cache",
                max_wait_s=settings.max_wait_s,
            )
    except FetchError as exc:
        Path(name).unlink(missing_ok=True)
        raise RunAbort(f"fetching issues from {config.github}: {exc}", exc.exit_code) from None
    extra["fetched"] = getattr(stats, "issues", None)
    return Path(name)
