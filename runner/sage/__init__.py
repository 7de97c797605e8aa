"""What a sage (a worker process) does with one issue; imported by the fork server and by Dask
workers, so nothing here imports the master, the terminal UI or GitHub.

    Task ──> worker.work ──> analysis (codeindex: related files by localize, matching lines, risk;
                  │                  the index is written by indexwrite, as indexplan chooses;
                  │                  a small one is searched from memory: postings, filetable;
                  │                  the files' text is remembered by textmemo)
                  │      ──> render (Jinja2 templates, sandboxed) ──> plan files
                  │      ──> fixer (optional: the user's command in a throw-away worktree,
                  │                  worktrees; command: running and stopping it; changes:
                  │                  what it changed; foreign: what it changed outside it)
                  └──> SageResult (files to commit, back to the master)
"""

from __future__ import annotations

from runner.sage.worker import SageSetup, initialize, work

__all__ = ["SageSetup", "initialize", "work"]
