"""Routing: a clone holds one repository's issues; an issue of any other repository is skipped, never
re-homed onto a clone (and a GitHub repository) where its number names another issue."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import GH_REPO, branches, git, issue, latest_report

from runner.run.routing import Router

pytestmark = pytest.mark.timeout(240)
URL = "https://api.github.com/repos/{}"


def totals_add_up(report: dict) -> bool:
    t = report["totals"]
    return t["read"] == t["skipped"] + t["invalid"] + t["succeeded"] + t["failed"] + t["deferred"]


def test_same_number_of_two_repositories_on_one_clone_keeps_one_and_skips_the_other(
    make_repo, write_issues, runner_cli, tmp_path
):
    repo = make_repo()
    path = write_issues(
        [
            issue(5, "API: crash in login", "app/auth/login.py fails", repository_url=URL.format("acme/api")),
            issue(5, "WEB: button colour", "docs typo", repository_url=URL.format("acme/web")),
        ],
        lines=True,
    )
    commits = []
    for run in range(3):
        result = runner_cli("process", str(path), "--repo", str(repo), reports=f"reports{run}")
        assert result.returncode == 0, result.stderr.decode()
        report = latest_report(tmp_path / f"reports{run}")
        [done] = report["issues"]
        assert (done["number"], done["title"], done["repository"]) == (5, "API: crash in login", "acme/api")
        assert done["status"] == ("committed" if run == 0 else "unchanged")
        [skipped] = report["skipped"]
        assert skipped["number"] == 5 and skipped["position"] == 2
        assert "acme/web is not configured" in skipped["reason"]
        assert "holds the issues of acme/api" in skipped["reason"]
        assert f"--repo {repo} " in skipped["reason"] and "--repo acme/web=PATH" in skipped["reason"]
        assert report["totals"]["read"] == 2 and totals_add_up(report)
        commits.append(branches(repo)["runner/issue-5"])
    assert len(set(commits)) == 1
    assert git(repo, "rev-list", "--count", "main..runner/issue-5") == "1"
    assert "API: crash in login" in git(repo, "show", "runner/issue-5:.runner/issues/5/PLAN.md")


def test_with_a_fixer_the_slower_one_of_two_repositories_is_reported_not_lost(
    make_repo, write_issues, runner_cli, tmp_path
):
    repo = make_repo()
    fixer = tmp_path / "fix.py"
    fixer.write_text("import os, time\nif 'slow' in os.environ['RUNNER_ISSUE_TITLE']:\n    time.sleep(0.5)\n")
    path = write_issues(
        [
            issue(5, "fast one", labels=["critical"], repository_url=URL.format("a/x")),
            issue(5, "slow one", labels=["low"], repository_url=URL.format("b/y")),
        ]
    )
    result = runner_cli(
        "process", str(path), "--repo", str(repo), "--workers", "1", "--command", f"{sys.executable} {fixer}"
    )
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert [(r["title"], r["status"]) for r in report["issues"]] == [("fast one", "no-change")]
    assert [s["number"] for s in report["skipped"]] == [5] and "b/y" in report["skipped"][0]["reason"]
    assert report["totals"]["read"] == 2 and totals_add_up(report)


def test_an_item_without_repository_url_is_the_clones_own_and_a_later_copy_supersedes_it(
    make_repo, write_issues, runner_cli, tmp_path
):
    repo = make_repo()
    path = write_issues(
        [
            issue(5, "export fails, old text"),
            issue(5, "export fails", "app/export/csv_export.py", repository_url=URL.format("acme/app")),
        ]
    )
    result = runner_cli("process", str(path), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert [(r["title"], r["status"]) for r in report["issues"]] == [("export fails", "committed")]
    assert [(s["position"], s["reason"]) for s in report["skipped"]] == [
        (1, "superseded by a later item with the same number")
    ]
    assert git(repo, "rev-list", "--count", "main..runner/issue-5") == "1"


def test_mapped_clones_and_the_plain_clone_each_keep_their_own_issue_five(
    make_repo, write_issues, runner_cli, tmp_path
):
    api, plain = make_repo("api"), make_repo("plain")
    path = write_issues(
        [
            issue(5, "API five", repository_url=URL.format("acme/api")),
            issue(5, "WEB five", repository_url=URL.format("acme/web")),
            issue(5, "OTHER five", repository_url=URL.format("acme/other")),
        ]
    )
    result = runner_cli("process", str(path), "--repo", f"acme/api={api}", "--repo", str(plain))
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    by_repository = sorted((r["repository"], r["title"]) for r in report["issues"])
    assert by_repository == [("acme/api", "API five"), ("acme/web", "WEB five")]
    assert "acme/other is not configured" in report["skipped"][0]["reason"]
    assert "API five" in git(api, "show", "runner/issue-5:.runner/issues/5/PLAN.md")
    assert "WEB five" in git(plain, "show", "runner/issue-5:.runner/issues/5/PLAN.md")


def test_one_clone_under_two_names_is_a_usage_error(make_repo, write_issues, runner_cli):
    repo = make_repo()
    result = runner_cli(
        "process", str(write_issues([issue(1, "a")])), "--repo", str(repo), "--repo", f"acme/app={repo}"
    )
    assert result.returncode == 2
    assert "a clone holds the issues of one repository" in result.stderr.decode()
    assert branches(repo) == {}


def test_an_issue_of_another_repository_is_not_published_on_the_github_repository(github_world, runner_cli, tmp_path):
    world = github_world()
    world.seed(2)
    path = world.issues_file(tmp_path / "issues.jsonl")
    foreign = issue(1, "Other repo: SQL injection in billing", "x", repository_url=URL.format("evil/other"))
    with path.open("a") as out:
        out.write(json.dumps(foreign) + "\n")
    result = runner_cli("process", str(path), "--repo", str(world.clone), *world.fast_flags(), env=world.env())
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert sorted((r["number"], r["status"], r["repository"]) for r in report["issues"]) == [
        (1, "published", GH_REPO),
        (2, "published", GH_REPO),
    ]
    [skipped] = report["skipped"]
    assert skipped["number"] == 1 and "evil/other is not configured" in skipped["reason"]
    assert f"holds the issues of {GH_REPO} (--github)" in skipped["reason"]
    gh = world.client().get_repo(GH_REPO)
    made = {p.head.ref: p for p in gh.get_pulls(state="all")}
    assert set(made) == {"runner/issue-1", "runner/issue-2"}
    assert "SQL injection" not in made["runner/issue-1"].title + made["runner/issue-1"].body
    comments = [c.body for c in gh.get_issue(1).get_comments()]
    assert len(comments) == 1 and "SQL injection" not in comments[0]
    assert "SQL injection" not in git(world.bare, "log", "--all", "--format=%B")


def test_only_a_foreign_issue_means_no_write_at_all(github_world, runner_cli, write_issues, tmp_path):
    world = github_world()
    world.seed(1)
    path = write_issues([issue(1, "Other repo: SQL injection", repository_url=URL.format("evil/other"))])
    before = dict(world.emulator.stats)
    result = runner_cli("process", str(path), "--repo", str(world.clone), *world.fast_flags(), env=world.env())
    assert result.returncode == 0, result.stderr.decode()
    assert latest_report(tmp_path / "reports")["totals"]["skipped"] == 1
    for key in ("pulls_created", "comments_created"):
        assert world.emulator.stats[key] == before[key], key
    assert branches(world.clone) == {}


def test_router_reasons_name_the_repositories_and_the_way_to_map_them():
    mapped_only = Router(["acme/api"], has_default=False)
    assert mapped_only.route("acme/api").key == "acme/api"
    assert "--repo acme/web=PATH" in mapped_only.route("acme/web").reason
    assert "no repository_url" in mapped_only.route(None).reason
    published = Router([], has_default=True, default_repository="acme/app", default_label="--repo /src/app")
    assert published.route(None).key == published.route("acme/app").key == ""
    assert published.route("evil/other").key is None
    claimed = Router([], has_default=True)
    assert claimed.route(None).key == "" and claimed.default_repository is None
    assert claimed.route("a/x").key == "" and claimed.route("b/y").key is None
    assert "holds the issues of a/x (the first repository the input names)" in claimed.route("b/y").reason
