"""runner.core.triage: priority and kind from labels first, then title words, then body words."""

from __future__ import annotations

import pytest

from runner.core.models import Issue, Priority
from runner.core.triage import BODY_SCAN_CHARS, KIND_PRECEDENCE, Triager, TriageRules

CRITICAL, HIGH, MEDIUM, LOW = Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW


def make_issue(title: str = "Plain words here", body: str = "", labels: tuple[str, ...] = ()) -> Issue:
    return Issue(1, title, body, tuple(labels), None, None, None, 1, "hash")


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager()


# --- priority from labels ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, expected",
    [
        ("critical", CRITICAL),
        ("urgent", CRITICAL),
        ("P0", CRITICAL),
        ("priority: critical", CRITICAL),
        ("Priority: Critical", CRITICAL),
        ("blocker", CRITICAL),
        ("sev0", CRITICAL),
        ("severity/high", HIGH),
        ("high", HIGH),
        ("p1", HIGH),
        ("important", HIGH),
        ("major", HIGH),
        ("prio-high", HIGH),
        ("priority=high", HIGH),
        ("sev: high", HIGH),
        ("p2", MEDIUM),
        ("medium", MEDIUM),
        ("normal", MEDIUM),
        ("priority/medium", MEDIUM),
        ("p3", LOW),
        ("minor", LOW),
        ("trivial", LOW),
        ("nice to have", LOW),
        ("Priority: LOW", LOW),
        ("  URGENT  ", CRITICAL),
        ("CRITICAL", CRITICAL),
    ],
)
def test_priority_label_styles(triager: Triager, label: str, expected: Priority) -> None:
    result = triager.triage(make_issue(labels=(label,)))
    assert result.priority == expected
    assert result.priority_reason == f"label {label!r}"


def test_most_severe_label_wins_whatever_the_order(triager: Triager) -> None:
    assert triager.triage(make_issue(labels=("p3", "P0", "p2"))).priority == CRITICAL
    assert triager.triage(make_issue(labels=("minor", "important"))).priority == HIGH
    result = triager.triage(make_issue(labels=("p2", "severity/high", "low")))
    assert (result.priority, result.priority_reason) == (HIGH, "label 'severity/high'")


def test_label_beats_words(triager: Triager) -> None:
    result = triager.triage(make_issue("Production down, data loss!", labels=("p3",)))
    assert result.priority == LOW


def test_unrelated_labels_are_ignored(triager: Triager) -> None:
    result = triager.triage(make_issue("Plain words here", labels=("good first issue", "p-0", "area/ui")))
    assert (result.priority, result.priority_reason) == (MEDIUM, "default")


def test_label_must_equal_an_alias_not_contain_it(triager: Triager) -> None:
    assert triager.triage(make_issue(labels=("not critical at all",))).priority == MEDIUM


# --- priority from words ----------------------------------------------------------------------


def test_title_words_decide_before_the_body(triager: Triager) -> None:
    result = triager.triage(make_issue("Fix typo in README", body="otherwise the app will crash on startup"))
    assert result.priority == LOW
    assert result.priority_reason == "title mentions 'typo'"


def test_body_words_are_used_when_the_title_has_none(triager: Triager) -> None:
    result = triager.triage(make_issue("Export button", body="Clicking it crashes the app."))
    assert (result.priority, result.priority_reason) == (HIGH, "body mentions 'crashes'")


def test_empty_title_falls_back_to_body_words(triager: Triager) -> None:
    result = triager.triage(make_issue("", body="We have data loss after upgrade"))
    assert result.priority == HIGH and result.priority_reason.startswith("body mentions 'data loss'")


def test_critical_needs_the_title_a_body_word_gives_high(triager: Triager) -> None:
    """A log or a side remark in the body says "corrupt" far more often than the issue is an emergency."""
    assert triager.triage(make_issue("Data loss after upgrade")).priority == CRITICAL
    assert triager.triage(make_issue("Upgrade notes", body="no data loss seen")).priority == HIGH


def test_most_severe_word_in_the_title_wins(triager: Triager) -> None:
    result = triager.triage(make_issue("Typo causes crash and data loss"))
    assert result.priority == CRITICAL


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Outage in EU region", CRITICAL),
        ("SQL injection in search", CRITICAL),
        ("Crash on startup with empty config", CRITICAL),
        ("Login fails after upgrade", MEDIUM),  # "fails" is in most bug reports: calibrated to medium
        ("Memory leak in worker", HIGH),
        ("Regression in 2.3", HIGH),
        ("Cosmetic: button misaligned", LOW),
        ("How do I configure proxies", LOW),
        ("Spelling in the docs", LOW),
    ],
)
def test_priority_words(triager: Triager, title: str, expected: Priority) -> None:
    assert triager.triage(make_issue(title)).priority == expected


