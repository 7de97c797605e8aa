"""Reading the triage data (`../shared/eval/triage`) the same way in every harness: its CSV files,
issue objects as the REST API shapes them, and bare issues for the rules."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.core.models import Issue

HADOOP_LABELS = {"Blocker": "critical", "Critical": "high", "Major": "medium", "Minor": "low", "Trivial": "low"}


def read_csv(path: Path) -> list[dict[str, str]]:
    """Every row of `path`; issue bodies can be longer than the csv module's default field limit."""
    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def issue_item(title: str, body: str, labels: Sequence[str], created: str = "") -> dict[str, Any]:
    """An issue object as `runner fetch` writes one, with the fields learning reads."""
    return {"title": title, "body": body, "labels": list(labels), "created_at": created}


def bare_issue(title: str, body: str) -> Issue:
    """An issue with only its text, as the rules see one."""
    return Issue(0, title, body or "", (), None, None, None, 0, "")
