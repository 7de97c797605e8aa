"""The GitHub emulator, driven by the real PyGithub over real HTTP against real bare repositories."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import IDENTITY
from github import Auth, Github, GithubException
from github.GithubException import BadCredentialsException, RateLimitExceededException, UnknownObjectException

from runner.testing.github_emulator import Emulator, EmulatorConfig

REPO = "acme/widgets"
TOKEN = "emulator-test-token"
BRANCH = "runner/issue-1"


# -- shared fixtures ----------------------------------------------------------


def git(*args: str, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | IDENTITY
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=30)
    return result.stdout.strip()


class GitPair:
    """A bare repository (the remote) and a clone that pushes to it."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "remote.git"
        self.work = root / "work"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git("init", "--quiet", "--initial-branch=main", str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)
        self.commit("README", "hello\n")
        git("push", "--quiet", "origin", "main", cwd=self.work)

    def commit(self, name: str, text: str) -> str:
        (self.work / name).write_text(text)
        git("add", name, cwd=self.work)
        git("commit", "--quiet", "-m", f"edit {name}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def push_branch(self, branch: str, name: str = "fix.txt") -> str:
        exists = (
            subprocess.run(
                ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                cwd=self.work,
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        git("checkout", "--quiet", *((branch,) if exists else ("-b", branch)), cwd=self.work)
        sha = self.commit(name, f"fix on {branch}\n")
        git("push", "--quiet", "origin", branch, cwd=self.work)
        git("checkout", "--quiet", "main", cwd=self.work)
        return sha


def client(url: str, token: str = TOKEN, per_page: int = 30) -> Github:
    """PyGithub without its own pacing or retries, so every call is exactly one request."""
    return Github(
        base_url=url,
        auth=Auth.Token(token),
        retry=None,
        timeout=10,
        per_page=per_page,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def headers(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}


@pytest.fixture
def repo_pair(tmp_path: Path) -> GitPair:
    return GitPair(tmp_path)


@pytest.fixture
def emulator_factory(repo_pair: GitPair) -> Iterator[Any]:
    started: list[Emulator] = []

    def start(**settings: Any) -> Emulator:
        emulator = Emulator({REPO: repo_pair.bare}, tokens={TOKEN}, config=EmulatorConfig(**settings))
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """250 issues created through PyGithub's create_issue (secondary limits off for seeding)."""
    pair = GitPair(tmp_path_factory.mktemp("seeded"))
    with Emulator({REPO: pair.bare}, tokens={TOKEN}, config=EmulatorConfig(secondary_limits=False)) as emulator:
        repo = client(emulator.url).get_repo(REPO)
        for n in range(1, 251):
            if n % 5:
                repo.create_issue(f"issue {n}", body=f"body {n}")
            else:
                repo.create_issue(f"issue {n}")
        yield emulator


# -- issues and pagination ----------------------------------------------------


def test_lists_250_issues_in_pages_of_100(seeded: Emulator) -> None:
    before = seeded.stats["by_route"].get("GET /repos/{owner}/{repo}/issues", 0)
    issues = list(client(seeded.url, per_page=100).get_repo(REPO).get_issues(state="all"))

    assert [issue.number for issue in issues] == list(range(250, 0, -1))
    assert issues[-1].title == "issue 1" and issues[0].body is None
    assert all(issue.pull_request is None for issue in issues[:3])
    assert seeded.stats["by_route"]["GET /repos/{owner}/{repo}/issues"] - before == 3


def test_link_header_is_shaped_like_githubs(seeded: Emulator) -> None:
    def links(page: int) -> tuple[int, dict[str, str]]:
        response = requests.get(
            f"{seeded.url}/repos/{REPO}/issues", headers=headers(), params={"per_page": 100, "page": page}, timeout=10
        )
        found = re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))
        return len(response.json()), {rel: url for url, rel in found}

    base = f"{seeded.url}/repos/{REPO}/issues?per_page=100&page="
    assert links(1) == (100, {"next": base + "2", "last": base + "3"})
    assert links(2) == (100, {"prev": base + "1", "next": base + "3", "last": base + "3", "first": base + "1"})
    assert links(3) == (50, {"prev": base + "2", "first": base + "1"})
    one_page = requests.get(f"{seeded.url}/repos/{REPO}/issues?state=closed", headers=headers(), timeout=10)
    assert one_page.json() == [] and "Link" not in one_page.headers


def test_filters_by_state_labels_and_since(emulator_factory: Any) -> None:
    emulator = emulator_factory()
    repo = client(emulator.url).get_repo(REPO)
    repo.create_issue("plain")
    repo.create_issue("bug only", labels=["bug"])
    both = repo.create_issue("bug and urgent", labels=["bug", "urgent"])
    closed = repo.create_issue("closed bug", labels=["bug"])
    closed.edit(state="closed")

    assert [i.number for i in repo.get_issues()] == [3, 2, 1]
    assert [i.number for i in repo.get_issues(state="closed")] == [4]
    assert [i.number for i in repo.get_issues(state="all", labels=["bug", "URGENT"])] == [both.number]
    assert [i.number for i in repo.get_issues(state="all", labels=["bug"], direction="asc")] == [2, 3, 4]
    assert repo.get_issue(4).closed_at is not None and repo.get_issue(4).state_reason == "completed"

    boundary = int(time.time()) + 1
    time.sleep(max(boundary - time.time(), 0) + 0.05)
    repo.get_issue(1).edit(body="edited")
    since = datetime.fromtimestamp(boundary, UTC)
    assert [i.number for i in repo.get_issues(state="all", since=since)] == [1]
    bad = requests.get(f"{emulator.url}/repos/{REPO}/issues?state=bogus", headers=headers(), timeout=10)
    assert bad.status_code == 422 and bad.json()["message"] == "Validation Failed"


def test_concurrent_creations_get_unique_numbers(emulator_factory: Any) -> None:
    emulator = emulator_factory(secondary_limits=False)

    def create(worker: int) -> None:
        repo = client(emulator.url).get_repo(REPO)
        for n in range(8):
            repo.create_issue(f"w{worker}-{n}")

    threads = [threading.Thread(target=create, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    numbers = sorted(issue.number for issue in client(emulator.url).get_repo(REPO).get_issues())
    assert numbers == list(range(1, 33))


# -- conditional requests and rate-limit headers ------------------------------


def test_conditional_get_is_304_and_free(seeded: Emulator) -> None:
    url = f"{seeded.url}/repos/{REPO}/issues/7"
    first = requests.get(url, headers=headers(), timeout=10)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.headers["x-ratelimit-resource"] == "core"
    assert {"Date", "x-ratelimit-limit", "x-ratelimit-used", "x-ratelimit-reset"} <= set(first.headers)

    again = requests.get(url, headers={**headers(), "If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]

    plain = requests.get(url, headers=headers(), timeout=10)
    assert int(plain.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1
    assert plain.headers["ETag"] == etag


# -- pull requests ------------------------------------------------------------


def test_draft_pull_request_for_a_pushed_branch(emulator_factory: Any, repo_pair: GitPair) -> None:
    sha = repo_pair.push_branch(BRANCH)
    emulator = emulator_factory()
    repo = client(emulator.url).get_repo(REPO)
    issue = repo.create_issue("the bug")

    pull = repo.create_pull(base="main", head=BRANCH, title="Fix #1", body="Closes #1", draft=True)
    assert (pull.number, pull.draft, pull.head.sha, pull.head.ref) == (issue.number + 1, True, sha, BRANCH)
    assert pull.head.label == f"acme:{BRANCH}" and pull.base.ref == "main" and pull.merged is False
    assert repo.get_pull(pull.number).draft is True
    assert [p.number for p in repo.get_pulls(head=f"acme:{BRANCH}")] == [pull.number]
    assert list(repo.get_pulls(head="acme:other")) == []
    listed = requests.get(f"{emulator.url}/repos/{REPO}/issues", headers=headers(), timeout=10).json()
    assert [("pull_request" in item, item["number"]) for item in listed] == [(True, 2), (False, 1)]

    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head=f"acme:{BRANCH}", title="again", body="", draft=True)
    assert duplicate.value.status == 422
    assert duplicate.value.data["message"] == "Validation Failed"
    assert duplicate.value.data["errors"] == [
        {"resource": "PullRequest", "code": "custom", "message": f"A pull request already exists for acme:{BRANCH}."}
    ]

    newer = repo_pair.push_branch(BRANCH, name="second.txt")
    assert repo.get_pull(pull.number).head.sha == newer


def test_pull_request_for_an_unpushed_branch_is_refused(emulator_factory: Any) -> None:
    emulator = emulator_factory()
    repo = client(emulator.url).get_repo(REPO)
    with pytest.raises(GithubException) as refused:
        repo.create_pull(base="main", head="runner/issue-9", title="never pushed", body="")
    assert refused.value.status == 422
    assert refused.value.data["errors"] == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
    assert list(repo.get_pulls(state="all")) == []


def test_merging_is_refused_and_counted(emulator_factory: Any, repo_pair: GitPair) -> None:
    repo_pair.push_branch(BRANCH)
    emulator = emulator_factory()
    repo = client(emulator.url).get_repo(REPO)
    pull = repo.create_pull(base="main", head=BRANCH, title="t", body="b")
    assert pull.is_merged() is False
    with pytest.raises(GithubException) as refused:
        pull.merge()
    assert refused.value.status == 405 and emulator.stats["merge_attempts"] == 1
    with pytest.raises(UnknownObjectException) as missing:
        client(emulator.url).get_repo("acme/nothing")
    assert missing.value.data["message"] == "Not Found" and "documentation_url" in missing.value.data


# -- labels and comments ------------------------------------------------------


def test_labels_and_comments(emulator_factory: Any) -> None:
    emulator = emulator_factory()
    repo = client(emulator.url, per_page=2).get_repo(REPO)
    repo.create_label("triaged", "00ff00", "seen by a human")
    issue = repo.create_issue("needs labels")
    issue.add_to_labels("triaged", "runner:planned")

    assert [label.name for label in issue.get_labels()] == ["triaged", "runner:planned"]
    assert {label.name for label in repo.get_labels()} == {"triaged", "runner:planned"}
    assert repo.get_label("runner:planned").color == "ededed"

    for n in range(3):
        issue.create_comment(f"comment {n}")
    assert [c.body for c in issue.get_comments()] == ["comment 0", "comment 1", "comment 2"]
    assert repo.get_issue(issue.number).comments == 3
    assert emulator.stats["comments_created"] == 3


def test_label_creation_issue_labels_and_comment_edits_as_on_github(emulator_factory: Any) -> None:
    emulator = emulator_factory(secondary_limits=False)
    repo = client(emulator.url).get_repo(REPO)
    created = repo.create_label("priority/high", "d93f0b", "Priority high")
    assert (created.name, created.color, created.description) == ("priority/high", "d93f0b", "Priority high")
    for bad in (
        lambda: repo.create_label("PRIORITY/HIGH", "d93f0b"),
        lambda: repo.create_label("x", "red"),
        lambda: repo.create_label("y", "ededed", "d" * 101),
    ):
        with pytest.raises(GithubException) as caught:
            bad()
        assert caught.value.status == 422 and caught.value.data["message"] == "Validation Failed"
    assert repo.get_label("priority/high").color == "d93f0b"  # the name quoted whole: priority%2Fhigh

    issue = repo.create_issue("labelled")
    issue.add_to_labels("priority/high", "kind/bug")
    removed = requests.delete(
        f"{emulator.url}/repos/{REPO}/issues/{issue.number}/labels/priority%2Fhigh", headers=headers(), timeout=10
    )
    assert removed.status_code == 200 and [label["name"] for label in removed.json()] == ["kind/bug"]
    again = requests.delete(
        f"{emulator.url}/repos/{REPO}/issues/{issue.number}/labels/priority%2Fhigh", headers=headers(), timeout=10
    )
    assert again.status_code == 404 and again.json()["message"] == "Label does not exist"

    comment = issue.create_comment("first")
    comment.edit("second")
    assert repo.get_issue(issue.number).get_comment(comment.id).body == "second"
    stats = emulator.stats
    assert (stats["labels_created"], stats["labels_added"], stats["labels_removed"]) == (1, 2, 1)
    assert (stats["comments_created"], stats["comments_updated"]) == (1, 1)
    assert stats["by_route"]["POST /repos/{owner}/{repo}/labels"] == 4


# -- rate limits --------------------------------------------------------------


def test_primary_limit_raises_rate_limit_exceeded(emulator_factory: Any) -> None:
    emulator = emulator_factory(primary_limit=3)
    gh = client(emulator.url)
    repo = gh.get_repo(REPO)
    repo.get_issues().get_page(0)
    assert gh.get_rate_limit().resources.core.remaining == 1
    repo.create_issue("last one")
    with pytest.raises(RateLimitExceededException) as exhausted:
        repo.get_issue(1)
    assert exhausted.value.status == 403
    assert exhausted.value.data["message"].startswith("API rate limit exceeded for user ID")
    assert exhausted.value.headers["x-ratelimit-remaining"] == "0"
    assert 3500 < int(exhausted.value.headers["x-ratelimit-reset"]) - time.time() <= 3601
    assert emulator.stats["primary_limit_violations"] == 1


def test_primary_window_resets_on_the_emulated_clock(emulator_factory: Any) -> None:
    emulator = emulator_factory(primary_limit=1, time_scale=1800.0)
    url = f"{emulator.url}/repos/{REPO}"
    assert requests.get(url, headers=headers(), timeout=10).status_code == 200
    refused = requests.get(url, headers=headers(), timeout=10)
    assert refused.status_code == 403
    reset = int(refused.headers["x-ratelimit-reset"])
    assert reset - time.time() <= 3
    time.sleep(max(reset - time.time(), 0) + 0.1)
    assert requests.get(url, headers=headers(), timeout=10).status_code == 200


def test_secondary_limits_answer_403_with_retry_after(emulator_factory: Any) -> None:
    emulator = emulator_factory(content_per_minute=2)
    repo = client(emulator.url).get_repo(REPO)
    repo.create_issue("one")
    repo.create_issue("two")
    with pytest.raises(RateLimitExceededException) as limited:
        repo.create_issue("three")
    assert limited.value.status == 403
    assert limited.value.data["message"].startswith("You have exceeded a secondary rate limit")
    assert 1 <= int(limited.value.headers["retry-after"]) <= 60

    emulator.configure(content_per_minute=80, min_write_interval_s=120.0, time_scale=60.0)
    requests.post(f"{emulator.url}/_emulator/reset-limits", timeout=10)
    requests.patch(f"{emulator.url}/repos/{REPO}/issues/1", json={"body": "x"}, headers=headers(), timeout=10)
    write = requests.patch(f"{emulator.url}/repos/{REPO}/issues/1", json={"body": "y"}, headers=headers(), timeout=10)
    assert write.status_code == 403 and write.headers["retry-after"] == "2"
    assert emulator.stats["secondary_limit_violations"] == 2
    assert emulator.stats["secondary_by_reason"] == {"content_per_minute": 1, "write_interval": 1}
    assert emulator.stats["issues_created"] == 2


def test_a_refused_user_stays_refused_until_retry_after_and_each_try_is_counted(emulator_factory: Any) -> None:
    emulator = emulator_factory(content_per_minute=1, time_scale=600.0)
    repo = client(emulator.url).get_repo(REPO)
    issue = repo.create_issue("one")
    with pytest.raises(RateLimitExceededException):
        repo.create_issue("two")
    with pytest.raises(RateLimitExceededException) as blocked:
        issue.add_to_labels("bug")
    assert blocked.value.headers["retry-after"] == "1"
    assert [e["reason"] for e in emulator.app.stats.limit_events()] == ["content_per_minute", "blocked"]
    assert repo.get_issue(1).title == "one"
    time.sleep(0.15)
    issue.add_to_labels("bug")
    assert emulator.stats["secondary_limit_violations"] == 2


def test_injected_secondary_limits_name_the_client_and_block_for_their_wait(emulator_factory: Any) -> None:
    emulator = emulator_factory(time_scale=1000.0, inject_secondary_every_s=30.0, inject_secondary_wait_s=1.0)
    gh = Github(
        base_url=emulator.url,
        auth=Auth.Token(TOKEN),
        retry=None,
        timeout=10,
        seconds_between_requests=None,
        seconds_between_writes=None,
        user_agent="bench-client",
    )
    issue = gh.get_repo(REPO).create_issue("target")
    refused = 0
    while refused == 0:
        time.sleep(0.02)
        try:
            issue.add_to_labels("bug")
        except RateLimitExceededException as exc:
            assert exc.headers["retry-after"] == "1"
            refused += 1
    events = emulator.app.stats.limit_events()
    assert [(e["reason"], e["agent"], e["user"]) for e in events] == [("injected", "bench-client", "octocat")]
    assert events[0]["wait"] == 1.0


def test_injected_limits_follow_the_seed() -> None:
    from runner.testing.emulator.config import EmulatedClock
    from runner.testing.emulator.limits import Limiter

    def refusals(seed: int) -> list[tuple[int, str]]:
        now = [0.0]
        config = EmulatorConfig(inject_secondary_every_s=120.0, seed=seed, content_per_hour=10_000)
        limiter = Limiter(lambda: config, EmulatedClock(1.0, real=lambda: now[0]))
        seen = []
        for second in range(0, 3600, 5):
            now[0] = float(second)
            refusal = limiter.admit_write("octocat", creates_content=False)
            if refusal is not None:
                seen.append((second, refusal.reason))
        return seen

    first = refusals(11)
    assert first == refusals(11) and first != refusals(12)
    assert 10 <= sum(reason == "injected" for _, reason in first) <= 45
    assert all(reason in ("injected", "blocked") for _, reason in first)


# -- faults and credentials ---------------------------------------------------


def test_failures_and_drops_are_injected(emulator_factory: Any) -> None:
    emulator = emulator_factory()
    control = f"{emulator.url}/_emulator/config"
    assert requests.post(control, json={"failure_rate": 1.0}, timeout=10).json()["failure_rate"] == 1.0
    with pytest.raises(GithubException) as failed:
        client(emulator.url).get_repo(REPO)
    assert failed.value.status in (502, 503) and "message" in failed.value.data

    requests.post(control, json={"failure_rate": 0.0, "drop_rate": 1.0}, timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):
        client(emulator.url).get_repo(REPO)

    requests.post(control, json={"drop_rate": 0.0, "lost_reply_rate": 1.0}, timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"{emulator.url}/repos/{REPO}/issues", json={"title": "lost"}, headers=headers(), timeout=10)
    requests.post(control, json={"lost_reply_rate": 0.0}, timeout=10)
    assert [issue.title for issue in client(emulator.url).get_repo(REPO).get_issues()] == ["lost"]

    def statuses() -> list[int]:
        requests.post(control, json={"drop_rate": 0.0, "failure_rate": 0.5, "seed": 7}, timeout=10)
        return [
            requests.get(f"{emulator.url}/repos/{REPO}", headers=headers(), timeout=10).status_code for _ in range(12)
        ]

    first = statuses()
    assert first == statuses() and {200} < set(first)
    stats = requests.get(f"{emulator.url}/_emulator/stats", timeout=10).json()
    assert stats["drops_injected"] == 1 and stats["replies_lost"] == 1
    assert stats["failures_injected"] == 1 + 2 * (12 - first.count(200))
    assert requests.post(control, json={"no_such_knob": 1}, timeout=10).status_code == 422


def test_bad_token_is_refused(emulator_factory: Any) -> None:
    emulator = emulator_factory()
    with pytest.raises(BadCredentialsException) as refused:
        client(emulator.url, token="wrong").get_repo(REPO)
    assert refused.value.status == 401 and refused.value.data["message"] == "Bad credentials"
    assert client(emulator.url).get_user().login == "octocat"


def test_serves_the_enterprise_prefix_too(emulator_factory: Any) -> None:
    emulator = emulator_factory()
    repo = client(f"{emulator.url}/api/v3").get_repo(REPO)
    issue = repo.create_issue("via enterprise url")
    assert issue.url == f"{emulator.url}/api/v3/repos/{REPO}/issues/1"
    assert [i.title for i in repo.get_issues()] == ["via enterprise url"]


# -- command line -------------------------------------------------------------


@pytest.mark.timeout(30)
def test_command_line_prints_its_url(repo_pair: GitPair) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner.testing.github_emulator",
            "--port",
            "0",
            "--repo",
            f"{REPO}={repo_pair.bare}",
            "--token",
            TOKEN,
            "--primary-limit",
            "42",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        response = requests.get(f"{match.group(1)}/repos/{REPO}", headers=headers(), timeout=10)
        assert response.json()["full_name"] == REPO and response.headers["x-ratelimit-limit"] == "42"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


@pytest.mark.timeout(30)
def test_each_token_acts_as_its_own_user_and_an_app_token_may_not_read_user(repo_pair: GitPair, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"{TOKEN}\nmallory-token mallory\n\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner.testing.github_emulator",
            "--port",
            "0",
            "--repo",
            f"{REPO}={repo_pair.bare}",
            "--token-file",
            str(tokens),
            "--token",
            "app-token=runner-app[bot]",
            "--token",
            "ends-with=",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("listening on ")
        assert client(url).get_user().login == "octocat"
        assert client(url, token="mallory-token").get_user().login == "mallory"
        assert client(url, token="ends-with=").get_user().login == "octocat"
        issue = client(url).get_repo(REPO).create_issue("login crash")
        client(url, token="mallory-token").get_repo(REPO).get_issue(issue.number).create_comment("mine")
        client(url, token="app-token").get_repo(REPO).get_issue(issue.number).create_comment("the app's")
        comments = client(url).get_repo(REPO).get_issue(issue.number).get_comments()
        authors = [(c.user.login, c.user.type) for c in comments]
        assert authors == [("mallory", "User"), ("runner-app[bot]", "Bot")]
        with pytest.raises(GithubException) as refused:
            _ = client(url, token="app-token").get_user().login
        assert refused.value.status == 403 and refused.value.data["message"] == "Resource not accessible by integration"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_a_token_file_line_with_a_bad_login_is_refused(repo_pair: GitPair, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("good-token\nother-token not/a/login\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner.testing.github_emulator",
            "--port",
            "0",
            "--repo",
            f"{REPO}={repo_pair.bare}",
            "--token-file",
            str(tokens),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 2 and "line 2: expected 'TOKEN [LOGIN]'" in result.stderr
