"""Git, and the only place runner starts it: every call goes through `cmd` with an environment
that cannot prompt, and issue text is never an option or a path outside the repository.

    sage results ──> store.RepoWriter ──> batch.WriteBatch ──> fastimport (one `git fast-import` per batch)
                          │                                    └─> objects + commits, no checkout touched
                          └─> packedrefs (many new branches at once) ──> refs/heads/runner/issue-N

clones keeps `--repo URL` clones in the state directory; auth decides which host may see the
token; packedlock takes packed-refs.lock so a killed run leaves none behind; paths holds
git's own rules for names in a tree; priorwork reads what runner itself
last wrote on a branch.
"""

from __future__ import annotations

from runner.git.cmd import GitError, git_environ, run_git
from runner.git.store import RepoWriter, WriteItem

__all__ = ["GitError", "RepoWriter", "WriteItem", "git_environ", "run_git"]
