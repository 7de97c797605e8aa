"""An issue's type (GitHub's issue types: Bug, Feature, Task, or an organization's own) decides
its kind after labels and before words: a maintainer chose it."""

from __future__ import annotations

import pytest

from runner.core.labels import issue_type_name
from runner.core.models import Issue
from runner.core.triage import Triager, TriageRules


def typed(issue_type: str | None, title: str = "Crash on save", labels: tuple[str, ...] = ()) -> Issue:
    return Issue(1, title, "", labels, None, None, None, 1, "h", issue_type)


@pytest.mark.parametrize(
    "name, kind", [("Bug", "bug"), ("Feature", "feature"), ("Task", "chore"), ("feature", "feature")]
)
def test_the_type_decides_the_kind(name: str, kind: str) -> None:
    result = Triager().triage(typed(name, title="Plain words here"))
    assert (result.kind, result.kind_reason) == (kind, f"GitHub issue type {name!r}")


def test_a_kind_label_still_wins_over_the_type() -> None:
    result = Triager().triage(typed("Feature", labels=("bug",)))
    assert (result.kind, result.kind_reason) == ("bug", "label 'bug'")


def test_a_type_runner_does_not_know_leaves_the_words_to_decide() -> None:
    result = Triager().triage(typed("Epic"))
    assert result.kind == "bug" and not result.kind_reason.startswith("GitHub issue type")


def test_configured_kind_labels_name_types_too() -> None:
    rules = TriageRules().with_overrides({"kind_labels": {"feature": ["epic"]}})
    assert Triager(rules).triage(typed("Epic", title="Plain words here")).kind == "feature"


def test_declared_says_whether_people_gave_kind_and_priority() -> None:
    triager = Triager()
    assert triager.declared(typed("Bug")) == (True, False)
    assert triager.declared(typed("Epic", labels=("P1",))) == (False, True)
    assert triager.declared(typed(None)) == (False, False)


@pytest.mark.parametrize(
    "item, name",
    [
        ({"type": {"id": 411, "name": "Bug"}}, "Bug"),
        ({"type": "Feature"}, "Feature"),
        ({"type": None}, None),
        ({}, None),
        ({"type": {"name": "  "}}, None),
        ({"type": 3}, None),
        ("not an object", None),
    ],
)
def test_issue_type_name_reads_objects_and_plain_names(item: object, name: str | None) -> None:
    assert issue_type_name(item) == name


def test_a_task_carries_the_type_to_the_sages() -> None:
    import pickle

    from runner.core.models import Priority, Task, Triage

    task = Task(typed("Bug"), Triage(Priority.HIGH, "bug", "default", "GitHub issue type 'Bug'"), "acme/app")
    assert pickle.loads(pickle.dumps(task)).issue.issue_type == "Bug"
