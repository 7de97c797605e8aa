"""In-memory GitHub data behind the emulator: repositories, issues, pulls, labels, comments.

Everything lives in memory under one re-entrant lock (``State.lock``); only the bare
repositories on disk are read. Issues and pull requests share one number sequence
per repository, as on GitHub: a pull request is an issue with ``pull`` set.
Methods raise ApiError with GitHub's status and body when a request cannot be served.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.testing.emulator import git as emulator_git
from runner.testing.emulator.errors import ApiError, not_found, validation_failed

# An organization's default issue types: name -> (id, description, color).
ISSUE_TYPES = {
    "Task": (410, "A specific piece of work", "yellow"),
    "Bug": (411, "An unexpected problem or behavior", "red"),
    "Feature": (412, "A request, idea, or new functionality", "blue"),
}


def node_id(prefix: str, number: int) -> str:
    return f"{prefix}_kwDO{base64.b64encode(number.to_bytes(6, 'big')).decode()}"


@dataclass
class User:
    login: str
    id: int
    node_id: str


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: User
    created_at: float
    updated_at: float


@dataclass
class PullInfo:
    id: int
    head_owner: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: User
    created_at: float
    updated_at: float
    state: str = "open"
    state_reason: str | None = None
    closed_at: float | None = None
    closed_by: User | None = None
    label_keys: list[str] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    pull: PullInfo | None = None
    issue_type: str | None = None  # one of ISSUE_TYPES, as an organization's issue types classify issues


@dataclass
class Repo:
    id: int
    owner: User
    name: str
    git_dir: Path
    default_branch: str
    created_at: float
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


class State:
    """The emulated GitHub: every mutation and read goes through ``lock``."""

    def __init__(self, repos: Mapping[str, Path | str], now: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.now = now
        self._ids = itertools.count(1001)
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        for full_name, git_dir in repos.items():
            self.add_repo(full_name, Path(git_dir))

    def add_repo(self, full_name: str, git_dir: Path) -> Repo:
        owner, sep, name = full_name.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ValueError(f"repository must be OWNER/NAME: {full_name!r}")
        if not emulator_git.is_git_dir(git_dir):
            raise ValueError(f"not a git repository: {git_dir}")
        with self.lock:
            branch = emulator_git.default_branch(git_dir)
            repo = Repo(next(self._ids), self.user(owner), name, git_dir, branch, self.now())
            self.repos[full_name.lower()] = repo
            return repo

    def user(self, login: str) -> User:
        with self.lock:
            if login not in self.users:
                uid = next(self._ids)
                self.users[login] = User(login, uid, node_id("U", uid))
            return self.users[login]

    def repo(self, full_name: str) -> Repo:
        with self.lock:
            repo = self.repos.get(full_name.lower())
            if repo is None:
                raise not_found()
            return repo

    def repo_by_id(self, repo_id: int) -> Repo:
        with self.lock:
            for repo in self.repos.values():
                if repo.id == repo_id:
                    return repo
            raise not_found()

    def issue(self, full_name: str, number: int) -> Issue:
        with self.lock:
            issue = self.repo(full_name).issues.get(number)
            if issue is None:
                raise not_found()
            return issue

    def pull(self, full_name: str, number: int) -> Issue:
        issue = self.issue(full_name, number)
        if issue.pull is None:
            raise not_found()
        return issue

    # -- issues --------------------------------------------------------------

    def create_issue(
        self,
        full_name: str,
        author: str,
        title: str,
        body: str | None = None,
        labels: Iterable[str] = (),
        issue_type: str | None = None,
    ) -> Issue:
        with self.lock:
            repo = self.repo(full_name)
            now = self.now()
            number = len(repo.issues) + 1
            issue = Issue(next(self._ids), number, title, body, self.user(author), now, now, issue_type=issue_type)
            repo.issues[number] = issue
            self._apply_labels(repo, issue, labels, replace=True)
            return issue

    def update_issue(self, full_name: str, number: int, actor: str, changes: Mapping[str, Any]) -> Issue:
        """Apply title/body/state/labels/type changes; like every edit on GitHub it moves ``updated_at``."""
        with self.lock:
            repo = self.repo(full_name)
            issue = self.issue(full_name, number)
            if changes.get("state") == "open" and issue.state == "closed" and issue.pull is not None:
                self._refuse_duplicate_pull(repo, issue.pull.head_owner, issue.pull.head_ref, issue.pull.base_ref)
            for key in ("title", "body"):
                if key in changes:
                    setattr(issue, key, changes[key])
            if "labels" in changes:
                self._apply_labels(repo, issue, changes["labels"], replace=True)
            if "type" in changes:
                issue.issue_type = changes["type"]
            if "state" in changes and changes["state"] != issue.state:
                self._set_state(issue, changes["state"], actor, changes.get("state_reason"))
            issue.updated_at = self.now()
            return issue

    def _set_state(self, issue: Issue, state: str, actor: str, reason: str | None) -> None:
        issue.state = state
        if state == "closed":
            issue.closed_at = self.now()
            issue.closed_by = self.user(actor)
            issue.state_reason = None if issue.pull else (reason or "completed")
        else:
            issue.closed_at = None
            issue.state_reason = None if issue.pull else "reopened"

    def list_issues(
        self,
        full_name: str,
        state: str = "open",
        labels: Iterable[str] = (),
        since: float | None = None,
        sort: str = "created",
        direction: str = "desc",
        creator: str | None = None,
    ) -> list[Issue]:
        wanted = {name.strip().lower() for name in labels if name.strip()}
        with self.lock:
            found = [
                issue
                for issue in self.repo(full_name).issues.values()
                if (state == "all" or issue.state == state)
                and wanted <= set(issue.label_keys)
                and (since is None or int(issue.updated_at) >= since)
                and (creator is None or issue.user.login.lower() == creator.lower())
            ]
        return _sorted(found, sort, direction)

    # -- labels --------------------------------------------------------------

    def create_label(self, full_name: str, name: str, color: str = "ededed", description: str | None = None) -> Label:
        with self.lock:
            repo = self.repo(full_name)
            if name.lower() in repo.labels:
                raise validation_failed("Label", "already_exists", "name")
            label = Label(next(self._ids), name, color.lstrip("#").lower(), description)
            repo.labels[name.lower()] = label
            return label

    def label(self, full_name: str, name: str) -> Label:
        with self.lock:
            label = self.repo(full_name).labels.get(name.lower())
            if label is None:
                raise not_found()
            return label

    def add_labels(self, full_name: str, number: int, names: Iterable[str], replace: bool = False) -> list[Label]:
        with self.lock:
            repo = self.repo(full_name)
            issue = self.issue(full_name, number)
            self._apply_labels(repo, issue, names, replace=replace)
            issue.updated_at = self.now()
            return self.issue_labels(repo, issue)

    def remove_label(self, full_name: str, number: int, name: str) -> list[Label]:
        with self.lock:
            repo = self.repo(full_name)
            issue = self.issue(full_name, number)
            if name.lower() not in issue.label_keys:
                raise ApiError(404, "Label does not exist")
            issue.label_keys.remove(name.lower())
            issue.updated_at = self.now()
            return self.issue_labels(repo, issue)

    def issue_labels(self, repo: Repo, issue: Issue) -> list[Label]:
        return [repo.labels[key] for key in issue.label_keys]

    def _apply_labels(self, repo: Repo, issue: Issue, names: Iterable[str], replace: bool) -> None:
        """Attach labels, creating missing ones with GitHub's default colour."""
        keys = [] if replace else list(issue.label_keys)
        for name in names:
            key = name.lower()
            if key not in repo.labels:
                repo.labels[key] = Label(next(self._ids), name)
            if key not in keys:
                keys.append(key)
        issue.label_keys = keys

    # -- comments ------------------------------------------------------------

    def create_comment(self, full_name: str, number: int, author: str, body: str) -> Comment:
        with self.lock:
            repo = self.repo(full_name)
            issue = self.issue(full_name, number)
            now = self.now()
            comment = Comment(next(self._ids), number, body, self.user(author), now, now)
            repo.comments[comment.id] = comment
            issue.comment_ids.append(comment.id)
            issue.updated_at = now
            return comment

    def list_comments(self, full_name: str, number: int, since: float | None = None) -> list[Comment]:
        with self.lock:
            repo = self.repo(full_name)
            issue = self.issue(full_name, number)
            found = [repo.comments[cid] for cid in issue.comment_ids]
        return [c for c in found if since is None or int(c.updated_at) >= since]

    def comment(self, full_name: str, comment_id: int) -> Comment:
        with self.lock:
            comment = self.repo(full_name).comments.get(comment_id)
            if comment is None:
                raise not_found()
            return comment

    def update_comment(self, full_name: str, comment_id: int, body: str) -> Comment:
        with self.lock:
            comment = self.comment(full_name, comment_id)
            comment.body = body
            comment.updated_at = self.now()
            return comment

    # -- pull requests -------------------------------------------------------

    def create_pull(
        self,
        full_name: str,
        author: str,
        title: str,
        body: str | None,
        head: tuple[str, str, str],
        base: tuple[str, str],
        draft: bool = False,
    ) -> Issue:
        """Open a pull request; ``head`` is (owner, branch, sha), ``base`` is (branch, sha)."""
        with self.lock:
            repo = self.repo(full_name)
            self._refuse_duplicate_pull(repo, head[0], head[1], base[0])
            issue = self.create_issue(full_name, author, title, body)
            issue.pull = PullInfo(next(self._ids), head[0], head[1], head[2], base[0], base[1], draft)
            return issue

    def _refuse_duplicate_pull(self, repo: Repo, head_owner: str, head_ref: str, base_ref: str) -> None:
        for issue in repo.issues.values():
            pull = issue.pull
            if (
                pull is not None
                and issue.state == "open"
                and pull.head_owner.lower() == head_owner.lower()
                and pull.head_ref == head_ref
                and pull.base_ref == base_ref
            ):
                raise validation_failed(
                    "PullRequest", "custom", message=f"A pull request already exists for {head_owner}:{head_ref}."
                )

    def list_pulls(
        self,
        full_name: str,
        state: str = "open",
        head: tuple[str, str | None] | None = None,
        base: str | None = None,
        sort: str = "created",
        direction: str = "desc",
    ) -> list[Issue]:
        """Pulls filtered like GitHub; ``head`` is (owner, branch or None for any branch)."""
        with self.lock:
            found = [
                issue
                for issue in self.repo(full_name).issues.values()
                if issue.pull is not None
                and (state == "all" or issue.state == state)
                and (base is None or issue.pull.base_ref == base)
                and (head is None or _head_matches(issue.pull, head))
            ]
        return _sorted(found, sort, direction)

    def refresh_heads(self, full_name: str, tips: Mapping[str, str]) -> None:
        """Open pulls follow their branch, as GitHub's head.sha does after a push."""
        with self.lock:
            for issue in self.repo(full_name).issues.values():
                if issue.pull is not None and issue.state == "open" and issue.pull.head_ref in tips:
                    issue.pull.head_sha = tips[issue.pull.head_ref]
                if issue.pull is not None and issue.state == "open" and issue.pull.base_ref in tips:
                    issue.pull.base_sha = tips[issue.pull.base_ref]


def _head_matches(pull: PullInfo, head: tuple[str, str | None]) -> bool:
    owner, ref = head
    return pull.head_owner.lower() == owner.lower() and (ref is None or pull.head_ref == ref)


def _sorted(issues: list[Issue], sort: str, direction: str) -> list[Issue]:
    keys: dict[str, Callable[[Issue], Any]] = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
        "comments": lambda i: (len(i.comment_ids), i.number),
        "popularity": lambda i: (len(i.comment_ids), i.number),
        "long-running": lambda i: (-i.created_at, i.number),
    }
    return sorted(issues, key=keys.get(sort, keys["created"]), reverse=direction != "asc")
