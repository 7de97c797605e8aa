"""Console-script entry point, kept import-free on purpose.

Worker processes started by forkserver or spawn re-import the master's main
module; this keeps that to one tiny module instead of the CLI and the
terminal UI. It also starts the sages' fork server before the CLI is imported,
so the server imports the sage modules on another core meanwhile. Before anything
else, the token variables leave the environment (runner.core.secrets), so neither
the fork server nor any process started later inherits them.
"""

from __future__ import annotations

import sys


def main() -> None:
    from runner.core.secrets import take_token_env

    take_token_env()
    start_fork_server_for(sys.argv[1:])
    from runner.cli.app import main as cli_main

    cli_main()


def start_fork_server_for(args: list[str]) -> None:
    """For `process` and `nightly` on the local backend (the default), start the fork server
    now. A config file may still choose Dask; the idle server then exits with this process."""
    if args and args[0] in ("process", "nightly") and _backend_option(args) in (None, "local"):
        from runner.pool.start import start_fork_server

        start_fork_server()


def _backend_option(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--backend" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None
