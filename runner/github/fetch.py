"""`runner fetch`: a repository's issues as JSON Lines, at the smallest cost in rate limit.

    first page URL ──> conditional GET ──200──> items + ETag + Link ──> page cache (<state>/http-cache)
          ▲           (If-None-Match from      │
          │            the page cache)        304──> cached items + cached next link (free on GitHub)
          │                                    │
          └──── Link rel="next" ◄──────────────┤
                                               ▼
                          issues (pull requests left out) ──> JSON Lines ──> out

Requests go through PyGithub's requester, so they share its authentication,
base URL, timeouts and `GithubRetry` (5xx retries, rate-limit waits up to
`max_rate_limit_wait`); only the request headers and the 304 handling are ours.
A cache file holds a page's ETag, its items and its next link, nothing from
the request: the token never reaches the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import github
from github.GithubException import GithubException, RateLimitExceededException

from runner.core import ratelimit
from runner.core.errors import RunnerError
from runner.core.secrets import redact
from runner.core.status import ExitCode

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

PER_PAGE = 100
STATES = ("open", "closed", "all")
RATE_LIMIT_RETRIES = 3
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


class FetchError(RunnerError):
    """The fetch could not finish; `exit_code` says why (see DESIGN.md's exit codes)."""

    exit_code = ExitCode.FAILED


class BadCredentials(FetchError):
    exit_code = ExitCode.USAGE


class RepoNotFound(FetchError):
    exit_code = ExitCode.USAGE


class RateLimited(FetchError):
    exit_code = ExitCode.DEFERRED


class NetworkError(FetchError):
    exit_code = ExitCode.FAILED


@dataclass
class FetchStats:
    issues: int = 0
    pull_requests_skipped: int = 0
    pages: int = 0
    not_modified: int = 0
    requests: int = 0


@dataclass(frozen=True)
class Page:
    etag: str | None
    items: list[Any]
    next_url: str | None


class PageCache:
    """One JSON file per page URL: `<dir>/<sha256(url)>.json` = {etag, next, body}."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, url: str) -> Path:
        return self.directory / f"{hashlib.sha256(url.encode()).hexdigest()}.json"

    def load(self, url: str) -> Page | None:
        """The cached page, or None when absent or unreadable (then the page is simply fetched)."""
        try:
            data = json.loads(self.path_for(url).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        etag, body, next_url = data.get("etag"), data.get("body"), data.get("next")
        if not isinstance(etag, str) or not isinstance(body, list) or not isinstance(next_url, (str, type(None))):
            return None
        return Page(etag, body, next_url)

    def store(self, url: str, page: Page) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps({"etag": page.etag, "next": page.next_url, "body": page.items})
        fd, tmp = tempfile.mkstemp(prefix=".page-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path_for(url))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


# -- public API -----------------------------------------------------------------


def fetch_issues(
    gh: github.Github,
    repo: str,
    out: SupportsWrite[str],
    *,
    state: str = "open",
    labels: Iterable[str] = (),
    since: str | datetime | None = None,
    cache_dir: Path | None = None,
    max_wait_s: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> FetchStats:
    """Write every issue of `repo` matching the filters to `out`, one JSON object a line.

    `max_wait_s`, `sleep` and `clock` govern rate-limit answers that reach us
    (PyGithub's own retry handles the others): a wait within the limit is slept,
    a longer one raises `RateLimited`.
    """
    check_repo(repo)
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    pager = _Pager(gh, repo, PageCache(cache_dir) if cache_dir else None, max_wait_s, sleep, clock)
    url: str | None = list_url(gh.requester.base_url, repo, state, labels, since)
    seen: set[str] = set()
    while url is not None and url not in seen:
        seen.add(url)
        page = pager.get(url)
        _write_issues(page.items, out, pager.stats)
        url = page.next_url
    return pager.stats


def fetch_to_path(gh: github.Github, repo: str, path: Path, **options: Any) -> FetchStats:
    """`fetch_issues` into `path`, replaced atomically: a failed fetch leaves the old file as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            stats = fetch_issues(gh, repo, handle, **options)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return stats


def check_repo(repo: str) -> None:
    if not _REPO.match(repo) or repo.split("/")[1] in (".", ".."):
        raise ValueError(f"expected OWNER/REPO, got {repo!r}")


def normalize_since(value: str | datetime) -> str:
    """GitHub's `since` form (UTC, `Z`); naive times are taken as UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_url(base_url: str, repo: str, state: str, labels: Iterable[str], since: str | datetime | None) -> str:
    owner, name = repo.split("/")
    params = [("state", state)]
    wanted = [label for label in labels if label]
    if wanted:
        params.append(("labels", ",".join(wanted)))
    if since is not None:
        params.append(("since", normalize_since(since)))
    params.append(("per_page", str(PER_PAGE)))
    return f"{base_url.rstrip('/')}/repos/{quote(owner)}/{quote(name)}/issues?{urlencode(params)}"


def next_link(link_header: str | None) -> str | None:
    for url, rel in _LINK.findall(link_header or ""):
        if rel == "next":
            return url
    return None


# -- one page -------------------------------------------------------------------


class _Pager:
    """Conditional GETs of list pages, with errors turned into `FetchError`s."""

    def __init__(
        self,
        gh: github.Github,
        repo: str,
        cache: PageCache | None,
        max_wait_s: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.requester = gh.requester
        self.repo = repo
        self.cache = cache
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self.clock = clock
        self.stats = FetchStats()
        self.secret = getattr(self.requester.auth, "token", "") or ""

    def get(self, url: str) -> Page:
        cached = self.cache.load(url) if self.cache else None
        headers = {"If-None-Match": cached.etag} if cached and cached.etag else {}
        for _attempt in range(RATE_LIMIT_RETRIES + 1):
            status, reply_headers, body = self._request(url, headers)
            wait = _rate_limit_wait(status, reply_headers, body, self.clock())
            if wait is None:
                break
            if wait > self.max_wait_s:
                raise RateLimited(self._rate_limit_message(wait))
            self.sleep(wait)
        else:
            raise RateLimited(self._rate_limit_message(None))
        self.stats.pages += 1
        if status == 304 and cached is not None:
            self.stats.not_modified += 1
            return cached
        page = self._page(status, reply_headers, body)
        if self.cache and page.etag:
            self.cache.store(url, page)
        return page

    def _request(self, url: str, headers: Mapping[str, str]) -> tuple[int, dict[str, Any], str]:
        self.stats.requests += 1
        try:
            return self.requester.requestJson("GET", url, None, dict(headers))
        except RateLimitExceededException as exc:
            raise RateLimited(self._rate_limit_message(getattr(exc, "wait", None))) from None
        except GithubException as exc:
            raise self._error(exc.status, exc.data) from None
        except OSError as exc:  # requests' errors are OSErrors: refused, reset, timeouts, retries used up
            raise NetworkError(self._clean(f"cannot reach GitHub at {self.requester.base_url}: {exc}")) from None

    def _page(self, status: int, headers: Mapping[str, Any], body: str) -> Page:
        data = _json_or_none(body)
        if status != 200:
            raise self._error(status, data)
        if not isinstance(data, list):
            raise FetchError(f"unexpected answer listing the issues of {self.repo}: not a JSON array")
        return Page(headers.get("etag"), data, next_link(headers.get("link")))

    def _error(self, status: int, data: Any) -> FetchError:
        message = data.get("message") if isinstance(data, dict) else None
        if status == 401:
            return BadCredentials(f"GitHub rejected the token: {message or 'Bad credentials'} (401)")
        if status == 404:
            return RepoNotFound(f"repository {self.repo} not found, or the token cannot see it (404)")
        detail = f": {message}" if message else ""
        return FetchError(self._clean(f"GitHub answered {status} listing the issues of {self.repo}{detail}"))

    def _rate_limit_message(self, wait: float | None) -> str:
        if wait is None:
            return f"GitHub rate limit reached listing the issues of {self.repo}; try again later"
        return (
            f"GitHub rate limit reached for {self.repo}: it resets in {wait:.0f} s, "
            f"more than the wait limit of {self.max_wait_s:.0f} s"
        )

    def _clean(self, text: str) -> str:
        return redact(text, self.secret)


def _rate_limit_wait(status: int, headers: Mapping[str, Any], body: str, now: float) -> float | None:
    """Seconds to wait before asking again, or None when this is not a rate-limit refusal. A
    reset time gets a second's margin; a refusal that names no wait gets GitHub's advice for
    secondary limits, a minute."""
    data = _json_or_none(body)
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    lowered = ratelimit.lowered(headers)
    if not ratelimit.is_rate_limit(status, lowered, message):
        return None
    wait = ratelimit.wait_s(lowered, now)
    if wait is None:
        return 60.0
    return wait if "retry-after" in lowered else wait + 1.0


def _json_or_none(body: str) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _write_issues(items: list[Any], out: SupportsWrite[str], stats: FetchStats) -> None:
    for item in items:
        if isinstance(item, dict) and "pull_request" in item:
            stats.pull_requests_skipped += 1
            continue
        out.write(json.dumps(item) + "\n")
        stats.issues += 1
