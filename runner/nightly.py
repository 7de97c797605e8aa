"""`runner nightly`: the cron batch over every configured repository.

For each `[repos]` entry it fetches the issues updated since the last
successful nightly run (GitHub's `since=`), adds the ones the journal still
owes (deferred, or marked by `runner retry`), and runs one `process` over all
of them with publishing on. Issues whose content hash is unchanged since they
were done are skipped without touching git or the API. The `since` mark moves
only when a run finishes without deferring anything, so a killed or
rate-limited run is picked up in full the next night.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from runner.config import Config
from runner.fetch import FetchError, fetch_issues
from runner.ghclient import make_github
from runner.journal import Journal
from runner.report import now_iso
from runner.runtypes import EXIT_USAGE, RunAbort

OWED_STATES = ("deferred", "retry", "queued", "committed", "pushing", "pushed", "opening-pr", "pr-opened", "commenting",
               "commented")


def nightly_input(config: Config, journal: Journal) -> tuple[Path, dict[str, str]]:
    """One JSON Lines file with every issue tonight's run should look at; and the new `since` marks."""
    if not config.repos or config.github_settings is None:
        raise RunAbort("runner nightly needs a [repos] table mapping OWNER/NAME to clones, and a GitHub token",
                       EXIT_USAGE)
    gh = make_github(config.github_settings)
    work_dir = config.state_dir / "tmp"
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="nightly-", suffix=".jsonl", dir=work_dir)
    marks = {}
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for repo in sorted(config.repos):
                marks[repo] = now_iso()
                fetch_issues(gh, repo, out, since=journal.get_meta(f"since:{repo}"),
                             cache_dir=config.state_dir / "http-cache", max_wait_s=config.github_settings.max_wait_s)
                _append_owed(gh, repo, journal, out)
    except FetchError as exc:
        Path(name).unlink(missing_ok=True)
        raise RunAbort(f"fetching issues: {exc}", exc.exit_code) from None
    return Path(name), marks


def _append_owed(gh, repo: str, journal: Journal, out) -> None:
    owed = list(journal.rows(states=OWED_STATES, repo=repo))
    if not owed:
        return
    handle = gh.get_repo(repo)
    for row in owed:
        out.write(json.dumps(handle.get_issue(row.number).raw_data) + "\n")


def advance_marks(journal: Journal, marks: dict[str, str], exit_code: int, stopped: bool) -> None:
    """Move each repository's `since` mark once a run has left nothing deferred."""
    if stopped or exit_code not in (0, 1):
        return
    for repo, mark in marks.items():
        journal.set_meta(f"since:{repo}", mark)
