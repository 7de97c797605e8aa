"""The GitHub connection: a PyGithub client that is polite by construction.

PyGithub does the request-level work it already does well: pagination, rate
limit headers, and `GithubRetry` (5xx and rate-limit waits for reads, with
`max_rate_limit_wait` so a primary limit that resets in an hour raises instead
of blocking). Writes are not retried by PyGithub: a POST whose reply was lost
may have happened, so the publisher looks before it writes again; their pace
is `runner.github.pacing.Pacer`'s, because it must adapt to secondary limits.
Where the token comes from is `runner.config.github`; which host may see it is
`runner.git.auth`; how it is kept out of text is `runner.core.secrets`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.config.github import GitHubSettings

if TYPE_CHECKING:
    import github


def make_github(settings: GitHubSettings, auth: github.Auth.Auth | None = None) -> github.Github:
    """A PyGithub client: retries and rate-limit waits for reads only. It authenticates with
    `auth`, else as the App of `settings.app` (runner.github.app_auth), else with the token.

    PyGithub is imported here, not at module load: a run without `--github` should not pay
    for it at start-up (a third of a second of imports)."""
    import github
    from github import Auth, GithubRetry
    from urllib3.util.retry import Retry

    if auth is None and settings.app is not None:
        from runner.github.app_auth import connect_app

        auth = connect_app(settings)

    retry = GithubRetry(
        total=settings.read_retries,
        backoff_factor=0.5,
        secondary_rate_wait=settings.secondary_wait_s,
        max_rate_limit_wait=settings.max_wait_s,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS - {"PUT", "DELETE"},
    )
    return github.Github(
        auth=auth or Auth.Token(settings.token),
        base_url=settings.api_url,
        timeout=settings.timeout_s,
        per_page=100,
        retry=retry,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def current_token(settings: GitHubSettings) -> str:
    """The token a git push should carry now: the App installation's current one (renewed when
    close to expiry), else the configured token."""
    if settings.app is None:
        return settings.token
    from runner.github.app_auth import connect_app

    return connect_app(settings).token


def app_login(settings: GitHubSettings) -> str | None:
    """As a GitHub App, the login runner writes as: the `login` setting, else the App's `<slug>[bot]`
    (GitHub's GET /user refuses installation tokens); None when runner uses a plain token."""
    if settings.app is None:
        return None
    from runner.github.app_auth import connect_app

    return settings.login or connect_app(settings).bot_login
