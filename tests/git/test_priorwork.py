"""A rerun compares runner's output with what runner last wrote, and never undoes others' commits (B15)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import git, issue, latest_report

from runner.core.models import Identity
from runner.git.priorwork import OUTPUT_TRAILER, ObjectReader, last_output, output_digest, with_output_trailer
from runner.git.store import RepoWriter, WriteItem

pytestmark = pytest.mark.timeout(120)


def item(n: int, text: bytes = b"plan") -> WriteItem:
    directory = f".runner/issues/{n}"
    return WriteItem(n, f"runner/issue-{n}", directory, {f"{directory}/PLAN.md": text}, f"plan for {n}\n")


def run_writer(repo: Path, one: WriteItem):
    """One run's writer (a run reads the branch tips when it opens the repository)."""
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    try:
        return writer.write([one])[0]
    finally:
        writer.close()


def review(repo: Path, branch: str, tmp_path: Path, edits: dict[str, str], message: str = "reviewer: progress") -> str:
    """A person's commit on the branch, made the ordinary way in a worktree of their own."""
    worktree = tmp_path / "review"
    git(repo, "worktree", "add", "-q", str(worktree), branch)
    for path, text in edits.items():
        (worktree / path).write_text(text)
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", message)
    git(repo, "worktree", "remove", str(worktree))
    return git(repo, "rev-parse", branch)


def test_a_rerun_leaves_a_reviewers_commit_alone_and_a_change_builds_on_it(make_repo, tmp_path):
    repo = make_repo()
    first = run_writer(repo, item(1, b"- [ ] step\n"))
    reviewed = review(
        repo,
        "runner/issue-1",
        tmp_path,
        {".runner/issues/1/PLAN.md": "- [x] step\n", ".runner/issues/1/NOTES.md": "mine\n"},
    )
    again = run_writer(repo, item(1, b"- [ ] step\n"))
    assert again.status == "unchanged" and again.commit == reviewed
    assert git(repo, "rev-parse", "runner/issue-1") == reviewed
    changed = run_writer(repo, item(1, b"- [ ] new step\n"))
    assert changed.status == "committed"
    assert git(repo, "rev-parse", f"{changed.commit}^") == reviewed
    assert git(repo, "show", "runner/issue-1:.runner/issues/1/PLAN.md") == "- [ ] new step"
    assert git(repo, "show", "runner/issue-1:.runner/issues/1/NOTES.md") == "mine"
    assert git(repo, "log", "-1", "--format=%B", "runner/issue-1").splitlines()[-1].startswith(OUTPUT_TRAILER)
    assert first.commit != changed.commit


def test_a_runner_commit_from_before_the_output_trailer_still_counts(make_repo, tmp_path):
    """Branches made by earlier versions: runner's commit is known by `Runner-Issue: N`, and its
    plan directory held exactly runner's files."""
    repo = make_repo()
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"plan")
    env = {**os.environ, "GIT_INDEX_FILE": str(tmp_path / "index")}
    for args in (
        ["read-tree", "main"],
        ["update-index", "--add", "--cacheinfo", f"100644,{blob},.runner/issues/1/PLAN.md"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], env=env, check=True)
    tree = subprocess.run(
        ["git", "-C", str(repo), "write-tree"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    old = git(
        repo,
        "commit-tree",
        "-p",
        "main",
        "-m",
        "runner: plan for #1: x\n\nKind: bug\nRunner-Issue: 1\nRunner-Content: abc",
        tree,
    )
    git(repo, "update-ref", "refs/heads/runner/issue-1", old)
    reviewed = review(repo, "runner/issue-1", tmp_path, {"NOTES.md": "mine\n"})
    assert run_writer(repo, item(1)).status == "unchanged"
    assert run_writer(repo, item(1, b"other")).status == "committed"
    assert git(repo, "rev-parse", "runner/issue-1^") == reviewed


def test_only_runners_own_commits_count(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    message = f"Note: {OUTPUT_TRAILER}is in the body\n\nsomething"
    spoof = git(repo, "commit-tree", "-p", main, "-m", message, "main^{tree}")
    reader = ObjectReader(repo)
    assert last_output(reader, spoof, 1) is None
    reader.close()


def test_the_digest_covers_every_file_and_path_and_the_trailer_joins_the_last_paragraph():
    base = output_digest(1, {"a/PLAN.md": b"x"}, {}, {})
    assert base == output_digest(1, {"a/PLAN.md": b"x"}, {}, {})
    others = [
        output_digest(2, {"a/PLAN.md": b"x"}, {}, {}),
        output_digest(1, {"b/PLAN.md": b"x"}, {}, {}),
        output_digest(1, {"a/PLAN.md": b"y"}, {}, {}),
        output_digest(1, {"a/PLAN.md": b"x", "a/N": b""}, {}, {}),
        output_digest(1, {"a/PLAN.md": b"x"}, {"src/x.py": None}, {}),
        output_digest(1, {"a/PLAN.md": b"x"}, {"src/x.py": b""}, {}),
        output_digest(1, {"a/PLAN.md": b"x"}, {"src/x.py": b""}, {"src/x.py": "100755"}),
    ]
    assert len({base, *others}) == len(others) + 1
    assert (
        with_output_trailer("title\n\nKind: bug\nRunner-Issue: 1\n", "d")
        == "title\n\nKind: bug\nRunner-Issue: 1\nRunner-Output: d\n"
    )
    assert with_output_trailer("plan for 1", "d") == "plan for 1\n\nRunner-Output: d\n"


def test_rerunning_an_unchanged_issue_after_a_review_is_unchanged(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    issues = write_issues([issue(5, "Login crash", "login fails in app/auth/login.py")])
    assert runner_cli("process", str(issues), "--repo", str(repo)).returncode == 0
    plan = git(repo, "show", "runner/issue-5:.runner/issues/5/PLAN.md")
    reviewed = review(
        repo,
        "runner/issue-5",
        tmp_path,
        {".runner/issues/5/PLAN.md": plan + "\nreviewed\n", ".runner/issues/5/NOTES.md": "reviewer notes\n"},
    )
    again = runner_cli("process", str(issues), "--repo", str(repo), reports="reports2")
    assert again.returncode == 0, again.stderr.decode()
    assert [i["status"] for i in latest_report(tmp_path / "reports2")["issues"]] == ["unchanged"]
    assert git(repo, "rev-parse", "runner/issue-5") == reviewed
    assert git(repo, "show", "runner/issue-5:.runner/issues/5/NOTES.md") == "reviewer notes"
