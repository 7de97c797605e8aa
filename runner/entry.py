"""Console-script entry point, kept import-free on purpose.

Worker processes started by forkserver or spawn re-import the master's main
module; this keeps that to one tiny module instead of the CLI and the
terminal UI.
"""
from __future__ import annotations


def main() -> None:
    from runner.cli import main as cli_main

    cli_main()
