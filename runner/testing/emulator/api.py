"""The GitHub REST endpoints the emulator serves, each a small ``Call -> Reply`` function; the
pull request ones are in pulls.py.

Validation follows GitHub: a malformed body is 400 "Problems parsing JSON", a
missing or wrong field is 422 "Validation Failed" with an ``errors`` list, an unknown
object is 404 "Not Found". Git is consulted outside the state lock.
"""

from __future__ import annotations

import re
import time
from typing import Any

from runner.testing.emulator import git as emulator_git
from runner.testing.emulator.errors import ApiError, not_found, validation_failed
from runner.testing.emulator.params import body_text, label_names, query_choice, query_since, require_user
from runner.testing.emulator.routing import CREATE, WRITE, Call, Reply, paginate, route
from runner.testing.emulator.state import ISSUE_TYPES

_COLOUR = re.compile(r"^[0-9a-fA-F]{6}$")


# -- account and repository ---------------------------------------------------


@route("GET", "/rate_limit", counted=False)
def rate_limit(call: Call) -> Reply:
    core = call.rate.as_json()
    other = {"limit": 30, "used": 0, "remaining": 30, "reset": int(time.time()) + 60}
    resources = {"core": core, "search": other, "graphql": dict(core, used=0, remaining=core["limit"])}
    for name in ("integration_manifest", "code_search", "dependency_snapshots", "code_scanning_upload"):
        resources[name] = dict(other)
    return Reply(200, {"resources": resources, "rate": core})


@route("GET", "/user")
def current_user(call: Call) -> Reply:
    """An App installation token (its user is ``<app-slug>[bot]``) may not read this, as on GitHub."""
    login = require_user(call)
    if login.endswith("[bot]"):
        raise ApiError(
            403,
            "Resource not accessible by integration",
            documentation_url="https://docs.github.com/rest/users/users#get-the-authenticated-user",
        )
    user = call.state.user(login)
    return Reply(200, call.shapes.full_user(user, call.state.now()))


@route("GET", "/users/{login}")
def get_user(call: Call) -> Reply:
    with call.state.lock:
        user = call.state.users.get(call.params["login"])
        if user is None:
            raise not_found()
        return Reply(200, call.shapes.full_user(user, call.state.now()))


@route("GET", "/repos/{owner}/{repo}")
def get_repo(call: Call) -> Reply:
    with call.state.lock:
        return Reply(200, call.shapes.repo(call.state.repo(call.full_name), call.user))


@route("GET", "/repositories/{repo_id}")
def get_repo_by_id(call: Call) -> Reply:
    with call.state.lock:
        return Reply(200, call.shapes.repo(call.state.repo_by_id(call.number("repo_id")), call.user))


@route("GET", "/repos/{owner}/{repo}/branches/{branch}")
def get_branch(call: Call) -> Reply:
    repo = call.state.repo(call.full_name)
    sha = emulator_git.branch_sha(repo.git_dir, call.params["branch"])
    if sha is None:
        raise ApiError(404, "Branch not found")
    return Reply(200, call.shapes.branch(repo, call.params["branch"], sha))


# -- issues -------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(call: Call) -> Reply:
    repo = call.state.repo(call.full_name)
    issues = call.state.list_issues(
        call.full_name,
        state=query_choice(call, "state", "open", ("open", "closed", "all"), "Issue"),
        labels=(call.query("labels") or "").split(","),
        since=query_since(call, "Issue"),
        sort=query_choice(call, "sort", "created", ("created", "updated", "comments"), "Issue"),
        direction=query_choice(call, "direction", "desc", ("asc", "desc"), "Issue"),
        creator=call.query("creator"),
    )
    return paginate(call, issues, lambda issue: call.shapes.issue(repo, issue))


@route("POST", "/repos/{owner}/{repo}/issues", CREATE)
def create_issue(call: Call) -> Reply:
    data = call.json_object()
    title = body_text(data, "title", "Issue", required=True) or ""
    labels = label_names(data.get("labels") or [])
    issue = call.state.create_issue(
        call.full_name,
        require_user(call),
        title,
        body_text(data, "body", "Issue"),
        labels,
        issue_type(data.get("type"), "Issue"),
    )
    call.stats.incr("issues_created")
    with call.state.lock:
        payload = call.shapes.issue(call.state.repo(call.full_name), issue, detail=True)
    return Reply(201, payload, {"location": payload["url"]})


@route("GET", "/repos/{owner}/{repo}/issues/{number}")
def get_issue(call: Call) -> Reply:
    with call.state.lock:
        issue = call.state.issue(call.full_name, call.number())
        return Reply(200, call.shapes.issue(call.state.repo(call.full_name), issue, detail=True))


@route("PATCH", "/repos/{owner}/{repo}/issues/{number}", WRITE)
def update_issue(call: Call) -> Reply:
    changes = issue_changes(call.json_object(), "Issue")
    if "labels" in changes:
        changes["labels"] = label_names(changes["labels"] or [])
    return apply_issue_changes(call, changes, as_pull=False)