def test_words_match_whole_words_only(triager: Triager) -> None:
    assert triager.triage(make_issue("Crashing test of crashproof code")).priority == MEDIUM
    assert triager.triage(make_issue("Adjust docstring spacing")).priority == MEDIUM


def test_word_matching_is_case_and_punctuation_insensitive(triager: Triager) -> None:
    assert triager.triage(make_issue("CRASH!!!")).priority == HIGH
    assert triager.triage(make_issue("it (crashes)")).priority == HIGH
    assert triager.triage(make_issue("Memory-leak!")).priority == HIGH


@pytest.mark.parametrize("title", ["Data\tloss, after  SYNC!", "Data loss \u2014 after sync", "données: data-loss"])
def test_plain_and_non_ascii_text_normalize_alike(triager: Triager, title: str) -> None:
    assert triager.triage(make_issue(title)).priority_reason == "title mentions 'data loss'"


def test_nothing_matching_gives_the_default(triager: Triager) -> None:
    result = triager.triage(make_issue("Update the colour palette", body="Use the new brand colours."))
    assert (result.priority, result.priority_reason) == (MEDIUM, "default")
    assert (result.kind, result.kind_reason) == ("chore", "default")


def test_only_the_start_of_a_long_body_is_searched(triager: Triager) -> None:
    late = "x " * BODY_SCAN_CHARS + " data loss"
    assert triager.triage(make_issue("Plain words here", body=late)).priority == MEDIUM
    early = "data loss " + "x " * BODY_SCAN_CHARS
    assert triager.triage(make_issue("Plain words here", body=early)).priority == HIGH


# --- kind -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, kind",
    [
        ("bug", "bug"),
        ("kind/bug", "bug"),
        ("type: Bug", "bug"),
        ("regression", "bug"),
        ("enhancement", "feature"),
        ("feature request", "feature"),
        ("type/feature", "feature"),
        ("documentation", "docs"),
        ("docs", "docs"),
        ("security", "security"),
        ("CVE", "security"),
        ("performance", "performance"),
        ("perf", "performance"),
        ("question", "question"),
        ("support", "question"),
        ("dependencies", "chore"),
        ("ci", "chore"),
        ("refactor", "chore"),
    ],
)
def test_kind_from_labels(triager: Triager, label: str, kind: str) -> None:
    result = triager.triage(make_issue(labels=(label,)))
    assert (result.kind, result.kind_reason) == (kind, f"label {label!r}")


@pytest.mark.parametrize(
    "labels, kind",
    [
        (("chore", "question", "feature", "docs", "bug", "performance", "security"), "security"),
        (("chore", "question", "feature", "docs", "bug", "performance"), "performance"),
        (("chore", "question", "feature", "docs", "bug"), "bug"),
        (("chore", "question", "feature", "docs"), "docs"),
        (("chore", "question", "feature"), "feature"),
        (("chore", "question"), "question"),
        (("enhancement", "bug"), "bug"),
    ],
)
def test_kind_label_precedence(triager: Triager, labels: tuple[str, ...], kind: str) -> None:
    assert triager.triage(make_issue(labels=labels)).kind == kind


def test_precedence_order_is_documented() -> None:
    assert KIND_PRECEDENCE == ("security", "performance", "bug", "docs", "feature", "question", "chore")


@pytest.mark.parametrize(
    "title, kind",
    [
        ("XSS in comment preview", "security"),
        ("Search is slow and has a bug", "performance"),
        ("Export crashes with a traceback", "bug"),
        ("Typo in the tutorial", "docs"),
        ("Add option to export PDF", "feature"),
        ("Bump requests to 2.32", "chore"),
        ("Crash and XSS when typing", "security"),
        ("Wrong docs for bump command", "docs"),  # what it is about outweighs a fault word
    ],
)
def test_kind_from_title_words_with_precedence(triager: Triager, title: str, kind: str) -> None:
    assert triager.triage(make_issue(title)).kind == kind


def test_kind_words_in_body_when_title_has_none(triager: Triager) -> None:
    result = triager.triage(make_issue("Export button", body="An option to pick columns, please"))
    assert result.kind == "feature" and "'option to'" in result.kind_reason


