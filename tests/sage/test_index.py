"""runner.sage.index: a searchable snapshot of a real git repository at one commit, cached on disk."""

from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path

import pytest

from runner.git.cmd import GitError
from runner.sage import index as repoindex
from runner.sage.index import RepoIndex, build, load, load_or_build, tokens

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Index Tester",
    "GIT_AUTHOR_EMAIL": "index@example.com",
    "GIT_COMMITTER_NAME": "Index Tester",
    "GIT_COMMITTER_EMAIL": "index@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
TEXT_FILES = {
    "README.md": "# Inventory\n\nA small sample project.\n",
    "app/auth/login.py": (
        "def authenticateUser(name, password):\n    session = create_session(name)\n    return session\n"
    ),
    "app/auth/session_store.py": "def create_session(user):\n    token = new_token()\n    return token\n",
    "app/export/csv_export.py": "def export_rows(rows):\n    return rows\n",
    "docs/guide.md": "# Guide\n\nRead the instalation notes.\n",
}
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR zebrastripe authenticateUser"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, check=True, text=True
    ).stdout.strip()


def commit_files(repo: Path, files: dict[str, str | bytes], message: str) -> str:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(root: Path) -> tuple[Path, str, str]:
    """A repository with two commits; returns (repo, first commit, head commit)."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    first = commit_files(repo, {**TEXT_FILES, "assets/logo.png": BINARY}, "initial")
    (repo / "link-to-readme").symlink_to("README.md")
    head = commit_files(
        repo,
        {
            "latin1.txt": "caf\xe9 cr\xe8me brul\xe9e\n".encode("latin-1"),
            "big.txt": "hugeword " * (repoindex.MAX_FILE_BYTES // 9 + 10),
            "app/export/csv_export.py": "def export_rows(rows):\n    quotedField = rows\n    return quotedField\n",
        },
        "second",
    )
    return repo, first, head


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    return make_repo(tmp_path_factory.mktemp("repoindex"))


@pytest.fixture(scope="module")
def index(sample: tuple[Path, str, str]) -> RepoIndex:
    repo, _, head = sample
    return build(repo, head)


def path_id(index: RepoIndex, path: str) -> int:
    return index.paths.index(path)


def files_with(index: RepoIndex, token: str) -> set[str]:
    return {index.paths[pid] for pid, _ in index.postings.get(token, ())}


# --- tokens -----------------------------------------------------------------------------------


def test_tokens_split_camel_and_snake_case() -> None:
    assert tokens("authenticateUser") == ["authenticateuser", "authenticate", "user"]
    assert tokens("create_session") == ["create_session", "create", "session"]
    assert tokens("HTTPServer parseJSONData") == ["httpserver", "server", "parsejsondata", "parse", "json", "data"]


def test_tokens_drop_stopwords_and_short_words() -> None:
    assert tokens("the def self is at to return ok go") == []
    assert tokens("Export the CSV file") == ["export", "csv", "file"]


# --- build ------------------------------------------------------------------------------------


def test_index_lists_every_tracked_file_but_symlinks(index: RepoIndex, sample: tuple[Path, str, str]) -> None:
    assert sorted(index.paths) == sorted([*TEXT_FILES, "assets/logo.png", "latin1.txt", "big.txt"])
    assert index.commit == sample[2]


def test_binary_files_are_listed_but_not_searched(index: RepoIndex) -> None:
    assert path_id(index, "assets/logo.png") not in index.lines
    assert "zebrastripe" not in index.postings


def test_text_files_keep_their_lines(index: RepoIndex) -> None:
    assert index.lines[path_id(index, "app/auth/login.py")] == TEXT_FILES["app/auth/login.py"].splitlines()


def test_file_in_a_subdirectory_is_searchable_by_camel_and_snake_parts(index: RepoIndex) -> None:
    login = "app/auth/login.py"
    for token in ("authenticateuser", "authenticate", "user", "password", "create_session", "create", "session"):
        assert login in files_with(index, token), token
    assert files_with(index, "create_session") == {login, "app/auth/session_store.py"}


def test_postings_count_occurrences(index: RepoIndex) -> None:
    postings = dict(index.postings["session"])
    assert postings[path_id(index, "app/auth/login.py")] == 3


def test_path_components_and_file_names_are_indexed(index: RepoIndex) -> None:
    assert path_id(index, "app/export/csv_export.py") in index.path_tokens["csv_export"]
    assert path_id(index, "app/export/csv_export.py") in index.path_tokens["export"]
    assert index.by_name["login.py"] == [path_id(index, "app/auth/login.py")]
    assert index.by_name["readme.md"] == [path_id(index, "README.md")]


def test_non_utf8_text_is_read_as_latin1(index: RepoIndex) -> None:
    assert index.lines[path_id(index, "latin1.txt")] == ["café crème brulée"]


def test_a_name_that_is_not_utf8_round_trips_to_the_bytes_git_has(tmp_path: Path) -> None:
    repo = tmp_path / "names"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    raw = b"l\xe9gacy_login.py"
    (repo / os.fsdecode(raw)).write_bytes(b"def login(user):\n    authenticate(user)\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "latin-1"], check=True, env=env)
    index = build(repo, "HEAD")
    [name] = index.paths
    assert name.encode("utf-8", "surrogateescape") == raw
    assert files_with(index, "authenticate") == {name}
    assert (repo / name).read_bytes().startswith(b"def login")


def test_files_over_the_size_limit_are_listed_but_not_read(index: RepoIndex) -> None:
    assert "big.txt" in index.paths
    assert path_id(index, "big.txt") not in index.lines
    assert "hugeword" not in index.postings


def test_index_reflects_the_commit_not_the_working_tree(sample: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, _first, head = sample
    login = repo / "app" / "auth" / "login.py"
    original = login.read_text()
    try:
        login.write_text("def uncommittedWorkingTreeEdit():\n    pass\n")
        (repo / "untracked_notes.py").write_text("untrackedmarker = 1\n")
        (repo / "docs" / "guide.md").write_text("stagedmarker\n")
        git(repo, "add", "docs/guide.md")
        fresh = build(repo, head)
    finally:
        git(repo, "reset", "-q", "docs/guide.md")
        git(repo, "checkout", "-q", "--", "docs/guide.md")
        login.write_text(original)
        (repo / "untracked_notes.py").unlink()
    assert "uncommittedworkingtreeedit" not in fresh.postings
    assert "untrackedmarker" not in fresh.postings and "untracked_notes.py" not in fresh.paths
    assert "stagedmarker" not in fresh.postings
    assert fresh.lines[path_id(fresh, "app/auth/login.py")][0] == "def authenticateUser(name, password):"


def test_an_older_commit_gives_the_older_snapshot(sample: tuple[Path, str, str]) -> None:
    repo, first, _ = sample
    old = build(repo, first)
    assert "latin1.txt" not in old.paths
    assert "quotedfield" not in old.postings
    assert old.commit == first


def test_idf_favours_rare_tokens(index: RepoIndex) -> None:
    assert index.idf("authenticateuser") > index.idf("session") > 0
    assert index.idf("never-seen-token") >= index.idf("authenticateuser")


def test_unknown_commit_fails_loudly(sample: tuple[Path, str, str]) -> None:
    with pytest.raises(GitError):
        build(sample[0], "0" * 40)


def test_empty_tree_builds_an_empty_index(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "nothing")
    empty = build(repo, git(repo, "rev-parse", "HEAD"))
    assert (empty.paths, empty.postings, empty.lines) == ([], {}, {})


# --- load_or_build ----------------------------------------------------------------------------


def test_load_or_build_caches_per_commit(sample: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, first, head = sample
    cache = tmp_path / "cache"
    built, path = load_or_build(repo, head, cache)
    stamp = path.stat().st_mtime_ns
    again, same_path = load_or_build(repo, head, cache)
    assert same_path == path
    assert path.stat().st_mtime_ns == stamp
    assert again.paths == built.paths and again.postings == built.postings
    _, other = load_or_build(repo, first, cache)
    assert other != path
    assert sorted(p.suffix for p in cache.iterdir()) == [".pickle", ".pickle"]


def test_clones_at_one_commit_share_one_cached_index(sample: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, _, head = sample
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    cache = tmp_path / "cache"
    built, path = load_or_build(repo, head, cache)
    stamp = path.stat().st_mtime_ns
    from_clone, same_path = load_or_build(clone, head, cache)
    assert same_path == path and path.stat().st_mtime_ns == stamp
    assert from_clone.postings == built.postings


def test_cached_index_is_used_without_touching_git(tmp_path: Path) -> None:
    repo, _, head = make_repo(tmp_path)
    cache = tmp_path / "cache"
    built, path = load_or_build(repo, head, cache)
    hidden = tmp_path / "moved-away"
    repo.rename(hidden)
    try:
        cached, cached_path = load_or_build(repo, head, cache)
    finally:
        hidden.rename(repo)
    assert cached_path == path
    assert cached.paths == built.paths


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not a pickle at all",
        b"\x80\x04X\x02\x00\x00\x00\xff\xfe.",  # text that is not UTF-8
        b"cnosuchmodule\nThing\n.",  # a class that cannot be imported
        pickle.dumps({"not": "an index"}),
        b"\x80\x05\x95",  # truncated
    ],
    ids=["empty", "garbage", "bad-text", "bad-import", "wrong-type", "truncated"],
)
def test_corrupt_cache_is_rebuilt(sample: tuple[Path, str, str], tmp_path: Path, damage: bytes) -> None:
    repo, _, head = sample
    cache = tmp_path / "cache"
    good, path = load_or_build(repo, head, cache)
    path.write_bytes(damage)
    rebuilt, rebuilt_path = load_or_build(repo, head, cache)
    assert rebuilt_path == path
    assert rebuilt.paths == good.paths
    assert isinstance(load(path), RepoIndex)
    assert [p.name for p in cache.iterdir()] == [path.name]


def test_load_rejects_a_pickle_that_is_not_an_index(tmp_path: Path) -> None:
    path = tmp_path / "x.pickle"
    path.write_bytes(pickle.dumps(["a list"]))
    with pytest.raises(pickle.UnpicklingError):
        load(path)
