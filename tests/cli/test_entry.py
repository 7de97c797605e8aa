"""The console entry point starts the sages' fork server before importing the CLI, and only
for commands that run sages locally."""

from __future__ import annotations

import subprocess
import sys

import pytest

from runner.cli.entry import _backend_option

PROBE = """
import sys
from multiprocessing import forkserver
from runner.cli.entry import start_fork_server_for
start_fork_server_for(sys.argv[1:])
print("started" if forkserver._forkserver._forkserver_pid else "not started")
print("cli imported" if "runner.cli.app" in sys.modules else "cli not imported")
"""


@pytest.mark.parametrize(
    "args, expected",
    [
        (["process", "issues.json"], "started"),
        (["nightly", "--backend", "local"], "started"),
        (["process", "issues.json", "--backend", "dask", "--scheduler", "tcp://h:8786"], "not started"),
        (["process", "--backend=dask-local"], "not started"),
        (["fetch", "--github", "acme/app"], "not started"),
        ([], "not started"),
    ],
)
@pytest.mark.timeout(60)
def test_fork_server_starts_early_only_for_local_sage_commands(args: list[str], expected: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=50)
    assert out.stdout.split("\n")[:2] == [expected, "cli not imported"], out.stderr


def test_backend_option_forms() -> None:
    assert _backend_option(["process", "--backend", "dask"]) == "dask"
    assert _backend_option(["process", "--backend=local"]) == "local"
    assert _backend_option(["process", "x.json"]) is None