def issue_changes(data: dict[str, Any], resource: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "title" in data:
        changes["title"] = body_text(data, "title", resource, required=True)
    if "body" in data:
        changes["body"] = body_text(data, "body", resource)
    if "state" in data:
        if data["state"] not in ("open", "closed"):
            raise validation_failed(resource, "invalid", "state")
        changes["state"] = data["state"]
    if isinstance(data.get("state_reason"), str):
        changes["state_reason"] = data["state_reason"]
    if "labels" in data:
        changes["labels"] = data["labels"]
    if "type" in data and resource == "Issue":
        changes["type"] = issue_type(data["type"], resource)
    return changes


def issue_type(value: Any, resource: str) -> str | None:
    """One of the organization's issue types (GitHub's defaults: Bug, Feature, Task) by name, any
    case, as GitHub stores it; None clears it; any other name is a validation failure."""
    if value is None:
        return None
    wanted = value.strip().lower() if isinstance(value, str) else None
    found = next((name for name in ISSUE_TYPES if name.lower() == wanted), None)
    if found is None:
        raise validation_failed(resource, "invalid", "type")
    return found


def apply_issue_changes(call: Call, changes: dict[str, Any], as_pull: bool) -> Reply:
    find = call.state.pull if as_pull else call.state.issue
    with call.state.lock:
        issue = find(call.full_name, call.number())
        was_open = issue.state == "open"
        call.state.update_issue(call.full_name, issue.number, require_user(call), changes)
        if was_open and issue.state == "closed" and issue.pull is None:
            call.stats.incr("issues_closed")
        repo = call.state.repo(call.full_name)
        payload = call.shapes.pull(repo, issue, True) if as_pull else call.shapes.issue(repo, issue, True)
        return Reply(200, payload)


# -- labels -------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/labels")
def list_labels(call: Call) -> Reply:
    with call.state.lock:
        repo = call.state.repo(call.full_name)
        labels = sorted(repo.labels.values(), key=lambda label: label.name.lower())
    return paginate(call, labels, lambda label: call.shapes.label(repo, label))


@route("POST", "/repos/{owner}/{repo}/labels", CREATE)
def create_label(call: Call) -> Reply:
    data = call.json_object()
    name = body_text(data, "name", "Label", required=True) or ""
    color = body_text(data, "color", "Label") or "ededed"
    description = body_text(data, "description", "Label")
    if not _COLOUR.match(color.lstrip("#")):
        raise validation_failed("Label", "invalid", "color")
    if description is not None and len(description) > 100:
        raise validation_failed(
            "Label", "invalid", "description", "description is too long (maximum is 100 characters)"
        )
    label = call.state.create_label(call.full_name, name, color, description)
    call.stats.incr("labels_created")
    with call.state.lock:
        payload = call.shapes.label(call.state.repo(call.full_name), label)
    return Reply(201, payload, {"location": payload["url"]})


@route("GET", "/repos/{owner}/{repo}/labels/{name}")
def get_label(call: Call) -> Reply:
    with call.state.lock:
        label = call.state.label(call.full_name, call.params["name"])
        return Reply(200, call.shapes.label(call.state.repo(call.full_name), label))


@route("GET", "/repos/{owner}/{repo}/issues/{number}/labels")
def list_issue_labels(call: Call) -> Reply:
    with call.state.lock:
        repo = call.state.repo(call.full_name)
        labels = call.state.issue_labels(repo, call.state.issue(call.full_name, call.number()))
    return paginate(call, labels, lambda label: call.shapes.label(repo, label))


@route("POST", "/repos/{owner}/{repo}/issues/{number}/labels", WRITE)
def add_issue_labels(call: Call) -> Reply:
    names = label_names(call.json())
    call.stats.incr("labels_added", len(names))
    return _labels_reply(call, call.state.add_labels(call.full_name, call.number(), names))


@route("PUT", "/repos/{owner}/{repo}/issues/{number}/labels", WRITE)
def set_issue_labels(call: Call) -> Reply:
    names = label_names(call.json())
    return _labels_reply(call, call.state.add_labels(call.full_name, call.number(), names, replace=True))


@route("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels/{name}", WRITE)
def remove_issue_label(call: Call) -> Reply:
    labels = call.state.remove_label(call.full_name, call.number(), call.params["name"])
    call.stats.incr("labels_removed")
    return _labels_reply(call, labels)


@route("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels", WRITE)
def clear_issue_labels(call: Call) -> Reply:
    call.state.add_labels(call.full_name, call.number(), [], replace=True)
    return Reply(204)


def _labels_reply(call: Call, labels: list[Any]) -> Reply:
    with call.state.lock:
        repo = call.state.repo(call.full_name)
        return Reply(200, [call.shapes.label(repo, label) for label in labels])


# -- comments -----------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/issues/{number}/comments")
def list_comments(call: Call) -> Reply:
    repo = call.state.repo(call.full_name)
    comments = call.state.list_comments(call.full_name, call.number(), since=query_since(call, "IssueComment"))
    return paginate(call, comments, lambda comment: call.shapes.comment(repo, comment))


@route("POST", "/repos/{owner}/{repo}/issues/{number}/comments", CREATE)
def create_comment(call: Call) -> Reply:
    body = body_text(call.json_object(), "body", "IssueComment", required=True) or ""
    comment = call.state.create_comment(call.full_name, call.number(), require_user(call), body)
    call.stats.incr("comments_created")
    with call.state.lock:
        payload = call.shapes.comment(call.state.repo(call.full_name), comment)
    return Reply(201, payload, {"location": payload["url"]})


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(call: Call) -> Reply:
    with call.state.lock:
        comment = call.state.comment(call.full_name, call.number("comment_id"))
        return Reply(200, call.shapes.comment(call.state.repo(call.full_name), comment))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", WRITE)
def update_comment(call: Call) -> Reply:
    body = body_text(call.json_object(), "body", "IssueComment", required=True) or ""
    comment = call.state.update_comment(call.full_name, call.number("comment_id"), body)
    call.stats.incr("comments_updated")
    with call.state.lock:
        return Reply(200, call.shapes.comment(call.state.repo(call.full_name), comment))
