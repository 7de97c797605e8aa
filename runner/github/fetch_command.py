"""`runner fetch` as a command: its request checked (a usage error, exit 2, says which option is
wrong), the issues written to stdout or atomically to a file, a summary line or a JSON
document, and every message free of the token. The fetching itself is runner.github.fetch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from runner.core.secrets import redact
from runner.core.status import ExitCode
from runner.github.fetch import STATES, FetchError, FetchStats, check_repo, fetch_issues, fetch_to_path, normalize_since


@dataclass(frozen=True)
class FetchRequest:
    """What `runner fetch` was asked for."""

    repo: str
    output: Path | None = None
    state: str = "open"
    labels: tuple[str, ...] = ()
    since: str | None = None
    token_file: Path | None = None
    state_dir: Path | None = None
    max_wait_s: float = 120.0
    quiet: bool = False
    json_output: bool = False


def run_fetch(request: FetchRequest, stdout: TextIO, stderr: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """The `runner fetch` command: the exit code, with every message free of the token."""
    from runner.config import default_state_dir
    from runner.config.github import GitHubSettings, TokenError, api_url, read_token
    from runner.core.secrets import token_environ
    from runner.github.client import make_github

    env = token_environ() if environ is None else dict(environ)
    token = ""
    try:
        if request.json_output and request.output is None:
            raise ValueError("--json needs --output FILE: without it stdout carries the issues themselves")
        token = read_token(request.token_file, env)
        options = _fetch_options(request, default_state_dir)
        settings = GitHubSettings(api_url=api_url(env), token=token, max_wait_s=request.max_wait_s)
        gh = make_github(settings)
        try:
            if request.output is None:
                stats = fetch_issues(gh, request.repo, stdout, **options)
                stdout.flush()
            else:
                stats = fetch_to_path(gh, request.repo, request.output, **options)
        finally:
            gh.close()
    except (TokenError, ValueError) as exc:
        return _fail(stderr, str(exc), token, ExitCode.USAGE)
    except FetchError as exc:
        return _fail(stderr, str(exc), token, exc.exit_code)
    except OSError as exc:
        return _fail(stderr, f"cannot write the issues: {exc}", token, ExitCode.FAILED)
    if not request.quiet:
        stderr.write(redact(_summary(request.repo, stats), token) + "\n")
    if request.json_output:
        stdout.write(redact(json.dumps(_document(request, stats), indent=2, ensure_ascii=False), token) + "\n")
        stdout.flush()
    return ExitCode.OK


def _fetch_options(request: FetchRequest, default_state_dir: Callable[[], Path]) -> dict[str, Any]:
    check_repo(request.repo)
    if request.state not in STATES:
        raise ValueError(f"--state must be one of {', '.join(STATES)}, got {request.state!r}")
    since = None
    if request.since is not None:
        try:
            since = normalize_since(request.since)
        except ValueError:
            raise ValueError(
                f"--since expects an ISO 8601 time such as 2024-05-01T00:00:00Z, got {request.since!r}"
            ) from None
    if request.max_wait_s < 0:
        raise ValueError("--max-wait must be >= 0")
    state_dir = request.state_dir or default_state_dir()
    return {
        "state": request.state,
        "labels": request.labels,
        "since": since,
        "cache_dir": state_dir / "http-cache",
        "max_wait_s": request.max_wait_s,
    }


def _summary(repo: str, stats: FetchStats) -> str:
    return (
        f"runner: fetched {stats.issues} issues from {repo} ({stats.pages} pages, "
        f"{stats.not_modified} not modified; {stats.pull_requests_skipped} pull requests left out)"
    )


def _document(request: FetchRequest, stats: FetchStats) -> dict[str, Any]:
    """`runner fetch --json`: the counts and where the issues went."""
    output = str(request.output.resolve()) if request.output else None
    return {
        "repository": request.repo,
        "output": output,
        "issues": stats.issues,
        "pages": stats.pages,
        "not_modified": stats.not_modified,
        "pull_requests_skipped": stats.pull_requests_skipped,
        "requests": stats.requests,
    }


def _fail(stderr: TextIO, message: str, token: str, code: int) -> int:
    stderr.write(f"runner: error: {redact(message, token)}\n")
    stderr.flush()
    return code
