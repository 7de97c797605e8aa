"""runner.core.kind_cues: cues weighed into a kind, so one strong sign outweighs a passing word."""

from __future__ import annotations

import pytest

from runner.core.kind_cues import prose
from runner.core.models import Issue
from runner.core.phrases import Words, normalize, padded
from runner.core.triage import Triager


def kind_of(title: str, body: str = "") -> tuple[str, str]:
    return Triager().kind_from_text(Issue(1, title, body, (), None, None, None, 1, "hash"))


@pytest.mark.parametrize(
    "title, body, kind",
    [
        # A support question with the error it hit is still a question.
        ("Export to CSV", "Export stops with ValueError: bad row\n\nAny idea what I am doing wrong?", "question"),
        ("Plugin loader", "I'm trying to load a plugin from a zip file and it never shows up.", "question"),
        ("Dark mode", "It would be great to have a dark theme for the editor.", "feature"),
        ("Support for TOML configuration files", "", "feature"),
        ("Fix the wrong total in the invoice view", "", "bug"),
        (
            "Saving the settings page",
            "Traceback (most recent call last):\n  File \"app.py\", line 3\nKeyError: 'x'",
            "bug",
        ),
        ("Header disappears after resize", "", "bug"),
        ("test: sync_test.py fails intermittently", "", "bug"),
        ("Refactor the session module", "", "chore"),
        ("Camera preview stays black, how to fix", "", "question"),
        ("I want to shrink the bundle of my mobile app", "", "question"),
        ("Disable autosave while a debugger is attached", "", "feature"),
        ("Document the retry settings of the uploader", "", "docs"),
        ("Clarify how the cache key is built in the user guide", "", "docs"),
    ],
)
def test_cues_weighed_into_a_kind(title: str, body: str, kind: str) -> None:
    assert kind_of(title, body)[0] == kind


def test_the_reason_is_the_heaviest_cue_of_the_winning_kind() -> None:
    kind, reason = kind_of("How do I change the cache folder?", "The app crashes when the disk is full.")
    assert (kind, reason) == ("question", "title asks 'How do'")


def test_caps_tag_in_the_title_declares_the_kind() -> None:
    assert kind_of("DOC Clarify the timeout parameter") == ("docs", "title tag 'DOC'")
    assert kind_of("ENH Faster sparse input")[0] == "feature"
    assert kind_of("HTTP client retries too often")[0] != "docs"


def test_react_style_kind_question_in_the_template_is_read_as_a_declaration() -> None:
    body = "**Do you want to request a *feature* or report a *bug*?**\nFeature\n\n**What is the current behavior?**\nx"
    assert kind_of("Form reset", body) == ("feature", "issue type 'Feature'")
    assert kind_of("Form reset", body.replace("\nFeature\n", "\nReport a bug\n"))[0] == "bug"


def test_template_text_does_not_count_as_the_reporters_words() -> None:
    body = "<!-- Is this a bug? Please describe the error -->\n### Bug report checklist\n- [x] I searched for a bug\n"
    text = prose(body + "Please make the sidebar resizable.")
    assert text.first(padded(["bug", "error"])) is None
    assert text.first(padded(["resizable"])) == "resizable"


def test_phrases_match_whole_words_only() -> None:
    words = Words(normalize("I'm unable to login; the button isn't there."))
    assert words.first(padded(["i'm unable to"])) == "i m unable to"
    assert words.first(padded(["isn't"])) == "isn t"
    assert words.first(padded(["able", "log"])) is None


@pytest.mark.parametrize(
    "title, level",
    [
        ("Trunk build is broken after the codec change", "CRITICAL"),
        ("Scheduler module fails to compile on JDK 17", "CRITICAL"),
        ("Flaky test in the block report handler", "LOW"),
        ("Unit test leaves temp files behind", "LOW"),
    ],
)
def test_priority_cues_for_a_broken_build_and_for_tests(title: str, level: str) -> None:
    issue = Issue(1, title, "", (), None, None, None, 1, "hash")
    assert Triager().triage(issue).priority.name == level


def test_out_of_memory_is_high_and_cleanup_low() -> None:
    triager = Triager()
    assert (
        triager.triage(
            Issue(1, "Worker dies with out of memory on large joins", "", (), None, None, None, 1, "h")
        ).priority.name
        == "HIGH"
    )
    assert (
        triager.triage(
            Issue(1, "Remove redundant null checks in parser", "", (), None, None, None, 1, "h")
        ).priority.name
        == "LOW"
    )


def test_an_issue_that_only_says_what_is_wrong_in_template_text_is_not_left_at_the_default() -> None:
    body = "**What is the current behavior?**\nThe counter shouldn't reset on reload"
    assert kind_of("Counter on reload", body) == ("bug", "body reads like a fault ('shouldn t')")
    assert kind_of("Counter on reload", "")[1] == "default"
