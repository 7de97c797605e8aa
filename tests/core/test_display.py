"""Names that are not UTF-8: shown escaped, never a failure to encode."""

from __future__ import annotations

from runner.core.display import readable


def test_bytes_that_are_not_utf8_are_shown_as_escapes_and_the_result_encodes() -> None:
    name = b"app/l\xe9gacy_\xff.py".decode("utf-8", "surrogateescape")
    shown = readable(name)
    assert shown == "app/l\\xe9gacy_\\xff.py"
    assert shown.encode("utf-8") == b"app/l\\xe9gacy_\\xff.py"


def test_valid_text_is_unchanged_and_other_lone_surrogates_are_escaped() -> None:
    assert readable("docs/café ☕.md") == "docs/café ☕.md"
    assert readable("plain/ascii.py") == "plain/ascii.py"
    assert readable("half \ud83d pair") == "half \\ud83d pair"
