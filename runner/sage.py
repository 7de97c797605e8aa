"""The sage: worker-side code that turns one `Task` into one `SageResult`.

A sage process is initialized once (`initialize`): it drops any GitHub token
variable it inherited (a sage never needs one, and a fixer command could read
it from the sage's environment), compiles every template and opens each
repository's index file (read-only, its pages shared with every other sage).
After that, `work` is a pure function of its task and that state: no git, no network, no terminal UI, so it is safe to kill at any point
and cheap to retry.
"""
from __future__ import annotations

import os
import re
import time
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from runner import codeindex
from runner.analysis import analyse
from runner.display import readable
from runner.models import KINDS, RelatedFile, SageResult, Task
from runner.fixer import FixerOutcome, FixerSpec, run_fixer
from runner.secretenv import drop_token_env

if TYPE_CHECKING:
    from runner.render import Renderer

SUMMARY_CHARS = 600
# C0/C1 controls, and the Unicode direction overrides and isolates that can make a plan
# read differently from what it contains ("trojan source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ASCII_CONTROL = bytes(range(0x09)) + bytes(range(0x0b, 0x20)) + b"\x7f"


@dataclass(frozen=True)
class SageSetup:
    """Everything a sage needs, sent once to each worker."""

    index_paths: Mapping[str, str]
    templates_dir: str | None
    branch_prefix: str
    plan_dir: str
    repos: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    fixer: FixerSpec | None = None


@dataclass
class _State:
    setup: SageSetup
    renderer: Renderer
    indexes: dict[str, codeindex.CodeIndex]
    init_s: float


_state: _State | None = None


def initialize(setup: SageSetup) -> float:
    """Compile templates and load indexes; returns the time it took."""
    global _state
    drop_token_env()
    started = time.perf_counter()
    from runner.render import Renderer  # Jinja2 loads in sages only, not in the master

    renderer = Renderer(Path(setup.templates_dir) if setup.templates_dir else None)
    renderer.precompile(KINDS)
    loaded = {path: codeindex.load(Path(path)) for path in set(setup.index_paths.values())}
    indexes = {key: loaded[path] for key, path in setup.index_paths.items()}
    _state = _State(setup, renderer, indexes, 0.0)
    _state.init_s = time.perf_counter() - started
    return _state.init_s


def init_time() -> float:
    return _state.init_s if _state else 0.0


def work(task: Task) -> SageResult:
    """Analyse and render one issue. The result carries no quoted lines: the master only
    needs the related paths, and every byte here crosses a pipe."""
    if _state is None:
        raise RuntimeError("sage used before initialize()")
    started = time.perf_counter()
    issue, triage = task.issue, task.triage
    found = analyse(issue, triage, _state.indexes[task.repo_key])
    summary = summarize(issue.body)
    risk_reasons = tuple(readable(reason) for reason in found.risk_reasons)
    context = {
        "issue": {
            "number": issue.number,
            "title": clean(issue.title),
            "labels": [clean(label) for label in issue.labels],
            "url": issue.html_url or "",
        },
        "summary": summary,
        "priority": triage.priority.label,
        "priority_reason": clean(triage.priority_reason),
        "kind": triage.kind,
        "kind_reason": clean(triage.kind_reason),
        "related": [{"path": readable(f.path), "score": f.score, "lines": f.lines, "symbols": list(f.symbols)}
                    for f in found.related],
        "tests": [{"path": readable(f.path), "score": f.score, "lines": f.lines, "symbols": list(f.symbols)}
                  for f in found.tests],
        "risk": found.risk,
        "risk_reasons": list(risk_reasons),
        "duplicates": list(task.duplicates),
        "branch": f"{_state.setup.branch_prefix}{issue.number}",
    }
    rendered = _state.renderer.render(triage.kind, context)
    directory = _state.setup.plan_dir.format(number=issue.number)
    files = {f"{directory}/{name}": clean_bytes(text) for name, text in rendered.items()}
    spec = _state.setup.fixer
    fixed = _run_fixer(task, files, context["branch"]) if spec else None
    facts = _fixer_facts(fixed, spec.timeout_s) if fixed and spec else None
    applied = fixed if facts is not None and "error" not in facts else None
    return SageResult(
        number=issue.number,
        repo_key=task.repo_key,
        related=tuple(RelatedFile(readable(f.path), f.score, (), f.symbols) for f in found.related),
        tests=tuple(readable(f.path) for f in found.tests),
        risk=found.risk,
        risk_reasons=risk_reasons,
        files=files,
        summary=summary,
        worker_pid=os.getpid(),
        busy_s=time.perf_counter() - started,
        changes=applied.changed if applied else {},
        modes=applied.modes if applied else {},
        fixer=facts,
    )


def _run_fixer(task: Task, files: dict[str, bytes], branch: str) -> FixerOutcome:
    """Run the fixer command for this issue in its own worktree, from the branch tip (or the base)."""
    assert _state is not None and _state.setup.fixer is not None
    repo, base_commit, lock_path = _state.setup.repos[task.repo_key]
    tip = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                         capture_output=True, text=True).stdout.strip()
    issue = task.issue
    issue_json = json.dumps({"number": issue.number, "title": issue.title, "body": issue.body,
                             "labels": list(issue.labels), "html_url": issue.html_url,
                             "priority": task.triage.priority.label, "kind": task.triage.kind}).encode()
    plan = b"".join(files.values())
    return run_fixer(Path(repo), tip or base_commit, issue.number, branch, issue_json, plan,
                     _state.setup.fixer, Path(lock_path), branch_prefix=_state.setup.branch_prefix)


def _fixer_facts(outcome: FixerOutcome, timeout_s: float) -> dict:
    """The report's `fixer` section. A command that failed or timed out adds `error` (the issue fails
    with it, not retried: it would fail the same way) and the tail of its output, which goes to the
    report only: the error, which the journal keeps and `runner status` prints, just names the log."""
    facts = {"exit_code": outcome.exit_code, "log": outcome.log_path,
             "changed": sorted(readable(path) for path in outcome.changed),
             "foreign_changes": list(outcome.foreign_changes), "duration_s": round(outcome.duration_s, 3)}
    if outcome.timed_out:
        facts["error"] = f"command timed out after {timeout_s:g} s and was killed; its output is in {outcome.log_path}"
    elif outcome.exit_code != 0:
        facts["error"] = f"command exited with {outcome.exit_code}; its output is in {outcome.log_path}"
    if "error" in facts:
        facts["output_tail"] = clean_text(outcome.output_tail)
    return facts


def summarize(body: str) -> str:
    """The first paragraph of the body, shortened; what a reviewer reads first."""
    text = clean_text(body).strip()
    paragraph = text.split("\n\n", 1)[0].strip()
    if len(paragraph) > SUMMARY_CHARS:
        paragraph = paragraph[: SUMMARY_CHARS - 1].rstrip() + "…"
    return paragraph


def clean(text: str) -> str:
    """One line of display text: control characters and newlines become spaces."""
    return _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def clean_bytes(text: str) -> bytes:
    """`clean_text(text)` as UTF-8, lone surrogates escaped (`readable`); ASCII text, as most plans are,
    in one C-speed pass."""
    if text.isascii():
        return text.encode().translate(None, _ASCII_CONTROL)
    return readable(clean_text(text)).encode()
