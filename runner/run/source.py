"""Read GitHub issue objects from a JSON array or JSON Lines, as a stream.

Two passes over the input, both in memory bounded by the largest item
(`runner.core.jsonstream` reads an array item by item; every item, array element or
line, is decoded by `json`):

    scan():  check the syntax of the whole input (so a broken file is rejected
             before anything is written) and count issue numbers in an
             on-disk SQLite table to find numbers that appear more than once
             for one clone (`route`: repository -> clone, runner/run/routing.py);
    items(): yield `Issue`, `InvalidItem` or `Skip` events in input order,
             keeping only the last item of each repeated number.

stdin (`-`) is spooled to a file first so it can be read twice.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeGuard

from runner.core import jsonstream
from runner.core.errors import UsageError
from runner.core.jsonstream import LongInteger
from runner.core.labels import issue_type_name
from runner.core.models import InvalidItem, Issue

CHUNK = 1 << 16
MAX_ITEM_BYTES = jsonstream.MAX_ITEM_CHARS  # the same bound for a line of JSON Lines, in bytes
# Issue numbers are stored as SQLite INTEGERs (the duplicate counter, the journal): signed 64-bit.
# GitHub's own are far below (32-bit in its GraphQL schema), so nothing real is turned away.
MAX_NUMBER = 2**63 - 1
# A lone UTF-16 surrogate: valid in JSON text ("\ud800"), but not a character, so it cannot be
# written as UTF-8 (commits, reports, the journal).
_SURROGATE = re.compile("[\ud800-\udfff]")
# What `json.dumps(..., ensure_ascii=False)` builds on every call; the content hash must not change.
_HASH_ENCODER = json.JSONEncoder(ensure_ascii=False)


class InputError(UsageError):
    """The input as a whole is unusable (exit 2); the message says where."""


@dataclass(frozen=True, slots=True)
class Skip:
    """An item that is a valid issue-shaped value but is not processed."""

    position: int
    number: int | None
    reason: str


@dataclass
class Scan:
    path: Path
    fmt: str
    items: int
    repeats: dict[tuple[str, int], int] = field(default_factory=dict)
    route: Callable[[str | None], str | None] | None = None


def spool_stdin(directory: Path) -> Path:
    """Copy standard input to a file so it can be validated and then read."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="stdin-", suffix=".json", dir=directory)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, CHUNK)
    return Path(name)


def detect_format(path: Path) -> str:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            stripped = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")
            if stripped:
                return "array" if stripped[:1] == b"[" else "lines"
    raise InputError(f"{path}: the input is empty (expected a JSON array or JSON Lines)")


def scan(path: Path, work_dir: Path, route: Callable[[str | None], str | None] | None = None) -> Scan:
    """`route` names the clone an item's repository goes to (None: nowhere); without it each
    repository is its own. Two items repeat each other when they go to one clone with one number."""
    fmt = detect_format(path)
    counter = _NumberCounter(work_dir)
    try:
        count = 0
        for count, (_line, value) in enumerate(_values(path, fmt), start=1):  # noqa: B007 - the last one is the count
            key = _repeat_key(value, route)
            if key is not None:
                counter.add(*key)
        return Scan(path, fmt, count, counter.repeats(), route)
    finally:
        counter.close()


def items(scan_result: Scan) -> Iterator[Issue | InvalidItem | Skip]:
    remaining = dict(scan_result.repeats)
    for position, (line, value) in enumerate(_values(scan_result.path, scan_result.fmt), start=1):
        key = _repeat_key(value, scan_result.route)
        if key in remaining:
            remaining[key] -= 1
            if remaining[key] > 0:
                yield Skip(position, key[1], "superseded by a later item with the same number")
                continue
        yield to_issue(value, position, line)


def _repeat_key(value: object, route: Callable[[str | None], str | None] | None) -> tuple[str, int] | None:
    """(clone, number) of any routed non-pull-request item with a usable number: the last one decides."""
    if not isinstance(value, dict) or "pull_request" in value or not _is_number(value.get("number")):
        return None
    url = value.get("repository_url")
    repository = repository_from_url(_text(url)) if isinstance(url, str) else None
    clone = route(repository) if route is not None else repository or ""
    return None if clone is None else (clone, value["number"])


