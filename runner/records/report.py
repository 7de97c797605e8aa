"""The run report: `<report-dir>/<run-id>.json` and `.md`.

Issue records are appended to a side file as they finish and streamed into the
final JSON at the end, so a run over a million issues does not hold a million
records in memory. Both files are written to a temporary name and renamed, so
a reader never sees half a report. Issue records arrive scrubbed of the token
(runner.run.recorder); the run-level sections (a stop reason, breaker events) are
scrubbed here.

Writing the report is the last step of a run whose work (branches, journal) is
already done, so a report directory that fills up or cannot be written must not
undo or hide that work: a failed write to the side files stops the writing but
not the counting, and `finish` then removes every partial file and raises
`ReportError` for the caller to say so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.core.clock import now_iso
from runner.core.errors import RunnerError
from runner.core.logs import LOGGER
from runner.core.secrets import redact
from runner.core.status import FAILURES, SUCCEEDED, Status

log = logging.getLogger(LOGGER)
TOTAL_KEYS = ("read", "skipped", "invalid", "succeeded", "failed", "deferred")
MD_ISSUE_ROWS = 500
MD_LIST_ROWS = 100


class ReportError(RunnerError):
    """The report could not be written (its partial files are removed); the run's work stands."""

    def __init__(self, report_dir: Path, exc: OSError, path: Path | None = None) -> None:
        where = exc.filename or path
        super().__init__(f"{exc.strerror or exc}" + (f" ({where})" if where else ""))
        self.report_dir = report_dir


