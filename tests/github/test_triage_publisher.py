"""The triage publisher's pure parts: when a comment counts as saying the same, label specs."""

from __future__ import annotations

from runner.github.markers import is_unedited, signed_body
from runner.github.triage import _same_text, label_specs, triage_marker

OLD = "a" * 40
NEW = "b" * 40


def comment(commit: str, line: str = "L1-L7") -> str:
    return signed_body(f"{triage_marker(4)}\n- [`app.py`](https://github.com/acme/app/blob/{commit}/app.py#{line})\n")


def test_a_new_base_commit_alone_is_the_same_comment_but_new_lines_are_not() -> None:
    assert _same_text(comment(OLD), comment(NEW))
    assert _same_text(comment(OLD).replace("\n", "\r\n"), comment(OLD))
    assert not _same_text(comment(OLD), comment(NEW, "L2-L9"))
    assert is_unedited(comment(OLD)) and not is_unedited(comment(OLD).replace("app.py`", "app.py` (checked)"))


def test_label_specs_have_githubs_colour_format_and_short_descriptions() -> None:
    specs = label_specs(("priority/high", "kind/bug"), "high", "bug")
    assert [(s.name, s.colour) for s in specs] == [("priority/high", "d93f0b"), ("kind/bug", "d73a4a")]
    unknown = label_specs(("P: x", "type: y"), "x", "y")
    assert all(len(s.colour) == 6 and len(s.description) <= 100 for s in (*specs, *unknown))
