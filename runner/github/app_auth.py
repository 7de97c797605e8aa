"""Acting as a GitHub App: installation tokens from PyGithub's `Auth.AppAuth`, renewed ahead of expiry.

    [github] app_id + app_key_file (+ installation_id)   (runner.config.github.AppCredentials)
        ──connect_app──> the App's login (`<slug>[bot]`, from GET /app), the installation (asked of
                         GitHub for the repository when not given) and its first token: a bad key or
                         an unknown installation is a usage error
        ──RenewingInstallationAuth.token──> the current token, a new one once less than
                         RENEW_FRACTION of its life (at most RENEW_MARGIN_S) is left
            ├── every API request (PyGithub reads `token` for each one)
            └── every git push (runner.github.client.current_token -> runner.git.auth.git_auth_env)

One auth object per App and installation for the whole process, so the fetch, the publishers
and the pushes of a run share its token. PyGithub signs the JWTs and asks for the tokens; every
JWT and token is remembered for redaction the moment it exists. PyGithub's own renewal starts
20 s before expiry; a push may last longer than that, and tokens must stay valid through it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from github import Auth, GithubException, GithubIntegration

from runner.config.github import AppCredentials, GitHubSettings, TokenError
from runner.core.errors import RunnerError
from runner.core.secrets import redact, remember_secret

if TYPE_CHECKING:
    from github.InstallationAuthorization import InstallationAuthorization

RENEW_MARGIN_S = 300.0
RENEW_FRACTION = 0.25


class AppAuthError(TokenError):
    """The App cannot act here: wrong key, no such installation, not installed on the repository (exit 2)."""


class AppConnectError(RunnerError):
    """GitHub could not be asked (network, 5xx, rate limit): nothing was done, and the settings may be right."""


class RememberingAppAuth(Auth.AppAuth):
    """PyGithub's App JWT, kept out of every text runner prints or stores."""

    def create_jwt(self, expiration: int | None = None) -> str:
        jwt = super().create_jwt(expiration)
        remember_secret(jwt)
        return jwt


class RenewingInstallationAuth(Auth.AppInstallationAuth):
    """PyGithub's installation auth with a wider renewal margin and a lock: requests from several
    threads ask for one new token, not one each."""

    def __init__(self, app_auth: Auth.AppAuth, installation_id: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__(app_auth, installation_id)
        self._clock = clock
        self._lock = threading.Lock()
        self._current: InstallationAuthorization | None = None
        self._renew_at = 0.0
        self.renewals = 0
        self.bot_login: str | None = None

    @property
    def token(self) -> str:
        with self._lock:
            if self._current is None or self._clock() >= self._renew_at:
                self._renew()
            assert self._current is not None
            return self._current.token

    def _renew(self) -> None:
        issued_at = self._clock()
        current = self._get_installation_authorization()
        remember_secret(current.token)
        expires = _epoch(current.expires_at) if current.expires_at else issued_at + 3600.0
        margin = min(RENEW_MARGIN_S, max(expires - issued_at, 0.0) * RENEW_FRACTION)
        self._current, self._renew_at = current, expires - margin
        self.renewals += 1


_auths: dict[tuple[str, AppCredentials], RenewingInstallationAuth] = {}
_auths_lock = threading.Lock()


def connect_app(settings: GitHubSettings) -> RenewingInstallationAuth:
    """The process's auth for `settings.app`, with its first token: errors a user must fix are AppAuthError."""
    app = settings.app
    assert app is not None
    with _auths_lock:
        auth = _auths.get((settings.api_url, app))
        if auth is not None:
            return auth
        try:
            integration = _integration(settings, app)
            slug = integration.get_app().slug
            installation = app.installation_id or _find_installation(integration, app)
            auth = RenewingInstallationAuth(RememberingAppAuth(app.app_id, app.private_key), installation)
            auth.bot_login = f"{slug}[bot]"
            _first_token(settings, auth, installation)
        except GithubException as exc:
            if exc.status in (401, 403, 404, 422):
                raise AppAuthError(_problem(exc, app)) from None
            raise AppConnectError(_problem(exc, app)) from None
        except OSError as exc:
            raise AppConnectError(
                redact(f"cannot reach GitHub at {settings.api_url} to authenticate the App {app.app_id}: {exc}")[:500]
            ) from None
        _auths[(settings.api_url, app)] = auth
        return auth


def _find_installation(integration: GithubIntegration, app: AppCredentials) -> int:
    if not app.repository:
        raise AppAuthError(
            "give installation_id (--installation-id): there is no repository to look the App's installation up for"
        )
    owner, _, name = app.repository.partition("/")
    try:
        return integration.get_repo_installation(owner, name).id
    except GithubException as exc:
        if exc.status == 404:
            raise AppAuthError(
                f"the GitHub App {app.app_id} is not installed on {app.repository} (install it "
                "there, or give --installation-id)"
            ) from None
        raise


def _first_token(settings: GitHubSettings, auth: RenewingInstallationAuth, installation: int) -> None:
    """Bind the auth to a client and ask for the first token, so a wrong installation stops the run
    before any work."""
    from runner.github.client import make_github

    make_github(settings, auth)
    try:
        auth.token  # noqa: B018  (the property asks GitHub for the first token)
    except GithubException as exc:
        if exc.status == 404:
            raise AppAuthError(
                f"the GitHub App {settings.app.app_id if settings.app else '?'} has no installation "
                f"{installation} (check --installation-id)"
            ) from None
        raise


def _integration(settings: GitHubSettings, app: AppCredentials) -> GithubIntegration:
    auth = RememberingAppAuth(app.app_id, app.private_key)
    try:
        auth.create_jwt()
    except Exception:
        raise AppAuthError(f"the App key file {app.key_file} cannot sign a JWT for GitHub") from None
    return GithubIntegration(auth=auth, base_url=settings.api_url, timeout=settings.timeout_s, retry=None)


def _problem(exc: GithubException, app: AppCredentials) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.status)
    if exc.status == 401:
        return (
            f"GitHub refused the App {app.app_id}'s credentials ({message}): check --app-id and that "
            f"{app.key_file} is a current private key of that App"
        )
    return redact(f"GitHub App {app.app_id}: {message} (HTTP {exc.status})")


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
