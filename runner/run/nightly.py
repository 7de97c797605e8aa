"""`runner nightly`: the cron batch over every configured repository.

For each `[repos]` entry it fetches the issues updated since the last
successful nightly run (GitHub's `since=`), adds the ones the journal still
owes (deferred, or marked by `runner retry`), and runs one `process` over all
of them with publishing on. Issues whose content hash is unchanged since they
were done are skipped without touching git or the API. The `since` mark moves
only when a run finishes without deferring anything, so a killed or
rate-limited run is picked up in full the next night.

An owed issue that GitHub no longer has (deleted, transferred elsewhere) or
that was closed since is skipped and no longer owed; one that cannot be
fetched just now stays owed (deferred). Neither stops the night. A night with
nothing to do is a run like any other, journaled and reported, that exits 0
with one line saying so.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from runner.config import Config
from runner.core.clock import new_run_id, now_iso
from runner.core.retry import is_rate_limited
from runner.core.secrets import redact
from runner.core.status import ExitCode, Status
from runner.github.client import make_github
from runner.github.fetch import FetchError, fetch_issues
from runner.records.issue import CarriedIssue, record_carried
from runner.records.journal import IssueRow, Journal
from runner.records.report import ReportError, ReportSink
from runner.run.outcome import RunAbort, RunOutcome

OWED_STATES = (
    "deferred",
    "retry",
    "queued",
    "committed",
    "pushing",
    "pushed",
    "opening-pr",
    "pr-opened",
    "commenting",
    "commented",
)
GONE = (404, 410)


@dataclass
class Tonight:
    """What tonight's run looks at: the input file, and the owed issues that are not in it."""

    path: Path
    marks: dict[str, str] = field(default_factory=dict)
    since: dict[str, str | None] = field(default_factory=dict)
    issues: int = 0
    carried: list[CarriedIssue] = field(default_factory=list)

    def nothing_to_do(self) -> str:
        """The one line a quiet night prints."""
        parts = [
            f"no issue updated since {since} in {repo}" if since else f"no open issue in {repo}"
            for repo, since in self.since.items()
        ]
        return "; ".join(parts) + "; none owed"


def retrain_models(config: Config, note) -> None:
    """Retrain the triage models that are older than `[learn] max_age_days` (runner/learn_cli.py)."""
    if config.github_settings is None or not (config.state_dir / "models").is_dir():
        return
    from runner.run.learning import refresh_models

    gh = make_github(config.github_settings)
    try:
        refresh_models(config, gh, note)
    finally:
        gh.close()


def nightly_input(config: Config, journal: Journal) -> Tonight:
    """One JSON Lines file with every issue tonight's run should look at; the new `since` marks;
    and the owed issues that could not be fetched again."""
    if not config.repos or config.github_settings is None:
        raise RunAbort(
            "runner nightly needs a [repos] table mapping OWNER/NAME to clones, and a GitHub token", ExitCode.USAGE
        )
    settings = config.github_settings
    gh = make_github(settings)
    work_dir = config.state_dir / "tmp"
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="nightly-", suffix=".jsonl", dir=work_dir)
    tonight = Tonight(Path(name))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for repo in sorted(config.repos):
                tonight.marks[repo] = now_iso()
                tonight.since[repo] = journal.get_meta(f"since:{repo}")
                wanted = config.selection.numbers
                if wanted:  # `--issue`: just those, whenever they were updated
                    owed = _requested(journal, repo, wanted)
                    tonight.issues += _append_owed(gh, repo, owed, out, tonight.carried, settings.token)
                    continue
                owed = list(journal.rows(states=OWED_STATES, repo=repo))
                fetched = _Noting(out)
                stats = fetch_issues(
                    gh,
                    repo,
                    fetched if owed else out,
                    since=tonight.since[repo],
                    cache_dir=config.state_dir / "http-cache",
                    max_wait_s=settings.max_wait_s,
                )
                owed = [row for row in owed if row.number not in fetched.numbers]
                tonight.issues += stats.issues + _append_owed(gh, repo, owed, out, tonight.carried, settings.token)
    except BaseException as exc:
        Path(name).unlink(missing_ok=True)
        if isinstance(exc, FetchError):
            raise RunAbort(f"fetching issues: {exc}", exc.exit_code) from None
        raise
    return tonight


def _requested(journal: Journal, repo: str, numbers: frozenset[int]) -> list[IssueRow]:
    """The issues `--issue` names, as rows to fetch one by one (the journal's, where it has one)."""
    rows = []
    for number in sorted(numbers):
        row = journal.get(repo, number)
        rows.append(row or IssueRow(repo, number, "requested", 0, None, None, None, None, None, ""))
    return rows


