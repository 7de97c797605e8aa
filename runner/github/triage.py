"""Publish mode triage: labels and one comment on the issue itself; nothing is pushed.

    per issue, serialized, paced (the publisher's breaker, retries, pace and publish lock):
        priority / kind labels exist in the repository? ──> create them (colour, description), once a run
        labels on the issue ──> add the missing ones runner never added before (one that runner added
                                and that is gone was removed by a person: it stays removed);
                                remove runner's own earlier ones the new triage no longer gives
        runner's triage comment (marker, runner's login)? ──> none: write it
                                                          ──> its text differs and its digest says
                                                              nobody edited it: edit it in place
                                                          ──> same text, or edited by a person: no write

A rerun on an unchanged issue reads and writes nothing but the look-ups: the labels are there and
the comment says the same. The journal's `triage` table remembers the labels runner added (after
each write, never before: a write that happened but was not journaled is found on the issue and
journaled by the next run) and the comment's URL, for `runner status` and the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

from github import GithubException

from runner.core.retry import Deferral, classify
from runner.core.status import Status
from runner.github.markers import SIGNATURE, is_unedited, normalized, signed_body
from runner.github.publisher import Publisher, PublishItem, PublishResult

PRIORITY_COLOURS = {"critical": "b60205", "high": "d93f0b", "medium": "fbca04", "low": "0e8a16"}
KIND_COLOURS = {
    "bug": "d73a4a",
    "feature": "a2eeef",
    "docs": "0075ca",
    "security": "ee0701",
    "performance": "5319e7",
    "question": "d876e3",
    "chore": "c5def5",
}
DEFAULT_COLOUR = "ededed"


_BLOB_COMMIT = re.compile(r"/blob/[0-9a-f]{40,64}/")


def _same_text(current: str, wanted: str) -> bool:
    """Whether the comment says what runner would write now, but for the commit its links name:
    a base that moved on alone is no reason to rewrite every comment."""

    def plain(text: str) -> str:
        return _BLOB_COMMIT.sub("/blob/-/", SIGNATURE.sub("", normalized(text)))

    return plain(current) == plain(wanted)


def triage_marker(number: int) -> str:
    return f"<!-- runner:triage-for-issue {number} -->"


@dataclass(frozen=True)
class LabelSpec:
    """A label runner puts on issues, as it is created in the repository when missing."""

    name: str
    colour: str
    description: str


def label_specs(names: tuple[str, str], priority: str, kind: str) -> tuple[LabelSpec, LabelSpec]:
    return (
        LabelSpec(
            names[0], PRIORITY_COLOURS.get(priority, DEFAULT_COLOUR), f"Priority {priority}, set by runner's triage"
        ),
        LabelSpec(names[1], KIND_COLOURS.get(kind, DEFAULT_COLOUR), f"Kind {kind}, set by runner's triage"),
    )


class LabelMemory:
    """What runner has put on each issue, kept in the journal (or, without one, for this run only)."""

    def __init__(self, journal, repo_key: str) -> None:
        self.journal = journal
        self.repo_key = repo_key
        self._local: dict[int, tuple[str | None, frozenset[str]]] = {}

    def get(self, number: int) -> tuple[str | None, frozenset[str]]:
        if self.journal is None:
            return self._local.get(number, (None, frozenset()))
        return self.journal.triage_state(self.repo_key, number)

    def record(self, number: int, *, comment: str | None = None, added: frozenset[str] | None = None) -> None:
        if self.journal is None:
            old_comment, old_added = self.get(number)
            self._local[number] = (comment or old_comment, old_added if added is None else added)
        else:
            self.journal.record_triage(self.repo_key, number, comment=comment, added=added)


class TriagePublisher(Publisher):
    """The publisher's machinery (breaker, pacing, retries, publish lock, own login) for triage."""

    def __init__(self, *, memory: LabelMemory, **kwargs) -> None:
        super().__init__(**kwargs)
        self.memory = memory
        self._labels_present: set[str] = set()
        self.counts.update({"comments_updated": 0, "labels_created": 0, "labels_removed": 0})

    def publish(
        self, items: list[PublishItem], stopping: Callable[[], bool] = lambda: False
    ) -> Iterator[PublishResult]:
        for item in items:
            if stopping():
                yield PublishResult(item.number, Status.DEFERRED, None, "run stopped before publishing")
            else:
                yield self.triage_one(item)

    def triage_one(self, item: PublishItem) -> PublishResult:
        if self.deferred_reason:
            return PublishResult(item.number, Status.DEFERRED, None, self.deferred_reason)
        if not item.body:
            return PublishResult(item.number, Status.FAILED, None, "no triage comment was rendered for the issue")
        try:
            self._own_login()  # before any write: what runner cannot recognise later, it must not write
            self.on_step(item.number, "labelling")
            issue = self._retrying(lambda: self._ensure_issue_labels(item.number, item.label_specs))
            self.on_step(item.number, "labelled")
            if not self.settings.comment:  # --no-comment: the labels alone
                return PublishResult(item.number, Status.PUBLISHED, None, None)
            url = self._retrying(lambda: self._ensure_triage_comment(issue, item))
            self.on_step(item.number, "commented")
            return PublishResult(item.number, Status.PUBLISHED, None, None, comment=url)
        except Deferral as exc:
            if exc.retry_after_s is None or exc.retry_after_s > self.settings.max_wait_s:
                self.deferred_reason = exc.reason
            return PublishResult(item.number, Status.DEFERRED, None, exc.reason)
        except Exception as exc:  # one issue's failure must not stop the others
            status = Status.DEFERRED if classify(exc) == "transient" else Status.FAILED
            return PublishResult(item.number, status, None, self._describe(exc))

    # -- labels ----------------------------------------------------------------------------

    def _ensure_issue_labels(self, number: int, specs: tuple[LabelSpec, ...]):
        """Runner's labels on the issue: the wanted ones it never added before are added (creating
        them in the repository first), its own earlier ones that are no longer wanted go. A wanted
        label already there that runner did not add (a person's) is not runner's: never removed later."""
        _, added = self.memory.get(number)
        issue = self._call(lambda: self._repository().get_issue(number))
        present = {label.name.lower(): label.name for label in issue.labels}
        wanted = {spec.name.lower(): spec for spec in specs}
        missing = [spec for key, spec in wanted.items() if key not in present and key not in added]
        stale = [present[key] for key in sorted(added) if key not in wanted and key in present]
        for spec in missing:
            self._ensure_repo_label(spec)
        if missing:
            self._call(lambda: issue.add_to_labels(*[spec.name for spec in missing]), write=True)
            self.counts["labels_added"] += len(missing)
            self.memory.record(number, added=added | {spec.name.lower() for spec in missing})
            added = self.memory.get(number)[1]
        for name in stale:
            self._remove_label(issue, name)
            added = added - {name.lower()}
            self.memory.record(number, added=added)
        return issue

    def _remove_label(self, issue, name: str) -> None:
        """DELETE with the name quoted whole: PyGithub's `remove_from_labels` leaves the `/` of
        `priority/high` as a path separator."""
        url = f"{issue.url}/labels/{quote(name, safe='')}"
        try:
            self._call(lambda: issue.requester.requestJsonAndCheck("DELETE", url), write=True)
        except GithubException as exc:
            if exc.status != 404:  # gone meanwhile: what was wanted
                raise
        self.counts["labels_removed"] += 1

    def _ensure_repo_label(self, spec: LabelSpec) -> None:
        """The label exists in the repository, with its colour and description if runner made it.
        Looked up once a run; creating one is a content-creating write."""
        key = spec.name.lower()
        if key in self._labels_present:
            return
        try:
            self._call(lambda: self._repository().get_label(spec.name).name)  # the object is lazy: .name fetches it
        except GithubException as exc:
            if exc.status != 404:
                raise
            self._write_once(lambda: self._find_label(spec.name), lambda: self._create_label(spec), notify=True)
        self._labels_present.add(key)

    def _find_label(self, name: str):
        try:
            return self._call(lambda: self._repository().get_label(name).name)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise

    def _create_label(self, spec: LabelSpec):
        try:
            label = self._call(lambda: self._repository().create_label(spec.name, spec.colour, spec.description))
        except GithubException as exc:
            if exc.status == 422 and "already_exists" in str(exc.data):
                return True
            raise
        self.counts["labels_created"] += 1
        return label

    # -- the comment -----------------------------------------------------------------------

    def _ensure_triage_comment(self, issue, item: PublishItem) -> str:
        """The URL of runner's one triage comment on the issue, written or brought up to date."""
        body = signed_body(f"{triage_marker(item.number)}\n{item.body}")
        found = self._triage_comment(issue, item.number)
        if found is None:
            self.on_step(item.number, "commenting")
            found = self._write_once(
                lambda: self._triage_comment(issue, item.number), lambda: self._create_comment(issue, body), notify=True
            )
        else:
            current = found.body or ""
            if not _same_text(current, body) and is_unedited(current):
                self.on_step(item.number, "commenting")
                self._call(lambda: found.edit(body), write=True)
                self.counts["comments_updated"] += 1
        url = found.html_url
        if self.memory.get(item.number)[0] != url:
            self.memory.record(item.number, comment=url)
        return url

    def _triage_comment(self, issue, number: int):
        """runner's own comment with the triage marker; the marker in anyone else's comment is text."""
        tag = triage_marker(number)
        comments = self._call(lambda: list(issue.get_comments()))
        return next((c for c in comments if tag in (c.body or "") and self._by_runner(c)), None)
