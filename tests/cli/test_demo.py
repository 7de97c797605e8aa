"""The demo material: a real, reproducible sample repository and a realistic issues file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli import demo

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_ISSUES = ROOT / "examples" / "issues.json"
PRIORITY_LABEL_STYLES = {
    "critical",
    "P0",
    "priority: high",
    "severity/high",
    "p1",
    "important",
    "p2",
    "p3",
    "minor",
    "urgent",
}
SAMPLE_PATH = re.compile(r"(?<![\w/])(?:inventory|web|tools|scripts|docs|tests)/[\w/.-]+\.(?:py|js|go|sh|md|sql)\b")


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=demo.git_env(), check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.build_sample_repo(tmp_path_factory.mktemp("demo") / "sample-repo")


@pytest.fixture(scope="module")
def issues() -> list[dict]:
    return json.loads(EXAMPLES_ISSUES.read_text(encoding="utf-8"))


def label_names(issue: dict) -> list[str]:
    return [label if isinstance(label, str) else label["name"] for label in issue["labels"]]


def files_under(directory: Path) -> set[str]:
    return {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


# --- the sample repository -------------------------------------------------------------


def test_sample_repo_tracks_enough_files_in_several_languages(sample_repo: Path) -> None:
    tracked = git_out(sample_repo, "ls-files").split()
    assert len(tracked) >= 30
    suffixes = {Path(name).suffix for name in tracked}
    assert {".py", ".js", ".go", ".sh", ".md"} <= suffixes
    assert git_out(sample_repo, "ls-files", "-s", "scripts/backup_db.sh").startswith("100755")


def test_sample_repo_history_has_dated_commits_by_several_authors(sample_repo: Path) -> None:
    log = git_out(sample_repo, "log", "--format=%an|%ad", "--date=iso-strict").splitlines()
    assert len(log) >= 6
    assert len({line.split("|")[0] for line in log}) >= 2
    assert len({line.split("|")[1] for line in log}) == len(log)
    assert git_out(sample_repo, "symbolic-ref", "--short", "HEAD").strip() == "main"


def test_sample_repo_status_is_clean_after_build(sample_repo: Path) -> None:
    assert git_out(sample_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_sample_repo_build_is_deterministic(sample_repo: Path, tmp_path: Path) -> None:
    again = demo.build_sample_repo(tmp_path / "again")
    for rev in ("HEAD^{tree}", "HEAD"):
        assert git_out(again, "rev-parse", rev) == git_out(sample_repo, "rev-parse", rev)


def test_every_stored_sample_file_is_committed() -> None:
    final = {demo.data_name(p) for commit in demo.HISTORY for p in commit.paths}
    earlier = {demo.data_name(p) for commit in demo.HISTORY for p in commit.earlier}
    assert final == files_under(demo.SAMPLE_FILES)
    assert earlier == files_under(demo.EARLIER_FILES)


def test_build_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    with pytest.raises(FileExistsError):
        demo.build_sample_repo(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_dirtying_the_tree_twice_changes_it_once(tmp_path: Path) -> None:
    repo = demo.build_sample_repo(tmp_path / "repo")
    demo.dirty_working_tree(repo)
    first = (repo / demo.DIRTY_FILE).read_bytes()
    demo.dirty_working_tree(repo)
    assert (repo / demo.DIRTY_FILE).read_bytes() == first
    assert first.decode().count(demo.DIRTY_LINE) == 1
    status = git_out(repo, "status", "--porcelain").splitlines()
    assert sorted(status) == [f" M {demo.DIRTY_FILE}", f"?? {demo.NOTES_FILE}"]


def test_main_refuses_a_sample_dir_that_is_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "sample-repo").mkdir()
    (tmp_path / "sample-repo" / "file.txt").write_text("not a repository\n")
    assert demo.main(["--dir", str(tmp_path)]) == 2


def test_runner_command_passes_workers_on_only_when_given(tmp_path: Path) -> None:
    without = demo.runner_command(tmp_path / "i.json", tmp_path / "r", tmp_path, None)
    assert without[1:4] == ["-m", "runner", "process"] and "--workers" not in without
    with_workers = demo.runner_command(tmp_path / "i.json", tmp_path / "r", tmp_path, 3)
    assert with_workers[-2:] == ["--workers", "3"]


# --- the issues file ---------------------------------------------------------------------


def test_issues_file_has_the_expected_mix(issues: list[dict]) -> None:
    assert isinstance(issues, list) and len(issues) >= 30
    numbers = [issue["number"] for issue in issues]
    assert len(set(numbers)) == len(numbers)
    assert sum("pull_request" in issue for issue in issues) == 1
    assert sum(issue["body"] is None for issue in issues) == 1
    assert all(
        issue["repository_url"] == "https://api.github.com/repos/acme/inventory" and issue["state"] == "open"
        for issue in issues
    )
    shapes = {type(label) for issue in issues for label in issue["labels"]}
    assert shapes == {str, dict}
    assert any(not issue["labels"] for issue in issues)


def test_issues_cover_every_priority_label_style(issues: list[dict]) -> None:
    used = {name for issue in issues for name in label_names(issue)}
    assert used >= PRIORITY_LABEL_STYLES


def test_issue_titles_include_the_awkward_cases(issues: list[dict]) -> None:
    titles = [issue["title"] for issue in issues]
    assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for t in titles)
    assert any(re.search(r"[\u0590-\u05ff\u0600-\u06ff]", t) for t in titles)
    assert any("{{ 7*7 }}" in t for t in titles)
    assert {"Login fails with expired session cookie", "Login fails when session cookie expired"} <= set(titles)


def test_paths_named_in_issues_exist_in_the_sample_repo(issues: list[dict]) -> None:
    named = {path for issue in issues for path in SAMPLE_PATH.findall(issue["body"] or "")}
    assert len(named) >= 15
    assert named <= files_under(demo.SAMPLE_FILES)


def test_packaged_issues_copy_is_byte_identical() -> None:
    assert demo.PACKAGED_ISSUES.read_bytes() == EXAMPLES_ISSUES.read_bytes()
    assert demo.issues_source() == demo.EXAMPLES_ISSUES


# --- end to end: needs `runner process` ------------------------------------------------


@pytest.mark.timeout(120)
def test_demo_runs_runner_and_leaves_the_users_work_alone(tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_API_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "runner.cli.demo", "--dir", str(demo_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    repo = demo_dir / "sample-repo"
    assert git_out(repo, "branch", "--list", "runner/issue-*").split()
    assert list((demo_dir / "reports").glob("*.json"))
    committed = git_out(repo, "show", f"HEAD:{demo.DIRTY_FILE}")
    assert (repo / demo.DIRTY_FILE).read_text(encoding="utf-8") == committed + demo.DIRTY_LINE
    assert (repo / demo.NOTES_FILE).read_text(encoding="utf-8") == demo.NOTES_TEXT
    assert git_out(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    status = git_out(repo, "status", "--porcelain").splitlines()
    assert sorted(status) == [f" M {demo.DIRTY_FILE}", f"?? {demo.NOTES_FILE}"]