class ReportSink:
    def __init__(self, report_dir: Path, run_id: str) -> None:
        self.report_dir = report_dir
        self.run_id = run_id
        self.started_at = now_iso()
        self.totals = dict.fromkeys(TOTAL_KEYS, 0)
        self.by_status: dict[str, int] = {}
        self.not_selected: dict[str, int] = {}
        self._parts = {name: report_dir / f".{run_id}.{name}.jsonl" for name in ("issues", "invalid", "skipped")}
        self._files: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.failure: ReportError | None = None
        try:
            report_dir.mkdir(parents=True, exist_ok=True)
            for name, path in self._parts.items():
                self._files[name] = path.open("w", encoding="utf-8")
        except OSError as exc:
            self._discard()
            raise ReportError(report_dir, exc) from None

    def add_issues(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Count the records and append them to the report in one write."""
        with self._lock:
            for record in records:
                self._count(record["status"])
            self._write("issues", "".join([json.dumps(record) + "\n" for record in records]))

    def _count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status in SUCCEEDED:
            self.totals["succeeded"] += 1
        elif status in FAILURES:
            self.totals["failed"] += 1
        elif status == Status.DEFERRED:
            self.totals["deferred"] += 1
        elif status == Status.SKIPPED:
            self.totals["skipped"] += 1

    def add_invalid(self, position: int, line: int | None, reason: str, number: int | None = None) -> None:
        with self._lock:
            self._add_invalid(position, line, reason, number)

    def _add_invalid(self, position: int, line: int | None, reason: str, number: int | None) -> None:
        self.totals["invalid"] += 1
        entry: dict[str, Any] = {"position": position, "reason": reason}
        if line is not None:
            entry["line"] = line
        if number is not None:
            entry["number"] = number
        self._append("invalid", entry)

    def add_skipped(self, position: int, number: int | None, reason: str) -> None:
        with self._lock:
            self.totals["skipped"] += 1
            self._append("skipped", {"position": position, "number": number, "reason": reason})

    def add_not_selected(self, option: str) -> None:
        """An issue the selection options left out: counted as skipped, under the option's name, not listed."""
        with self._lock:
            self.totals["skipped"] += 1
            self.not_selected[option] = self.not_selected.get(option, 0) + 1

    def count_read(self, n: int = 1) -> None:
        with self._lock:
            self.totals["read"] += n

    def _append(self, name: str, entry: Mapping[str, Any]) -> None:
        self._write(name, json.dumps(entry) + "\n")

    def _write(self, name: str, text: str) -> None:
        """Append to a side file; once one write fails, the rest are only counted."""
        if self.failure is not None:
            return
        try:
            self._files[name].write(text)
        except OSError as exc:
            self._give_up(exc, self._parts[name])

    def _give_up(self, exc: OSError, path: Path) -> None:
        """The report cannot be complete any more: free the space its side files hold, so the
        run's other writes (commits, journal) are not starved too, and let `finish` say so."""
        self.failure = ReportError(self.report_dir, exc, path)
        log.error(
            "report %s: writing %s failed (%s); the run goes on, the report will not be written",
            self.run_id,
            path,
            self.failure,
        )
        self._discard()

    def _close(self) -> None:
        """Close the side files; buffered lines are written now, and may fail now."""
        files, self._files = self._files, {}
        for name, handle in files.items():
            try:
                handle.close()
            except OSError as exc:
                if self.failure is None:
                    self._give_up(exc, self._parts[name])

    def _discard(self) -> None:
        for handle in self._files.values():
            with contextlib.suppress(OSError):
                handle.close()
        self._files = {}
        for path in self._parts.values():
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def finish(self, exit_code: int, sections: Mapping[str, Any]) -> tuple[Path, Path]:
        """Write `<run-id>.json` and `.md`, both or neither; raises ReportError with neither
        (and no partial file) left behind."""
        with self._lock:
            self._close()
        if self.failure is not None:
            raise self.failure
        head = {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": now_iso(),
            "exit_code": exit_code,
            "totals": self.totals,
            "by_status": self.by_status,
        }
        if self.not_selected:
            head["not_selected"] = dict(sorted(self.not_selected.items()))
        json_path, md_path = self.report_dir / f"{self.run_id}.json", self.report_dir / f"{self.run_id}.md"
        writing = json_path
        try:
            self._write_json(json_path, head, sections)
            writing = md_path
            self._write_markdown(md_path, head, sections)
        except BaseException as exc:
            for path in (json_path, md_path, _tmp(json_path), _tmp(md_path)):
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise ReportError(self.report_dir, exc, _tmp(writing)) from None
            raise
        finally:
            self._discard()
        return json_path, md_path

    def _write_json(self, path: Path, head: Mapping[str, Any], sections: Mapping[str, Any]) -> None:
        tmp = _tmp(path)
        with tmp.open("w", encoding="utf-8") as out:
            out.write("{\n")
            for key, value in head.items():
                out.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
            for n, name in enumerate(("issues", "invalid", "skipped")):
                out.write((",\n" if n else "") + f'  "{name}": [')
                for i, line in enumerate(self._lines(name)):
                    out.write(("\n    " if i == 0 else ",\n    ") + line)
                out.write("\n  ]")
            body = redact(json.dumps(dict(sections), ensure_ascii=False, indent=2, default=str))
            out.write(",\n" + body[1:].lstrip("\n") if sections else "\n}")
            out.write("\n")
        os.replace(tmp, path)

    def _lines(self, name: str) -> Iterator[str]:
        with self._parts[name].open(encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n")

    def _write_markdown(self, path: Path, head: Mapping[str, Any], sections: Mapping[str, Any]) -> None:
        tmp = _tmp(path)
        with tmp.open("w", encoding="utf-8") as out:
            out.write(
                render_markdown(
                    head, sections, self._records("issues"), self._records("invalid"), self._records("skipped")
                )
            )
        os.replace(tmp, path)

    def _records(self, name: str) -> Iterator[dict[str, Any]]:
        for line in self._lines(name):
            yield json.loads(line)


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def render_markdown(head, sections, issues, invalid, skipped) -> str:
    totals = head["totals"]
    lines = [
        f"# runner report {head['run_id']}",
        "",
        f"Started {head['started_at']}, finished {head['finished_at']}, exit code **{head['exit_code']}**.",
        "",
        "| " + " | ".join(TOTAL_KEYS) + " |",
        "|" + "---|" * len(TOTAL_KEYS),
        "| " + " | ".join(str(totals[k]) for k in TOTAL_KEYS) + " |",
        "",
    ]
    if head.get("not_selected"):
        counts = ", ".join(f"{count} by {option}" for option, count in head["not_selected"].items())
        lines += [f"Not selected (counted as skipped, not listed): {counts}.", ""]
    lines += _metrics_lines(sections.get("metrics") or {})
    lines += _pacing_lines(sections.get("pacing_events") or [])
    lines += [
        "## Issues",
        "",
        "| # | priority | kind | status | branch | latency s | error | published |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for shown, record in enumerate(issues):
        if shown == MD_ISSUE_ROWS:
            lines.append(f"| … | | | | | | more in {head['run_id']}.json | |")
            break
        lines.append(
            f"| {record['number']} | {record.get('priority', '')} | {record.get('kind', '')} | {record['status']} "
            f"| `{record.get('branch') or ''}` | {record.get('latency_s', '')} | {_cell(record.get('error'))} "
            f"| {_published(record)} |"
        )
    for title, rows in (("Invalid items", invalid), ("Skipped items", skipped)):
        lines += _list_section(title, rows)
    return "\n".join(lines) + "\n"


def _metrics_lines(metrics: Mapping[str, Any]) -> list[str]:
    if not metrics:
        return []
    keep = ("throughput_per_s", "latency_s", "error_rate", "init_time_s", "workers")
    out = ["## Metrics", ""]
    for key in keep:
        if key in metrics:
            out.append(f"- {key}: `{json.dumps(metrics[key])}`")
    return [*out, ""]


def _pacing_lines(events: list[Mapping[str, Any]]) -> list[str]:
    """GitHub's secondary limits and the pace runner kept after each, one line per change."""
    if not events:
        return []
    out = ["## GitHub pacing", ""]
    for e in events[:MD_LIST_ROWS]:
        said = f" GitHub said: {_cell(e['github'])} (retry-after {e.get('retry_after_s')});" if e.get("github") else ""
        pause = f" writes paused {e['pause_s']} s, until {e['paused_until']};" if e.get("paused_until") else ""
        out.append(
            f"- {e['at']} {e['event']}:{said}{pause} intervals {e['write_interval_s']} s / {e['notify_interval_s']} s"
        )
    return [*out, ""]


def _list_section(title: str, rows: Iterator[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for i, row in enumerate(rows):
        if i == 0:
            out = ["", f"## {title}", ""]
        if i == MD_LIST_ROWS:
            out.append("- … (see the JSON report)")
            break
        where = f"position {row['position']}" + (f", line {row['line']}" if row.get("line") else "")
        number = f" #{row['number']}" if row.get("number") else ""
        out.append(f"- {where}{number}: {_cell(row['reason'])}")
    return out


def _published(record: Mapping[str, Any]) -> str:
    """Links to what reached GitHub for the issue: its pull request, its triage comment."""
    names = {"pull_request": "PR", "comment": "comment"}
    return " ".join(f"[{names.get(p['what'], p['what'])}]({p['url']})" for p in record.get("published") or ())


def _cell(text: object) -> str:
    if not text:
        return ""
    value = str(text).replace("|", "\\|").replace("\n", " ")
    return value if len(value) <= 120 else value[:117] + "..."