def test_title_kind_words_beat_body_kind_words(triager: Triager) -> None:
    assert triager.triage(make_issue("Typo in readme", body="security vulnerability")).kind == "docs"


def test_title_ending_with_a_question_mark_is_a_question(triager: Triager) -> None:
    result = triager.triage(make_issue("Can the export include headers?  "))
    assert (result.kind, result.kind_reason) == ("question", "title is a question")
    assert triager.triage(make_issue("Why ?", body="crash")).kind == "question"


def test_question_mark_in_the_body_does_not_make_a_question(triager: Triager) -> None:
    assert triager.triage(make_issue("Export button", body="does it crash?")).kind == "bug"


def test_kind_label_beats_question_title(triager: Triager) -> None:
    assert triager.triage(make_issue("Is this a leak?", labels=("bug",))).kind == "bug"


def test_priority_and_kind_are_decided_independently(triager: Triager) -> None:
    result = triager.triage(make_issue("Typo", body="x", labels=("P0", "enhancement")))
    assert (result.priority, result.kind) == (CRITICAL, "feature")


# --- overrides from [triage] ------------------------------------------------------------------


def test_override_replaces_a_priority_label_list() -> None:
    triager = Triager(TriageRules().with_overrides({"priority_labels": {"critical": ["fire", "SEV-1"]}}))
    assert triager.triage(make_issue(labels=("fire",))).priority == CRITICAL
    assert triager.triage(make_issue(labels=("sev-1",))).priority == CRITICAL
    assert triager.triage(make_issue(labels=("critical",))).priority == MEDIUM
    assert triager.triage(make_issue(labels=("p1",))).priority == HIGH


def test_override_replaces_word_lists() -> None:
    rules = TriageRules().with_overrides(
        {
            "priority_words": {"high": ["flaky"]},
            "kind_words": {"security": ["token leak"]},
        }
    )
    triager = Triager(rules)
    assert triager.triage(make_issue("Flaky upload")).priority == HIGH
    assert triager.triage(make_issue("The app crashes")).priority == MEDIUM
    assert triager.triage(make_issue("Token leak in logs")).kind == "security"
    assert triager.triage(make_issue("XSS in preview")).kind != "security"


def test_override_of_a_medium_word_list() -> None:
    triager = Triager(TriageRules().with_overrides({"priority_words": {"medium": ["wobbly"]}}))
    assert triager.triage(make_issue("Wobbly typo")).priority == MEDIUM


def test_override_defaults() -> None:
    rules = TriageRules().with_overrides({"default_priority": "low", "default_kind": "bug"})
    result = Triager(rules).triage(make_issue("Update the colour palette"))
    assert (result.priority, result.kind) == (LOW, "bug")
    assert rules.default_priority == LOW


def test_override_keeps_untouched_lists() -> None:
    rules = TriageRules().with_overrides({"kind_labels": {"docs": ["handbook"]}})
    triager = Triager(rules)
    assert triager.triage(make_issue(labels=("handbook",))).kind == "docs"
    assert triager.triage(make_issue(labels=("bug",))).kind == "bug"


def test_empty_override_table_changes_nothing() -> None:
    rules = TriageRules().with_overrides({})
    assert Triager(rules).triage(make_issue(labels=("p0",))).priority == CRITICAL


def test_override_does_not_change_the_defaults_of_other_rule_objects() -> None:
    TriageRules().with_overrides({"priority_labels": {"critical": ["fire"]}})
    assert Triager().triage(make_issue(labels=("critical",))).priority == CRITICAL


@pytest.mark.parametrize(
    "table, message",
    [
        ({"priority_labels": {"urgentish": ["x"]}}, "urgentish"),
        ({"priority_words": {"bug": ["x"]}}, "'bug'"),
        ({"kind_labels": {"bugs": ["x"]}}, "bugs"),
        ({"kind_words": {"critical": ["x"]}}, "critical"),
        ({"priority_labels": ["p0"]}, "tables"),
        ({"priority_labels": {"high": "p1"}}, "list of strings"),
        ({"kind_words": {"bug": ["ok", 3]}}, "list of strings"),
        ({"default_priority": "p9"}, "p9"),
        ({"default_kind": "epic"}, "epic"),
        ({"priority_label": {"critical": ["fire"]}}, "priority_label"),
        ({"defaults": {}}, "defaults"),
    ],
)
def test_bad_overrides_raise_value_error(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TriageRules().with_overrides(table)
