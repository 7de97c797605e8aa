"""runner.core.labels: the many spellings of one label, and what must not match."""

from __future__ import annotations

import pytest

from runner.core.labels import alias_table, best_label, label_name
from runner.core.triage_words import DEFAULT_KIND_LABELS, DEFAULT_PRIORITY_LABELS

KINDS = alias_table(DEFAULT_KIND_LABELS)
PRIORITIES = alias_table(DEFAULT_PRIORITY_LABELS)


@pytest.mark.parametrize(
    "label, kind",
    [
        ("Bug", "bug"),
        ("[Type] Bug", "bug"),
        ("🐛 bug", "bug"),
        ("bug 🐛", "bug"),
        (":bug: Bug", "bug"),
        ("C-bug", "bug"),
        ("Type: Bug Report", "bug"),
        ("feature-request", "feature"),
        ("feature_request", "feature"),
        ("C-feature-request", "feature"),
        ("✨ enhancement", "feature"),
        ("RFC", "feature"),
        ("Build / CI", "chore"),
        ("ci|build", "chore"),
        ("kind/documentation", "docs"),
    ],
)
def test_kind_spellings(label: str, kind: str) -> None:
    assert label_name(label, KINDS) == kind


@pytest.mark.parametrize(
    "label, priority",
    [
        ("High Priority", "high"),
        ("low-priority", "low"),
        ("critical severity", "critical"),
        ("P1 - High", "high"),
        ("priority/critical-urgent", "critical"),
        ("priority/important-soon", "high"),
        ("priority/important-longterm", "medium"),
        ("priority/backlog", "low"),
        ("Highest", "critical"),
        ("Priority: Lowest", "low"),
        ("nice-to-have", "low"),
        ("Nice to have", "low"),
    ],
)
def test_priority_spellings(label: str, priority: str) -> None:
    assert label_name(label, PRIORITIES) == priority


@pytest.mark.parametrize(
    "label",
    [
        "not critical at all",
        "good first issue",
        "p-0",
        "area/ui",
        "Needs Decision - Include Feature",
        "Moderate",
        "Easy",
        "module:tree",
        "",
        "🐛",
    ],
)
def test_labels_that_name_nothing(label: str) -> None:
    assert label_name(label, KINDS) is None
    assert label_name(label, PRIORITIES) is None


def test_alternatives_that_disagree_name_nothing() -> None:
    assert label_name("bug/feature", KINDS) is None
    assert label_name("P1 - Low", PRIORITIES) is None


def test_a_configured_alias_matches_in_its_plain_form_too() -> None:
    table = alias_table({"critical": ["SEV-1", "🔥 fire"]})
    assert label_name("sev-1", table) == "critical"
    assert label_name("sev 1", table) == "critical"
    assert label_name("fire", table) == "critical"
    assert label_name("severity: fire", table) == "critical"


def test_best_label_keeps_the_label_as_written() -> None:
    order = ("critical", "high", "medium", "low")
    assert best_label(["low-priority", "P1 - High"], PRIORITIES, key=order.index) == ("high", "P1 - High")


def test_a_label_longer_than_github_allows_names_nothing() -> None:
    assert label_name("bug" + " " * 200, KINDS) == "bug"  # stripped first
    assert label_name("type: " + "x" * 120 + " / bug", KINDS) is None
    assert label_name("a" + " \t" * 10_000 + "b", KINDS) is None
