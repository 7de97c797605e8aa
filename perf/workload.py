"""Deterministic benchmark inputs: a synthetic project repository and GitHub-shaped issues.

Every scenario works on the same kind of material, built here from a seed so two runs of
`make bench` measure the same bytes: a repository of a few hundred source files with real
identifiers (what runner's index and analysis chew on), and issues whose titles and bodies
name those identifiers and paths, with labels in every style runner's triage reads.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench Author",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00 +0000",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00 +0000",
}
AREAS = ("auth", "billing", "search", "export", "orders", "catalog", "reports", "notify", "storage", "admin")
NOUNS = (
    "session",
    "token",
    "invoice",
    "query",
    "cache",
    "record",
    "item",
    "user",
    "payment",
    "index",
    "schedule",
    "upload",
    "profile",
    "filter",
    "quota",
    "webhook",
)
VERBS = ("load", "save", "find", "render", "validate", "refresh", "compute", "parse", "sync", "export")
TITLE_SHAPES = (
    "Crash when {verb}ing {noun} in {area}",
    "{area}: {noun} {verb} is slow with many rows",
    "Add option to {verb} {noun} from the {area} page",
    "Docs: explain how to {verb} a {noun}",
    "Security: {noun} leak in {area} {verb}",
    "{verb} {noun} fails after upgrade",
    "How do I {verb} {noun} in {area}?",
    "Refactor {area} {noun} helpers",
    "Data loss when {verb}ing {noun} during {area} sync",
    "Typo in {area} {noun} message",
)
LABELS = (
    ["bug"],
    ["enhancement"],
    ["docs"],
    ["priority: high", "kind/bug"],
    ["p0"],
    [],
    ["performance"],
    [{"name": "security"}],
    ["question"],
    ["chore", "p3"],
)


def git_env() -> dict[str, str]:
    """Environment for git commands that create commits: a fixed identity and dates, no user config."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return {**keep, **IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, env=git_env())
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:3])}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode().strip()


def source_file(area: str, noun: str, rng: random.Random) -> str:
    """A small Python module with identifiers that issues will mention."""
    lines = [
        f'"""{area.title()} {noun} handling."""',
        "",
        "import logging",
        "",
        f"log = logging.getLogger('{area}.{noun}')",
        "",
    ]
    for verb in rng.sample(VERBS, 4):
        name = f"{verb}_{noun}"
        lines += [
            f"def {name}(request, {noun}_id, retries=3):",
            f'    """{verb.title()} one {noun} for the {area} service."""',
            f"    record = {area.title()}Store.lookup({noun}_id)",
            "    if record is None:",
            f"        log.warning('{name}: no {noun} %s', {noun}_id)",
            "        return None",
            f"    return record.{verb}(request, retries=retries)",
            "",
        ]
    lines += [
        f"class {area.title()}{noun.title()}Service:",
        f"    def handle(self, {noun}):",
        f"        return {rng.choice(VERBS)}_{noun}(None, {noun}.id)",
        "",
    ]
    return "\n".join(lines) + "\n"


def project_files(seed: int = 1, modules: int = 160) -> dict[str, str]:
    rng = random.Random(seed)
    files = {"README.md": "# bench project\n\nA synthetic service used by runner's benchmarks.\n"}
    pairs = [(a, n) for a in AREAS for n in NOUNS]
    rng.shuffle(pairs)
    for area, noun in pairs[:modules]:
        files[f"app/{area}/{noun}.py"] = source_file(area, noun, rng)
    for area in AREAS:
        topics = ", ".join(rng.sample(NOUNS, 6))
        files[f"docs/{area}.md"] = f"# {area}\n\nHow to use the {area} pages: {topics}.\n"
        files[f"tests/test_{area}.py"] = f"def test_{area}_smoke():\n    assert True\n"
    return files


def make_repo(path: Path, seed: int = 1, modules: int = 160) -> Path:
    """A repository with two commits on `main`, identical for the same seed."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for rel, text in project_files(seed, modules).items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial layout")
    (path / "CHANGES.md").write_text("# changes\n\n- first release\n")
    git(path, "add", "CHANGES.md")
    git(path, "commit", "-q", "-m", "changelog")
    return path


def clone_repo(source: Path, target: Path) -> Path:
    """An independent copy (objects copied, not shared) for baselines that must not see runner's branches."""
    subprocess.run(
        ["git", "clone", "-q", "--no-hardlinks", str(source), str(target)],
        check=True,
        capture_output=True,
        env=git_env(),
    )
    return target


def issue(number: int, rng: random.Random, repository: str | None = None) -> dict[str, Any]:
    area, noun, verb = rng.choice(AREAS), rng.choice(NOUNS), rng.choice(VERBS)
    title = rng.choice(TITLE_SHAPES).format(area=area, noun=noun, verb=verb)
    body = (
        f"When I {verb} a {noun} in app/{area}/{noun}.py the call to `{verb}_{noun}` returns None "
        f"after {rng.randint(2, 40)} retries.\n\nSteps: open the {area} page, pick {noun} #{number}, "
        f"press {verb}.\n\nExpected: it works. Seen with {area.title()}{noun.title()}Service.handle.\n"
    )
    item: dict[str, Any] = {
        "number": number,
        "title": title,
        "body": body,
        "state": "open",
        "labels": list(rng.choice(LABELS)),
        "html_url": f"https://github.com/{repository or 'bench/project'}/issues/{number}",
    }
    if repository:
        item["repository_url"] = f"https://api.github.com/repos/{repository}"
    return item


def issues(count: int, seed: int = 7, repositories: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """`count` issues numbered 1..count; with `repositories`, spread round-robin over them."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        repository = repositories[(number - 1) % len(repositories)] if repositories else None
        yield issue(number, rng, repository)


def write_issues(path: Path, items: Iterator[dict[str, Any]]) -> Path:
    """JSON Lines, streamed: a million issues never sit in memory at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item) + "\n")
    return path


def write_compact_issues(
    path: Path, count: int, seed: int = 5, prefix_path: Path | None = None, prefix_count: int = 0
) -> Path:
    """`count` small issues as JSON Lines, written fast (a million in seconds, not minutes);
    the first `prefix_count` lines also go to `prefix_path`, so the smaller input is a prefix."""
    rng = random.Random(seed)
    shapes = []
    for _ in range(257):
        area, noun, verb = rng.choice(AREAS), rng.choice(NOUNS), rng.choice(VERBS)
        title = json.dumps(rng.choice(TITLE_SHAPES).format(area=area, noun=noun, verb=verb))[1:-1]
        body = json.dumps(f"`{verb}_{noun}` fails in app/{area}/{noun}.py")[1:-1]
        labels = json.dumps(rng.choice(LABELS))
        shapes.append((title, body, labels))
    path.parent.mkdir(parents=True, exist_ok=True)
    small = prefix_path.open("w", encoding="utf-8") if prefix_path is not None else None
    with path.open("w", encoding="utf-8") as out:
        lines = []
        for number in range(1, count + 1):
            title, body, labels = shapes[number % len(shapes)]
            line = (
                f'{{"number": {number}, "title": "{title} ({number})", "body": "{body}", '
                f'"state": "open", "labels": {labels}}}\n'
            )
            lines.append(line)
            if small is not None and number <= prefix_count:
                small.write(line)
            if len(lines) >= 10_000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
    if small is not None:
        small.close()
    return path
