"""The fast-import stream: any path arrives in git exactly as named."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

import pytest
from conftest import git

from runner.git.fastimport import ImportStream, quote_path

pytestmark = pytest.mark.timeout(60)

ODD_NAMES = [
    "plain.md",
    'with "quotes".md',
    "back\\slash.md",
    "tab\there.md",
    "new\nline.md",
    "del\x7f.md",
    "ünïcode ✓.md",
    "space and.dots...md",
]


@dataclass
class Change:
    branch: str
    directory: str
    files: dict[str, bytes]
    message: str = "odd names\n"
    changes: dict[str, bytes | None] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)


def test_plain_paths_take_the_short_way_and_odd_ones_are_escaped():
    assert quote_path("a/b.md") == b'"a/b.md"'
    assert quote_path('a"b') == b'"a\\"b"'
    assert quote_path("a\nb") == b'"a\\012b"'


def test_every_odd_path_lands_in_git_byte_for_byte(make_repo):
    repo = make_repo()
    base = git(repo, "rev-parse", "main")
    files = {f"odd/{name}": name.encode() for name in ODD_NAMES}
    stream = ImportStream(repo, "runner", "runner@localhost")
    stream.add(Change("runner/odd", "odd", files), base)
    commits = stream.finish()
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-z", "--name-only", commits["runner/odd"], "odd/"],
        capture_output=True,
        check=True,
    ).stdout
    names = sorted(entry.decode() for entry in listed.split(b"\0") if entry)
    assert names == sorted(f"odd/{name}" for name in ODD_NAMES)
    assert git(repo, "rev-parse", "runner/odd") == commits["runner/odd"]


def test_a_small_batch_stays_one_pack_instead_of_loose_objects(make_repo):
    repo = make_repo()
    base = git(repo, "rev-parse", "main")
    loose_before = git(repo, "count-objects", "-v").splitlines()[0]
    stream = ImportStream(repo, "runner", "runner@localhost")
    stream.add(Change("runner/small", "small", {"small/plan.md": b"one plan\n"}), base)
    commits = stream.finish()
    assert git(repo, "count-objects", "-v").splitlines()[0] == loose_before
    assert git(repo, "cat-file", "-t", commits["runner/small"]) == "commit"
    assert (
        git(repo, "verify-pack", "-v", *map(str, (repo / ".git/objects/pack").glob("*.idx"))).count(
            commits["runner/small"]
        )
        == 1
    )