def to_issue(value: object, position: int, line: int | None) -> Issue | InvalidItem | Skip:
    """Validate one decoded item; never raises for bad data, it reports it."""
    if not isinstance(value, dict):
        return InvalidItem(position, line, f"item is {_type_name(value)}, not an issue object")
    number = value.get("number")
    if "pull_request" in value:
        return Skip(position, number if _is_number(number) else None, "pull request")
    if not _is_number(number):
        return InvalidItem(position, line, _number_problem(number))
    problem = _field_problem(value)
    if problem:
        return InvalidItem(position, line, problem, number)
    if value.get("state") == "closed":
        return Skip(position, number, "issue is closed")
    return _build_issue(value, number, position)


def _number_problem(number: object) -> str:
    if (isinstance(number, LongInteger) and not number.negative) or (type(number) is int and number > 0):
        return f"'number' must be at most {MAX_NUMBER} (2**63 - 1), got {_show(number)}"
    return f"'number' must be a positive integer, got {_show(number)}"


def _field_problem(value: dict) -> str | None:
    if not isinstance(value.get("title"), str):
        return f"'title' must be a string, got {_show(value.get('title'))}"
    if value.get("body") is not None and not isinstance(value["body"], str):
        return f"'body' must be a string or null, got {_show(value['body'])}"
    labels = value.get("labels", [])
    if labels is None:
        return None
    if not isinstance(labels, list):
        return f"'labels' must be a list, got {_show(labels)}"
    for label in labels:
        if not (isinstance(label, str) or (isinstance(label, dict) and isinstance(label.get("name"), str))):
            return f"each label must be a string or an object with a 'name', got {_show(label)}"
    url = value.get("repository_url")
    if url is not None and not isinstance(url, str):
        return f"'repository_url' must be a string, got {_show(url)}"
    kind = value.get("type")
    if not (kind is None or isinstance(kind, str) or (isinstance(kind, dict) and isinstance(kind.get("name"), str))):
        return f"'type' must be an issue type object with a 'name', a string or null, got {_show(kind)}"
    return None


def _build_issue(value: dict, number: int, position: int) -> Issue:
    title = _text(value["title"])
    body = _text(value.get("body") or "")
    labels = tuple(_text(label if isinstance(label, str) else label["name"]) for label in value.get("labels") or ())
    repository = repository_from_url(_text(value.get("repository_url") or ""))
    named_type = issue_type_name(value)
    issue_type = _text(named_type) if named_type else None
    digest = _content_digest(number, title, body, labels, repository, issue_type)
    return Issue(
        number=number,
        title=title,
        body=body,
        labels=labels,
        repository=repository,
        html_url=_text(value["html_url"]) if isinstance(value.get("html_url"), str) else None,
        updated_at=_text(value["updated_at"]) if isinstance(value.get("updated_at"), str) else None,
        position=position,
        content_hash=digest,
        issue_type=issue_type,
    )


def _content_digest(
    number: int, title: str, body: str, labels: tuple[str, ...], repository: str | None, issue_type: str | None = None
) -> str:
    """What an edit changes; an issue without a type hashes as it did before types were read."""
    content: list = [number, title, body, sorted(labels), repository]
    if issue_type is not None:
        content.append(issue_type)
    return hashlib.sha256(_HASH_ENCODER.encode(content).encode()).hexdigest()[:20]


def without_labels(issue: Issue, drop: frozenset[str]) -> Issue:
    """The issue without the labels in `drop` (lower case), its content hash to match: the labels
    runner put on it itself are its own output, neither input to its triage nor a change."""
    kept = tuple(label for label in issue.labels if label.lower() not in drop)
    if len(kept) == len(issue.labels):
        return issue
    return replace(
        issue,
        labels=kept,
        content_hash=_content_digest(issue.number, issue.title, issue.body, kept, issue.repository, issue.issue_type),
    )


def repository_from_url(url: str | None) -> str | None:
    """`https://api.github.com/repos/acme/app` -> `acme/app` (GitHub Enterprise paths too)."""
    if not url:
        return None
    parts = [p for p in url.rstrip("/").split("/") if p]
    if "repos" in parts:
        tail = parts[parts.index("repos") + 1 :]
        if len(tail) >= 2:
            return f"{tail[0]}/{tail[1]}".lower()
    return f"{parts[-2]}/{parts[-1]}".lower() if len(parts) >= 2 else None


