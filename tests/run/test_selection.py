"""Choosing issues: the intake takes exactly the ones `--issue`, `--issue-label`, `--exclude-label`, `--since`
and `--limit` name, and counts the rest without listing them."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import issue

from runner.config import ConfigError, build_config
from runner.core.models import Ticket
from runner.records.report import ReportSink
from runner.run import source
from runner.run.intake import Intake
from runner.run.ledger import Ledger
from runner.run.queue import PriorityQueue
from runner.run.routing import Router

pytestmark = pytest.mark.timeout(60)

# Priorities from labels (runner.core.triage): the urgent ones come late in the input.
ISSUES = [
    issue(1, "Tidy the wording", labels=["docs", "low"], updated_at="2024-01-10T00:00:00Z"),
    issue(2, "Export column order", labels=["Bug"], updated_at="2024-03-01T12:00:00Z"),
    issue(3, "Search returns nothing", labels=["bug", "high"], updated_at="2024-05-01T00:00:00Z"),
    issue(4, "Session expires early", labels=["bug", "wontfix"], updated_at="2024-05-02T00:00:00Z"),
    issue(
        5, "Data loss on save", labels=[{"name": "critical"}, {"name": "BUG"}], updated_at="2024-06-01T00:00:00+02:00"
    ),
    issue(6, "Nice to have: dark mode", labels=["feature"]),
    issue(7, "Login crash", labels=["high"], updated_at="2024-06-02T00:00:00Z"),
]


def taken(tmp_path: Path, make_repo, items: list | None = None, **options) -> tuple[list[int], ReportSink]:
    """The numbers the intake queues with these options, most urgent first, and the report sink."""
    queued, sink = tickets(tmp_path, make_repo, items, **options)
    return [t.issue.number for t in queued], sink


def tickets(tmp_path: Path, make_repo, items: list | None = None, **options) -> tuple[list[Ticket], ReportSink]:
    """The tickets the intake queues, most urgent first."""
    repo = tmp_path / "repo" if (tmp_path / "repo").exists() else make_repo()
    path = tmp_path / "issues.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items or ISSUES))
    config = build_config({"repo_args": [str(repo)], "state_dir": tmp_path / "state", **options})
    router = Router.from_config(config)
    queue: PriorityQueue[Ticket] = PriorityQueue(100)
    sink = ReportSink(tmp_path / "reports", "run")
    intake = Intake(
        scan=source.scan(path, tmp_path / "work", router.key),
        config=config,
        router=router,
        queue=queue,
        ledger=Ledger(),
        sink=sink,
        on_enqueued=lambda _t: None,
        on_stopped=lambda _t: None,
        stop=threading.Event(),
    )
    intake.run()
    assert intake.error is None
    queued = []
    while (got := queue.get(timeout=0)) is not None:
        queued.append(got[0])
    return queued, sink


def test_without_options_every_issue_is_taken(tmp_path, make_repo):
    numbers, sink = taken(tmp_path, make_repo)
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6, 7] and sink.not_selected == {}


def test_issue_numbers_pick_exactly_those(tmp_path, make_repo):
    numbers, sink = taken(tmp_path, make_repo, select_issues=[6, 2, 99])
    assert sorted(numbers) == [2, 6]
    assert sink.not_selected == {"--issue": 5} and sink.totals["skipped"] == 5 and sink.totals["read"] == 7


def test_labels_must_all_match_case_insensitively_and_any_excluded_label_leaves_out(tmp_path, make_repo):
    assert sorted(taken(tmp_path, make_repo, select_labels=["BUG"])[0]) == [2, 3, 4, 5]
    assert sorted(taken(tmp_path, make_repo, select_labels=["bug", "high"])[0]) == [3]
    numbers, sink = taken(tmp_path, make_repo, select_labels=["bug"], exclude_labels=["WontFix", "critical"])
    assert sorted(numbers) == [2, 3]
    assert sink.not_selected == {"--exclude-label": 2, "--issue-label": 3}


def test_since_takes_issues_updated_at_or_after_the_date_in_utc(tmp_path, make_repo):
    numbers, sink = taken(tmp_path, make_repo, select_since="2024-05-01")
    assert sorted(numbers) == [3, 4, 5, 7], "#5 at 2024-05-31T22:00Z counts; #6 has no time to compare"
    assert sorted(taken(tmp_path, make_repo, select_since="2024-06-01T00:00:00Z")[0]) == [7]
    assert sink.not_selected == {"--since": 3}


def test_limit_takes_the_most_urgent_of_the_whole_input_not_the_first_read(tmp_path, make_repo):
    numbers, sink = taken(tmp_path, make_repo, select_limit=3)
    assert numbers == [5, 3, 7], "critical first, then the high ones in input order"
    assert sink.not_selected == {"--limit": 4}


def test_limit_counts_only_issues_the_other_options_take(tmp_path, make_repo):
    numbers, _ = taken(tmp_path, make_repo, select_limit=2, select_labels=["bug"], exclude_labels=["critical"])
    assert numbers == [3, 2]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"select_since": "last tuesday"}, "--since expects an ISO 8601"),
        ({"select_limit": 0}, "--limit must be at least 1"),
        ({"select_issues": [0]}, "--issue takes issue numbers"),
        ({"check": "pytest -x"}, "check runs after a fixer command"),
    ],
)
def test_bad_selection_or_check_is_a_usage_error(tmp_path, make_repo, options, message):
    with pytest.raises(ConfigError, match=message):
        build_config({"repo_args": [str(make_repo())], "state_dir": tmp_path / "state", **options})


def test_an_issue_left_out_is_still_named_as_a_possible_duplicate(tmp_path, make_repo):
    items = [issue(1, "Login crash on save"), issue(2, "Login crash on save again"), issue(3, "Dark mode")]
    queued, _ = tickets(tmp_path, make_repo, items, select_issues=[2])
    assert [(t.issue.number, t.duplicates) for t in queued] == [(2, (1,))]
