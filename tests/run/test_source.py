"""runner.run.source: reading GitHub issue objects from JSON arrays and JSON Lines, as a stream."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from runner.core import jsonstream
from runner.core.models import InvalidItem, Issue
from runner.run import source
from runner.run.source import InputError, Skip

BOM = b"\xef\xbb\xbf"


def open_issue(number: int, title: str = "Something is wrong", **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": title, "body": "details", "labels": [], "state": "open", **extra}


def write(tmp_path: Path, content: str | bytes, name: str = "issues.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def as_array(items: list[Any]) -> str:
    return json.dumps(items, ensure_ascii=False)


def as_lines(items: list[Any]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def events(path: Path, tmp_path: Path) -> list[Issue | InvalidItem | Skip]:
    return list(source.items(source.scan(path, tmp_path / "work")))


def only_issues(evts: list[Any]) -> list[Issue]:
    return [e for e in evts if isinstance(e, Issue)]


def load_one(tmp_path: Path, item: dict[str, Any]) -> Issue:
    (event,) = events(write(tmp_path, as_array([item])), tmp_path)
    assert isinstance(event, Issue), event
    return event


# --- format detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, fmt",
    [
        (as_array([open_issue(1), open_issue(2)]), "array"),
        (as_lines([open_issue(1), open_issue(2)]), "lines"),
        ("\n\n  \t" + as_array([open_issue(1), open_issue(2)]), "array"),
        ("\r\n  " + as_lines([open_issue(1), open_issue(2)]), "lines"),
        (BOM + as_array([open_issue(1), open_issue(2)]).encode(), "array"),
        (BOM + as_lines([open_issue(1), open_issue(2)]).encode(), "lines"),
        (BOM + b"\n  " + as_array([open_issue(1), open_issue(2)]).encode(), "array"),
        (json.dumps([open_issue(1), open_issue(2)], indent=2), "array"),
    ],
    ids=["array", "lines", "ws-array", "ws-lines", "bom-array", "bom-lines", "bom-ws-array", "pretty-array"],
)
def test_format_is_detected_and_every_issue_is_read(tmp_path: Path, content: str | bytes, fmt: str) -> None:
    path = write(tmp_path, content)
    scan = source.scan(path, tmp_path / "work")
    assert scan.fmt == fmt
    assert scan.items == 2
    assert [i.number for i in only_issues(list(source.items(scan)))] == [1, 2]


def test_json_lines_skips_blank_lines_and_accepts_crlf(tmp_path: Path) -> None:
    content = json.dumps(open_issue(1)) + "\r\n\r\n   \n" + json.dumps(open_issue(2)) + "\r\n"
    evts = events(write(tmp_path, content, "issues.jsonl"), tmp_path)
    assert [(e.number, e.position) for e in evts] == [(1, 1), (2, 2)]


def test_a_single_object_file_is_one_json_line(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(open_issue(3), indent=None))
    assert [e.number for e in events(path, tmp_path)] == [3]


# --- whole-input errors -----------------------------------------------------------------------


def test_json_lines_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    bad = '{"title": "ab", ?}'  # the '?' is the 17th character
    content = json.dumps(open_issue(1)) + "\n" + json.dumps(open_issue(2)) + "\n" + bad + "\n"
    path = write(tmp_path, content, "issues.jsonl")
    with pytest.raises(InputError) as caught:
        source.scan(path, tmp_path / "work")
    message = str(caught.value)
    assert str(path) in message
    assert "line 3, column 17" in message


def test_json_array_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    bad = '{"title": "ab", ?}'
    content = "[\n" + json.dumps(open_issue(1)) + ",\n" + bad + "\n]\n"
    path = write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        source.scan(path, tmp_path / "work")
    message = str(caught.value)
    assert str(path) in message
    assert "line 3, column 17" in message


def test_array_error_column_counts_characters_not_bytes(tmp_path: Path) -> None:
    content = '[{"number": 1, "title": "ééé"},\n{"title": "üü", x}]'
    with pytest.raises(InputError, match=r"line 2, column 17"):
        source.scan(write(tmp_path, content), tmp_path / "work")


def test_array_error_after_a_bom_is_located_as_if_the_bom_were_absent(tmp_path: Path) -> None:
    content = BOM + b'[\n{"number": 1, x}]'
    with pytest.raises(InputError, match=r"line 2, column 15"):
        source.scan(write(tmp_path, content), tmp_path / "work")


def test_truncated_array_is_reported_at_the_end_of_the_input(tmp_path: Path) -> None:
    content = "[\n" + json.dumps(open_issue(1)) + ",\n" + '{"number": 2, "ti'
    path = write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        source.scan(path, tmp_path / "work")
    assert str(path) in str(caught.value)
    assert "line 3" in str(caught.value)


def test_two_values_on_one_json_line_is_an_error(tmp_path: Path) -> None:
    content = json.dumps(open_issue(1)) + " " + json.dumps(open_issue(2)) + "\n"
    with pytest.raises(InputError, match=r"line 1, column \d+"):
        source.scan(write(tmp_path, content, "x.jsonl"), tmp_path / "work")


def test_broken_input_is_rejected_before_any_item_is_yielded(tmp_path: Path) -> None:
    content = as_lines([open_issue(n) for n in range(1, 50)]) + "{not json}\n"
    path = write(tmp_path, content, "x.jsonl")
    with pytest.raises(InputError, match="line 50"):
        source.scan(path, tmp_path / "work")


@pytest.mark.parametrize(
    "content", [b"", b"   \n\t\r\n", BOM, BOM + b"\n\n"], ids=["empty", "blank", "bom", "bom-blank"]
)
def test_empty_input_is_an_input_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InputError, match="empty") as caught:
        source.scan(path, tmp_path / "work")
    assert str(path) in str(caught.value)


def test_empty_array_has_no_items(tmp_path: Path) -> None:
    scan = source.scan(write(tmp_path, " [ ] "), tmp_path / "work")
    assert (scan.fmt, scan.items, list(source.items(scan))) == ("array", 0, [])


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_invalid_utf8_is_an_input_error_naming_file_and_line(tmp_path: Path, fmt: str) -> None:
    first = json.dumps(open_issue(1)).encode()
    broken = b'{"number": 2, "title": "caf\xe9"}'
    content = b"[" + first + b",\n" + broken + b"]" if fmt == "array" else first + b"\n" + broken + b"\n"
    path = write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        source.scan(path, tmp_path / "work")
    message = str(caught.value)
    assert str(path) in message
    assert "UTF-8" in message
    assert "line 2" in message


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_control_character_inside_a_string_names_line_and_column(tmp_path: Path, fmt: str) -> None:
    bad = '{"number": 2, "title": "raw \x01 control"}'  # the control character is the 29th character
    first = json.dumps(open_issue(1))
    content = "[\n" + first + ",\n" + bad + "\n]\n" if fmt == "array" else first + "\n" + bad + "\n"
    path = write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        source.scan(path, tmp_path / "work")
    message = str(caught.value)
    assert message.startswith(f"{path}: line {3 if fmt == 'array' else 2}, column 29: invalid JSON")
    assert "control character" in message


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_nesting_deeper_than_the_limit_is_an_input_error_naming_where(tmp_path: Path, fmt: str) -> None:
    limit = jsonstream.MAX_DEPTH
    prefix = '{"number": 2, "title": "deep", "x": '
    deep = prefix + "[" * limit + "]" * limit + "}"  # the item object is the first level
    first = json.dumps(open_issue(1))
    content = "[\n" + first + ",\n" + deep + "\n]" if fmt == "array" else first + "\n" + deep + "\n"
    path = write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        source.scan(path, tmp_path / "work")
    column = len(prefix) + limit  # the bracket that opens level limit + 1
    assert str(caught.value) == (
        f"{path}: line {3 if fmt == 'array' else 2}, column {column}: "
        f"invalid JSON (nested more than {limit} levels deep)"
    )


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_nesting_up_to_the_limit_and_brackets_inside_strings_are_accepted(tmp_path: Path, fmt: str) -> None:
    limit = jsonstream.MAX_DEPTH
    items = [
        open_issue(1, "[[[[" * 100, body="{" * 500, x=json.loads("[" * (limit - 1) + "]" * (limit - 1))),
        open_issue(2),
    ]
    content = as_array(items) if fmt == "array" else as_lines(items)
    assert [i.number for i in only_issues(events(write(tmp_path, content), tmp_path))] == [1, 2]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_deep_nesting_is_rejected_in_constant_memory(tmp_path: Path, fmt: str) -> None:
    depth = 100_000  # a 200 KB file; the streaming parser this replaced needed more than 24 GB for it
    deep = '{"number": 2, "title": "deep", "x": ' + "[" * depth + "]" * depth + "}"
    first = json.dumps(open_issue(1))
    content = "[" + first + ", " + deep + "]" if fmt == "array" else first + "\n" + deep + "\n"
    path = write(tmp_path, content)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="nested more than"):
            source.scan(path, tmp_path / "work")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(content), f"peak {peak / 1e6:.1f} MB for a {len(content) / 1e3:.0f} KB file"


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_an_item_longer_than_the_limit_is_an_input_error(tmp_path: Path, fmt: str) -> None:
    items = [open_issue(1), open_issue(2, body="x" * source.MAX_ITEM_BYTES)]
    path = write(tmp_path, as_array(items) if fmt == "array" else as_lines(items))
    where = f"line 1, column {len(as_array(items[:1])) + 2}" if fmt == "array" else "line 2"
    with pytest.raises(InputError, match=f"{where}: .*an item longer than"):
        source.scan(path, tmp_path / "work")


# --- item validation --------------------------------------------------------------------------

BAD_ITEMS = [
    ([1, 2], "array"),
    ("an issue", "string"),
    (None, "null"),
    (42, "number"),
    ({"title": "no number"}, "'number'"),
    ({"number": True, "title": "bool"}, "'number'"),
    ({"number": "7", "title": "string number"}, "'number'"),
    ({"number": 0, "title": "zero"}, "'number'"),
    ({"number": -3, "title": "negative"}, "'number'"),
    ({"number": 4.0, "title": "float"}, "'number'"),
    ({"number": 5}, "'title'"),
    ({"number": 5, "title": None}, "'title'"),
    ({"number": 5, "title": ["a"]}, "'title'"),
    ({"number": 5, "title": "t", "body": 12}, "'body'"),
    ({"number": 5, "title": "t", "body": {"text": "x"}}, "'body'"),
    ({"number": 5, "title": "t", "labels": "bug"}, "'labels'"),
    ({"number": 5, "title": "t", "labels": {"name": "bug"}}, "'labels'"),
    ({"number": 5, "title": "t", "labels": [3]}, "label"),
    ({"number": 5, "title": "t", "labels": [{"color": "red"}]}, "label"),
    ({"number": 5, "title": "t", "labels": [{"name": 3}]}, "label"),
    ({"number": 5, "title": "t", "repository_url": 7}, "'repository_url'"),
]


@pytest.mark.parametrize("fmt", ["array", "lines"])
@pytest.mark.parametrize("bad, reason_part", BAD_ITEMS, ids=[json.dumps(b[0])[:30] for b in BAD_ITEMS])
def test_unusable_item_becomes_invalid_with_position_and_reason(
    tmp_path: Path, fmt: str, bad: Any, reason_part: str
) -> None:
    items = [open_issue(1), bad, open_issue(3)]
    content = as_array(items) if fmt == "array" else as_lines(items)
    evts = events(write(tmp_path, content), tmp_path)
    assert len(evts) == 3
    first, invalid, last = evts
    assert isinstance(first, Issue) and first.number == 1
    assert isinstance(last, Issue) and last.number == 3 and last.position == 3
    assert isinstance(invalid, InvalidItem)
    assert invalid.position == 2
    assert invalid.line == (2 if fmt == "lines" else 1)
    assert reason_part in invalid.reason


def test_invalid_item_keeps_its_number_when_the_number_is_usable(tmp_path: Path) -> None:
    (evt,) = events(write(tmp_path, as_array([{"number": 9, "title": 1}])), tmp_path)
    assert isinstance(evt, InvalidItem) and evt.number == 9


def test_long_bad_values_are_shortened_in_the_reason(tmp_path: Path) -> None:
    (evt,) = events(write(tmp_path, as_array([{"number": 9, "title": "t", "body": ["x" * 500]}])), tmp_path)
    assert isinstance(evt, InvalidItem)
    assert len(evt.reason) < 200


def test_json_lines_invalid_item_line_counts_blank_lines(tmp_path: Path) -> None:
    content = json.dumps(open_issue(1)) + "\n\n\n" + json.dumps({"number": "x"}) + "\n"
    evts = events(write(tmp_path, content, "x.jsonl"), tmp_path)
    assert isinstance(evts[1], InvalidItem)
    assert (evts[1].position, evts[1].line) == (2, 4)


def test_pull_requests_are_skipped(tmp_path: Path) -> None:
    items = [open_issue(1), open_issue(2, pull_request={"url": "https://x/pulls/2"}), open_issue(3)]
    evts = events(write(tmp_path, as_array(items)), tmp_path)
    assert evts[1] == Skip(2, 2, "pull request")
    assert [i.number for i in only_issues(evts)] == [1, 3]


def test_pull_request_with_an_unusable_number_is_still_a_skip(tmp_path: Path) -> None:
    (evt,) = events(write(tmp_path, as_array([{"number": "x", "pull_request": {}}])), tmp_path)
    assert evt == Skip(1, None, "pull request")


def test_a_pull_request_does_not_supersede_an_issue_with_the_same_number(tmp_path: Path) -> None:
    items = [open_issue(5, "the issue"), open_issue(5, "the pr", pull_request={})]
    evts = events(write(tmp_path, as_array(items)), tmp_path)
    assert [i.title for i in only_issues(evts)] == ["the issue"]


def test_closed_issues_are_skipped(tmp_path: Path) -> None:
    items = [open_issue(1, state="closed"), open_issue(2)]
    evts = events(write(tmp_path, as_array(items)), tmp_path)
    assert evts[0] == Skip(1, 1, "issue is closed")
    assert [i.number for i in only_issues(evts)] == [2]


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_issue_numbers_up_to_the_64_bit_limit_are_issues_and_larger_ones_invalid(tmp_path: Path, fmt: str) -> None:
    numbers = [source.MAX_NUMBER, 2**63, 2**70, 7]
    items = [open_issue(n) for n in numbers]
    evts = events(write(tmp_path, as_array(items) if fmt == "array" else as_lines(items)), tmp_path)
    assert [type(e).__name__ for e in evts] == ["Issue", "InvalidItem", "InvalidItem", "Issue"]
    assert [e.number for e in only_issues(evts)] == [source.MAX_NUMBER, 7]
    for invalid, number in zip(evts[1:3], numbers[1:3], strict=False):
        assert invalid.position == numbers.index(number) + 1
        assert invalid.number is None
        assert invalid.reason == f"'number' must be at most 9223372036854775807 (2**63 - 1), got {number}"


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_an_integer_too_long_to_convert_is_invalid_as_a_number_and_ignored_elsewhere(tmp_path: Path, fmt: str) -> None:
    digits = "9" * (sys.get_int_max_str_digits() + 1)
    raw = [
        json.dumps(open_issue(1)),
        '{"number": ' + digits + ', "title": "long"}',
        '{"number": 3, "title": "long id", "id": -' + digits + "}",
        '{"number": -' + digits + ', "title": "long and negative"}',
    ]
    content = "[" + ",\n".join(raw) + "]" if fmt == "array" else "\n".join(raw) + "\n"
    first, invalid, third, negative = events(write(tmp_path, content), tmp_path)
    assert isinstance(invalid, InvalidItem) and (invalid.position, invalid.line) == (2, 2)
    assert (
        invalid.reason
        == f"'number' must be at most 9223372036854775807 (2**63 - 1), got an integer of {len(digits)} digits"
    )
    assert [first.number, third.number] == [1, 3]
    assert negative.reason == f"'number' must be a positive integer, got a negative integer of {len(digits)} digits"


def test_json_array_items_carry_the_line_they_start_on(tmp_path: Path) -> None:
    content = json.dumps([open_issue(1), {"number": "x"}, open_issue(3), 5], indent=2)
    evts = events(write(tmp_path, content), tmp_path)
    starts = [n + 1 for n, text in enumerate(content.splitlines()) if text in ("  {", "  5")]
    assert [e.line for e in evts if isinstance(e, InvalidItem)] == [starts[1], starts[3]]


# --- lone surrogates --------------------------------------------------------------------------

SURROGATE_ITEM = (
    '{"number": 11, "title": "lone \\ud800 surrogate", "body": "cut pair \\udc00", '
    '"labels": ["ok", {"name": "bad \\udfff"}], "html_url": "https://github.com/a/b/issues/11\\ud800", '
    '"updated_at": "2024\\ud801", "repository_url": "https://api.github.com/repos/acme/app\\ud800"}'
)


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_lone_surrogates_in_issue_text_become_replacement_characters(tmp_path: Path, fmt: str) -> None:
    raw = [
        json.dumps(open_issue(10)),
        SURROGATE_ITEM,
        json.dumps(open_issue(12, "rocket \U0001f680")),
    ]  # escaped as a pair
    content = "[" + ",".join(raw) + "]" if fmt == "array" else "\n".join(raw) + "\n"
    evts = events(write(tmp_path, content), tmp_path)
    assert [e.number for e in only_issues(evts)] == [10, 11, 12]
    issue = evts[1]
    assert (issue.title, issue.body, issue.labels) == ("lone \ufffd surrogate", "cut pair \ufffd", ("ok", "bad \ufffd"))
    assert (issue.html_url, issue.updated_at, issue.repository) == (
        "https://github.com/a/b/issues/11\ufffd",
        "2024\ufffd",
        "acme/app\ufffd",
    )
    assert evts[2].title == "rocket \U0001f680"
    same_text = load_one(
        tmp_path,
        {
            "number": 11,
            "title": issue.title,
            "body": issue.body,
            "labels": list(issue.labels),
            "repository_url": "https://api.github.com/repos/acme/app\ufffd",
        },
    )
    assert issue.content_hash == same_text.content_hash


def test_lone_surrogates_in_an_invalid_item_reason_are_replaced(tmp_path: Path) -> None:
    content = '[{"number": 5, "title": ["\\ud800"]}, {"number": 6, "title": "t", "labels": [{"\\udc00": 1}]}]'
    evts = events(write(tmp_path, content), tmp_path)
    assert [e.reason for e in evts] == [
        "'title' must be a string, got [\"\ufffd\"]",
        "each label must be a string or an object with a 'name', got {\"\ufffd\": 1}",
    ]
    assert all(e.reason.encode() for e in evts)


# --- repeated numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["array", "lines"])
def test_repeated_number_keeps_only_the_last_item(tmp_path: Path, fmt: str) -> None:
    items = [open_issue(7, "first"), open_issue(8), open_issue(7, "second"), open_issue(7, "third")]
    content = as_array(items) if fmt == "array" else as_lines(items)
    evts = events(write(tmp_path, content), tmp_path)
    assert [type(e).__name__ for e in evts] == ["Skip", "Issue", "Skip", "Issue"]
    for skipped, position in ((evts[0], 1), (evts[2], 3)):
        assert skipped.position == position and skipped.number == 7
        assert "superseded" in skipped.reason
    assert [(i.number, i.title) for i in only_issues(evts)] == [(8, "Something is wrong"), (7, "third")]


def test_reopened_issue_is_processed_when_its_last_item_is_open(tmp_path: Path) -> None:
    items = [open_issue(5, "was closed", state="closed"), open_issue(5, "reopened")]
    evts = events(write(tmp_path, as_array(items)), tmp_path)
    assert [i.title for i in only_issues(evts)] == ["reopened"]
    assert "superseded" in evts[0].reason


def test_issue_closed_by_its_last_item_is_not_processed(tmp_path: Path) -> None:
    items = [open_issue(5, "open"), open_issue(5, "now closed", state="closed")]
    evts = events(write(tmp_path, as_array(items)), tmp_path)
    assert only_issues(evts) == []
    assert evts[1] == Skip(2, 5, "issue is closed")


def test_earlier_invalid_item_does_not_hide_a_later_valid_one(tmp_path: Path) -> None:
    items = [{"number": 5, "title": 123}, open_issue(5, "fixed title")]
    evts = events(write(tmp_path, as_array(items)), tmp_path)
    assert [i.title for i in only_issues(evts)] == ["fixed title"]


def test_same_number_in_different_repositories_is_not_a_repeat(tmp_path: Path) -> None:
    items = [
        open_issue(1, "api", repository_url="https://api.github.com/repos/acme/api"),
        open_issue(1, "web", repository_url="https://api.github.com/repos/acme/web"),
        open_issue(1, "api again", repository_url="https://api.github.com/repos/ACME/Api"),
    ]
    evts = events(write(tmp_path, as_array(items)), tmp_path)
    assert [(i.repository, i.title) for i in only_issues(evts)] == [("acme/web", "web"), ("acme/api", "api again")]


def test_repeats_are_counted_per_clone_the_route_names(tmp_path: Path) -> None:
    """An item without repository_url and one of the clone's repository are the same issue there;
    an item routed nowhere repeats nothing."""
    url = "https://api.github.com/repos/{}".format
    items = [
        open_issue(5, "no url"),
        open_issue(5, "app", repository_url=url("acme/app")),
        open_issue(5, "other", repository_url=url("evil/other")),
        open_issue(5, "other again", repository_url=url("evil/other")),
    ]
    route = {None: "", "acme/app": ""}.get
    scan = source.scan(write(tmp_path, as_array(items)), tmp_path / "work", route)
    assert scan.repeats == {("", 5): 2}
    evts = list(source.items(scan))
    assert [(type(e).__name__, getattr(e, "title", None)) for e in evts] == [
        ("Skip", None),
        ("Issue", "app"),
        ("Issue", "other"),
        ("Issue", "other again"),
    ]


def test_scan_counts_repeats_per_repository(tmp_path: Path) -> None:
    items = [open_issue(1), open_issue(1), open_issue(1), open_issue(2)]
    scan = source.scan(write(tmp_path, as_array(items)), tmp_path / "work")
    assert scan.items == 4
    assert scan.repeats == {("", 1): 3}


def test_scan_leaves_no_temporary_files_behind(tmp_path: Path) -> None:
    work = tmp_path / "work"
    source.scan(write(tmp_path, as_array([open_issue(1), open_issue(1)])), work)
    assert list(work.iterdir()) == []


# --- the Issue that comes out -----------------------------------------------------------------


def test_null_or_missing_body_becomes_empty_text(tmp_path: Path) -> None:
    items = [open_issue(1, body=None), {"number": 2, "title": "no body key"}]
    issues = only_issues(events(write(tmp_path, as_array(items)), tmp_path))
    assert [i.body for i in issues] == ["", ""]


def test_labels_may_be_strings_objects_or_null(tmp_path: Path) -> None:
    items = [
        open_issue(1, labels=["bug", "P1"]),
        open_issue(2, labels=[{"name": "bug", "color": "f00"}, {"id": 3, "name": "priority: high"}]),
        open_issue(3, labels=None),
        {"number": 4, "title": "no labels key"},
        open_issue(5, labels=["docs", {"name": "good first issue"}]),
    ]
    issues = only_issues(events(write(tmp_path, as_array(items)), tmp_path))
    assert [i.labels for i in issues] == [
        ("bug", "P1"),
        ("bug", "priority: high"),
        (),
        (),
        ("docs", "good first issue"),
    ]


def test_issue_fields_are_carried(tmp_path: Path) -> None:
    issue = load_one(
        tmp_path,
        open_issue(
            12,
            "Title",
            body="Body text",
            html_url="https://github.com/acme/app/issues/12",
            updated_at="2024-01-02T03:04:05Z",
            repository_url="https://api.github.com/repos/acme/app",
        ),
    )
    assert (issue.number, issue.title, issue.body, issue.position) == (12, "Title", "Body text", 1)
    assert issue.html_url == "https://github.com/acme/app/issues/12"
    assert issue.updated_at == "2024-01-02T03:04:05Z"
    assert issue.repository == "acme/app"


def test_non_string_optional_fields_are_ignored(tmp_path: Path) -> None:
    issue = load_one(tmp_path, open_issue(1, html_url=5, updated_at=["x"]))
    assert (issue.html_url, issue.updated_at) == (None, None)


def test_unicode_text_survives(tmp_path: Path) -> None:
    issue = load_one(tmp_path, open_issue(1, "Ümlaut 日本 🚀", body="naïve\u2028text"))
    assert issue.title == "Ümlaut 日本 🚀"
    assert issue.body == "naïve\u2028text"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://api.github.com/repos/acme/app", "acme/app"),
        ("https://api.github.com/repos/Acme/App/", "acme/app"),
        ("https://ghe.example.com/api/v3/repos/owner/repo", "owner/repo"),
        ("http://github.internal:8080/api/v3/repos/Team/Service", "team/service"),
        ("https://api.github.com/repos/repos/x", "repos/x"),
        ("https://github.com/acme/app", "acme/app"),
        ("", None),
        (None, None),
        ("app", None),
    ],
)
def test_repository_from_url(url: str | None, expected: str | None) -> None:
    assert source.repository_from_url(url) == expected


def test_content_hash_changes_with_title_body_and_labels_only(tmp_path: Path) -> None:
    base = open_issue(1, "Title", body="Body", labels=["bug", "p1"])

    def digest(**changes: Any) -> str:
        return load_one(tmp_path, {**base, **changes}).content_hash

    original = digest()
    assert digest() == original
    assert digest(title="Title!") != original
    assert digest(body="Body!") != original
    assert digest(body=None) != original
    assert digest(labels=["bug"]) != original
    assert digest(labels=["bug", "p2"]) != original
    assert digest(labels=["p1", "bug"]) == original
    assert digest(labels=[{"name": "bug"}, {"name": "p1"}]) == original
    assert digest(updated_at="2030-01-01T00:00:00Z", html_url="https://x", comments=3) == original


def test_content_hash_of_null_and_empty_body_is_the_same(tmp_path: Path) -> None:
    assert (
        load_one(tmp_path, open_issue(1, body=None)).content_hash
        == load_one(tmp_path, open_issue(1, body="")).content_hash
    )


def test_position_is_independent_of_the_content_hash(tmp_path: Path) -> None:
    items = [open_issue(1, repository_url="https://api.github.com/repos/a/b"), open_issue(1)]
    first, second = only_issues(events(write(tmp_path, as_array(items)), tmp_path))
    assert (first.position, second.position) == (1, 2)
    assert first.content_hash != second.content_hash


# --- streaming and stdin ----------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_scanning_200k_issues_stays_in_constant_memory(tmp_path: Path) -> None:
    count = 200_000
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"number":{n},"title":"t{n}","body":null}}\n' for n in range(1, count + 1)))
    tracemalloc.start()
    try:
        scan = source.scan(path, tmp_path / "work")
        scan_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        seen = 0
        for event in source.items(scan):
            assert isinstance(event, Issue)
            seen += 1
            if seen == 20_000:
                break
        items_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scan.items == count
    assert seen == 20_000
    assert scan_peak < 20 * 1024 * 1024, f"scan peak {scan_peak / 1e6:.1f} MB"
    assert items_peak < 10 * 1024 * 1024, f"items peak {items_peak / 1e6:.1f} MB"


@pytest.mark.timeout(60)
def test_spool_stdin_copies_standard_input_to_a_readable_file(tmp_path: Path) -> None:
    payload = BOM + as_lines([open_issue(1, "café"), open_issue(2, body=None)]).encode()
    code = (
        "import sys; from pathlib import Path; from runner.run.source import spool_stdin; "
        "print(spool_stdin(Path(sys.argv[1])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "spool")],
        input=payload,
        capture_output=True,
        timeout=50,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr.decode()
    spooled = Path(proc.stdout.decode().strip())
    assert spooled.parent == tmp_path / "spool"
    assert spooled.read_bytes() == payload
    issues = only_issues(events(spooled, tmp_path))
    assert [(i.number, i.title, i.body) for i in issues] == [(1, "café", "details"), (2, "Something is wrong", "")]


# --- issue types -----------------------------------------------------------------------------


def test_an_issue_type_object_or_name_is_read(tmp_path: Path) -> None:
    assert load_one(tmp_path, open_issue(1, type={"id": 411, "name": "Bug"})).issue_type == "Bug"
    assert load_one(tmp_path, open_issue(1, type="Feature")).issue_type == "Feature"
    assert load_one(tmp_path, open_issue(1, type=None)).issue_type is None
    assert load_one(tmp_path, open_issue(1)).issue_type is None


def test_a_malformed_type_is_a_clear_error_naming_the_issue(tmp_path: Path) -> None:
    found = events(write(tmp_path, as_array([open_issue(7, type=[1, 2])])), tmp_path)
    (bad,) = found
    assert isinstance(bad, InvalidItem) and bad.number == 7
    assert "'type' must be an issue type object with a 'name', a string or null" in bad.reason


def test_a_type_counts_as_content_and_no_type_hashes_as_before(tmp_path: Path) -> None:
    plain = load_one(tmp_path, open_issue(1)).content_hash
    assert load_one(tmp_path, open_issue(1, type=None)).content_hash == plain
    bug = load_one(tmp_path, open_issue(1, type={"name": "Bug"})).content_hash
    assert bug != plain
    assert load_one(tmp_path, open_issue(1, type="Bug")).content_hash == bug
    assert load_one(tmp_path, open_issue(1, type={"name": "Task"})).content_hash != bug
