"""Publisher: push issue branches, open draft pull requests, label them, comment once.

    committed branches ──> `git push` per repository batch (push.py; never forced; skipped for
                               │                  branches a Dask worker already pushed)
                               ▼  per issue, serialized, paced:
                     look for a PR with this head ──> create draft PR if none (422 "already exists" = found)
                     labels missing on the PR?   ──> add them
                     marker comment on the issue? ──> comment once, with the PR link

Exactly once: every write is preceded by a look, and a write is never retried
blindly (a POST whose reply was lost may have happened): each retry starts
again from the look. Another run may publish to the same repository (a cron
job and a person, with their own state directories), so a pull request or
comment is looked for once more just before it is written, after the pace
wait, holding the clone's publish lock (`runner.core.locks.PublishLock`).
Only what runner's own login wrote counts as found: anyone may write the
hidden marker into a comment, or open a pull request from runner's branch.
Never merge, never close, never delete, never force.

Every external call goes through the circuit breaker; an open breaker, a rate
limit that would take longer than `max_wait_s`, or a transient error that
outlasts the retries defers the issue (exit 3) instead of failing it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from github import GithubException
from github.PullRequest import PullRequest

from runner.config.github import GitHubSettings
from runner.core.retry import Deferral, RetryPolicy, classify, is_rate_limited, retry_after_s
from runner.core.secrets import redact
from runner.core.status import Status
from runner.git.publishlock import PublishLock, PublishLockTimeout
from runner.github.breaker import CallNotPermitted, CircuitBreaker
from runner.github.client import app_login
from runner.github.identity import IdentityError, own_login
from runner.github.markers import is_unedited, marker, normalized, signed_body
from runner.github.pacing import Pacer
from runner.github.push import BranchPusher

T = TypeVar("T")
SECONDARY_MIN_WAIT_S = 60.0
LOCK_MARGIN_S = 60.0


@dataclass(frozen=True)
class PublishItem:
    number: int
    title: str
    branch: str
    body: str
    labels: tuple[str, ...]
    pushed: bool = False
    label_specs: tuple = ()
    drop_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishResult:
    number: int
    status: str
    pull_request: str | None = None
    error: str | None = None
    comment: str | None = None


class Publisher:
    def __init__(
        self,
        *,
        settings: GitHubSettings,
        gh,
        full_name: str,
        repo_path: Path,
        base: str,
        breaker: CircuitBreaker,
        pacer: Pacer,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_step: Callable[..., None] = lambda number, step, pull_request=None: None,
    ) -> None:
        self.settings = settings
        self.gh = gh
        self.full_name = full_name
        self.owner = full_name.split("/", 1)[0]
        self.repo_path = repo_path
        self.base = base
        self.breaker = breaker
        self.pacer = pacer
        self.policy = policy or RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=30.0)
        self.sleep = sleep
        self.on_step = on_step
        self._repo = None
        self._login: str | IdentityError | None = None
        self._lock: PublishLock | None = None
        self.pusher = BranchPusher(repo_path=repo_path, settings=settings, breaker=breaker, sleep=sleep)
        self.deferred_reason: str | None = None
        self.counts = {
            "pull_requests_created": 0,
            "pull_requests_updated": 0,
            "comments_created": 0,
            "labels_added": 0,
            "rate_limited": 0,
        }

    def publish(
        self, items: list[PublishItem], stopping: Callable[[], bool] = lambda: False
    ) -> Iterator[PublishResult]:
        """Push the batch, then publish each issue; once `stopping` turns true, the rest are deferred.
        Results come one by one, as each issue is done, so none is lost if a later one goes wrong.

        Items already `pushed` (by the Dask worker that committed them) are not pushed again, and
        their commits need not be in this clone: the journal goes straight to "pushed" for them."""
        to_push = [item for item in items if not item.pushed]
        for item in to_push:
            self.on_step(item.number, "pushing")
        problems = self.push([item.branch for item in to_push]) if to_push else {}
        for item in items:
            problem = None if item.pushed else problems.get(item.branch)
            if stopping():
                yield PublishResult(item.number, Status.DEFERRED, None, "run stopped before publishing")
            elif problem:
                yield PublishResult(item.number, problem[0], None, problem[1])
            else:
                self.on_step(item.number, "pushed")
                yield self.publish_one(item)

    def publish_one(self, item: PublishItem) -> PublishResult:
        if self.deferred_reason:
            return PublishResult(item.number, Status.DEFERRED, None, self.deferred_reason)
        try:
            pr = self._retrying(lambda: self._ensure_pull_request(item))
            if pr is None:
                return PublishResult(item.number, Status.SKIPPED, None, "a closed pull request exists; not recreated")
            if not self._by_runner(pr):
                return PublishResult(
                    item.number,
                    Status.SKIPPED,
                    None,
                    f"pull request #{pr.number} for {item.branch} "
                    f"was opened by @{pr.user.login}, not by runner; left alone",
                )
            self.on_step(item.number, "pr-opened", pr.html_url)
            self._retrying(lambda: self._ensure_labels(pr, item))
            if self.settings.comment:
                self._retrying(lambda: self._ensure_comment(item, pr))
                self.on_step(item.number, "commented", pr.html_url)
            return PublishResult(item.number, Status.PUBLISHED, pr.html_url)
        except Deferral as exc:
            if exc.retry_after_s is None or exc.retry_after_s > self.settings.max_wait_s:
                self.deferred_reason = exc.reason
            return PublishResult(item.number, Status.DEFERRED, None, exc.reason)
        except Exception as exc:  # one issue's failure must not stop the others
            status = Status.DEFERRED if classify(exc) == "transient" else Status.FAILED
            return PublishResult(item.number, status, None, self._describe(exc))

    def push(self, branches: list[str]) -> dict[str, tuple[str, str]]:
        """Push branches (fast-forward only, `runner.github.push`); problems by branch as (status, error)."""
        return self.pusher.push(branches)

    # -- GitHub, look before write ------------------------------------------------------------

    def _ensure_pull_request(self, item: PublishItem) -> PullRequest | None:
        """The branch's pull request: runner's own (opened now if there is none), None for a closed
        one that is not to be recreated; or someone else's open one, which runner leaves alone."""
        self._own_login()  # before any write: what runner cannot recognise later, it must not write
        body = signed_body(item.body)
        found = self._existing_pull(item.branch)
        if found is None:
            self.on_step(item.number, "opening-pr")
            found = self._write_once(
                lambda: self._existing_pull(item.branch), lambda: self._create_pull(item, body), notify=True
            )
        if not self._by_runner(found):
            return found
        if found.state == "closed":
            return None
        self._refresh_body(found, body)
        return found

    def _existing_pull(self, branch: str) -> PullRequest | None:
        """A pull request that stops runner from opening one for `branch`."""
        found = self._find_pull_request(branch)
        if found is not None and found.state == "closed" and self.settings.recreate_closed:
            return None
        return found

    def _create_pull(self, item: PublishItem, body: str) -> PullRequest:
        try:
            pr = self._call(
                lambda: self._repository().create_pull(
                    base=self.base, head=item.branch, title=item.title, body=body, draft=True
                )
            )
        except GithubException as exc:
            if exc.status == 422 and "already exists" in str(exc.data):
                again = self._existing_pull(item.branch)
                if again is not None:
                    return again
            raise
        self._check_author(pr.user.login)
        self.counts["pull_requests_created"] += 1
        return pr

    def _refresh_body(self, pr: PullRequest, body: str) -> None:
        """After the issue was edited: rewrite the description runner wrote, never one a person
        has changed since (its signature no longer matches its text)."""
        current = pr.body or ""
        if normalized(current) == normalized(body) or not is_unedited(current):
            return
        self._call(lambda: pr.edit(body=body), write=True)
        self.counts["pull_requests_updated"] += 1

    def _find_pull_request(self, branch: str) -> PullRequest | None:
        """runner's open pull request for `branch`, else anyone's open one (GitHub allows one per
        head), else runner's closed one. Closed ones of others are not runner's business."""
        pulls = self._call(lambda: list(self._repository().get_pulls(state="all", head=f"{self.owner}:{branch}")))
        heads = [p for p in pulls if p.head.ref == branch]
        mine = [p for p in heads if self._by_runner(p)]
        open_ones = [p for p in mine if p.state == "open"] + [p for p in heads if p.state == "open"]
        return (open_ones or mine or [None])[0]

    def _ensure_labels(self, pr: PullRequest, item: PublishItem) -> None:
        """Add the item's labels the PR lacks; take off the `drop_labels` it has (a state that no longer holds)."""
        present = {label.name.lower(): label.name for label in pr.labels}
        missing = [label for label in item.labels if label.lower() not in present]
        if missing:
            self._call(lambda: pr.add_to_labels(*missing), write=True)
            self.counts["labels_added"] += len(missing)
        for name in [present[label.lower()] for label in item.drop_labels if label.lower() in present]:
            self._call(functools.partial(pr.remove_from_labels, name), write=True)

    def _ensure_comment(self, item: PublishItem, pr: PullRequest) -> None:
        issue = self._call(lambda: self._repository().get_issue(item.number))
        if self._marker_comment(issue, item.number) is not None:
            return
        body = f"{marker(item.number)}\nrunner opened a draft pull request for this issue: {pr.html_url}\n"
        self.on_step(item.number, "commenting", pr.html_url)
        self._write_once(
            lambda: self._marker_comment(issue, item.number), lambda: self._create_comment(issue, body), notify=True
        )

    def _marker_comment(self, issue, number: int):
        """runner's own comment with the marker; the same marker in anyone else's comment is text."""
        tag = marker(number)
        comments = self._call(lambda: list(issue.get_comments()))
        return next((c for c in comments if tag in (c.body or "") and self._by_runner(c)), None)

    def _create_comment(self, issue, body: str):
        comment = self._call(lambda: issue.create_comment(body))
        self._check_author(comment.user.login)
        self.counts["comments_created"] += 1
        return comment

    def _write_once(self, find: Callable[[], T | None], write: Callable[[], T], notify: bool) -> T:
        """`write`, unless `find` finds it written meanwhile. The pace wait comes first; then,
        holding the clone's publish lock, the look is repeated and the write made, so no
        other run can write the same thing between them."""
        self.pacer.before_write(notify)
        with self._publish_lock():
            found = find()
            return found if found is not None else write()

    @contextmanager
    def _publish_lock(self):
        if self._lock is None:
            self._lock = PublishLock(self.repo_path, self.settings.max_wait_s + LOCK_MARGIN_S)
        try:
            with self._lock:
                yield
        except PublishLockTimeout as exc:
            raise Deferral(str(exc)) from None

    # -- who runner is ---------------------------------------------------------------------

    def _by_runner(self, thing) -> bool:
        user = getattr(thing, "user", None)
        return user is not None and (user.login or "").lower() == self._own_login().lower()

    def _own_login(self) -> str:
        """Asked once per run; a token runner cannot identify fails every issue the same way."""
        if isinstance(self._login, IdentityError):
            raise self._login
        if self._login is None:
            try:
                self._login = app_login(self.settings) or self._call(lambda: own_login(self.gh, self.settings.login))
            except IdentityError as exc:
                self._login = exc
                raise
        return self._login

    def _check_author(self, login: str) -> None:
        """A configured login that is not the token's would make runner blind to its own writes."""
        if login.lower() != self._own_login().lower():
            raise IdentityError(
                f"GitHub recorded runner's write as by {login!r}, not {self._own_login()!r}: "
                "set login in [github] to the token's login"
            )

    def _repository(self):
        if self._repo is None:
            self._repo = self._call(lambda: self.gh.get_repo(self.full_name))
        return self._repo

    # -- calls, breaker, retries ----------------------------------------------------------------

    def _call(self, fn: Callable[[], T], write: bool = False, notify: bool = False) -> T:
        if not self.breaker.try_acquire():
            raise Deferral("circuit breaker open")
        if write or notify:
            try:
                self.pacer.before_write(notify)
            except Deferral:
                self.breaker.release_permit()
                raise
        try:
            value = fn()
        except CallNotPermitted:
            raise Deferral("circuit breaker open") from None
        except BaseException as exc:
            if is_rate_limited(exc) or classify(exc) == "permanent":
                self.breaker.release_permit() if is_rate_limited(exc) else self.breaker.record_success()
            else:
                self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return value

    def _retrying(self, step: Callable[[], T]) -> T:
        """Run a look-then-write step; on a transient error or rate limit, wait and run it again."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return step()
            except Deferral:
                raise
            except Exception as exc:
                wait = self._wait_for(exc, attempt)
                if wait is None:
                    raise
                self.sleep(wait)

    def _wait_for(self, exc: Exception, attempt: int) -> float | None:
        if is_rate_limited(exc):
            self.counts["rate_limited"] += 1
            primary = _primary_limit(exc)
            wait = retry_after_s(exc) if primary else self._pause_writes(exc)
            if wait is None:
                wait = SECONDARY_MIN_WAIT_S * (2 ** (attempt - 1))
            if wait > self.settings.max_wait_s or attempt >= self.policy.max_attempts:
                raise Deferral(f"rate limited: GitHub asks to wait {wait:.0f} s", retry_after_s=wait)
            return wait if primary else 0.0
        if classify(exc) == "transient":
            if attempt >= self.policy.max_attempts:
                raise Deferral(f"GitHub kept failing: {self._describe(exc)}")
            return self.policy.next_delay(attempt)
        return None

    def _pause_writes(self, exc: Exception) -> float:
        """A secondary limit: every write waits out the pacer's pause (the step's look runs
        again at once; its write waits in `Pacer.before_write`)."""
        return self.pacer.limited(retry_after_s(exc), self._describe(exc)[:240])

    def _describe(self, exc: Exception) -> str:
        text = f"{type(exc).__name__}: {exc}"
        return redact(text, self.settings.token)[:500]


def _primary_limit(exc: Exception) -> bool:
    headers = {str(k).lower(): v for k, v in (getattr(exc, "headers", None) or {}).items()}
    return str(headers.get("x-ratelimit-remaining", "")) == "0"
