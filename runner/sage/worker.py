"""The sage: worker-side code that turns one `Task` into one `SageResult`.

A sage process is initialized once (`initialize`): it drops any GitHub token
variable it inherited (a sage never needs one, and a fixer command could read
it from the sage's environment), compiles every template and opens each
repository's index file (read-only, its pages shared with every other sage).
After that, `work` is a pure function of its task and that state: no git, no network, no
terminal UI, so it is safe to kill at any point
and cheap to retry.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from runner.core.display import clean, clean_bytes, clean_text, readable
from runner.core.models import KINDS, RelatedFile, SageResult, Task
from runner.core.secrets import drop_token_env
from runner.git.cmd import git_proc
from runner.sage import codeindex
from runner.sage.analysis import analyse
from runner.sage.fixer import CheckOutcome, FixerOutcome, FixerSpec, run_fixer

if TYPE_CHECKING:
    from runner.sage.render import Renderer

SUMMARY_CHARS = 600
# C0/C1 controls, and the Unicode direction overrides and isolates that can make a plan
# read differently from what it contains ("trojan source").


@dataclass(frozen=True)
class Outputs:
    """What a sage hands back besides the analysis and the plan files.

    `commit_plan`: a fixer's branch holds the plan files too (else only the change, and the
    plan travels in `SageResult.plan`). `comment`: render the triage comment, whose related
    files link to `web_urls[repo_key]/blob/<analysed commit>/<path>#L<a>-L<b>`.
    """

    commit_plan: bool = False
    comment: bool = False
    web_urls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SageSetup:
    """Everything a sage needs, sent once to each worker."""

    index_paths: Mapping[str, str]
    templates_dir: str | None
    branch_prefix: str
    plan_dir: str
    repos: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    fixer: FixerSpec | None = None
    outputs: Outputs = field(default_factory=Outputs)


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
    gc.unfreeze()  # a process that serves run after run (a Dask worker) frees the last run's state
    from runner.sage.render import renderer_for  # Jinja2 loads in sages only, not in the master

    renderer = renderer_for(Path(setup.templates_dir) if setup.templates_dir else None, KINDS)
    loaded = {path: codeindex.load(Path(path)) for path in set(setup.index_paths.values())}
    for index in loaded.values():
        index.prepare()
    indexes = {key: loaded[path] for key, path in setup.index_paths.items()}
    _state = _State(setup, renderer, indexes, 0.0)
    gc.freeze()  # what a sage holds for the run (postings, file table, templates): no collection walks it again
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
    branch = f"{_state.setup.branch_prefix}{issue.number}"
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
        "related": [
            {"path": readable(f.path), "score": f.score, "lines": f.lines, "symbols": list(f.symbols)}
            for f in found.related
        ],
        "tests": [
            {"path": readable(f.path), "score": f.score, "lines": f.lines, "symbols": list(f.symbols)}
            for f in found.tests
        ],
        "risk": found.risk,
        "risk_reasons": list(risk_reasons),
        "duplicates": list(task.duplicates),
        "branch": branch,
    }
    rendered = _state.renderer.render(triage.kind, context)
    directory = _state.setup.plan_dir.format(number=issue.number)
    files = {f"{directory}/{name}": clean_bytes(text) for name, text in rendered.items()}
    spec = _state.setup.fixer
    fixed = _run_fixer(task, files, branch) if spec else None
    facts = _fixer_facts(fixed, spec.timeout_s) if fixed and spec else None
    applied = fixed if facts is not None and "error" not in facts else None
    outputs = _state.setup.outputs
    plan = ""
    if applied is not None and applied.changed and not outputs.commit_plan:
        plan, files = "\n".join(data.decode("utf-8", "replace").rstrip() for data in files.values()) + "\n", {}
    comment = _comment(task, context, found.related) if outputs.comment else ""
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
        plan=plan,
        fixer_summary=clean_text(applied.summary) if applied else "",
        comment=comment,
    )


def _comment(task: Task, context: dict, related) -> str:
    """The triage comment: the plan's context, with each related file's matching lines as a link
    to those lines at the commit the analysis read."""
    assert _state is not None
    commit = _state.indexes[task.repo_key].commit
    web = _state.setup.outputs.web_urls.get(task.repo_key)
    files = []
    for found in related:
        numbers = [number for number, _ in found.lines]
        first, last = (min(numbers), max(numbers)) if numbers else (None, None)
        url = None
        if web:
            path = quote(found.path.encode("utf-8", "surrogateescape"))
            url = f"{web}/blob/{commit}/{path}" + (f"#L{first}-L{last}" if first else "")
        files.append({"path": readable(found.path), "score": found.score, "first": first, "last": last, "url": url})
    return _state.renderer.render_comment(task.triage.kind, {**context, "related": files, "commit": commit})


def _run_fixer(task: Task, files: dict[str, bytes], branch: str) -> FixerOutcome:
    """Run the fixer command for this issue in its own worktree, from the branch tip (or the base)."""
    assert _state is not None and _state.setup.fixer is not None
    repo, base_commit, lock_path = _state.setup.repos[task.repo_key]
    tip = git_proc(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").stdout.decode().strip()
    issue = task.issue
    issue_json = json.dumps(
        {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "labels": list(issue.labels),
            "html_url": issue.html_url,
            "priority": task.triage.priority.label,
            "kind": task.triage.kind,
        }
    ).encode()
    plan = b"".join(files.values())
    return run_fixer(
        Path(repo),
        tip or base_commit,
        issue.number,
        branch,
        issue_json,
        plan,
        _state.setup.fixer,
        Path(lock_path),
        branch_prefix=_state.setup.branch_prefix,
    )


def _fixer_facts(outcome: FixerOutcome, timeout_s: float) -> dict:
    """The report's `fixer` section. A command that failed or timed out adds `error` (the issue fails
    with it, not retried: it would fail the same way) and the tail of its output, which goes to the
    report only: the error, which the journal keeps and `runner status` prints, just names the log."""
    facts: dict[str, Any] = {
        "exit_code": outcome.exit_code,
        "log": outcome.log_path,
        "changed": sorted(readable(path) for path in outcome.changed),
        "foreign_changes": list(outcome.foreign_changes),
        "duration_s": round(outcome.duration_s, 3),
    }
    if outcome.timed_out:
        facts["error"] = f"command timed out after {timeout_s:g} s and was killed; its output is in {outcome.log_path}"
    elif outcome.exit_code != 0:
        facts["error"] = f"command exited with {outcome.exit_code}; its output is in {outcome.log_path}"
    if "error" in facts:
        facts["output_tail"] = clean_text(outcome.output_tail)
    if outcome.check is not None:
        facts["check"] = _check_facts(outcome.check)
    return facts


def _check_facts(check: CheckOutcome) -> dict:
    """The report's `fixer.check`: always the exit code, duration and output tail; `error` when it failed,
    which makes the issue `check-failed` (kept local; runner.run.pipeline)."""
    facts: dict[str, Any] = {
        "exit_code": check.exit_code,
        "passed": check.passed,
        "duration_s": round(check.duration_s, 3),
        "log": check.log_path,
        "output_tail": clean_text(check.output_tail),
    }
    if check.timed_out:
        facts["error"] = f"the check did not finish in the time the issue had left; its output is in {check.log_path}"
    elif not check.passed:
        facts["error"] = f"the check exited with {check.exit_code}; its output is in {check.log_path}"
    return facts


def summarize(body: str) -> str:
    """The first paragraph of the body, shortened; what a reviewer reads first."""
    text = clean_text(body).strip()
    paragraph = text.split("\n\n", 1)[0].strip()
    if len(paragraph) > SUMMARY_CHARS:
        paragraph = paragraph[: SUMMARY_CHARS - 1].rstrip() + "…"
    return paragraph
