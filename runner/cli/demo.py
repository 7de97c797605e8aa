"""`python -m runner.cli.demo`: a sample repository, an issues file, and one real run on them.

    demo_data/sample-repo --9 dated commits--> DIR/sample-repo --dirtied on purpose--+
    examples/issues.json --copy--> DIR/issues.json -----------------------------------+
                                                                                      v
          python -m runner process DIR/issues.json --repo ... --> runner/issue-* branches,
                                                                  DIR/reports/<run-id>.json|.md

The sample files live as plain files under demo_data/ (names starting with "." are stored
as "dot-..." so that package-data globs pick them up); HISTORY below says which commit
adds which file, so the repository, its commit ids included, is the same on every build.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from runner.core.status import ExitCode

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
SAMPLE_FILES = DATA_DIR / "sample-repo"
EARLIER_FILES = DATA_DIR / "earlier"
EXAMPLES_ISSUES = Path(__file__).resolve().parents[2] / "examples" / "issues.json"
PACKAGED_ISSUES = DATA_DIR / "issues.json"

EXECUTABLES = frozenset({"scripts/backup_db.sh"})
DIRTY_FILE = "docs/deployment.md"
DIRTY_LINE = "\nLocal draft (not committed): the staging host moves to eu-west next week.\n"
NOTES_FILE = "NOTES.txt"
NOTES_TEXT = "Scratch notes kept next to the code. runner must leave this file alone.\n"


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Commit:
    """One commit of the sample history; `earlier` files come from demo_data/earlier."""

    author: Author
    date: str
    message: str
    paths: tuple[str, ...]
    earlier: tuple[str, ...] = ()


MARIA = Author("María López", "maria.lopez@acme.example")
KENJI = Author("Kenji Sato", "kenji.sato@acme.example")
PRIYA = Author("Priya Raman", "priya.raman@acme.example")

HISTORY: tuple[Commit, ...] = (
    Commit(
        MARIA,
        "2024-01-08 09:14:00 +0100",
        "Initial project layout and database schema",
        (
            ".gitignore",
            "Makefile",
            "inventory/config.py",
            "inventory/db/__init__.py",
            "inventory/db/connection.py",
            "inventory/db/models.py",
            "inventory/db/migrations/001_initial.sql",
        ),
        earlier=("README.md", "pyproject.toml", "inventory/__init__.py"),
    ),
    Commit(
        MARIA,
        "2024-01-15 16:40:00 +0100",
        "Items API with pagination",
        (
            "inventory/api/__init__.py",
            "inventory/api/pagination.py",
            "inventory/db/queries.py",
            "tests/test_pagination.py",
        ),
        earlier=("inventory/app.py",),
    ),
    Commit(
        KENJI,
        "2024-01-29 11:02:00 +0900",
        "Login, sessions and password hashing",
        (
            "inventory/auth/__init__.py",
            "inventory/auth/login.py",
            "inventory/auth/sessions.py",
            "inventory/auth/passwords.py",
            "tests/test_auth.py",
            "docs/authentication.md",
        ),
    ),
    Commit(
        KENJI,
        "2024-02-12 14:25:00 +0900",
        "Item search and a TTL cache for item lists",
        ("inventory/search.py", "inventory/cache.py", "inventory/api/items.py", "tests/test_search.py"),
    ),
    Commit(
        PRIYA,
        "2024-02-26 10:05:00 +0530",
        "Web dashboard: table, search box and login form",
        (
            "web/package.json",
            "web/src/api.js",
            "web/src/login.js",
            "web/src/search.js",
            "web/src/inventoryTable.js",
            "web/src/main.js",
        ),
    ),
    Commit(
        MARIA,
        "2024-03-11 08:50:00 +0100",
        "Orders, stock reservations and low-stock alerts",
        (
            "inventory/db/migrations/002_orders.sql",
            "inventory/api/orders.py",
            "inventory/stock.py",
            "inventory/notifications.py",
        ),
    ),
    Commit(
        PRIYA,
        "2024-03-25 17:30:00 +0530",
        "CSV export and the stockcheck reconciliation tool",
        (
            "inventory/export/__init__.py",
            "inventory/export/csv_export.py",
            "tools/stockcheck/go.mod",
            "tools/stockcheck/main.go",
        ),
    ),
    Commit(
        KENJI,
        "2024-04-08 13:15:00 +0900",
        "API tokens, rate limiting, CI and deployment docs",
        (
            "inventory/auth/tokens.py",
            "inventory/api/rate_limit.py",
            "inventory/app.py",
            ".github/workflows/ci.yml",
            "docs/api.md",
            "docs/deployment.md",
            "scripts/backup_db.sh",
        ),
    ),
    Commit(
        MARIA, "2024-04-22 09:45:00 +0200", "Release 0.4.0", ("README.md", "pyproject.toml", "inventory/__init__.py")
    ),
)


def data_name(repo_path: str) -> str:
    """Map a path in the sample repository to its stored name (".github" -> "dot-github")."""
    return "/".join("dot-" + part[1:] if part.startswith(".") else part for part in repo_path.split("/"))


def git_env(author: Author | None = None, date: str | None = None) -> dict[str, str]:
    """An environment that ignores the user's git config, so every build is identical."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    if author is not None:
        env.update(
            GIT_AUTHOR_NAME=author.name,
            GIT_AUTHOR_EMAIL=author.email,
            GIT_COMMITTER_NAME=author.name,
            GIT_COMMITTER_EMAIL=author.email,
        )
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return env


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], env=env or git_env(), check=True, capture_output=True, text=True
    )
    return result.stdout


