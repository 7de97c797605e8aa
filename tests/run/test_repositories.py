"""The run's repositories: opened side by side, a bad one named, one index per base commit."""

from __future__ import annotations

import threading

import psutil
import pytest
from conftest import git

from runner.config import ConfigError, build_config
from runner.run.repositories import index_paths, open_writers, per_repository

pytestmark = pytest.mark.timeout(60)


def config_for(tmp_path, *repo_args):
    return build_config(
        {
            "repo_args": list(repo_args),
            "state_dir": tmp_path / "state",
            "report_dir": tmp_path / "reports",
            "quiet": True,
        }
    )


def test_every_repository_gets_a_writer_and_a_bad_one_is_named(make_repo, tmp_path):
    first, second = make_repo("first"), make_repo("second")
    writers = open_writers(config_for(tmp_path, f"acme/one={first}", f"acme/two={second}"))
    try:
        assert {key: w.repo for key, w in writers.items()} == {"acme/one": first, "acme/two": second}
        assert writers["acme/one"].base_commit == git(first, "rev-parse", "main")
    finally:
        for writer in writers.values():
            writer.close()
    missing = tmp_path / "not-a-repo"
    missing.mkdir()
    with pytest.raises(ConfigError, match="not-a-repo"):
        open_writers(config_for(tmp_path, f"acme/one={first}", f"acme/two={missing}"))
    assert fast_imports() == [], "the good repository's writer was left open"


def test_each_writer_has_its_first_fast_import_running(make_repo, tmp_path):
    first, second = make_repo("first"), make_repo("second")
    writers = open_writers(config_for(tmp_path, f"acme/one={first}", f"acme/two={second}"))
    try:
        assert len(fast_imports()) == 2
    finally:
        for writer in writers.values():
            writer.close()
    assert fast_imports() == []


def fast_imports() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "fast-import" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def test_clones_at_one_commit_share_an_index_and_another_commit_gets_its_own(make_repo, tmp_path):
    origin = make_repo("origin")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    moved = make_repo("moved")
    (moved / "NEW.md").write_text("one more commit\n")
    git(moved, "add", "NEW.md")
    git(moved, "commit", "-q", "-m", "third")
    writers = open_writers(config_for(tmp_path, f"a/origin={origin}", f"a/clone={clone}", f"a/moved={moved}"))
    try:
        paths = index_paths(writers, tmp_path / "cache")
    finally:
        for writer in writers.values():
            writer.close()
    assert paths["a/origin"] == paths["a/clone"]
    assert paths["a/moved"] != paths["a/origin"]
    assert all((tmp_path / "cache").joinpath(path).exists() for path in paths.values())


def test_items_run_at_once_and_the_first_failure_in_key_order_is_raised():
    started, release = threading.Barrier(3, timeout=10), threading.Event()

    def work(value):
        started.wait()
        release.wait(10)
        if value < 0:
            raise ValueError(f"bad {value}")
        return value * 2

    threading.Timer(0.2, release.set).start()
    assert per_repository(work, {"a": 1, "b": 2, "c": 3}) == {"a": 2, "b": 4, "c": 6}
    started.reset()
    with pytest.raises(ValueError, match="bad -1"):
        per_repository(work, {"a": 1, "b": -1, "c": -2})
