"""GitHub's JSON shapes for the emulator's objects.

Callers hold ``State.lock`` while rendering, because the objects are live state.
URLs are absolute and built from the address the client used, so a client that
follows ``url`` fields (PyGithub does) comes back to the emulator.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from runner.testing.emulator.state import ISSUE_TYPES, Comment, Issue, Label, Repo, User, node_id

_URL_TEMPLATES = {
    "issues": "{/number}",
    "pulls": "{/number}",
    "comments": "{/number}",
    "labels": "{/name}",
    "branches": "{/branch}",
    "commits": "{/sha}",
    "contents": "{+path}",
}


def iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


class Shapes:
    """Renders state objects as GitHub would, relative to one base URL."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def repo_api(self, repo: Repo) -> str:
        return f"{self.base}/repos/{repo.full_name}"

    def user(self, user: User) -> dict[str, Any]:
        api = f"{self.base}/users/{user.login}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": user.node_id,
            "avatar_url": f"{self.base}/avatars/u/{user.id}",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.base}/{user.login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "Bot" if user.login.endswith("[bot]") else "User",
            "user_view_type": "public",
            "site_admin": False,
        }

    def full_user(self, user: User, created_at: float) -> dict[str, Any]:
        data = self.user(user)
        data.update(
            name=user.login,
            company=None,
            blog="",
            location=None,
            email=None,
            hireable=None,
            bio=None,
            twitter_username=None,
            public_repos=0,
            public_gists=0,
            followers=0,
            following=0,
            created_at=iso(created_at),
            updated_at=iso(created_at),
        )
        return data

    def repo(self, repo: Repo, viewer: str | None = None) -> dict[str, Any]:
        api = self.repo_api(repo)
        html = f"{self.base}/{repo.full_name}"
        open_count = sum(1 for issue in repo.issues.values() if issue.state == "open")
        is_owner = viewer is not None and viewer.lower() == repo.owner.login.lower()
        data: dict[str, Any] = {
            "id": repo.id,
            "node_id": node_id("R", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            "homepage": None,
            "size": 0,
            "language": None,
        }
        for name, template in _URL_TEMPLATES.items():
            data[f"{name}_url"] = f"{api}/{name}{template}"
        data.update(
            issue_comment_url=f"{api}/issues/comments{{/number}}",
            git_url=f"git://{urllib.parse.urlsplit(self.base).netloc}/{repo.full_name}.git",
            clone_url=f"{html}.git",
            ssh_url=f"git@localhost:{repo.full_name}.git",
            svn_url=html,
            created_at=iso(repo.created_at),
            updated_at=iso(repo.created_at),
            pushed_at=iso(repo.created_at),
            stargazers_count=0,
            watchers_count=0,
            watchers=0,
            forks_count=0,
            forks=0,
            has_issues=True,
            has_projects=False,
            has_downloads=True,
            has_wiki=False,
            has_pages=False,
            has_discussions=False,
            mirror_url=None,
            archived=False,
            disabled=False,
            open_issues_count=open_count,
            open_issues=open_count,
            license=None,
            allow_forking=True,
            is_template=False,
            web_commit_signoff_required=False,
            topics=[],
            visibility="public",
            default_branch=repo.default_branch,
            permissions={"admin": is_owner, "maintain": is_owner, "push": True, "triage": True, "pull": True},
        )
        return data

    def label(self, repo: Repo, label: Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": node_id("LA", label.id),
            "url": f"{self.repo_api(repo)}/labels/{urllib.parse.quote(label.name, safe='')}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }

    @staticmethod
    def issue_type(name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        number, description, color = ISSUE_TYPES[name]
        return {
            "id": number,
            "node_id": node_id("IT", number),
            "name": name,
            "description": description,
            "color": color,
            "created_at": "2024-12-11T14:39:09Z",
            "updated_at": "2024-12-11T14:39:09Z",
            "is_enabled": True,
        }

    def issue(self, repo: Repo, issue: Issue, detail: bool = False) -> dict[str, Any]:
        api = f"{self.repo_api(repo)}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        data: dict[str, Any] = {
            "url": api,
            "repository_url": self.repo_api(repo),
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.base}/{repo.full_name}/{kind}/{issue.number}",
            "id": issue.id,
            "node_id": node_id("I", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": [self.label(repo, label) for label in repo_labels(repo, issue)],
            "state": issue.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": len(issue.comment_ids),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "author_association": self._association(repo, issue.user),
            "active_lock_reason": None,
            "body": issue.body,
            "reactions": self._reactions(api),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "state_reason": issue.state_reason,
        }
        if issue.pull is None:
            data["type"] = self.issue_type(issue.issue_type)
        else:
            pull_api = f"{self.repo_api(repo)}/pulls/{issue.number}"
            data["draft"] = issue.pull.draft
            data["pull_request"] = {
                "url": pull_api,
                "html_url": data["html_url"],
                "diff_url": f"{data['html_url']}.diff",
                "patch_url": f"{data['html_url']}.patch",
                "merged_at": None,
            }
        if detail:
            data["closed_by"] = self.user(issue.closed_by) if issue.closed_by else None
        return data

    def pull(self, repo: Repo, issue: Issue, detail: bool = False) -> dict[str, Any]:
        pull = issue.pull
        assert pull is not None
        api = f"{self.repo_api(repo)}/pulls/{issue.number}"
        issue_api = f"{self.repo_api(repo)}/issues/{issue.number}"
        html = f"{self.base}/{repo.full_name}/pull/{issue.number}"
        data: dict[str, Any] = {
            "url": api,
            "id": pull.id,
            "node_id": node_id("PR", pull.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.repo_api(repo)}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self.repo_api(repo)}/statuses/{pull.head_sha}",
            "number": issue.number,
            "state": issue.state,
            "locked": False,
            "title": issue.title,
            "user": self.user(issue.user),
            "body": issue.body,
            "labels": [self.label(repo, label) for label in repo_labels(repo, issue)],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._part(repo, pull.head_owner, pull.head_ref, pull.head_sha),
            "base": self._part(repo, repo.owner.login, pull.base_ref, pull.base_sha),
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": issue_api},
                "comments": {"href": f"{issue_api}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {"href": f"{self.repo_api(repo)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": f"{self.repo_api(repo)}/statuses/{pull.head_sha}"},
            },
            "author_association": self._association(repo, issue.user),
            "auto_merge": None,
            "draft": pull.draft,
        }
        if detail:
            data.update(
                merged=False,
                mergeable=True,
                rebaseable=True,
                mergeable_state="draft" if pull.draft else "clean",
                merged_by=None,
                comments=len(issue.comment_ids),
                review_comments=0,
                maintainer_can_modify=False,
                commits=1,
                additions=0,
                deletions=0,
                changed_files=0,
            )
        return data

    def comment(self, repo: Repo, comment: Comment) -> dict[str, Any]:
        api = f"{self.repo_api(repo)}/issues/comments/{comment.id}"
        issue = repo.issues[comment.issue_number]
        kind = "pull" if issue.pull else "issues"
        return {
            "url": api,
            "html_url": f"{self.base}/{repo.full_name}/{kind}/{comment.issue_number}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_api(repo)}/issues/{comment.issue_number}",
            "id": comment.id,
            "node_id": node_id("IC", comment.id),
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": self._association(repo, comment.user),
            "body": comment.body,
            "reactions": self._reactions(api),
            "performed_via_github_app": None,
        }

    def branch(self, repo: Repo, name: str, sha: str) -> dict[str, Any]:
        api = self.repo_api(repo)
        return {
            "name": name,
            "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            "_links": {"self": f"{api}/branches/{name}", "html": f"{self.base}/{repo.full_name}/tree/{name}"},
            "protected": False,
            "protection_url": f"{api}/branches/{name}/protection",
        }

    def _part(self, repo: Repo, owner: str, ref: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo.owner),
            "repo": self.repo(repo),
        }

    @staticmethod
    def _association(repo: Repo, user: User) -> str:
        return "OWNER" if user.login.lower() == repo.owner.login.lower() else "COLLABORATOR"

    @staticmethod
    def _reactions(api: str) -> dict[str, Any]:
        counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0)
        return {"url": f"{api}/reactions", "total_count": 0, **counts}


def repo_labels(repo: Repo, issue: Issue) -> list[Label]:
    return [repo.labels[key] for key in issue.label_keys]
