"""The checks of single configuration values: each takes what the file or the command line
gave and returns it in the form `Config` holds, or raises ValueError saying what is wrong with
it (build_config adds where, and turns it into a ConfigError, exit 2).
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.config.settings import Config, ConfigError
from runner.core.models import Identity
from runner.core.selection import Selection, parse_time
from runner.git.cmd import run_git, simple_branch_text
from runner.git.paths import path_problem


def time_scale(value: Any) -> float:
    """How much faster than real time an emulated GitHub runs; every pacing duration is divided by it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"github time_scale must be a number greater than 0, got {value!r}")
    return float(value)


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?$")


def login(value: Any) -> str | None:
    """The login runner writes as, for tokens that may not ask GitHub (an App's `<app-slug>[bot]`)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _LOGIN.match(value):
        raise ValueError(f'github login {value!r} is not a GitHub login (e.g. "octocat" or "my-app[bot]")')
    return value


BACKENDS = ("local", "dask", "dask-local")


def backend(m: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    """backend, scheduler address, local Dask workers; a Dask backend needs Dask installed."""
    backend = str(m.get("backend", "local"))
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    scheduler = m.get("scheduler") or None
    dask_workers = positive_int(m["dask_workers"], "dask_workers") if m.get("dask_workers") is not None else None
    if backend == "dask" and not scheduler:
        raise ValueError("backend dask needs a scheduler address (--scheduler tcp://HOST:8786)")
    if scheduler and backend != "dask":
        raise ValueError("a scheduler address is only used with backend dask")
    if dask_workers is not None and backend != "dask-local":
        raise ValueError("dask_workers is only used with backend dask-local (an external cluster has its own)")
    if backend != "local" and importlib.util.find_spec("distributed") is None:
        raise ValueError(f"backend {backend} needs Dask: pip install 'issue-runner[dask]'")
    return backend, str(scheduler) if scheduler else None, dask_workers


def command(value: Any, name: str = "command") -> tuple[str, ...] | None:
    """The fixer (or check) command as an argument list: a TOML list as is, a command-line string split like a
    shell would (the user's own words; issue text never reaches it)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            parts = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"{name} {value!r}: {exc}") from None
    elif isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
        parts = list(value)
    else:
        raise ValueError(f"{name} must be a string or a list of strings")
    if not parts:
        raise ValueError(f"{name} is empty")
    return tuple(parts)


def selection(m: Mapping[str, Any]) -> Selection:
    """`--issue`, `--issue-label`, `--exclude-label`, `--since`, `--limit` (runner.core.selection)."""
    since = m.get("select_since")
    try:
        when = parse_time(since) if since else None
    except ValueError:
        raise ValueError(
            f"--since expects an ISO 8601 date or time such as 2024-05-01 or 2024-05-01T00:00:00Z, got {since!r}"
        ) from None
    numbers = m.get("select_issues") or ()
    bad = [n for n in numbers if n < 1]
    if bad:
        raise ValueError(f"--issue takes issue numbers (1 or more), got {bad[0]}")
    limit = m.get("select_limit")
    return Selection(
        numbers=frozenset(numbers),
        labels=tuple(sorted({label.strip().lower() for label in m.get("select_labels") or ()})),
        exclude_labels=tuple(sorted({label.strip().lower() for label in m.get("exclude_labels") or ()})),
        since=when,
        limit=positive_int(limit, "--limit") if limit is not None else None,
    )


def workers(value: Any) -> int | None:
    if value is None or str(value).lower() == "auto":
        return None
    return positive_int(value, "workers")


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be at least 1, got {number}")
    return number


def identity(m: Mapping[str, Any]) -> Identity:
    name = str(m.get("author_name", "runner"))
    email = str(m.get("author_email", "runner@localhost"))
    if any(c in name + email for c in "<>\n\r\0") or not name.strip() or "@" not in email:
        raise ValueError(f"author_name/author_email are not a valid git identity: {name!r} <{email}>")
    return Identity(name, email)


def check_report_dir(config: Config) -> None:
    """Reports and fixer logs written into a target's working tree would show up in the user's
    `git status` (and could be committed by them): refused unless explicitly allowed."""
    targets = [*config.repos.values(), *([config.default_repo] if config.default_repo else [])]
    for repo in targets:
        tree = _working_tree(repo)
        if config.report_dir.is_relative_to(tree):
            raise ConfigError(
                f"the report directory {config.report_dir} is inside the working tree {tree} of a target repository; "
                "reports and fixer logs must not land in your checkout: give --report-dir (report_dir) outside it "
                "(the default is <state-dir>/reports), or --allow-report-in-repo (allow_report_in_repo = true) "
                "to write there anyway"
            )


def _working_tree(repo: Path) -> Path:
    """The top of the working tree `repo` belongs to (it may be a subdirectory); itself when git
    does not say (no repository yet, a bare one: the run reports that later)."""
    if repo.is_dir():
        top = run_git(repo, "rev-parse", "--show-toplevel", check=False)
        if top:
            return Path(top).resolve()
    return repo


def check_branch_prefix(prefix: str) -> None:
    if not simple_branch_text(prefix):
        raise ValueError(f"branch_prefix {prefix!r} would not make a valid branch name")


def check_plan_dir(plan_dir: str) -> str:
    """The plan directory without trailing slashes, if every component of it, whatever the
    issue number, is a directory name git accepts in a tree (runner.git.paths)."""
    if "{number}" not in plan_dir:
        raise ValueError("plan_dir must contain {number}")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(plan_dir)}
    except ValueError as exc:
        raise ValueError(f"plan_dir {plan_dir!r}: {exc}") from None
    if names - {None, "number"}:
        raise ValueError(f"plan_dir {plan_dir!r} may use no placeholder but {{number}}")
    trimmed = plan_dir.rstrip("/")
    for sample in _SAMPLE_NUMBERS:
        problem = path_problem(trimmed.format(number=sample))
        if problem is not None:
            written = _unformatted(trimmed, problem[0], sample)
            when = f" for issue number {sample}" if written != problem[0] else ""
            raise ValueError(
                f"plan_dir {plan_dir!r} must be a relative path inside the repository that git "
                f"accepts: its component {written!r}{when} {problem[1]}"
            )
    return trimmed


# Issue numbers only add digits to a component, and the names git reserves only care about
# how many digits follow a `~` and whether the first is a 1: these stand for every number.
_SAMPLE_NUMBERS = tuple(int("1" * width) for width in range(1, 21))


def _unformatted(plan_dir: str, component: str, sample: int) -> str:
    """The component as the user wrote it (with `{number}`), for the error message."""
    for written in plan_dir.split("/"):
        if written.format(number=sample) == component:
            return written
    return component
