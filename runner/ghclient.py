"""The GitHub connection: where, with what token, and how politely.

The token comes from `GITHUB_TOKEN` or a token file, never from the command
line (argv is visible to every user of the machine). It is handed to PyGithub
and, for https pushes, to git through environment-only config; `redact`
scrubs it from any text runner prints or stores.

PyGithub does the request-level work it already does well: pagination, rate
limit headers, and `GithubRetry` (5xx and rate-limit waits for reads, with
`max_rate_limit_wait` so a primary limit that resets in an hour raises instead
of blocking). Writes are not retried by PyGithub: a POST whose reply was lost
may have happened, so the publisher looks before it writes again; their pace
is `runner.pacing.Pacer`'s, because it must adapt to secondary limits.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import github

DEFAULT_API_URL = "https://api.github.com"
REDACTED = "***"


class TokenError(Exception):
    """No usable token (exit 2)."""


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str = DEFAULT_API_URL
    token: str = field(default="", repr=False)
    write_interval_s: float = 1.0
    notify_interval_s: float = 3.0
    content_per_minute: int = 80
    content_per_hour: int = 500
    max_wait_s: float = 120.0
    secondary_wait_s: float = 60.0
    read_retries: int = 3
    timeout_s: int = 30
    comment: bool = True
    time_scale: float = 1.0
    labels: tuple[str, ...] = ("runner",)
    recreate_closed: bool = False
    remote: str = "origin"
    push_timeout_s: float = 600.0
    login: str | None = None

    def __repr__(self) -> str:
        return f"GitHubSettings(api_url={self.api_url!r}, token={REDACTED})"


def read_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise TokenError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        if not token:
            raise TokenError(f"the token file {token_file} is empty")
        return token
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise TokenError("no GitHub token: set GITHUB_TOKEN or pass --token-file FILE")
    return token


def api_url(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def make_github(settings: GitHubSettings) -> github.Github:
    """A PyGithub client: retries and rate-limit waits for reads only.

    PyGithub is imported here, not at module load: a run without `--github` should not pay
    for it at start-up (a third of a second of imports)."""
    import github
    from github import Auth, GithubRetry
    from urllib3.util.retry import Retry

    retry = GithubRetry(
        total=settings.read_retries,
        backoff_factor=0.5,
        secondary_rate_wait=settings.secondary_wait_s,
        max_rate_limit_wait=settings.max_wait_s,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS - {"PUT", "DELETE"},
    )
    return github.Github(
        auth=Auth.Token(settings.token),
        base_url=settings.api_url,
        timeout=settings.timeout_s,
        per_page=100,
        retry=retry,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def redact(text: str, token: str) -> str:
    """The text with the token (and its base64 forms, as used in auth headers) removed."""
    if not token:
        return text
    for secret in _token_forms(token):
        text = text.replace(secret, REDACTED)
    return text


def _token_forms(token: str) -> list[str]:
    forms = [token]
    for prefix in ("", "x-access-token:", "token:"):
        forms.append(base64.b64encode((prefix + token).encode()).decode())
    return forms


def git_auth_env(remote_url: str, token: str) -> dict[str, str]:
    """Environment-only git config sending the token to an https remote (never argv)."""
    if not token or not remote_url.startswith("https://"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    host = "/".join(remote_url.split("/")[:3]) + "/"
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{host}.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }
