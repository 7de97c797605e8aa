"""runner.log: every line, tracebacks included, scrubbed of the token; a state directory where it
cannot be written stops a run at once with a clear error."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys

from conftest import issue, read_only_prefix

from runner.cli.logs import setup_logging


def test_messages_arguments_and_tracebacks_are_scrubbed(tmp_path):
    token = "ghp_LogsTest0123456789abcdef"
    logger = setup_logging(tmp_path, [token])
    try:
        logging.getLogger("runner.test").warning("header %r", f"token {token}\nmore")
        try:
            raise ValueError("AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode())
        except ValueError:
            logging.getLogger("runner.test").exception("push failed")
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
    text = (tmp_path / "logs" / "runner.log").read_text()
    assert "push failed" in text and "Traceback" in text and text.count("***") == 2
    assert token not in text and base64.b64encode(f"x-access-token:{token}".encode()).decode() not in text


def test_a_read_only_state_directory_stops_the_run_with_a_clear_error_and_exit_2(make_repo, write_issues, tmp_path):
    repo, state = make_repo(), tmp_path / "state"
    issues = write_issues([issue(1, "Crash in create_session")])
    argv = [sys.executable, "-m", "runner", "process", str(issues), "--repo", str(repo), "--state-dir", str(state)]
    argv += ["--report-dir", str(tmp_path / "reports"), "--dry-run", "-q"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    (state / "logs").mkdir(parents=True)
    prefix, restore = read_only_prefix(state)
    try:
        refused = subprocess.run([*prefix, *argv], capture_output=True, cwd=tmp_path, env=env, timeout=60)
    finally:
        restore()
    err = refused.stderr.decode()
    assert refused.returncode == 2 and "Traceback" not in err, err
    log = (state / "logs" / "runner.log").resolve()
    assert f"runner: error: cannot write the log file {log}: {log.parent} is read-only or not writable" in err
    assert refused.stdout == b"" and not (state / "cache").exists()
