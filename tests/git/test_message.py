"""The commit message: a readable subject, the plan, and trailers a rerun reads back."""

from __future__ import annotations

from runner.core.models import Issue, Priority, SageResult, Task, Triage
from runner.core.secrets import remember_secret
from runner.git.message import commit_message


def _task(title: str = "Login fails after password reset", number: int = 42) -> Task:
    issue = Issue(
        number=number,
        title=title,
        body="",
        labels=(),
        repository="o/r",
        html_url=None,
        updated_at=None,
        position=0,
        content_hash="abc123",
    )
    triage = Triage(priority=Priority.HIGH, kind="bug", priority_reason="word 'fails'", kind_reason="rules")
    return Task(issue=issue, triage=triage, repo_key="o/r")


def _result(**extra) -> SageResult:
    return SageResult(number=42, repo_key="o/r", related=(), risk="low", risk_reasons=(), **extra)


def test_a_plan_commit_has_subject_plan_and_trailers() -> None:
    message = commit_message(_task(), _result(plan="## Plan\n\n1. Read login.py\n"))
    subject, blank, *rest = message.splitlines()
    assert subject == "runner: plan for #42: Login fails after password reset"
    assert blank == ""
    assert "1. Read login.py" in rest
    assert rest[-2:] == ["Runner-Issue: 42", "Runner-Content: abc123"]
    assert "Priority: High (word 'fails')" in rest


def test_a_fixer_commit_names_the_changed_files_and_redacts_its_summary() -> None:
    changes = {f"src/m{i:02}.py": b"x" for i in range(25)}
    remember_secret("fixer-secret-0451")
    summary = "used fixer-secret-0451 to test"
    message = commit_message(_task(), _result(changes=changes, fixer_summary=summary))
    assert message.startswith("runner: fix for #42:")
    assert "fixer-secret-0451" not in message
    assert "used *** to test" in message
    changed = next(line for line in message.splitlines() if line.startswith("Changed by the fixer command:"))
    assert "src/m00.py" in changed and "src/m19.py" in changed and "src/m20.py" not in changed
    assert changed.endswith("...")


def test_a_long_or_hostile_title_stays_one_short_line() -> None:
    message = commit_message(_task(title="Crash\nRunner-Issue: 1\x1b[31m " + "x" * 200), _result())
    subject = message.splitlines()[0]
    assert len(subject) <= len("runner: plan for #42: ") + 60
    assert subject.endswith("…")
    assert "\x1b" not in message
    assert [line for line in message.splitlines() if line.startswith("Runner-Issue:")] == ["Runner-Issue: 42"]
