"""The pull request endpoints the emulator serves: list, create (only for a pushed head with
commits the base lacks, one open pull per head and base), read, update, and merge, which is
always refused (runner never merges). Branch heads are read from git outside the state lock.
"""

from __future__ import annotations

from runner.testing.emulator import git as emulator_git
from runner.testing.emulator.api import apply_issue_changes, issue_changes
from runner.testing.emulator.errors import ApiError, not_found, validation_failed
from runner.testing.emulator.params import body_text, query_choice, require_user
from runner.testing.emulator.routing import CREATE, WRITE, Call, Reply, paginate, route

PULLS_DOCS_BASE = "https://docs.github.com/rest/pulls/pulls"
PULLS_DOCS = f"{PULLS_DOCS_BASE}#create-a-pull-request"


def _refresh_heads(call: Call) -> None:
    repo = call.state.repo(call.full_name)
    call.state.refresh_heads(call.full_name, emulator_git.branch_tips(repo.git_dir))


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(call: Call) -> Reply:
    """``head`` must be OWNER:BRANCH (or OWNER:); a bare branch name filters nothing, as on GitHub."""
    _refresh_heads(call)
    repo = call.state.repo(call.full_name)
    head_filter = call.query("head")
    head = None
    if head_filter and ":" in head_filter:
        owner, _, branch = head_filter.partition(":")
        head = (owner, branch or None)
    pulls = call.state.list_pulls(
        call.full_name,
        state=query_choice(call, "state", "open", ("open", "closed", "all"), "PullRequest"),
        head=head,
        base=call.query("base"),
        sort=query_choice(call, "sort", "created", ("created", "updated", "popularity", "long-running"), "PullRequest"),
        direction=query_choice(call, "direction", "desc", ("asc", "desc"), "PullRequest"),
    )
    return paginate(call, pulls, lambda issue: call.shapes.pull(repo, issue))


@route("POST", "/repos/{owner}/{repo}/pulls", CREATE)
def create_pull(call: Call) -> Reply:
    """Only for pushed branches with commits the base lacks; one open pull per head and base."""
    data = call.json_object()
    user = require_user(call)
    if "issue" in data:
        raise validation_failed("PullRequest", "custom", message="Converting an issue is not supported here.")
    title = body_text(data, "title", "PullRequest", required=True) or ""
    head_spec = body_text(data, "head", "PullRequest", required=True) or ""
    base_ref = body_text(data, "base", "PullRequest", required=True) or ""
    repo = call.state.repo(call.full_name)
    head_owner, _, head_ref = head_spec.rpartition(":")
    head_owner = head_owner or repo.owner.login
    head_sha = emulator_git.branch_sha(repo.git_dir, head_ref)
    if head_owner.lower() != repo.owner.login.lower() or head_sha is None:
        raise _pull_invalid("head")
    base_sha = emulator_git.branch_sha(repo.git_dir, base_ref)
    if base_sha is None:
        raise _pull_invalid("base")
    if emulator_git.commits_between(repo.git_dir, base_sha, head_sha) == 0:
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base_ref} and {head_ref}",
                }
            ],
            documentation_url=PULLS_DOCS,
        )
    try:
        issue = call.state.create_pull(
            call.full_name,
            user,
            title,
            body_text(data, "body", "PullRequest"),
            (head_owner, head_ref, head_sha),
            (base_ref, base_sha),
            draft=data.get("draft") is True,
        )
    except ApiError as error:
        error.documentation_url = PULLS_DOCS
        raise
    call.stats.incr("pulls_created")
    with call.state.lock:
        payload = call.shapes.pull(repo, issue, detail=True)
    return Reply(201, payload, {"location": payload["url"]})


def _pull_invalid(field_name: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        errors=[{"resource": "PullRequest", "field": field_name, "code": "invalid"}],
        documentation_url=PULLS_DOCS,
    )


@route("GET", "/repos/{owner}/{repo}/pulls/{number}")
def get_pull(call: Call) -> Reply:
    _refresh_heads(call)
    with call.state.lock:
        issue = call.state.pull(call.full_name, call.number())
        return Reply(200, call.shapes.pull(call.state.repo(call.full_name), issue, detail=True))


@route("PATCH", "/repos/{owner}/{repo}/pulls/{number}", WRITE)
def update_pull(call: Call) -> Reply:
    changes = issue_changes(call.json_object(), "PullRequest")
    changes.pop("labels", None)
    changes.pop("state_reason", None)
    return apply_issue_changes(call, changes, as_pull=True)


@route("GET", "/repos/{owner}/{repo}/pulls/{number}/merge")
def is_merged(call: Call) -> Reply:
    call.state.pull(call.full_name, call.number())
    raise not_found()


@route("PUT", "/repos/{owner}/{repo}/pulls/{number}/merge", WRITE)
def refuse_merge(call: Call) -> Reply:
    call.stats.incr("merge_attempts")
    call.state.pull(call.full_name, call.number())
    raise ApiError(405, "Pull Request is not mergeable", documentation_url=f"{PULLS_DOCS_BASE}#merge-a-pull-request")
