"""Read-only questions the emulator asks a bare repository.

Pull requests are only accepted for branches that were really pushed, so the
emulator asks git itself (argument lists, never a shell; names are always passed
behind a ``refs/heads/`` prefix so they cannot be read as options).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_GIT_TIMEOUT_S = 20


def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=_GIT_TIMEOUT_S,
        check=False,
    )


def is_git_dir(path: Path) -> bool:
    result = _git(path, "rev-parse", "--git-dir")
    return result.returncode == 0


def branch_sha(git_dir: Path, branch: str) -> str | None:
    """Commit id at the tip of ``branch``, or None when it was never pushed."""
    if not branch or "\0" in branch:
        return None
    result = _git(git_dir, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and sha else None


def branch_tips(git_dir: Path) -> dict[str, str]:
    """Every branch with its tip commit, in one git call."""
    result = _git(git_dir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
    tips: dict[str, str] = {}
    for line in result.stdout.splitlines():
        sha, _, ref = line.partition(" ")
        tips[ref.removeprefix("refs/heads/")] = sha
    return tips


def default_branch(git_dir: Path) -> str:
    result = _git(git_dir, "symbolic-ref", "--quiet", "HEAD")
    ref = result.stdout.strip()
    return ref.removeprefix("refs/heads/") if result.returncode == 0 and ref else "main"


def commits_between(git_dir: Path, base_sha: str, head_sha: str) -> int:
    """How many commits ``head`` has that ``base`` lacks (GitHub's "No commits between")."""
    result = _git(git_dir, "rev-list", "--count", f"{base_sha}..{head_sha}")
    try:
        return int(result.stdout.strip())
    except ValueError:
        return 0
