"""`runner fetch` and `fetch_issues` against the GitHub emulator: real HTTP, real PyGithub, real git."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import IDENTITY
from github import Auth, Github

from runner.config.github import GitHubSettings
from runner.github.client import make_github
from runner.github.fetch import (
    FetchStats,
    NetworkError,
    PageCache,
    RateLimited,
    RepoNotFound,
    fetch_issues,
    fetch_to_path,
)
from runner.github.fetch_command import FetchRequest, run_fetch
from runner.testing.emulator import Emulator, EmulatorConfig

pytestmark = pytest.mark.timeout(60)

REPO = "acme/widgets"
TOKEN = "fetch-test-token-5f3a9c"
ROOT = Path(__file__).resolve().parents[2]
ISSUES = range(1, 251)
CLOSED = {3, 33, 133}
EDITED = 42
PULLS = 3


def bug(n: int) -> bool:
    return n % 10 == 0


def urgent(n: int) -> bool:
    return n % 30 == 0


def no_body(n: int) -> bool:
    return n % 50 == 0


# -- shared fixtures ------------------------------------------------------------


def git(*args: str, cwd: Path | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | IDENTITY
    subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=True, timeout=30)


def bare_repo_with_branches(root: Path, branches: list[str]) -> Path:
    """A bare repository (`git init --bare`) with `main` and the given branches pushed to it."""
    bare, work = root / "remote.git", root / "work"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git("init", "--quiet", "--initial-branch=main", str(work))
    (work / "README").write_text("hello\n")
    git("add", "README", cwd=work)
    git("commit", "--quiet", "-m", "start", cwd=work)
    for branch in branches:
        git("checkout", "--quiet", "-b", branch, "main", cwd=work)
        (work / f"{branch}.txt").write_text(f"{branch}\n")
        git("add", ".", cwd=work)
        git("commit", "--quiet", "-m", f"work on {branch}", cwd=work)
    git("push", "--quiet", str(bare), "main", *branches, cwd=work)
    return bare


def seeding_client(url: str) -> Github:
    """PyGithub without its own pacing or retries: one call, one request."""
    return Github(
        base_url=url,
        auth=Auth.Token(TOKEN),
        retry=None,
        timeout=10,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def seed(url: str) -> None:
    repo = seeding_client(url).get_repo(REPO)
    for n in ISSUES:
        labels = ["bug"] * bug(n) + ["urgent"] * urgent(n)
        if no_body(n):
            repo.create_issue(f"issue {n}", labels=labels)
        else:
            repo.create_issue(f"issue {n}", body=f"body {n}", labels=labels)
    for n in CLOSED:
        repo.get_issue(n).edit(state="closed")
    for k in range(1, PULLS + 1):
        repo.create_pull(base="main", head=f"feature-{k}", title=f"feature {k}", body="", draft=True)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bare_repo_with_branches(tmp_path_factory.mktemp("git"), [f"feature-{k}" for k in range(1, PULLS + 1)])


@pytest.fixture(scope="module")
def seeded(bare: Path) -> Iterator[tuple[Emulator, datetime]]:
    """250 issues (3 closed, every 50th without a body), 3 draft PRs, then one edit after `boundary`."""
    with Emulator({REPO: bare}, tokens={TOKEN}, config=EmulatorConfig(secondary_limits=False)) as emulator:
        seed(emulator.url)
        boundary = int(time.time()) + 1
        time.sleep(max(boundary - time.time(), 0) + 0.05)
        seeding_client(emulator.url).get_repo(REPO).get_issue(EDITED).edit(body="edited")
        yield emulator, datetime.fromtimestamp(boundary, UTC)


@pytest.fixture
def emulator(seeded: tuple[Emulator, datetime]) -> Emulator:
    return seeded[0]


def client(url: str, token: str = TOKEN) -> Github:
    return make_github(GitHubSettings(api_url=url, token=token))


def fetch(url: str, cache_dir: Path | None = None, **options: Any) -> tuple[list[dict[str, Any]], str, FetchStats]:
    out = io.StringIO()
    stats = fetch_issues(client(url), REPO, out, cache_dir=cache_dir, **options)
    text = out.getvalue()
    return [json.loads(line) for line in text.splitlines()], text, stats


def numbers(issues: list[dict[str, Any]]) -> list[int]:
    return [issue["number"] for issue in issues]


def descending(wanted: Any) -> list[int]:
    return sorted((n for n in ISSUES if wanted(n)), reverse=True)


def run_cli(
    *args: str,
    token: str | None = TOKEN,
    url: str = "",
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PYTHONPATH"] = str(ROOT)
    if token is not None:
        env["GITHUB_TOKEN"] = token
    if url:
        env["GITHUB_API_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "runner", "fetch", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def token_forms(token: str) -> list[bytes]:
    return [token.encode()] + [base64.b64encode((p + token).encode()) for p in ("", "x-access-token:", "token:")]


def assert_token_absent(token: str, *texts: str, directory: Path | None = None) -> None:
    blobs = [text.encode() for text in texts]
    if directory is not None:
        blobs += [path.read_bytes() for path in directory.rglob("*") if path.is_file()]
    for blob in blobs:
        assert not any(form in blob for form in token_forms(token))


# -- pagination, filters and pull requests ---------------------------------------


def test_all_issues_in_three_pages_without_pull_requests(emulator: Emulator, tmp_path: Path) -> None:
    issues, _text, stats = fetch(emulator.url, tmp_path / "cache", state="all")

    assert numbers(issues) == descending(lambda n: True)
    assert stats == FetchStats(issues=250, pull_requests_skipped=PULLS, pages=3, not_modified=0, requests=3)
    assert not any("pull_request" in issue for issue in issues)
    by_number = {issue["number"]: issue for issue in issues}
    assert by_number[50]["body"] is None and by_number[49]["body"] == "body 49"
    assert by_number[3]["state"] == "closed"


def test_second_fetch_is_answered_304_from_the_cache_for_free(emulator: Emulator, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    gh = client(emulator.url)
    first_out = io.StringIO()
    first = fetch_issues(gh, REPO, first_out, state="all", cache_dir=cache)
    remaining = gh.rate_limiting[0]
    before = emulator.stats["not_modified"]

    second_out = io.StringIO()
    second = fetch_issues(gh, REPO, second_out, state="all", cache_dir=cache)

    assert (first.not_modified, second.not_modified, second.pages, second.requests) == (0, 3, 3, 3)
    assert emulator.stats["not_modified"] - before == 3
    assert gh.rate_limiting[0] == remaining
    assert second_out.getvalue() == first_out.getvalue() and len(second_out.getvalue().splitlines()) == 250
    assert len(list(cache.glob("*.json"))) == 3
    for path in cache.glob("*.json"):
        assert set(json.loads(path.read_text())) == {"etag", "next", "body"}


def test_default_is_open_issues(emulator: Emulator) -> None:
    issues, _text, stats = fetch(emulator.url)
    assert numbers(issues) == descending(lambda n: n not in CLOSED)
    assert stats.pull_requests_skipped == PULLS and stats.pages == 3


def test_closed_issues(emulator: Emulator) -> None:
    issues, _text, stats = fetch(emulator.url, state="closed")
    assert numbers(issues) == sorted(CLOSED, reverse=True)
    assert {issue["state"] for issue in issues} == {"closed"} and stats.pages == 1


def test_labels_must_all_match(emulator: Emulator) -> None:
    assert numbers(fetch(emulator.url, state="all", labels=["bug"])[0]) == descending(bug)
    assert numbers(fetch(emulator.url, state="all", labels=["bug", "urgent"])[0]) == descending(urgent)
    assert fetch(emulator.url, labels=["nothing-has-this"])[0] == []


def test_since_keeps_issues_updated_after_the_time(seeded: tuple[Emulator, datetime]) -> None:
    emulator, boundary = seeded
    assert numbers(fetch(emulator.url, state="all", since=boundary)[0]) == [EDITED]
    iso = boundary.strftime("%Y-%m-%dT%H:%M:%SZ")
    edited = fetch(emulator.url, state="all", since=iso)[0]
    assert numbers(edited) == [EDITED] and edited[0]["body"] == "edited"


def test_a_changed_page_is_fetched_again_and_recached(emulator: Emulator, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch(emulator.url, cache, state="closed")
    entry = next(cache.glob("*.json"))
    entry.write_text(json.dumps({"etag": 'W/"stale"', "next": None, "body": [{"number": 999}]}))

    issues, _text, stats = fetch(emulator.url, cache, state="closed")

    assert numbers(issues) == sorted(CLOSED, reverse=True) and stats.not_modified == 0
    assert json.loads(entry.read_text())["etag"] != 'W/"stale"'


# -- errors ------------------------------------------------------------------------


def test_unknown_repository_is_named(emulator: Emulator) -> None:
    with pytest.raises(RepoNotFound, match="acme/nothing") as error:
        fetch_issues(client(emulator.url), "acme/nothing", io.StringIO(), cache_dir=None)
    assert error.value.exit_code == 2


def test_unreachable_api_is_a_network_error(tmp_path: Path) -> None:
    gh = Github(base_url="http://127.0.0.1:9", auth=Auth.Token(TOKEN), retry=None, timeout=5)
    with pytest.raises(NetworkError, match="cannot reach GitHub") as error:
        fetch_issues(gh, REPO, io.StringIO(), cache_dir=tmp_path)
    assert error.value.exit_code == 1 and TOKEN not in str(error.value)


def test_rate_limit_within_the_wait_is_waited_out(bare: Path) -> None:
    config = EmulatorConfig(primary_limit=1, rate_limit_status=429, time_scale=3600.0)
    with Emulator({REPO: bare}, tokens={TOKEN}, config=config) as emulator:
        requests.get(f"{emulator.url}/repos/{REPO}", headers={"Authorization": f"token {TOKEN}"}, timeout=10)
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

        stats = fetch_issues(client(emulator.url), REPO, io.StringIO(), cache_dir=None, max_wait_s=10, sleep=sleep)

    assert len(waits) == 1 and 0 < waits[0] <= 3
    assert stats.requests == 2 and stats.pages == 1


def test_rate_limit_beyond_the_wait_gives_up_at_once(bare: Path) -> None:
    config = EmulatorConfig(primary_limit=1, rate_limit_status=429)
    with Emulator({REPO: bare}, tokens={TOKEN}, config=config) as emulator:
        requests.get(f"{emulator.url}/repos/{REPO}", headers={"Authorization": f"token {TOKEN}"}, timeout=10)
        waits: list[float] = []
        with pytest.raises(RateLimited, match="wait limit") as error:
            fetch_issues(client(emulator.url), REPO, io.StringIO(), cache_dir=None, max_wait_s=10, sleep=waits.append)
    assert waits == [] and error.value.exit_code == 3


def test_unreadable_cache_entries_are_ignored(tmp_path: Path) -> None:
    cache = PageCache(tmp_path)
    cache.path_for("u1").write_text("{not json")
    cache.path_for("u2").write_text(json.dumps({"etag": 1, "next": None, "body": []}))
    assert cache.load("u1") is None and cache.load("u2") is None and cache.load("u3") is None


# -- the command line ---------------------------------------------------------------


def test_cli_writes_the_file_and_never_shows_the_token(emulator: Emulator, tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "out" / "issues.jsonl"
    result = run_cli(REPO, "-o", str(out), "--state", "all", "--state-dir", str(state), url=emulator.url)

    assert result.returncode == 0, result.stderr
    assert numbers([json.loads(line) for line in out.read_text().splitlines()]) == descending(lambda n: True)
    assert "250 issues" in result.stderr and result.stdout == ""
    assert len(list((state / "http-cache").glob("*.json"))) == 3
    assert [p.name for p in out.parent.iterdir()] == ["issues.jsonl"]
    assert_token_absent(TOKEN, result.stdout, result.stderr, directory=state)


def test_cli_to_stdout_with_a_token_file_and_labels(emulator: Emulator, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    result = run_cli(
        REPO,
        "--label",
        "bug",
        "--label",
        "urgent",
        "--state",
        "all",
        "--token-file",
        str(token_file),
        "--state-dir",
        str(tmp_path / "state"),
        "--quiet",
        token=None,
        url=emulator.url,
    )

    assert result.returncode == 0, result.stderr
    assert numbers([json.loads(line) for line in result.stdout.splitlines()]) == descending(urgent)
    assert result.stderr == ""
    assert_token_absent(TOKEN, result.stdout, directory=tmp_path / "state")


def test_cli_bad_token_exits_2_and_keeps_the_old_file(emulator: Emulator, tmp_path: Path) -> None:
    bad = "wrong-token-c0ffee"
    out = tmp_path / "issues.jsonl"
    out.write_text("old\n")
    result = run_cli(REPO, "-o", str(out), "--state-dir", str(tmp_path / "state"), token=bad, url=emulator.url)

    assert result.returncode == 2
    assert "Bad credentials" in result.stderr
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir() if p.is_file()] == ["issues.jsonl"]
    assert_token_absent(bad, result.stdout, result.stderr, directory=tmp_path / "state")


def test_cli_usage_errors_exit_2(emulator: Emulator, tmp_path: Path) -> None:
    missing = run_cli(REPO, "--state-dir", str(tmp_path), token=None, url=emulator.url)
    assert missing.returncode == 2 and "GITHUB_TOKEN" in missing.stderr

    unknown = run_cli("acme/nothing", "--state-dir", str(tmp_path), url=emulator.url)
    assert unknown.returncode == 2 and "acme/nothing" in unknown.stderr

    bad_since = run_cli(REPO, "--since", "yesterday", "--state-dir", str(tmp_path), url=emulator.url)
    assert bad_since.returncode == 2 and "--since" in bad_since.stderr
    assert_token_absent(TOKEN, unknown.stdout, unknown.stderr, bad_since.stderr)


def test_cli_rate_limit_beyond_the_wait_exits_3(bare: Path, tmp_path: Path) -> None:
    with Emulator({REPO: bare}, tokens={TOKEN}, config=EmulatorConfig(primary_limit=1)) as emulator:
        requests.get(f"{emulator.url}/repos/{REPO}", headers={"Authorization": f"token {TOKEN}"}, timeout=10)
        result = run_cli(REPO, "--max-wait", "5", "--state-dir", str(tmp_path), url=emulator.url)

    assert result.returncode == 3, result.stderr
    assert "rate limit" in result.stderr
    assert_token_absent(TOKEN, result.stdout, result.stderr)


def test_fetch_to_path_replaces_atomically(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "issues.jsonl"
    out.write_text("old\n")
    stats = fetch_to_path(client(emulator.url), REPO, out, state="closed", cache_dir=None)
    assert stats.issues == len(CLOSED) and len(out.read_text().splitlines()) == len(CLOSED)
    with pytest.raises(RepoNotFound):
        fetch_to_path(client(emulator.url), "acme/nothing", out, cache_dir=None)
    assert len(out.read_text().splitlines()) == len(CLOSED) and [p.name for p in tmp_path.iterdir()] == [out.name]


def test_cli_json_gives_the_counts_and_the_output_path(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "issues.jsonl"
    state = str(tmp_path / "state")
    result = run_cli(REPO, "-o", str(out), "--json", "--quiet", "--state-dir", state, url=emulator.url)

    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout) == {
        "repository": REPO,
        "output": str(out),
        "issues": len(descending(lambda n: n not in CLOSED)),
        "pages": 3,
        "not_modified": 0,
        "pull_requests_skipped": PULLS,
        "requests": 3,
    }
    assert len(out.read_text().splitlines()) == len(descending(lambda n: n not in CLOSED))

    stdout, stderr = io.StringIO(), io.StringIO()
    request = FetchRequest(repo=REPO, json_output=True, state_dir=tmp_path / "state")
    assert run_fetch(request, stdout, stderr, {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": emulator.url}) == 2
    assert stdout.getvalue() == "" and "--json needs --output" in stderr.getvalue()
