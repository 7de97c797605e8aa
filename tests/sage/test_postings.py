"""runner.sage.postings and filetable: a small index answered from memory, as SQLite answers it."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.sage import codeindex, localize
from runner.sage.codeindex import CodeIndex, load_or_build
from runner.sage.postings import Postings, plain

SOURCES = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
    "GIT_CONFIG_NOSYSTEM": "1",
}
ISSUES = [
    ("Related files miss the module that defines concat()", "`CodeIndex.search` returns nothing for `bm25`"),
    ("Delta index loses files", 'File "runner/sage/indexwrite.py", line 3, in delta\nValueError: its base is missing'),
    ("stemmed names", "The literals of `--collect-only` are not found; see codeindex.py and tokens"),
]


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, check=True, text=True).stdout


@pytest.fixture
def real_repo(tmp_path: Path) -> Path:
    """A repository of real code: this project's sage package and its tests."""
    repo = tmp_path / "repo"
    for folder in ("runner/sage", "tests/sage"):
        shutil.copytree(SOURCES / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "notes.txt").write_text("echo echo echo beta\necho echo\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sources")
    return repo


def on_disk(path: Path) -> CodeIndex:
    index = codeindex.load(path)
    index.in_memory = False
    return index


def test_searches_from_memory_equal_fts5s_on_real_code(real_repo: Path, tmp_path: Path) -> None:
    memory, path = load_or_build(real_repo, "HEAD", tmp_path / "cache")
    disk = on_disk(path)
    assert memory.in_memory
    vocabulary = sorted(Postings(memory.db).lists)
    common = [t for t in vocabulary if memory.doc_freq([t])[t] > 3]
    rng = random.Random(5)
    for round_ in range(300):
        terms = rng.sample(common if round_ % 2 else vocabulary, rng.randint(1, 16))
        for weights, limit in (((4.0, 3.0, 1.0), 100), ((1.0, 1.0, 1.0), 7)):
            assert memory.search(terms, weights, limit) == disk.search(terms, weights, limit)
    assert memory._postings is not None
    assert disk._postings is None


def test_an_unordered_search_finds_the_same_files_and_scores(real_repo: Path, tmp_path: Path) -> None:
    index, _ = load_or_build(real_repo, "HEAD", tmp_path / "cache")
    vocabulary = sorted(Postings(index.db).lists)
    rng = random.Random(11)
    unsorted = 0
    for _ in range(200):
        terms = rng.sample(vocabulary, rng.randint(1, 16))
        for limit in (100, 7):
            ordered = index.search(terms, (4.0, 3.0, 1.0), limit)
            found = index.search(terms, (4.0, 3.0, 1.0), limit, ordered=False)
            assert sorted(found) == sorted(ordered)
            unsorted += found != ordered
    assert unsorted


def test_phrases_from_memory_equal_fts5s_on_real_code(real_repo: Path, tmp_path: Path) -> None:
    memory, path = load_or_build(real_repo, "HEAD", tmp_path / "cache")
    disk = on_disk(path)
    texts = [t for row in Postings(memory.db).texts.values() for t in row if t.strip()]
    rng = random.Random(7)
    for _ in range(300):
        phrases = []
        for _ in range(rng.randint(1, 3)):
            words = rng.choice(texts).split()
            start = rng.randrange(len(words))
            phrases.append(" ".join(words[start : start + rng.randint(1, 5)]))
        assert memory.holding(phrases, (4.0, 3.0, 1.0), 40) == disk.holding(phrases, (4.0, 3.0, 1.0), 40)
    repeated = memory.holding(["echo echo", "echo beta"], (1.0, 1.0, 1.0), 5)
    assert repeated == disk.holding(["echo echo", "echo beta"], (1.0, 1.0, 1.0), 5)
    assert "notes.txt" in {memory.info([fid])[fid][0] for fid, _ in repeated}
    assert memory.holding(["echo Echo"], (1.0, 1.0, 1.0), 5) == disk.holding(["echo Echo"], (1.0, 1.0, 1.0), 5)


def test_the_files_holding_phrases_are_those_fts5_ranks_best(real_repo: Path, tmp_path: Path) -> None:
    """Unscored when all of them are among the best, scored and cut when more hold the phrases."""
    memory, path = load_or_build(real_repo, "HEAD", tmp_path / "cache")
    disk = on_disk(path)
    texts = [t for row in Postings(memory.db).texts.values() for t in row if t.strip()]
    rng = random.Random(13)
    sizes = set()
    for _ in range(200):
        words = rng.choice(texts).split()
        start = rng.randrange(len(words))
        phrases = [" ".join(words[start : start + rng.randint(1, 3)])]
        for limit in (40, 3):
            expected = [fid for fid, _ in disk.holding(phrases, (4.0, 3.0, 1.0), limit)]
            assert sorted(memory.holders(phrases, (4.0, 3.0, 1.0), limit)) == sorted(expected)
            sizes.add(len(expected) == limit)
    assert sizes == {True, False}


