"""Shared fixtures: real git repositories, issue files and the runner CLI in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}
SAMPLE_FILES = {
    "app/auth/login.py": "def authenticate_user(name, password):\n"
    "    session = create_session(name)\n    return session\n",
    "app/auth/session.py": "def create_session(user):\n"
    "    token = new_token()\n    return {'user': user, 'token': token}\n",
    "app/export/csv_export.py": "def export_csv(rows):\n    return '\\n'.join(','.join(r) for r in rows)\n",
    "app/search.py": "def search_items(query):\n"
    "    sql = 'SELECT * FROM items WHERE name = ' + query\n    return sql\n",
    "docs/index.md": "# Inventory\n\nHow to export CSV files.\n",
    "README.md": "# sample\n",
}


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    env = {**os.environ, **IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
    proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, env=env, check=True)
    return proc.stdout.decode().strip()


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """A real repository with a little history on `main`."""

    def make(name: str = "repo", files: dict[str, str] | None = None) -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        for path, text in (files or SAMPLE_FILES).items():
            target = repo / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "initial")
        (repo / "CHANGES.md").write_text("first change\n")
        git(repo, "add", "CHANGES.md")
        git(repo, "commit", "-q", "-m", "second")
        return repo

    return make


def issue(number: int, title: str, body: str | None = "", labels: Iterable[Any] = (), **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": title, "body": body, "labels": list(labels), "state": "open", **extra}


@pytest.fixture
def write_issues(tmp_path: Path) -> Callable[..., Path]:
    def write(items: list[Any], name: str = "issues.json", lines: bool = False) -> Path:
        path = tmp_path / name
        if lines:
            path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
        else:
            path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def runner_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m runner` in a subprocess with its own state and report dirs."""

    def run(
        *args: str,
        input: bytes | None = None,
        state: str = "state",
        reports: str = "reports",
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "runner", *args]
        if args and args[0] == "process":
            argv += ["--state-dir", str(tmp_path / state), "--report-dir", str(tmp_path / reports)]
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        return subprocess.run(
            argv,
            input=input,
            capture_output=True,
            cwd=cwd or tmp_path,
            env={**clean_env, **(env or {})},
            timeout=timeout,
        )

    return run


