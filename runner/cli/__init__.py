"""The command line: `runner process | nightly | status | retry | fetch`, the terminal UI, log
files and the demo. Only the master imports it; `entry` stays import-light because worker
processes re-import the main module.
"""

from __future__ import annotations

from runner.cli.entry import main

__all__ = ["main"]
