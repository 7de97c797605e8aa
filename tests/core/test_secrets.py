"""The token variables leave the environment of runner's master and of every sage."""

from __future__ import annotations

import subprocess
import sys

from runner.core import secrets as secretenv


def test_taken_variables_leave_the_environment_but_stay_readable_in_the_master(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_taken_0123456789")
    monkeypatch.setenv("GH_TOKEN", "ghp_other_0123456789")
    monkeypatch.setattr(secretenv, "_held", {})
    import os

    secretenv.take_token_env()
    assert "GITHUB_TOKEN" not in os.environ and "GH_TOKEN" not in os.environ
    assert secretenv.token_environ()["GITHUB_TOKEN"] == "ghp_taken_0123456789"
    assert sorted(secretenv.held_tokens()) == ["ghp_other_0123456789", "ghp_taken_0123456789"]
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ.get('GITHUB_TOKEN'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "None"


def test_a_worker_drops_them_and_keeps_nothing(monkeypatch):
    environ = {"GITHUB_TOKEN": "a", "GITHUB_ENTERPRISE_TOKEN": "b", "HOME": "/home/x"}
    monkeypatch.setattr(secretenv, "_held", {})
    secretenv.drop_token_env(environ)
    assert environ == {"HOME": "/home/x"} and secretenv.held_tokens() == []
