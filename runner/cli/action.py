"""The run step of the GitHub Action (`action.yml`): its inputs, from the environment, into
runner's command line; runner's `--json` summary into step outputs and the job summary.

The action hands every input over as an environment variable (`INPUT_COMMAND`, ...), never by
writing it into the step's script, so an input can hold any text without being run as shell
code (GitHub's advice against script injection). The token reaches runner as `GITHUB_TOKEN`
in its environment, as everywhere else: never on a command line.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.core.errors import UsageError
from runner.core.status import ExitCode

COMMANDS = ("nightly", "process")
# The login GitHub gives the workflow's own token, which may not ask `GET /user` for it.
ACTIONS_LOGIN = "github-actions[bot]"


def action_argv(env: Mapping[str, str]) -> list[str]:
    """runner's arguments (after the program name) for the action's inputs."""
    get = lambda name: env.get(f"INPUT_{name}", "").strip()  # noqa: E731
    command = get("COMMAND") or "nightly"
    if command not in COMMANDS:
        raise UsageError(f"input command must be one of {', '.join(COMMANDS)}, got {command!r}")
    argv = [command]
    if command == "process":
        if get("ISSUES"):
            argv.append(get("ISSUES"))
        argv += ["--repo", get("PATH") or ".", "--github", get("REPOSITORY")]
    for option, name in (
        ("--config", "CONFIG"),
        ("--state-dir", "STATE_DIR"),
        ("--report-dir", "REPORT_DIR"),
        ("--publish", "PUBLISH"),
    ):
        if get(name):
            argv += [option, get(name)]
    login = get("LOGIN") or (ACTIONS_LOGIN if get("WORKFLOW_TOKEN") == "true" else "")
    if login:
        argv += ["--login", login]
    for label in _items(get("LABELS")):
        argv += ["--label", label]
    return argv + shlex.split(get("ARGS")) + ["--json"]


def _items(text: str) -> list[str]:
    """A list input: one item a line, or separated by commas."""
    return [item.strip() for line in text.splitlines() for item in line.split(",") if item.strip()]


def succeeded(code: int, env: Mapping[str, str]) -> bool:
    """Whether the step passes: exit codes listed in `success-codes` (default 0, 3 and 75, as
    the systemd unit in the README: deferred issues and a held lock are owed to the next run)."""
    allowed = env.get("INPUT_SUCCESS_CODES", "").replace(",", " ").split() or ["0", "3", "75"]
    return str(code) in allowed


def write_outputs(code: int, summary: dict[str, Any] | None, env: Mapping[str, str]) -> None:
    """Step outputs (`exit-code`, `run-id`, `report`, `report-markdown`, `summary`) and a few
    lines in the job summary."""
    report = (summary or {}).get("report") or {}
    values = {
        "exit-code": str(code),
        "run-id": (summary or {}).get("run_id") or "",
        "report": report.get("json") or "",
        "report-markdown": report.get("markdown") or "",
        "summary": json.dumps(summary) if summary else "",
    }
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            for name, value in values.items():
                delimiter = f"EOF_{secrets.token_hex(8)}"
                out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    if env.get("GITHUB_STEP_SUMMARY") and summary:
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
            out.write(_job_summary(code, summary))


def _job_summary(code: int, summary: dict[str, Any]) -> str:
    totals = summary.get("totals") or {}
    lines = [f"### runner {summary.get('command', '')} {summary.get('run_id', '')}: exit {code}", ""]
    if summary.get("nothing_to_do"):
        lines += [f"Nothing to do: {summary['nothing_to_do']}", ""]
    lines += [
        "| " + " | ".join(totals) + " |",
        "|" + "---:|" * len(totals),
        "| " + " | ".join(str(v) for v in totals.values()) + " |",
        "",
    ]
    if summary.get("by_status"):
        lines += ["By status: " + ", ".join(f"{k} {v}" for k, v in summary["by_status"].items()), ""]
    return "\n".join(lines) + "\n"


def main(env: Mapping[str, str] | None = None) -> int:
    """Run runner for the action; the step's exit code."""
    env = dict(os.environ if env is None else env)
    try:
        argv = action_argv(env)
    except (UsageError, ValueError) as exc:
        print(f"runner: error: {exc}", file=sys.stderr)
        write_outputs(ExitCode.USAGE, None, env)
        return ExitCode.USAGE
    program = str(Path(sys.executable).with_name("runner"))
    done = subprocess.run([program, *argv], stdout=subprocess.PIPE, text=True, env=env)
    try:
        summary = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        summary = None
    if summary is not None:
        print(json.dumps(summary, indent=2))
    write_outputs(done.returncode, summary, env)
    return 0 if succeeded(done.returncode, env) else done.returncode


if __name__ == "__main__":
    sys.exit(main())
