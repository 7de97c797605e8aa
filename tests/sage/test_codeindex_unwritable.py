"""runner.sage.codeindex: a code index that cannot be written stops the run with a clear error.

A run builds its commit's index before it reads an issue. When the index cannot be written
(a file-size limit, a full disk, a read-only cache directory) the run ends with exit 2 and a
message naming the index file, the repository and the commit, no traceback, no partial index
a later run would open, and the journal of earlier runs intact; the next run that can write
builds the index and succeeds. The failures are real: RLIMIT_FSIZE, a tiny tmpfs and a
read-only bind mount (in a private mount namespace), or a directory without write permission.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from conftest import git, issue, read_only_prefix

from runner.records.journal import Journal
from runner.sage.codeindex import IndexWriteError, load_or_build

LIMIT = 128 * 1024


def big_change(repo: Path) -> str:
    """A commit whose index is far larger than `LIMIT` (a delta holds the new file's text and terms)."""
    rng = random.Random(5)
    words = [f"name_{rng.getrandbits(40):x}" for _ in range(2_000)]
    (repo / "generated_names.py").write_text("\n".join(f"{w} = {i}" for i, w in enumerate(words)) + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "many names")
    return git(repo, "rev-parse", "HEAD")


def process(
    tmp_path: Path, repo: Path, prefix: Sequence[str] = (), limit: int | None = None
) -> subprocess.CompletedProcess:
    issues = tmp_path / "in.jsonl"
    issues.write_text("".join(json.dumps(issue(n, f"Crash {n} in create_session")) + "\n" for n in range(1, 3)))
    argv = [sys.executable, "-m", "runner", "process", str(issues), "--repo", str(repo)]
    argv += ["--state-dir", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports"), "-q"]

    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [*prefix, *argv],
        capture_output=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        preexec_fn=limited,
        timeout=120,
    )


def journal_counts(tmp_path: Path) -> dict[str, int]:
    journal = Journal(tmp_path / "state" / "journal.sqlite")
    try:
        return journal.counts()
    finally:
        journal.close()


def mount_prefix(tmp_path: Path, setup: str) -> list[str]:
    """`setup`, then the command, in a mount namespace of our own, where what the cache holds at
    the end is listed to `listing` (the mount goes away with the namespace); skips where the
    system does not allow it."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount")
    probe = tmp_path / "probe"
    probe.mkdir()
    tried = subprocess.run([unshare, "--mount", "mount", "-t", "tmpfs", "tmpfs", str(probe)], capture_output=True)
    probe.rmdir()
    if tried.returncode != 0:
        pytest.skip(f"cannot mount in a private namespace: {tried.stderr.decode().strip()}")
    cache, listing = tmp_path / "state" / "cache", tmp_path / "listing"
    script = f"{setup} || exit 99; \"$@\"; rc=$?; ls -A '{cache}' > '{listing}'; exit $rc"
    return [unshare, "--mount", "sh", "-c", script, "sh"]


def read_only(cache: Path, _tmp_path: Path) -> tuple[list[str], Callable[[], None]]:
    return read_only_prefix(cache)


def full_disk(cache: Path, tmp_path: Path) -> tuple[list[str], Callable[[], None]]:
    """A cache directory on a 128 KB tmpfs that already holds the earlier commit's index."""
    held = tmp_path / "held"
    shutil.copytree(cache, held)
    fill = f"mount -t tmpfs -o size=128k tmpfs '{cache}' && cp -p '{held}'/* '{cache}'/"
    return mount_prefix(tmp_path, fill), lambda: None


def left_in(cache: Path, tmp_path: Path) -> list[str]:
    listing = tmp_path / "listing"
    return sorted(listing.read_text().split()) if listing.exists() else sorted(p.name for p in cache.iterdir())


def assert_refused(failed: subprocess.CompletedProcess, repo: Path, commit: str, cause: str) -> None:
    err = failed.stderr.decode()
    assert failed.returncode == 2, err
    assert "Traceback" not in err
    index = repo.parent / "state" / "cache" / f"codeindex-{commit}.sqlite"
    assert f"runner: error: cannot write the code index of {repo} at commit {commit} to {index}: " in err
    assert cause in err, err
    assert "Nothing of it was kept" in err
    assert failed.stdout == b""


def test_a_file_size_limit_stops_the_index_and_the_run_clean_and_the_next_run_builds_it(make_repo, tmp_path):
    repo = make_repo()
    first = process(tmp_path, repo)
    assert first.returncode == 0, first.stderr.decode()
    done_before = journal_counts(tmp_path)
    cache = tmp_path / "state" / "cache"
    kept = left_in(cache, tmp_path)
    commit = big_change(repo)

    failed = process(tmp_path, repo, limit=LIMIT)

    assert_refused(failed, repo, commit, f"file-size limit (RLIMIT_FSIZE, `ulimit -f`: {LIMIT:,} bytes")
    assert left_in(cache, tmp_path) == kept
    assert journal_counts(tmp_path) == done_before
    again = process(tmp_path, repo)
    assert again.returncode == 0, again.stderr.decode()
    found, _ = load_or_build(repo, commit, cache)
    try:
        assert found.commit == commit and found.file_id("generated_names.py") is not None
    finally:
        found.close()


@pytest.mark.parametrize(
    "unwritable, cause", [(full_disk, "is full ("), (read_only, "is read-only or not writable by this user")]
)
def test_a_full_or_read_only_cache_directory_stops_the_run_clean(make_repo, tmp_path, unwritable, cause):
    repo = make_repo()
    cache = tmp_path / "state" / "cache"
    load_or_build(repo, "HEAD", cache)[0].close()
    kept = left_in(cache, tmp_path)
    commit = big_change(repo)
    prefix, restore = unwritable(cache, tmp_path)
    try:
        failed = process(tmp_path, repo, prefix)
    finally:
        restore()
    assert_refused(failed, repo, commit, cause)
    assert left_in(cache, tmp_path) == kept


def test_load_or_build_names_the_repository_commit_and_file_it_could_not_write(make_repo, tmp_path):
    repo = make_repo()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be\n")
    with pytest.raises(IndexWriteError) as caught:
        load_or_build(repo, "HEAD", blocked / "cache")
    commit = git(repo, "rev-parse", "HEAD")
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(f"cannot write the code index of {repo} at commit {commit} to {blocked}")
