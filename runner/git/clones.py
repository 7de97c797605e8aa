"""A clone cache for `--repo URL`: the master works in `<state-dir>/clones/<hash>`.

    --repo https://host/acme/app.git ──config──> repos[key] = <state-dir>/clones/<sha256(url)[:16]>
    run start (under the run lock) ──sync──> git clone --bare (first time)
                                            git fetch origin +refs/heads/*:refs/remotes/origin/*
                                            fast-forward each local branch to origin's
    then the run writes into the clone as into any local clone, and `--github` pushes to its
    `origin`, which is the URL.

Why a bare clone: runner writes objects and refs only (fast-import), so it needs no working
tree. Why fast-forward only: a local branch that is not an ancestor of origin's holds work
not yet pushed; it is kept (and reported in the log), never overwritten. A branch another
machine pushed is picked up, so a rerun anywhere finds its own work. The token reaches git
through environment-only config (never argv), as for pushes, and only when the URL is on the
git host of the configured GitHub (runner.github.client.git_auth_env); any other host gets none.

With `--backend dask` or `dask-local` the master's clone is only read (the index, the base
commit, publishing): each worker host keeps its own clone, named by `url_key` too, and commits
and pushes there (runner/dask/git.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.core.errors import UsageError
from runner.core.secrets import redact
from runner.git.auth import DEFAULT_API_URL, git_auth_env
from runner.git.cmd import git_environ

log = logging.getLogger("runner.git.clones")

REMOTE_PREFIXES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:")
_REPO_KEY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
GIT_TIMEOUT_S = 600


class CloneError(UsageError):
    """Cloning or fetching a remote repository failed."""


def is_remote(spec: str, base: Path | None = None) -> bool:
    """A URL, or a path ending in .git that is a bare repository."""
    if spec.startswith(REMOTE_PREFIXES) or _SCP_LIKE.match(spec):
        return True
    if not spec.endswith(".git"):
        return False
    path = (base or Path.cwd()) / Path(spec).expanduser()
    return path.is_dir() and _git(["-C", str(path), "rev-parse", "--is-bare-repository"], check=False) == "true"


def canonical(spec: str, base: Path | None = None) -> str:
    if spec.startswith(REMOTE_PREFIXES) or _SCP_LIKE.match(spec):
        return spec
    return str(((base or Path.cwd()) / Path(spec).expanduser()).resolve())


def split_remotes(
    args: list[str], table: Mapping[str, Any], base: Path | None
) -> tuple[list[str], dict[str, Any], dict[str, str]]:
    """`--repo` arguments and `[repos]` entries naming local clones, and {key: url} for the
    remote ones (key "" for a plain `--repo URL`)."""
    local_args, remotes = [], {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and _REPO_KEY.match(key) and is_remote(value):
            remotes[key.lower()] = canonical(value)
        elif is_remote(arg):
            remotes[""] = canonical(arg)
        else:
            local_args.append(arg)
    local_table = {}
    for key, value in table.items():
        if isinstance(value, str) and is_remote(value, base):
            remotes[key.lower()] = canonical(value, base)
        else:
            local_table[key] = value
    return local_args, local_table, remotes


def url_key(url: str) -> str:
    """The directory name of a URL's clone, the same on every host."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def clone_dir(state_dir: Path, url: str) -> Path:
    return state_dir / "clones" / url_key(url)


def sync_all(
    remotes: Mapping[str, str], state_dir: Path, token: str = "", api_url: str = DEFAULT_API_URL
) -> dict[str, Path]:
    """Clone or update every remote; {key: clone directory}. `token` goes only to the git host
    of the GitHub `api_url` names."""
    return {key: sync(url, clone_dir(state_dir, url), token, api_url) for key, url in remotes.items()}


def sync(url: str, directory: Path, token: str = "", api_url: str = DEFAULT_API_URL) -> Path:
    """The up-to-date bare clone of `url` at `directory`."""
    env = git_environ(git_auth_env(url, token, api_url))
    if not (directory / "HEAD").is_file():
        _clone(url, directory, env)
    _git(
        ["-C", str(directory), "fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*"],
        env=env,
        what=f"fetching {url}",
    )
    _fast_forward(directory)
    return directory


def _clone(url: str, directory: Path, env: dict[str, str]) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = directory.with_name(f"{directory.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    _git(["clone", "--bare", "--quiet", "--", url, str(partial)], env=env, what=f"cloning {url}")
    os.replace(partial, directory)
    log.info("cloned %s into %s", url, directory)


def _fast_forward(directory: Path) -> None:
    local = _refs(directory, "refs/heads/")
    for name, new in _refs(directory, "refs/remotes/origin/").items():
        old = local.get(name)
        if name == "HEAD" or old == new:
            continue
        if (
            old is not None
            and _git(["-C", str(directory), "merge-base", "--is-ancestor", old, new], check=False, status=True) != "0"
        ):
            log.warning("%s: local branch %s has commits origin lacks; kept as it is", directory, name)
            continue
        expected = [old] if old else []
        _git(["-C", str(directory), "update-ref", f"refs/heads/{name}", new, *expected], what="updating refs")


def porcelain_statuses(output: str) -> dict[str, tuple[str, str]]:
    """`git push --porcelain` output as {remote ref: (flag, summary)}; flag "!" is a rejection."""
    statuses = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and ":" in parts[1]:
            statuses[parts[1].split(":", 1)[1]] = (parts[0][:1] or " ", parts[2])
    return statuses


def _refs(directory: Path, prefix: str) -> dict[str, str]:
    out = _git(["-C", str(directory), "for-each-ref", "--format=%(objectname) %(refname)", prefix])
    refs = {}
    for line in out.splitlines():
        oid, ref = line.split(" ", 1)
        refs[ref[len(prefix) :]] = oid
    return refs


def _git(
    args: list[str], *, env: dict[str, str] | None = None, check: bool = True, status: bool = False, what: str = "git"
) -> str:
    proc = subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        env=env or git_environ(),
        timeout=GIT_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if status:
        return str(proc.returncode)
    if check and proc.returncode != 0:
        raise CloneError(f"{what}: {redact(proc.stderr.strip()) or f'git exited with {proc.returncode}'}")
    return proc.stdout.strip()
