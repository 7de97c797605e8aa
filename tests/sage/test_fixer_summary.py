"""RUNNER_SUMMARY: what a fixer command may write about its change, read back safely."""

from __future__ import annotations

import os
from pathlib import Path

from runner.sage.fixer import read_summary


def test_the_summary_is_read_from_a_regular_file_only(tmp_path: Path) -> None:
    summary = tmp_path / "issue-1-ab.summary.md"
    assert read_summary(summary) == ""
    summary.write_text("Fixed the off-by-one.\n\n- one line changed\n")
    assert read_summary(summary) == "Fixed the off-by-one.\n\n- one line changed"
    summary.write_bytes(b"x" * 100 + b"\xff")
    assert read_summary(summary, size=50) == "x" * 50
    secret = tmp_path / "secret"
    secret.write_text("not for the PR")
    summary.unlink()
    summary.symlink_to(secret)
    assert read_summary(summary) == ""
    summary.unlink()
    os.mkfifo(summary)
    assert read_summary(summary) == ""