class _Noting:
    """Passes fetched issues on to the input file and notes their numbers, so an owed issue that
    was fetched anyway is neither asked for again nor in the input twice."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.numbers: set[int] = set()

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.numbers.add(json.loads(line).get("number"))
        return self.out.write(text)


def _append_owed(gh, repo: str, owed: list[IssueRow], out: TextIO, carried: list[CarriedIssue], token: str) -> int:
    """Write each owed issue as GitHub has it now; the ones it cannot give go to `carried`."""
    written, handle, halted = 0, None, None
    for row in owed:
        if halted is not None:
            carried.append(_carry(row, Status.DEFERRED, halted))
            continue
        try:
            handle = handle or gh.get_repo(repo, lazy=True)
            data = handle.get_issue(row.number).raw_data
        except Exception as exc:  # one owed issue must not stop the night
            status = getattr(exc, "status", None)
            if status in GONE:
                carried.append(
                    _carry(
                        row,
                        Status.SKIPPED,
                        f"GitHub answers {status} for {repo}#{row.number} (deleted, or "
                        "transferred to another repository): no longer owed",
                    )
                )
                continue
            reason = f"could not fetch it again: {redact(f'{type(exc).__name__}: {exc}', token)[:300]}"
            if is_rate_limited(exc):
                halted = reason
            carried.append(_carry(row, Status.DEFERRED, reason))
            continue
        gone = _no_longer_owed(data, repo)
        if gone:
            carried.append(_carry(row, Status.SKIPPED, f"{repo}#{row.number} {gone}: no longer owed"))
            continue
        out.write(json.dumps(data) + "\n")
        written += 1
    return written


def _carry(row: IssueRow, status: str, reason: str) -> CarriedIssue:
    return CarriedIssue(row.repo, row.number, status, reason, row.branch, row.pull_request)


def _no_longer_owed(data: dict, repo: str) -> str | None:
    """Why an owed issue is not worth processing any more: closed since, or transferred (GitHub
    followed the transfer for us); None if it still is."""
    url = str(data.get("repository_url") or "")
    if url and not url.lower().endswith(f"/repos/{repo.lower()}"):
        return f"was transferred to {'/'.join(url.rstrip('/').split('/')[-2:])}"
    if data.get("state") == "closed":
        return "was closed"
    return None


class QuietRun:
    """Tonight's run when no issue is left to process: still journaled and reported, so
    `runner status` shows the night, and its exit code says whether anything stays owed."""

    def __init__(self, config: Config, journal: Journal, tonight: Tonight) -> None:
        self.config = config
        self.journal = journal
        self.tonight = tonight
        self.input_spec = str(tonight.path)
        self.run_id = new_run_id()
        self.stop_reason: str | None = None

    def request_stop(self, reason: str = "stop requested") -> None:
        self.stop_reason = reason

    def execute(self) -> RunOutcome:
        sink = ReportSink(self.config.report_dir, self.run_id)
        self.journal.run_started(self.run_id, "nightly")
        record_carried(sink, self.journal, self.run_id, self.tonight.carried)
        code = ExitCode.DEFERRED if sink.totals["deferred"] else ExitCode.OK
        extra = {} if self.tonight.carried else {"nothing_to_do": self.tonight.nothing_to_do()}
        try:
            json_path, md_path = sink.finish(code, {"dry_run": False, **extra})
        except ReportError as exc:
            failure = f"the report could not be written in {exc.report_dir}: {exc}; no report was kept"
            self.journal.run_finished(self.run_id, ExitCode.FAILED, dict(sink.totals), None)
            return RunOutcome(
                ExitCode.FAILED,
                self.run_id,
                None,
                None,
                dict(sink.totals),
                dict(sink.by_status),
                extra,
                report_error=failure,
                work_exit_code=code,
            )
        self.journal.run_finished(self.run_id, code, dict(sink.totals), str(json_path))
        return RunOutcome(code, self.run_id, json_path, md_path, dict(sink.totals), dict(sink.by_status), extra)


def advance_marks(journal: Journal, marks: dict[str, str], exit_code: int, stopped: bool) -> None:
    """Move each repository's `since` mark once a run has left nothing deferred."""
    if stopped or exit_code not in (0, 1):
        return
    for repo, mark in marks.items():
        journal.set_meta(f"since:{repo}", mark)