def latest_report(reports: Path) -> dict[str, Any]:
    files = sorted(reports.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    assert files, f"no report in {reports}"
    return json.loads(files[-1].read_text())


def user_state(repo: Path) -> dict[str, Any]:
    """Everything a run must leave byte-for-byte alone: working tree, index, HEAD, stash."""
    tree = {}
    for path in sorted(repo.rglob("*")):
        if ".git" in path.relative_to(repo).parts or not path.is_file():
            continue
        tree[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    git_dir = repo / ".git"
    return {
        "tree": tree,
        "index": hashlib.sha256((git_dir / "index").read_bytes()).hexdigest(),
        "HEAD": (git_dir / "HEAD").read_text(),
        "head_commit": git(repo, "rev-parse", "HEAD"),
        "stash": git(repo, "stash", "list"),
        "status": git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
    }


def branches(repo: Path, prefix: str = "runner/") -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname:short) %(objectname)", f"refs/heads/{prefix}")
    return dict(line.split() for line in out.splitlines())


def read_only_prefix(directory: Path) -> tuple[list[str], Callable[[], None]]:
    """A command prefix, and what undoes it, under which `directory` refuses writes: its write
    bits taken away, or for root, whom they do not stop, a read-only bind mount in a mount
    namespace of the command's own (gone with it); skips where neither can be had."""
    if os.geteuid() != 0:
        mode = directory.stat().st_mode
        directory.chmod(0o555)
        return [], lambda: directory.chmod(mode)
    unshare = shutil.which("unshare")
    tried = subprocess.run([unshare or "unshare", "--mount", "true"], capture_output=True) if unshare else None
    if tried is None or tried.returncode != 0:
        pytest.skip("root, and no private mount namespace for a read-only mount")
    remount = f"mount --bind '{directory}' '{directory}' && mount -o remount,bind,ro '{directory}'"
    return [unshare, "--mount", "sh", "-c", f'{remount} || exit 99; exec "$@"', "sh"], lambda: None


TOKEN = "ghp_test_token_0123456789abcdefSECRET"
GH_REPO = "acme/inventory"


def pulls(world: GitHubWorld, state: str = "all") -> list[Any]:
    """The emulated repository's pull requests, through PyGithub."""
    return list(world.client().get_repo(GH_REPO).get_pulls(state=state))


def marker_comments(world: GitHubWorld, number: int) -> int:
    """How many of the issue's comments carry runner's pull-request marker (one, when published once)."""
    issue = world.client().get_repo(GH_REPO).get_issue(number)
    return sum("runner:pull-request-for-issue" in (c.body or "") for c in issue.get_comments())


class GitHubWorld:
    """A bare remote, a clone whose `origin` is that remote, and the GitHub emulator serving both.
    `logins` adds tokens of other users (token -> login), for someone other than runner."""

    def __init__(
        self,
        root: Path,
        clone: Path,
        logins: dict[str, str] | None = None,
        cli: Callable[..., subprocess.CompletedProcess] | None = None,
        **config: Any,
    ) -> None:
        from runner.testing.emulator import Emulator, EmulatorConfig

        self.root = root
        self.cli = cli
        self.bare = root / "remote.git"
        git(root, "clone", "-q", "--bare", str(clone), str(self.bare))
        self.clone = clone
        git(clone, "remote", "add", "origin", str(self.bare))
        self.emulator = Emulator(
            {GH_REPO: self.bare},
            tokens={TOKEN: None, **(logins or {})},
            config=EmulatorConfig(**{"content_per_minute": 1000, **config}),
        )
        self.url = self.emulator.start()
        (root / "runner.toml").write_text("[github]\ncontent_per_minute = 1000\nsecondary_wait = 1\n")

    def client(self, token: str = TOKEN):
        from github import Auth, Github

        return Github(
            base_url=self.url,
            auth=Auth.Token(token),
            retry=None,
            timeout=10,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )

    def seed(
        self, count: int, body: Callable[[int], str | None] = lambda n: f"Login crashes in app/auth/login.py ({n})"
    ):
        repo = self.client().get_repo(GH_REPO)
        self.emulator.configure(secondary_limits=False)
        numbers = [
            repo.create_issue(f"Issue {n}: login session bug", body=body(n) or "").number for n in range(1, count + 1)
        ]
        self.emulator.configure(secondary_limits=True)
        self.reset_limits()
        return numbers

    def reset_limits(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(self.url + "/_emulator/reset-limits", method="POST", data=b""))

    def issues_file(self, path: Path) -> Path:
        """The open issues, as GitHub returns them, in a JSON Lines file."""
        with path.open("w") as out:
            for item in self.client().get_repo(GH_REPO).get_issues(state="open"):
                out.write(json.dumps(item.raw_data) + "\n")
        return path

    def env(self) -> dict[str, str]:
        return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": self.url}

    def fast_flags(self, *publish: str) -> list[str]:
        """Publishing without waits; by default plan branches as draft PRs (`--publish pr --commit-plan`)."""
        return [
            "--github",
            GH_REPO,
            "--write-interval",
            "0",
            "--notify-interval",
            "0",
            *(publish or ("--publish", "pr", "--commit-plan")),
        ]

    def process(
        self, issues: Path, *publish: str, extra: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """`runner process` of `issues` into the clone, published to the emulator without waits
        (`fast_flags(*publish)`, then `extra`)."""
        assert self.cli is not None, "this world was made without runner_cli"
        argv = ["process", str(issues), "--repo", str(self.clone), *self.fast_flags(*publish), *extra]
        return self.cli(*argv, env=env or self.env())

    def stop(self) -> None:
        self.emulator.stop()


@pytest.fixture
def github_world(tmp_path: Path, make_repo, runner_cli):
    worlds: list[GitHubWorld] = []

    def start(logins: dict[str, str] | None = None, **config: Any) -> GitHubWorld:
        world = GitHubWorld(tmp_path, make_repo("clone"), logins, cli=runner_cli, **config)
        worlds.append(world)
        return world

    yield start
    for world in worlds:
        world.stop()


class FakeClock:
    """A clock the test moves by hand, so timeouts, windows and cooldowns need no sleeping."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def kill_a_dask_worker_when(
    proc: subprocess.Popen, ready: Callable[[], bool], timeout_s: float = 60, poll_s: float = 0.05
) -> int | None:
    """SIGKILL one of a running runner's Dask workers once two are up and `ready()` holds;
    the pid killed, or None if the run ended (or `timeout_s` passed) first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        workers = dask_workers_of(proc.pid)
        if len(workers) >= 2 and ready():
            os.kill(workers[0].pid, signal.SIGKILL)
            return workers[0].pid
        time.sleep(poll_s)
    return None


def dask_workers_of(pid: int) -> list:
    """Dask worker processes under a runner: spawned children (or titled 'dask worker')."""
    import psutil

    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "resource_tracker" not in cmdline and any(w in cmdline for w in ("spawn_main", "dask", "distributed")):
            found.append(child)
    return found


@pytest.fixture
def external_cluster():
    """A Dask scheduler and two workers that the run does not own, as `dask scheduler` and
    `dask worker` on other hosts would be."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cluster
    cluster.close()
