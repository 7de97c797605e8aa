"""runner.sage.tokens: code-aware tokens, as the index stores them and queries ask for them."""

from __future__ import annotations

from runner.sage.tokens import terms, tokens


def test_tokens_split_camel_and_snake_case() -> None:
    assert tokens("authenticateUser") == ["authenticateuser", "authenticate", "user"]
    assert tokens("create_session") == ["create_session", "create", "session"]
    assert tokens("HTTPServer parseJSONData") == ["httpserver", "server", "parsejsondata", "parse", "json", "data"]


def test_tokens_drop_stopwords_and_short_words() -> None:
    assert tokens("the def self is at to return ok go") == []
    assert tokens("Export the CSV file") == ["export", "csv", "file"]


def test_terms_fold_plurals_but_not_words_ending_in_s() -> None:
    assert terms("blueprints entries class status analysis") == ["blueprint", "entry", "status", "analysis"]
