"""runner.cli.ui: what the terminal shows is the text it was given, on a terminal too (B21).

Paths, issue titles and error replies are not ours, so nothing of them may be read as
Rich markup or emoji codes: `[/]` must not crash the error handler, `[work]` must not vanish.
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import issue

from runner.cli.ui import TerminalObserver, plain_console
from runner.run.outcome import RunOutcome

TRICKY = ("[/]", "[work]", "[bold red]x[/bold red]", ":thumbs_up:")


def on_terminal(argv: list[str], cwd: Path, timeout: float = 60) -> tuple[int, str]:
    """Run `argv` with a pseudo-terminal as stdin, stdout and stderr; its exit code and everything it printed."""
    master, slave = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, "TERM": "xterm", "COLUMNS": "400"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True)
    os.close(slave)
    out = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child side is closed
                break
            if not chunk:
                break
            out += chunk
        code = proc.wait(timeout=timeout)
    finally:
        os.close(master)
    return code, out.decode("utf-8", "replace").replace("\r\n", "\n")


def runner_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", *args]


@pytest.mark.parametrize("name", TRICKY)
def test_an_error_naming_a_path_with_markup_is_printed_as_it_is(tmp_path, write_issues, name):
    path = write_issues([issue(1, "x")])
    missing = tmp_path / name / "repo"
    code, out = on_terminal(
        runner_argv(
            "process",
            str(path),
            "--repo",
            str(missing),
            "--state-dir",
            str(tmp_path / "state"),
            "--report-dir",
            str(tmp_path / "rep"),
        ),
        tmp_path,
    )
    assert code == 2, out
    assert "Traceback" not in out and "MarkupError" not in out
    assert f"{missing} does not exist or is not a directory" in out
    assert "runner: error:" in out


def test_a_run_on_a_terminal_with_markup_in_its_paths_shows_them_literally(tmp_path, make_repo, write_issues):
    repo = make_repo("[b]repo[work] :thumbs_up:")
    path = write_issues([issue(n, f"[red]title {n}[/] :fire:") for n in range(1, 6)])
    reports = tmp_path / "[/]reports"
    code, out = on_terminal(
        runner_argv(
            "process",
            str(path),
            "--repo",
            str(repo),
            "--state-dir",
            str(tmp_path / "state"),
            "--report-dir",
            str(reports),
        ),
        tmp_path,
    )
    assert code == 0, out
    assert "Traceback" not in out
    reported = sorted(reports.glob("*.json"))
    assert len(reported) == 1 and f"report: {reported[0]}" in out


def outcome(**changes) -> RunOutcome:
    fields = {
        "exit_code": 0,
        "run_id": "r1",
        "json_path": Path("/x/[/]rep/r1.json"),
        "md_path": Path("/x/[/]rep/r1.md"),
        "totals": {"read": 1, "succeeded": 1},
        "by_status": {"committed": 1},
        **changes,
    }
    return RunOutcome(**fields)


def test_the_summary_and_the_start_line_print_user_text_literally():
    out = io.StringIO()
    ui = TerminalObserver(console=plain_console(file=out, force_terminal=True, width=300))
    ui.summary(outcome())
    ui.error("cannot open [work]/[/]repo :fire: [bold]x[/bold]")
    ui.summary(outcome(exit_code=1, json_path=None, md_path=None, report_error="writing [/]rep: disk full"))
    plain = TerminalObserver(console=plain_console(file=out, force_terminal=False, width=300))
    plain.run_started({"run_id": "r2", "items": 3, "workers": 1, "repositories": {"(default)": "/src/[work]/r"}})
    text = out.getvalue()
    assert "report: /x/[/]rep/r1.json" in text and "/x/[/]rep/r1.md" in text
    assert "cannot open [work]/[/]repo :fire: [bold]x[/bold]" in text
    assert "writing [/]rep: disk full" in text and "report: not written" in text and "exit code 1" in text
    assert "(default)=/src/[work]/r" in text
