"""Which GitHub login is runner's own.

runner recognises its own pull requests and comments by their author, never by
their text: anyone who can comment can copy runner's hidden marker, and anyone
with push access can open a pull request from runner's branch. The login is the
token's, from GET /user; a GitHub App installation token may not read that
endpoint, so its login (`<app-slug>[bot]`) comes from the `login` setting.
"""

from __future__ import annotations

from github import GithubException

from runner.core.errors import RunnerError
from runner.core.retry import is_rate_limited


class IdentityError(RunnerError):
    """runner cannot tell which login is its own, so it could not tell its own writes."""

    transient = False


def own_login(gh, configured: str | None) -> str:
    """The token's login; `configured` where GitHub will not say, and checked where it does."""
    try:
        login = gh.get_user().login
    except GithubException as exc:
        if is_rate_limited(exc) or exc.status not in (403, 404):
            raise
        if configured:
            return configured
        raise IdentityError(
            f"GitHub does not say whose token this is (GET /user answers {exc.status}; a GitHub "
            'App installation token?): set login = "<app-slug>[bot]" in [github]'
        ) from None
    if configured and configured.lower() != login.lower():
        raise IdentityError(f"[github] login is {configured!r}, but the token belongs to {login!r}")
    return login