def test_rankings_from_memory_equal_those_from_disk(real_repo: Path, tmp_path: Path) -> None:
    memory, path = load_or_build(real_repo, "HEAD", tmp_path / "cache")
    disk = on_disk(path)
    for title, body in ISSUES:
        ours, theirs = localize.rank(title, body, memory, 8, 5), localize.rank(title, body, disk, 8, 5)
        assert ours == theirs
        assert ours.sources


def test_weights_that_are_not_whole_numbers_are_scored_by_fts5(real_repo: Path, tmp_path: Path) -> None:
    index, path = load_or_build(real_repo, "HEAD", tmp_path / "cache")
    found = index.search(["posting", "delta"], (0.3, 1.0, 1.0), 5)
    assert found
    assert found == on_disk(path).search(["posting", "delta"], (0.3, 1.0, 1.0), 5)
    assert index._postings is None


def test_a_large_index_and_a_delta_stay_on_disk(
    real_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first, _ = load_or_build(real_repo, "HEAD", cache)
    monkeypatch.setattr(codeindex, "MAX_TOKENS", first.token_count - 1)
    large = codeindex.load(first.path)
    assert not large.in_memory and not large.small
    assert large.search(["posting"], (4.0, 3.0, 1.0), 5)
    assert large._postings is None
    assert large.file_id("runner/sage/tokens.py") == first.file_id("runner/sage/tokens.py") is not None
    assert large.named("Tokens.py") == first.named("Tokens.py")
    assert sorted(large.stemmed("token")) == sorted(first.stemmed("token"))
    assert large.modules("runner.sage.tokens") == first.modules("runner.sage.tokens")
    assert not large.table.by_path
    monkeypatch.undo()
    (real_repo / "runner/sage/extra.py").write_text("def extra_postings():\n    return 1\n")
    git(real_repo, "add", "-A")
    git(real_repo, "commit", "-q", "-m", "one more")
    delta, _ = load_or_build(real_repo, "HEAD", cache)
    assert delta.layered
    assert not delta.in_memory
    best = delta.search(codeindex.terms("extra_postings"), (4.0, 3.0, 1.0), 5)[0][0]
    assert delta.info([best])[best][0] == "runner/sage/extra.py"
    assert delta._postings is None


def test_file_lookups_equal_the_queries_they_replace_on_a_delta(real_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_or_build(real_repo, "HEAD", cache)
    for folder in ("a", "b"):
        (real_repo / folder).mkdir()
        (real_repo / folder / "codeindex.py").write_text("x = 1\n")
    (real_repo / "runner/sage/tokens.py").write_text("y = 2\n")
    git(real_repo, "add", "-A")
    git(real_repo, "commit", "-q", "-m", "same names")
    index, _ = load_or_build(real_repo, "HEAD", cache)
    assert index.layered

    def select(sql: str, *args: object) -> list:
        return index._select(sql, args)

    for name in ("codeindex.py", "tokens.py", "test_postings.py", "missing.py"):
        assert index.named(name) == [r[0] for r in select("SELECT id FROM {s}.files WHERE name = ?", name.encode())]
    for path in ("runner/sage/tokens.py", "a/codeindex.py", "runner/sage/nothing.py"):
        rows = select("SELECT id FROM {s}.files WHERE path = ?", path.encode())
        assert index.file_id(path) == (rows[0][0] if rows else None)
    for module in ("runner.sage.tokens", "a.codeindex", "runner.sage"):
        assert sorted(index.modules(module)) == sorted(
            r[0] for r in select("SELECT id FROM {s}.files WHERE module = ?", module)
        )
    assert sorted(index.stemmed("codeindex")) == sorted(
        (fid, path.decode())
        for fid, path in select(
            "SELECT id, path FROM {s}.files WHERE name >= ? AND name < ?", b"codeindex.", b"codeindex/"
        )
    )
    assert sorted(p for _, p in index.stemmed("token")) == ["runner/sage/tokens.py"]


def test_plain_phrases_are_index_tokens_split_at_whitespace() -> None:
    def word_by_word(phrases: list[str]) -> bool:
        return all(re.fullmatch(r"[a-z0-9_]+", word) for phrase in phrases for word in phrase.split())

    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    for char in [chr(c) for c in range(0x3100)] + spaces:
        for phrases in (["ab" + char + "cd"], [char], ["x y", char + "z"]):
            assert plain(phrases) == word_by_word(phrases), repr(char)
