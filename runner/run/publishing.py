"""The publishing stage: a thread between the git writer and the report.

Committed (or unchanged) issues wait here for their push (unless the Dask
worker that committed them pushed already), pull request and comment. One thread
per run keeps GitHub writes serialized per token; branches of the same repository
that arrive together are pushed together. Whatever goes wrong while publishing,
every issue handed to this stage leaves it with a terminal state.
"""

from __future__ import annotations

import logging
import queue as stdqueue
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from runner.core.display import clean
from runner.core.logs import LOGGER
from runner.core.models import CommitOutcome, SageResult, Ticket
from runner.core.secrets import redact
from runner.core.status import Status
from runner.github.publisher import Publisher, PublishItem, PublishResult
from runner.run.ledger import Ledger

BATCH_MAX = 100
CHECKS_FAILED_LABEL = "checks-failed"
CHECK_TAIL_LINES = 40
log = logging.getLogger(LOGGER)


@dataclass
class Pending:
    ticket: Ticket
    outcome: CommitOutcome
    result: SageResult | None


class PublishStage(threading.Thread):
    def __init__(
        self,
        *,
        publishers: dict[str, Publisher],
        ledger: Ledger,
        finish: Callable[..., None],
        labels: tuple[str, ...],
        stopping: threading.Event,
    ) -> None:
        super().__init__(name="runner-publisher", daemon=True)
        self.publishers = publishers
        self.ledger = ledger
        self.finish = finish
        self.labels = labels
        self.stopping = stopping
        self.inbox: stdqueue.SimpleQueue[Pending] = stdqueue.SimpleQueue()
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def accepts(self, repo_key: str) -> bool:
        return repo_key in self.publishers

    def submit(self, pending: Pending) -> None:
        self.inbox.put(pending)

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        try:
            while not (self._halt.is_set() and self.inbox.empty()):
                batch = self._next_batch()
                if batch:
                    self._publish(batch)
                elif self.ledger.finished():
                    break
        except BaseException as exc:
            self.error = exc

    def _next_batch(self) -> list[Pending]:
        try:
            batch = [self.inbox.get(timeout=0.1)]
        except stdqueue.Empty:
            return []
        while len(batch) < BATCH_MAX:
            try:
                batch.append(self.inbox.get_nowait())
            except stdqueue.Empty:
                break
        return batch

    def _publish(self, batch: list[Pending]) -> None:
        by_repo: dict[str, list[Pending]] = {}
        for pending in batch:
            by_repo.setdefault(pending.ticket.repo_key, []).append(pending)
        for repo_key, items in by_repo.items():
            publisher = self.publishers[repo_key]
            results = iter(publisher.publish([self._item(p, publisher) for p in items], self.stopping.is_set))
            failure: PublishResult | None = None
            for pending in items:
                published = failure
                if published is None:
                    try:
                        published = next(results)
                    except Exception as exc:  # a defect must not end the thread, leaving issues without a state
                        published = failure = _failure(publisher, exc)
                status, error = _with_check(pending, published)
                self.finish(
                    pending.ticket,
                    status,
                    pending.outcome,
                    error,
                    pending.result,
                    published.pull_request,
                    comment=published.comment,
                )

    def _item(self, pending: Pending, publisher: Publisher) -> PublishItem:
        """What to publish for the issue: in mode triage its labels and comment, else its pull request."""
        issue, triage = pending.ticket.issue, pending.ticket.triage
        title = clean(issue.title).strip()
        settings = publisher.settings
        names = settings.issue_labels(triage.priority.name.lower(), triage.kind)
        if settings.publish == "triage":
            from runner.github.triage import label_specs

            comment = pending.result.comment if pending.result is not None else ""
            return PublishItem(
                issue.number,
                title,
                pending.outcome.branch,
                comment,
                names,
                True,
                label_specs(names, triage.priority.name.lower(), triage.kind),
            )
        labels = (*self.labels, *names)
        body = pull_request_body(pending)
        drop_labels: tuple[str, ...] = (CHECKS_FAILED_LABEL,)
        if _check_failed(pending):
            labels, body, drop_labels = (*labels, CHECKS_FAILED_LABEL), body + check_section(pending.result), ()
        return PublishItem(
            issue.number,
            f"#{issue.number}: {title}"[:250],
            pending.outcome.branch,
            body,
            labels,
            pending.outcome.pushed,
            drop_labels=drop_labels,
        )


def _check_failed(pending: Pending) -> bool:
    return pending.result is not None and pending.result.check_error is not None


def _with_check(pending: Pending, published: PublishResult) -> tuple[str, str | None]:
    """A fix that failed its check stays `check-failed` once `--publish-failed` has shown it."""
    if published.status == Status.PUBLISHED and _check_failed(pending):
        assert pending.result is not None
        return Status.CHECK_FAILED, pending.result.check_error
    return published.status, published.error


def check_section(result: SageResult | None) -> str:
    """What a draft whose fix failed `--check` says about it: the exit code and the end of the output."""
    check = ((result.fixer or {}) if result else {}).get("check") or {}
    code = check.get("exit_code")
    said = "did not finish in time" if code is None else f"exited with {code}"
    tail = redact("\n".join(str(check.get("output_tail", "")).splitlines()[-CHECK_TAIL_LINES:]))
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", tail)), default=0))
    return (
        f"\n**The check failed** ({said} after {check.get('duration_s', 0)} s): this draft is shown "
        f"because of `--publish-failed`; do not merge it as it is.\n\n{fence}\n{tail}\n{fence}\n"
    )


def _failure(publisher: Publisher, exc: Exception) -> PublishResult:
    """What the issues left in a batch get when publishing it broke: failed, with the error."""
    token = publisher.settings.token
    log.error("publishing to %s stopped: %s", publisher.full_name, redact(traceback.format_exc(), token))
    reason = redact(f"{type(exc).__name__}: {exc}", token)[:400]
    return PublishResult(0, Status.FAILED, None, f"publishing stopped by an unexpected error: {reason}")


def pull_request_body(pending: Pending) -> str:
    """The draft PR's description. A fixer's PR, whose diff is only the change, carries the plan
    here (and the command's own summary, if it wrote one); a plan branch's PR points at its files."""
    issue, result = pending.ticket.issue, pending.result
    lines = [f"Draft opened by runner for #{issue.number}.", ""]
    if result is not None and result.summary:
        lines += ["> " + line for line in result.summary.splitlines()] + [""]
    if result is not None and result.fixer_summary:
        lines += ["## What the fixer command did", "", redact(result.fixer_summary.strip()), ""]
    if result is not None and result.plan:
        lines += [
            "<details><summary>runner's plan for this issue</summary>",
            "",
            result.plan.strip(),
            "",
            "</details>",
            "",
        ]
        where = "The plan is above; the diff is only the fixer's change."
    else:
        where = "The plan is in the branch under `.runner/issues/`."
        if result is not None and result.related:
            lines += ["Related files:", *[f"- `{f.path}`" for f in result.related[:8]], ""]
    lines += [
        f"Priority {pending.ticket.triage.priority.label}, kind {pending.ticket.triage.kind}, "
        f"risk {result.risk if result else 'unknown'}. {where}",
        "",
        f"Closes #{issue.number}",
    ]
    return "\n".join(lines) + "\n"