def write_sample_file(repo: Path, repo_path: str, source_dir: Path) -> None:
    target = repo / repo_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((source_dir / data_name(repo_path)).read_bytes())
    target.chmod(0o755 if repo_path in EXECUTABLES else 0o644)


def build_sample_repo(path: Path) -> Path:
    """Create the acme/inventory sample repository at `path` (absent or empty) and return it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty")
    git(path, "init", "--quiet", "-b", "main")
    for commit in HISTORY:
        for repo_path in commit.earlier:
            write_sample_file(path, repo_path, EARLIER_FILES)
        for repo_path in commit.paths:
            write_sample_file(path, repo_path, SAMPLE_FILES)
        git(path, "add", "--", *commit.earlier, *commit.paths)
        git(path, "commit", "--quiet", "--no-verify", "-m", commit.message, env=git_env(commit.author, commit.date))
    return path


def dirty_working_tree(repo: Path) -> None:
    """Leave an uncommitted edit and an untracked file, as a user in the middle of work would."""
    tracked = repo / DIRTY_FILE
    text = tracked.read_text(encoding="utf-8")
    if not text.endswith(DIRTY_LINE):
        tracked.write_text(text + DIRTY_LINE, encoding="utf-8")
    notes = repo / NOTES_FILE
    if not notes.exists():
        notes.write_text(NOTES_TEXT, encoding="utf-8")


def issues_source() -> Path:
    """examples/issues.json in a checkout, else the copy installed as package data."""
    return EXAMPLES_ISSUES if EXAMPLES_ISSUES.is_file() else PACKAGED_ISSUES


def runner_command(issues: Path, repo: Path, demo_dir: Path, workers: int | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "runner",
        "process",
        str(issues),
        "--repo",
        str(repo),
        "--report-dir",
        str(demo_dir / "reports"),
        "--state-dir",
        str(demo_dir / "state"),
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    return command


def runner_env() -> dict[str, str]:
    """The sample repository is imaginary: never let the demo publish with the user's token."""
    return {key: value for key, value in os.environ.items() if key not in ("GITHUB_TOKEN", "GITHUB_API_URL")}


def runner_branches(repo: Path) -> list[str]:
    """runner/* branch names, in issue-number order."""
    listing = git(repo, "branch", "--list", "--format=%(refname:short)", "runner/*")
    names = [line.strip() for line in listing.splitlines() if line.strip()]
    return sorted(names, key=lambda name: (len(name.rsplit("-", 1)[-1]), name))


def newest_report(report_dir: Path, suffix: str) -> Path | None:
    reports = sorted(report_dir.glob(f"*{suffix}"), key=lambda p: (p.stat().st_mtime, p.name))
    return reports[-1] if reports else None


def print_summary(demo_dir: Path, repo: Path, exit_code: int) -> None:
    quoted_repo = shlex.quote(str(repo))
    branches = runner_branches(repo)
    print()
    print(f"Demo finished (runner exit code {exit_code}).")
    print("  Sample repository:".ljust(21) + str(repo))
    if branches:
        shown = ", ".join(branches[:5]) + (", ..." if len(branches) > 5 else "")
        print(f"  {len(branches)} runner/* branches: {shown}")
        number = branches[0].rsplit("-", 1)[-1]
        print("  Read a plan:".ljust(21) + f"git -C {quoted_repo} show {branches[0]}:.runner/issues/{number}/PLAN.md")
    else:
        print("  No runner/* branches were created.")
    for suffix in (".json", ".md"):
        report = newest_report(demo_dir / "reports", suffix)
        if report is not None:
            print(f"  Report ({suffix[1:]}):".ljust(21) + str(report))
    print(f"  Your work is untouched: git -C {quoted_repo} status")
    print(f"    still shows the edit to {DIRTY_FILE} and the untracked {NOTES_FILE}.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m runner.cli.demo",
        description="Build a sample repository and issues file, then run runner on them.",
    )
    parser.add_argument("--dir", default="demo", type=Path, help="directory for the demo (default: demo)")
    parser.add_argument("--workers", type=int, default=None, help="passed on to `runner process --workers`")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    demo_dir: Path = args.dir
    repo = demo_dir / "sample-repo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    if (repo / ".git").is_dir():
        print(f"Reusing the sample repository in {repo}")
    elif repo.exists() and any(repo.iterdir()):
        print(f"{repo} exists but is not a git repository; remove it or pick another --dir", file=sys.stderr)
        return ExitCode.USAGE
    else:
        build_sample_repo(repo)
        print(f"Built the sample repository in {repo} ({len(HISTORY)} commits)")
    dirty_working_tree(repo)
    issues = demo_dir / "issues.json"
    shutil.copyfile(issues_source(), issues)
    print(f"Issues file: {issues}", flush=True)
    completed = subprocess.run(runner_command(issues, repo, demo_dir, args.workers), env=runner_env())
    print_summary(demo_dir, repo, completed.returncode)
    return completed.returncode


if __name__ == "__main__":
    raise SystemExit(main())
