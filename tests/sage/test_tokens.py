"""runner.sage.tokens: code-aware tokens, as the index stores them and queries ask for them."""

from __future__ import annotations

from pathlib import Path

from runner.sage import literals
from runner.sage.tokens import singular, terms, tokens, tokens_and_terms


def test_tokens_split_camel_and_snake_case() -> None:
    assert tokens("authenticateUser") == ["authenticateuser", "authenticate", "user"]
    assert tokens("create_session") == ["create_session", "create", "session"]
    assert tokens("HTTPServer parseJSONData") == ["httpserver", "server", "parsejsondata", "parse", "json", "data"]


def test_tokens_drop_stopwords_and_short_words() -> None:
    assert tokens("the def self is at to return ok go") == []
    assert tokens("Export the CSV file") == ["export", "csv", "file"]


def test_terms_fold_plurals_but_not_words_ending_in_s() -> None:
    assert terms("blueprints entries class status analysis") == ["blueprint", "entry", "status", "analysis"]


def test_terms_and_tokens_in_one_pass_are_those_made_apart() -> None:
    for path in sorted((Path(__file__).resolve().parents[2] / "runner" / "sage").glob("*.py")):
        text = path.read_text()
        found = tokens(text)
        assert tokens_and_terms(text) == (found, [singular(t) for t in found])
        assert terms(text) == [singular(t) for t in found]


def test_letters_are_counted_as_isalpha_counts_them() -> None:
    for char in map(chr, range(0x3100)):
        text = f"ab {char}1"
        assert literals._letters(text) == sum(map(str.isalpha, text)), repr(char)
