"""Directory names git accepts in a tree (B05, 10): what runner accepts, `git fsck --strict` accepts,
and the names it refuses are ones git itself objects to."""

from __future__ import annotations

import random
import subprocess

import pytest
from conftest import branches, git, issue

from runner.core.models import Identity
from runner.git.fastimport import quote_path
from runner.git.paths import component_problem, path_problem
from runner.git.store import RepoWriter, WriteItem

pytestmark = pytest.mark.timeout(120)

# Names git's fsck reports (hasDotgit, gitmodulesBlob, gitattributesBlob) as directories.
GIT_OBJECTS_TO = [
    ".git",
    ".GIT",
    ".Git",
    ".git ",
    ".git.",
    ".git. . ",
    ".git:stream",
    "git~1",
    "GIT~1",
    "git~1 .",
    ".g\u200cit",
    ".gi\u200ct",
    ".\u200dgit",
    ".gi\ufefft",
    "\u206a.git",
    ".gitmodules",
    ".GitModules",
    ".gitmodules ",
    ".gitmodules:x",
    "gitmod~1",
    "GITMOD~4",
    "gi7eba~1",
    "gi7eb~12",
    "~1234567",
    "g~123456",
    ".gitattributes",
    "gitatt~2",
    "gi7d29~9",
    "gi~12345",
    ".g\u200cit\u200dmodules",
]
# Close to those, and fine.
NEAR_MISSES = [
    ".github",
    ".gitignore",
    ".gitx",
    "git",
    "git~2",
    "git~10",
    "gitmod~5",
    "gitmod~0",
    "gi7eba~0",
    "~123456",
    "~12345678",
    ".gitmodulesx",
    ".git-x",
    "a.git",
    "x.",
    "...",
    ". ",
    " .",
    "plans",
    "issue-17",
    "ünïcode ✓",
    "with space",
    "gi7ebb~1",
    ".gitmodule",
    "\u212a",
    ".GIT\u0130",
]


def random_names(count: int) -> list[str]:
    """Short names from the letters the reserved names are made of."""
    rng = random.Random(5)
    alphabet = ".gGiItTmMoOdDuUlLeEsS~1234567890 :-\u200c\ufeff"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(count)]


def import_trees(repo, names: list[str]) -> None:
    """One commit per name, on branch t<n>, with `<name>/1/PLAN.md` (contents differ, so every subtree does)."""
    stream = ["feature done"]
    for n, name in enumerate(names):
        data = f"plan {n}\n"
        stream += [
            f"commit refs/heads/t{n}",
            "committer t <t@t> 0 +0000",
            "data 1",
            "x",
            f"M 100644 inline {quote_path(name + '/1/PLAN.md').decode()}",
            f"data {len(data.encode())}",
            data,
            "",
        ]
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"], input=("\n".join(stream) + "\ndone\n").encode(), check=True
    )


def fsck_errors(repo) -> str:
    proc = subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--no-dangling"], capture_output=True)
    return proc.stdout.decode() + proc.stderr.decode()


def test_every_name_git_objects_to_is_refused(tmp_path):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    import_trees(repo, GIT_OBJECTS_TO)
    errors = fsck_errors(repo)
    for n, name in enumerate(GIT_OBJECTS_TO):
        assert component_problem(name) is not None, name
        flagged = (git(repo, "rev-parse", f"t{n}^{{tree}}"), git(repo, "rev-parse", f"t{n}:{name}"))
        assert any(oid in errors for oid in flagged), f"git accepts {name!r}: the test list is wrong"


def test_every_name_runner_accepts_makes_trees_git_fsck_strict_accepts(tmp_path):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    accepted = [n for n in dict.fromkeys(NEAR_MISSES + random_names(1500)) if component_problem(n) is None]
    assert set(NEAR_MISSES) <= set(accepted)
    import_trees(repo, accepted)
    assert "error" not in fsck_errors(repo)


@pytest.mark.parametrize(
    "path, component",
    [
        ("a/b/.git", ".git"),
        ("/a", ""),
        ("a//b", ""),
        ("a/./b", "."),
        ("a/../b", ".."),
        ("a/b\\c", "b\\c"),
        ("a/tab\there", "tab\there"),
        ("x" * 256, "x" * 256),
    ],
)
def test_a_path_names_its_first_bad_component(path, component):
    assert path_problem(path)[0] == component
    assert path_problem("plans/issue-7") is None


def test_plan_dirs_runner_accepts_commit_trees_git_fsck_strict_accepts(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    plan_dirs = [
        ".github/{number}",
        ".gitignore/x/{number}",
        "git~2/{number}",
        "gitmod~5/{number}",
        "...{number}",
        "issues/#{number} .",
        "ünï/{number}",
    ]
    items = []
    for n, plan_dir in enumerate(plan_dirs, start=1):
        assert path_problem(plan_dir.format(number=n)) is None
        directory = plan_dir.format(number=n)
        items.append(WriteItem(n, f"runner/issue-{n}", directory, {f"{directory}/PLAN.md": b"plan"}, "m\n"))
    assert {o.status for o in writer.write(items)} == {"committed"}
    writer.close()
    assert "error" not in fsck_errors(repo)


def test_a_bad_plan_dir_is_a_usage_error_and_writes_nothing(make_repo, write_issues, runner_cli):
    repo = make_repo()
    issues = write_issues([issue(1, "Login fails")])
    proc = runner_cli("process", str(issues), "--repo", str(repo), "--plan-dir", "docs/.Git/{number}")
    assert proc.returncode == 2
    error = proc.stderr.decode()
    assert "'.Git'" in error and "plan_dir" in error and "Traceback" not in error
    assert branches(repo) == {}
