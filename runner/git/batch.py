"""One batch of a repository's items on their way into one `git fast-import` process: each item
decided and streamed as it arrives, so git works while later results are still computed, and
one outcome per item at the end. RepoWriter (runner.git.store) opens batches and owns the
repository's locks and branch tips.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from filelock import Timeout

from runner.core.models import CommitOutcome
from runner.core.status import Status
from runner.git.cmd import GitError
from runner.git.fastimport import ImportStream, RefsRejected
from runner.git.priorwork import output_digest, with_output_trailer

if TYPE_CHECKING:
    from runner.git.store import RepoWriter

REF_RETRY_S = 0.5
GIT_FAILURES = (GitError, Timeout, OSError)


@dataclass(frozen=True, slots=True)
class WriteItem:
    number: int
    branch: str
    directory: str
    files: dict[str, bytes]
    message: str
    changes: dict[str, bytes | None] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)


class WriteBatch:
    """Items of one repository on their way into one fast-import process.

    `add` decides each item at once (runner's output is what it last committed on
    the branch: `unchanged`; else a commit on the branch tip or the base, whose
    message ends with the output's digest) and streams its commit to git, so git works while
    later results are still being computed. `close` waits for git, confirms the
    refs and answers one outcome per item, in order. Refused ref updates are
    retried in a fresh batch (the branch moved: commit on its new tip), except the
    ones a reference-transaction hook vetoed, which fail; a git failure fails the
    batch's items and nothing is half-done: fast-import writes refs only at its end.
    """

    def __init__(
        self, writer: RepoWriter, tries_left: int, failure: str | None = None, release: Callable[[], None] | None = None
    ) -> None:
        self.writer = writer
        self.tries_left = tries_left
        self.failure = failure
        self.opened_at = time.monotonic()
        self._release = release
        self._entries: list[tuple[WriteItem, str | None, bool]] = []
        self._new: set[str] = set()
        self._vetoed: dict[str, str] = {}
        self._stream: ImportStream | None = None
        self._tips: dict[str, str] = {}
        if failure is None:
            try:
                self._tips = writer._tips()
            except GIT_FAILURES as exc:
                self._fail(exc)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, item: WriteItem) -> None:
        tip = self._tips.get(item.branch)
        same = False
        if self.failure is None:
            try:
                digest = output_digest(item.number, item.files, item.changes, item.modes)
                same = tip is not None and self.writer._same_output(tip, item, digest)
                if not same and not self.writer.dry_run:
                    self._stream_to(item, tip, with_output_trailer(item.message, digest))
            except GIT_FAILURES as exc:
                self._fail(exc)
        self._entries.append((item, tip, same))

    def seal(self) -> None:
        """No more items: git finishes this batch by itself while the caller goes on."""
        if self._stream is not None and self.failure is None:
            self._stream.seal()

    def ready(self) -> bool:
        """`close` would not wait for git."""
        return self._stream is None or self.failure is not None or self._stream.done()

    def close(self) -> list[CommitOutcome]:
        try:
            outcomes: list[CommitOutcome] = []
            if self.failure is None:
                try:
                    outcomes = self._retry_refused(self._outcomes())
                except GIT_FAILURES as exc:
                    self._fail(exc)
            if self.failure is not None:
                if self._stream is not None:
                    self._stream.abandon()
                return [
                    CommitOutcome(i.number, Status.FAILED, i.branch, None, self.failure) for i, _, _ in self._entries
                ]
            return outcomes
        finally:
            if self._release is not None:
                self._release()

    def _fail(self, exc: BaseException) -> None:
        self.failure = f"git: {exc}"
        self.writer._forget()

    def _stream_to(self, item: WriteItem, tip: str | None, message: str) -> None:
        if self._stream is None:
            self._stream = self.writer._new_stream()
        if tip is None:
            self._new.add(item.branch)
        self._stream.add(item, tip or self.writer.base_commit, new_branch=tip is None, message=message)

    def _outcomes(self) -> list[CommitOutcome]:
        writer = self.writer
        if writer.dry_run:
            return [
                CommitOutcome(i.number, Status.UNCHANGED if s else Status.COMMITTED, i.branch, tip)
                for i, tip, s in self._entries
            ]
        commits, rejected = {}, ""
        if self._stream is not None:
            try:
                commits = self._stream.finish()
            except RefsRejected as exc:
                commits, rejected = exc.commits, str(exc)
            self._stream = None
            commits, taken, self._vetoed = writer._place_refs(commits, self._new, self._tips)
            if taken and not rejected:
                rejected = "a branch of that name appeared or moved meanwhile"
            commits = writer._confirm(commits, rejected)
        return [writer._outcome(i, tip, s, commits, rejected, self._vetoed) for i, tip, s in self._entries]

    def _retry_refused(self, outcomes: list[CommitOutcome]) -> list[CommitOutcome]:
        retry = [
            item
            for (item, _, _), o in zip(self._entries, outcomes, strict=False)
            if o.status == Status.FAILED and item.branch not in self._vetoed
        ]
        if not retry or self.tries_left <= 0:
            return outcomes
        time.sleep(REF_RETRY_S)
        again = WriteBatch(self.writer, self.tries_left - 1)
        for item in retry:
            again.add(item)
        redone = iter(again.close())
        return [
            next(redone) if o.status == Status.FAILED and i.branch not in self._vetoed else o
            for (i, _, _), o in zip(self._entries, outcomes, strict=False)
        ]
