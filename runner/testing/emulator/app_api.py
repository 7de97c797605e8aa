"""The GitHub App endpoints the emulator serves: called with the App's JWT, as on GitHub.

GET  /app                                      the App itself
GET  /repos/{owner}/{repo}/installation        the App's installation on the repository's owner
GET  /app/installations/{installation_id}      one installation
POST /app/installations/{installation_id}/access_tokens   a new installation token
"""

from __future__ import annotations

import math
from typing import Any

from runner.testing.emulator.apps import AppRecord, Apps
from runner.testing.emulator.errors import ApiError
from runner.testing.emulator.routing import Call, Reply, route
from runner.testing.emulator.shapes import iso

APPS_DOCS = "https://docs.github.com/rest/apps/apps"
PERMISSIONS = {"contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read"}


def _caller(call: Call) -> tuple[AppRecord, Apps]:
    if call.app is None or call.apps is None:
        raise ApiError(401, "A JSON web token could not be decoded")
    return call.app, call.apps


@route("GET", "/app", app_jwt=True)
def get_app(call: Call) -> Reply:
    app, _ = _caller(call)
    owner = call.shapes.user(call.state.user(app.slug))
    return Reply(
        200,
        {
            "id": app.id,
            "slug": app.slug,
            "node_id": f"A_{app.id}",
            "name": app.slug,
            "owner": owner,
            "description": "",
            "external_url": call.shapes.base,
            "html_url": f"{call.shapes.base}/apps/{app.slug}",
            "permissions": PERMISSIONS,
            "events": [],
            "installations_count": len(app.installations),
            "created_at": iso(call.state.now()),
            "updated_at": iso(call.state.now()),
        },
    )


@route("GET", "/repos/{owner}/{repo}/installation", app_jwt=True)
def get_repo_installation(call: Call) -> Reply:
    app, _ = _caller(call)
    repo = call.state.repo(call.full_name)
    installation_id = app.installations.get(repo.owner.login.lower())
    if installation_id is None:
        raise ApiError(
            404, "Not Found", documentation_url=f"{APPS_DOCS}#get-a-repository-installation-for-the-authenticated-app"
        )
    return Reply(200, _installation(call, app, installation_id, repo.owner.login))


@route("GET", "/app/installations/{installation_id}", app_jwt=True)
def get_installation(call: Call) -> Reply:
    app, apps = _caller(call)
    _, account = apps.installation(call.number("installation_id"), app)
    return Reply(200, _installation(call, app, call.number("installation_id"), account))


@route("POST", "/app/installations/{installation_id}/access_tokens", app_jwt=True)
def create_access_token(call: Call) -> Reply:
    """`expires_at` is on the client's (real) clock, rounded down: the token is refused from then on."""
    app, apps = _caller(call)
    issued = apps.issue_token(call.number("installation_id"), app, call.token_lifetime_s)
    call.stats.incr("installation_tokens_issued")
    expires = math.floor(apps.clock.real_time_of(issued.expires_at))
    return Reply(
        201,
        {"token": issued.token, "expires_at": iso(expires), "permissions": PERMISSIONS, "repository_selection": "all"},
    )


def _installation(call: Call, app: AppRecord, installation_id: int, account: str) -> dict[str, Any]:
    base = call.shapes.base
    user = call.state.user(account)
    return {
        "id": installation_id,
        "account": call.shapes.user(user),
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": user.id,
        "target_type": "Organization",
        "repository_selection": "all",
        "access_tokens_url": f"{base}/app/installations/{installation_id}/access_tokens",
        "repositories_url": f"{base}/installation/repositories",
        "html_url": f"{base}/organizations/{account}/settings/installations/{installation_id}",
        "permissions": PERMISSIONS,
        "events": [],
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
        "created_at": iso(call.state.now()),
        "updated_at": iso(call.state.now()),
    }
