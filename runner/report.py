"""The run report: `<report-dir>/<run-id>.json` and `.md`.

Issue records are appended to a side file as they finish and streamed into the
final JSON at the end, so a run over a million issues does not hold a million
records in memory. Both files are written to a temporary name and renamed, so
a reader never sees half a report. Issue records arrive scrubbed of the token
(runner.recorder); the run-level sections (a stop reason, breaker events) are
scrubbed here.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from runner.ghclient import redact

TOTAL_KEYS = ("read", "skipped", "invalid", "succeeded", "failed", "deferred")
SUCCESS = frozenset({"committed", "published", "unchanged", "no-change"})
MD_ISSUE_ROWS = 500
MD_LIST_ROWS = 100


_second: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """UTC, ISO 8601 with milliseconds, as every timestamp in a report.

    Called several times per issue, so the formatted second is reused until it changes.
    """
    global _second
    now = time.time()
    whole = int(now)
    second, text = _second
    if second != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = (whole, text)
    return f"{text}.{int((now - whole) * 1000):03d}Z"


class ReportSink:
    def __init__(self, report_dir: Path, run_id: str) -> None:
        report_dir.mkdir(parents=True, exist_ok=True)
        self.report_dir = report_dir
        self.run_id = run_id
        self.started_at = now_iso()
        self.totals = dict.fromkeys(TOTAL_KEYS, 0)
        self.by_status: dict[str, int] = {}
        self._parts = {name: report_dir / f".{run_id}.{name}.jsonl" for name in ("issues", "invalid", "skipped")}
        self._files = {name: path.open("w", encoding="utf-8") for name, path in self._parts.items()}
        self._lock = threading.Lock()

    def add_issues(self, records: list[Mapping[str, Any]]) -> None:
        """Count the records and append them to the report in one write."""
        with self._lock:
            for record in records:
                self._count(record["status"])
            self._files["issues"].write("".join([json.dumps(record) + "\n" for record in records]))

    def _count(self, status: str) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status in SUCCESS:
            self.totals["succeeded"] += 1
        elif status in ("failed", "deferred"):
            self.totals[status] += 1
        elif status == "skipped":
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

    def count_read(self, n: int = 1) -> None:
        with self._lock:
            self.totals["read"] += n

    def _append(self, name: str, entry: Mapping[str, Any]) -> None:
        self._files[name].write(json.dumps(entry) + "\n")

    def finish(self, exit_code: int, sections: Mapping[str, Any]) -> tuple[Path, Path]:
        with self._lock:
            for handle in self._files.values():
                handle.close()
        head = {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": now_iso(),
            "exit_code": exit_code,
            "totals": self.totals,
            "by_status": self.by_status,
        }
        json_path = self._write_json(head, sections)
        md_path = self._write_markdown(head, sections)
        for path in self._parts.values():
            path.unlink(missing_ok=True)
        return json_path, md_path

    def _write_json(self, head: Mapping[str, Any], sections: Mapping[str, Any]) -> Path:
        path = self.report_dir / f"{self.run_id}.json"
        tmp = path.with_suffix(".json.tmp")
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
        return path

    def _lines(self, name: str) -> Iterator[str]:
        with self._parts[name].open(encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n")

    def _write_markdown(self, head: Mapping[str, Any], sections: Mapping[str, Any]) -> Path:
        path = self.report_dir / f"{self.run_id}.md"
        tmp = path.with_suffix(".md.tmp")
        with tmp.open("w", encoding="utf-8") as out:
            out.write(render_markdown(head, sections, self._records("issues"), self._records("invalid"), self._records("skipped")))
        os.replace(tmp, path)
        return path

    def _records(self, name: str) -> Iterator[dict[str, Any]]:
        for line in self._lines(name):
            yield json.loads(line)


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
    lines += _metrics_lines(sections.get("metrics") or {})
    lines += ["## Issues", "", "| # | priority | kind | status | branch | latency s | error |", "|---|---|---|---|---|---|---|"]
    shown = 0
    for record in issues:
        if shown == MD_ISSUE_ROWS:
            lines.append(f"| … | | | | | | more in {head['run_id']}.json |")
            break
        lines.append(
            f"| {record['number']} | {record.get('priority', '')} | {record.get('kind', '')} | {record['status']} "
            f"| `{record.get('branch') or ''}` | {record.get('latency_s', '')} | {_cell(record.get('error'))} |"
        )
        shown += 1
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
    return out + [""]


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


def _cell(text: object) -> str:
    if not text:
        return ""
    value = str(text).replace("|", "\\|").replace("\n", " ")
    return value if len(value) <= 120 else value[:117] + "..."
