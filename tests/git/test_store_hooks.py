"""A repository's reference-transaction hook decides about every ref runner writes (B06)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import branches, git, issue, latest_report

from runner.core.models import Identity
from runner.git.store import RepoWriter, WriteItem

pytestmark = pytest.mark.timeout(120)

# Logs every call; in the `prepared` state, vetoes any ref named in DENY (with a reason on stderr).
POLICY_HOOK = """#!/bin/sh
input=$(cat)
printf '%s %s\\n' "$1" "$input" >> "{log}"
[ "$1" = prepared ] || exit 0
for ref in $(printf '%s\\n' "$input" | cut -d' ' -f3); do
  if grep -qxF "$ref" "{deny}"; then echo "policy: $ref is frozen" >&2; exit 1; fi
done
exit 0
"""
# Vetoes everything, empty transactions included (a repository frozen read-only).
FROZEN_HOOK = """#!/bin/sh
cat >> "{log}"
echo "repository is frozen" >&2
[ "$1" = prepared ] && exit 1
exit 0
"""


def install_hook(directory: Path, text: str, log: Path, deny: Path | None = None, mode: int = 0o755) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "reference-transaction"
    hook.write_text(text.format(log=log, deny=deny or "/dev/null"))
    hook.chmod(mode)
    return hook


def item(n: int, text: bytes = b"plan") -> WriteItem:
    directory = f".runner/issues/{n}"
    return WriteItem(n, f"runner/issue-{n}", directory, {f"{directory}/PLAN.md": text}, f"plan for {n}\n")


def crash_reports(repo: Path) -> list[str]:
    return [p.name for p in (repo / ".git").iterdir() if p.name.startswith("fast_import_crash")]


def test_the_hook_sees_every_new_and_moved_branch_and_its_veto_fails_that_issue_alone(make_repo, tmp_path):
    repo = make_repo()
    log, deny = tmp_path / "hook.log", tmp_path / "deny"
    deny.write_text("refs/heads/runner/issue-2\n")
    install_hook(repo / ".git" / "hooks", POLICY_HOOK, log, deny)
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    first = writer.write([item(1), item(2), item(3)])
    assert [o.status for o in first] == ["committed", "failed", "committed"]
    assert "reference-transaction hook" in first[1].error and "issue-2 is frozen" in first[1].error
    assert set(branches(repo)) == {"runner/issue-1", "runner/issue-3"}
    seen = log.read_text()
    for n in (1, 2, 3):
        assert re.search(rf"^prepared 0{{40}} [0-9a-f]{{40}} refs/heads/runner/issue-{n}$", seen, re.M), seen
    assert f"committed {'0' * 40} {first[0].commit} refs/heads/runner/issue-1" in seen
    assert seen.count("refs/heads/runner/issue-2") == 2, "prepared and aborted, once: a veto is not retried"

    deny.write_text("refs/heads/runner/issue-3\n")
    second = writer.write([item(1, b"new"), item(3, b"new")])
    assert [o.status for o in second] == ["committed", "failed"]
    assert f"committed {first[0].commit} {second[0].commit} refs/heads/runner/issue-1" in log.read_text()
    assert branches(repo)["runner/issue-3"] == first[2].commit
    assert crash_reports(repo) == []
    writer.close()
    git(repo, "fsck", "--no-dangling")


def test_a_hook_in_core_hooks_path_that_vetoes_everything_fails_every_issue_and_leaves_no_trace(make_repo, tmp_path):
    repo = make_repo()
    log = tmp_path / "hook.log"
    install_hook(tmp_path / "shared-hooks", FROZEN_HOOK, log)
    git(repo, "config", "core.hooksPath", str(tmp_path / "shared-hooks"))
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    outcomes = writer.write([item(1), item(2)])
    writer.close()
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert all("repository is frozen" in o.error for o in outcomes)
    assert branches(repo) == {} and crash_reports(repo) == []
    assert not (repo / ".git" / "packed-refs").exists()


def test_a_hook_that_is_not_executable_is_no_hook_as_for_git(make_repo, tmp_path):
    repo = make_repo()
    log = tmp_path / "hook.log"
    install_hook(repo / ".git" / "hooks", FROZEN_HOOK, log, mode=0o644)
    git(repo, "branch", "probe")
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    assert [o.status for o in writer.write([item(1)])] == ["committed"]
    writer.close()
    assert "refs/heads/runner/issue-1" in (repo / ".git" / "packed-refs").read_text()


def test_a_run_on_a_repository_whose_hook_vetoes_reports_the_failures(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    log, deny = tmp_path / "hook.log", tmp_path / "deny"
    deny.write_text("refs/heads/runner/issue-6\n")
    install_hook(tmp_path / "hooks", POLICY_HOOK, log, deny)
    git(repo, "config", "core.hooksPath", str(tmp_path / "hooks"))
    issues = write_issues([issue(5, "Login fails"), issue(6, "Export breaks")])
    proc = runner_cli("process", str(issues), "--repo", str(repo), "--workers", "1")
    assert proc.returncode == 1, proc.stderr.decode()
    by_number = {i["number"]: i for i in latest_report(tmp_path / "reports")["issues"]}
    assert by_number[5]["status"] == "committed"
    assert by_number[6]["status"] == "failed" and "issue-6 is frozen" in by_number[6]["error"]
    assert set(branches(repo)) == {"runner/issue-5"}
    assert os.path.getsize(log) > 0
