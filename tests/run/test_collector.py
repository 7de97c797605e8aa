"""collector.describe: how an attempt's error is summed up for the report and the journal."""

from __future__ import annotations

from runner.run.collector import describe


def test_a_long_error_is_cut_between_words_so_a_token_in_it_stays_whole():
    secret = "ghp_" + "Q" * 36
    text = describe(RuntimeError("w" * 470 + " " + secret + " more\nsecond line"))
    assert secret not in text and not text.endswith("Q") and text.endswith("w")
    assert len(text) <= 500
    assert describe(RuntimeError("short " + secret)) == f"RuntimeError: short {secret}"
    assert describe(RuntimeError("")) == "RuntimeError"