def _text(text: str) -> str:
    """Issue text made writable: each lone surrogate becomes U+FFFD, as a browser's UTF-8
    encoder does (GitHub stores UTF-8, so one only comes from an exporter that cut a pair)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _is_number(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_NUMBER


def _type_name(value: object) -> str:
    names = {
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
        float: "a number",
        int: "a number",
        LongInteger: "a number",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    text = str(value) if isinstance(value, LongInteger) else _text(json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= 60 else text[:57] + "..."


def _values(path: Path, fmt: str) -> Iterator[tuple[int | None, object]]:
    if fmt == "lines":
        yield from _json_lines(path)
    else:
        yield from _json_array(path)


def _json_lines(path: Path) -> Iterator[tuple[int | None, object]]:
    with path.open("rb") as handle:
        for line_no, raw in enumerate(iter(partial(handle.readline, MAX_ITEM_BYTES + 1), b""), start=1):
            if len(raw) > MAX_ITEM_BYTES:
                raise InputError(f"{path}: line {line_no}: an item longer than {MAX_ITEM_BYTES} bytes")
            text = _decode(raw, path, line_no)
            if not text.strip():
                continue
            yield line_no, _load_line(text, path, line_no)


def _load_line(text: str, path: Path, line_no: int) -> object:
    deep = jsonstream.too_deep(text)
    if deep is not None:
        raise InputError(
            f"{path}: line {line_no}, column {deep + 1}: invalid JSON "
            f"(nested more than {jsonstream.MAX_DEPTH} levels deep)"
        )
    try:
        return jsonstream.loads(text)
    except json.JSONDecodeError as exc:
        message = exc.msg.removesuffix(" at")
        raise InputError(f"{path}: line {line_no}, column {exc.colno}: invalid JSON ({message})") from None


def _decode(raw: bytes, path: Path, line_no: int) -> str:
    try:
        return raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: line {line_no}, byte {exc.start + 1}: not valid UTF-8") from None


def _json_array(path: Path) -> Iterator[tuple[int | None, object]]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        try:
            for line, _column, value in jsonstream.array_values(handle):
                yield line, value
        except jsonstream.JSONTextError as exc:
            raise InputError(f"{path}: line {exc.line}, column {exc.column}: invalid JSON ({exc.msg})") from None
        except UnicodeDecodeError:
            _check_utf8_lines(path)
            raise InputError(f"{path}: not valid UTF-8") from None


def _check_utf8_lines(path: Path) -> None:
    """Raise the line-and-byte error for the first undecodable byte, reading at most CHUNK bytes at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line_no, line_start = 1, 0
    with path.open("rb") as handle:
        for piece in iter(partial(handle.readline, CHUNK), b""):
            offset = handle.tell() - len(piece) - len(decoder.getstate()[0])
            try:
                decoder.decode(piece)
            except UnicodeDecodeError as exc:
                byte = offset + exc.start - line_start + 1
                raise InputError(f"{path}: line {line_no}, byte {byte}: not valid UTF-8") from None
            if piece.endswith(b"\n"):
                line_no, line_start = line_no + 1, handle.tell()


class _NumberCounter:
    """Counts (clone, number) pairs on disk so finding repeats costs no memory per issue."""

    def __init__(self, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="numbers-", suffix=".sqlite", dir=work_dir)
        os.close(fd)
        self._path = Path(name)
        self._db = sqlite3.connect(name)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE TABLE n(repo TEXT, number INTEGER);"
        )
        self._batch: list[tuple[str, int]] = []

    def add(self, clone: str, number: int) -> None:
        self._batch.append((clone, number))
        if len(self._batch) >= 10_000:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO n VALUES (?, ?)", self._batch)
        self._batch.clear()

    def repeats(self) -> dict[tuple[str, int], int]:
        self._flush()
        rows = self._db.execute("SELECT repo, number, COUNT(*) FROM n GROUP BY repo, number HAVING COUNT(*) > 1")
        return {(repo, number): count for repo, number, count in rows.fetchall()}

    def close(self) -> None:
        self._db.close()
        self._path.unlink(missing_ok=True)
