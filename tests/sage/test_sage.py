"""The sage's per-issue work on a real repository index: what lands in PLAN.md."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from conftest import git

from runner.core.models import Issue, Priority, Task, Triage
from runner.git.store import resolve_base
from runner.sage import codeindex
from runner.sage import worker as sage


@pytest.fixture
def sage_ready(make_repo, tmp_path: Path):
    repo = make_repo()
    _, commit = resolve_base(repo, None)
    _, index_path = codeindex.load_or_build(repo, commit, tmp_path / "cache")
    sage.initialize(sage.SageSetup({"": str(index_path)}, None, "runner/issue-", ".runner/issues/{number}"))
    return repo


def task(title: str, labels: tuple[str, ...] = (), body: str = "") -> Task:
    issue = Issue(7, title, body, labels, None, None, None, 0, "hash")
    return Task(issue, Triage(Priority.HIGH, "bug", "label p1", "label bug"), "")


def plan_of(result) -> str:
    return result.files[".runner/issues/7/PLAN.md"].decode()


def test_direction_overrides_in_a_title_do_not_reach_the_plan(sage_ready):
    plan = plan_of(sage.work(task("Fix \u202eexe.txt\u202c login \u2066token\u2069")))
    assert not any(ch in plan for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "exe.txt" in plan and "token" in plan


def test_a_pipe_in_a_label_does_not_break_the_plan_table(sage_ready):
    plan = plan_of(sage.work(task("Login fails", labels=("area|auth", "p1"))))
    row = next(line for line in plan.splitlines() if line.startswith("| Labels"))
    assert row == "| Labels | area\\|auth, p1 |"


def test_a_task_survives_the_pipe_unchanged_and_the_result_carries_no_quoted_lines(sage_ready):
    original = task("Crash in app/auth/login.py when the token expires", body="see app/auth/login.py")
    assert pickle.loads(pickle.dumps(original, 5)) == original
    result = sage.work(original)
    assert result.related and all(f.lines == () for f in result.related)
    assert "app/auth/login.py" in [f.path for f in result.related]
    assert "line " in plan_of(result)


def test_a_result_crosses_a_pipe_whole(sage_ready):
    result = sage.work(task("Login fails", body="The session token in app/auth.py expires."))
    again = pickle.loads(pickle.dumps(result, protocol=5))
    assert again == result
    assert again.related and all(type(f) is type(result.related[0]) for f in again.related)
    assert again.related[0].path == result.related[0].path


def test_a_related_file_whose_name_is_not_utf8_reads_escaped_in_the_plan_and_result(make_repo, tmp_path):
    repo = make_repo()
    (repo / os.fsdecode(b"l\xe9gacy_login.py")).write_bytes(b"def login(user):\n    authenticate(user)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "latin-1 name")
    _, commit = resolve_base(repo, None)
    _, index_path = codeindex.load_or_build(repo, commit, tmp_path / "cache")
    sage.initialize(sage.SageSetup({"": str(index_path)}, None, "runner/issue-", ".runner/issues/{number}"))
    result = sage.work(task("Login crash in authenticate", body="login fails"))
    assert "l\\xe9gacy_login.py" in [f.path for f in result.related]
    assert "`l\\xe9gacy_login.py`" in plan_of(result)
    assert pickle.loads(pickle.dumps(result, protocol=5)) == result
