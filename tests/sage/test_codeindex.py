"""runner.sage.codeindex: one SQLite file per commit, read-only for sages, updated from an earlier commit's file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import IDENTITY

from runner.sage import codeindex, indexplan, indexwrite
from runner.sage.codeindex import CodeIndex, load_or_build

GIT_ENV = {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
FILES = {
    "pkg/__init__.py": "from pkg.core import concat\n",
    "pkg/core.py": "class Dataset:\n    def to_dict(self):\n        return {}\n\n"
    "def concat(items):\n    return items\n",
    "pkg/io.py": "def open_dataset(path):\n    return Dataset()\n",
    "tests/test_core.py": "def test_concat():\n    assert concat([]) == []\n",
    "CHANGES.rst": "concat now keeps attributes\n",
    "web/app.js": "export function renderPanel(props) {\n  return props;\n}\n",
    "big.txt": "x" * (codeindex.MAX_FILE_BYTES + 1),
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], env={**os.environ, **GIT_ENV}, capture_output=True, check=True, text=True
    ).stdout.strip()


def commit(repo: Path, files: dict[str, str | None]) -> str:
    for name, text in files.items():
        target = repo / name
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def searched(index: CodeIndex, *terms: str) -> set[str]:
    found = index.search(list(terms), (1.0, 1.0, 1.0), 100)
    return {index.info([fid])[fid][0] for fid, _ in found}


def test_every_text_file_is_searched_with_its_definitions_and_kind(repo: Path, tmp_path: Path) -> None:
    index, path = load_or_build(repo, commit(repo, FILES), tmp_path / "cache")
    assert path.name == f"codeindex-{index.commit}.sqlite"
    assert index.file_count == len(FILES) and index.doc_count == len(FILES) - 1
    assert searched(index, "concat") == {"pkg/__init__.py", "pkg/core.py", "tests/test_core.py", "CHANGES.rst"}
    assert searched(index, "render") == {"web/app.js"}
    defined = {(qual, index.info([fid])[fid][0], line) for _, qual, fid, line in index.defined(["to_dict", "concat"])}
    assert defined == {("Dataset.to_dict", "pkg/core.py", 2), ("concat", "pkg/core.py", 5)}
    kinds = {p: k for p, k in index.info(range(1, 8)).values()}
    assert kinds["tests/test_core.py"] == "test" and kinds["CHANGES.rst"] == "other" and kinds["pkg/io.py"] == "source"
    assert index.modules("pkg.core") and index.modules("pkg") == [index.file_id("pkg/__init__.py")]
    assert index.lines(index.file_id("pkg/io.py")) == FILES["pkg/io.py"].splitlines()
    assert index.lines(index.file_id("big.txt")) == [] and index.file_id("big.txt") is not None


def test_the_index_file_is_read_only_for_its_readers(repo: Path, tmp_path: Path) -> None:
    index, _ = load_or_build(repo, commit(repo, FILES), tmp_path / "cache")
    with pytest.raises(sqlite3.OperationalError):
        index.db.execute("DELETE FROM files")


CHANGES = {
    "pkg/io.py": "def save_dataset(path):\n    return path\n",
    "CHANGES.rst": None,
    "pkg/extra.py": "def concat_more(a):\n    return a\n",
}


def same_as_fresh(updated: CodeIndex, fresh: CodeIndex) -> None:
    """What a reader sees of an updated index is what it sees of one built afresh (scores aside)."""
    assert updated.commit == fresh.commit and updated.file_count == fresh.file_count == len(FILES)
    assert (updated.doc_count, updated.token_count) == (fresh.doc_count, fresh.token_count)
    for index in (updated, fresh):
        assert searched(index, "save_dataset") == {"pkg/io.py"}
        assert searched(index, "open_dataset") == set()
        assert searched(index, "concat") == {"pkg/__init__.py", "pkg/core.py", "tests/test_core.py", "pkg/extra.py"}
        assert index.file_id("CHANGES.rst") is None and index.named("changes.rst") == []
        assert {index.info([f])[f][0] for _, _, f, _ in index.defined(["concat_more"])} == {"pkg/extra.py"}
        assert index.defined(["open_dataset"]) == []
        assert index.lines(index.file_id("pkg/io.py")) == CHANGES["pkg/io.py"].splitlines()
    every = sorted(updated.info(range(1, 100)).values())
    assert every == sorted(fresh.info(range(1, 100)).values()) and ("CHANGES.rst", "other") not in every
    words = ["concat", "save_dataset", "open_dataset", "dataset", "attribute", "render", "extra"]
    assert updated.doc_freq(words) == fresh.doc_freq(words)
    assert "open_dataset" not in updated.doc_freq(words) and updated.doc_freq(["concat"]) == {"concat": 4}


def test_a_few_changed_files_make_a_delta_over_the_previous_index(repo: Path, tmp_path: Path) -> None:
    first, second = commit(repo, FILES), commit(repo, CHANGES)
    cache = tmp_path / "cache"
    _, base = load_or_build(repo, first, cache)
    updated, path = load_or_build(repo, second, cache)
    assert updated.layered and updated.base_path == base and codeindex.index_files(path) == [path, base]
    assert sorted(r[0] for r in updated.db.execute("SELECT path FROM main.files")) == [b"pkg/extra.py", b"pkg/io.py"]
    fresh = CodeIndex(indexwrite.build(repo, second, tmp_path / "fresh.sqlite"))
    same_as_fresh(updated, fresh)
    query = ["save_dataset", "concat_more", "path", "item"]
    scores = [
        {index.info([f])[f][0]: s for f, s in index.search(query, (4.0, 3.0, 1.0), 10)} for index in (updated, fresh)
    ]
    assert scores[0].keys() == scores[1].keys() and scores[0]["pkg/io.py"] == pytest.approx(scores[1]["pkg/io.py"])
    assert scores[0]["pkg/extra.py"] == pytest.approx(scores[1]["pkg/extra.py"])


def test_a_delta_is_updated_from_the_previous_delta_over_the_same_base(repo: Path, tmp_path: Path) -> None:
    heads = [
        commit(repo, FILES),
        commit(repo, {"pkg/io.py": "x = 1\n", "CHANGES.rst": "more\n", "pkg/gone.py": "def gone():\n    pass\n"}),
        commit(repo, {**CHANGES, "pkg/gone.py": None}),
    ]
    cache = tmp_path / "cache"
    for head in heads:
        updated, _ = load_or_build(repo, head, cache)
    assert updated.base_path == codeindex.index_file(cache, heads[0])
    assert updated.file_id("pkg/gone.py") is None and updated.defined(["gone"]) == []
    ids = sorted(r[0] for r in updated.db.execute("SELECT id FROM main.files"))
    assert ids == [len(FILES) + 4, len(FILES) + 5]  # numbered after the previous delta's three files
    same_as_fresh(updated, CodeIndex(indexwrite.build(repo, heads[2], tmp_path / "fresh.sqlite")))


def test_a_delta_past_its_share_is_compacted_into_a_full_index(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexplan, "DELTA_MIN", 0)
    monkeypatch.setattr(indexplan, "DELTA_SHARE", 0.0)
    first, second = commit(repo, FILES), commit(repo, CHANGES)
    cache = tmp_path / "cache"
    load_or_build(repo, first, cache)
    updated, _ = load_or_build(repo, second, cache)
    assert not updated.layered
    same_as_fresh(updated, CodeIndex(indexwrite.build(repo, second, tmp_path / "fresh.sqlite")))


def test_a_delta_scores_its_files_as_fts5_scores_the_base(repo: Path, tmp_path: Path) -> None:
    """`bm25` is FTS5's formula: on a full index it gives FTS5's own scores."""
    index, _ = load_or_build(repo, commit(repo, FILES), tmp_path / "cache")
    query, weights = ["attribute", "dataset", "render", "item"], (4.0, 3.0, 1.0)
    stats = (index.doc_count, index.token_count, index.doc_freq(query))
    ours = {}
    for fid, *fields in index.db.execute("SELECT rowid, path, defs, body FROM docs"):
        words = [text.split() for text in fields]
        freq = {t: sum(w * field.count(t) for w, field in zip(weights, words, strict=True)) for t in query}
        ours[fid] = codeindex.bm25(freq, sum(map(len, words)), query, stats)
    fts5 = dict(index.search(query, weights, 100))
    assert fts5 and fts5.keys() == {fid for fid, score in ours.items() if score > 0}
    assert all(ours[fid] == pytest.approx(score, rel=1e-9) for fid, score in fts5.items())


def test_a_delta_whose_base_is_gone_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    first, second = commit(repo, FILES), commit(repo, CHANGES)
    cache = tmp_path / "cache"
    _, base = load_or_build(repo, first, cache)
    _, path = load_or_build(repo, second, cache)
    base.unlink()
    with pytest.raises(ValueError, match="base"):
        CodeIndex(path)
    index, again = load_or_build(repo, second, cache)
    assert again == path and not index.layered and index.file_id("pkg/extra.py") is not None


def test_a_damaged_index_file_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    head = commit(repo, FILES)
    cache = tmp_path / "cache"
    _, path = load_or_build(repo, head, cache)
    path.write_bytes(b"not a database")
    index, again = load_or_build(repo, head, cache)
    assert again == path and index.file_count == len(FILES)


def test_linguist_attributes_mark_vendored_and_generated_files(repo: Path, tmp_path: Path) -> None:
    head = commit(repo, {**FILES, ".gitattributes": "pkg/io.py linguist-generated=true\n*.js linguist-vendored\n"})
    index, _ = load_or_build(repo, head, tmp_path / "cache")
    kinds = {p: k for p, k in index.info(range(1, 10)).values()}
    assert kinds["pkg/io.py"] == "other" and kinds["web/app.js"] == "other" and kinds["pkg/core.py"] == "source"


def test_only_the_newest_index_files_are_kept_with_the_base_a_kept_delta_needs(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    heads = [commit(repo, {**FILES, "pkg/n.py": f"n = {n}\n"}) for n in range(4)]
    for head in heads:
        load_or_build(repo, head, cache, keep=2)
    kept = sorted(p.name for p in cache.glob("codeindex-*"))
    assert kept == sorted(f"codeindex-{h}.sqlite" for h in [heads[0], *heads[2:]])
    assert load_or_build(repo, heads[3], cache)[0].file_id("pkg/n.py") is not None


def test_lookups_stay_right_when_the_memos_are_emptied(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, _ = load_or_build(repo, commit(repo, FILES), tmp_path / "cache")
    monkeypatch.setattr(codeindex, "_MEMO", 0)
    for _ in range(3):
        index.doc_freq(["concat"])
        index.defined(["concat"])
        assert index.doc_freq(["concat", "dataset", "render"]) == {"concat": 4, "dataset": 2, "render": 1}
        assert {q for _, q, _, _ in index.defined(["concat", "to_dict", "open_dataset"])} == {
            "concat",
            "Dataset.to_dict",
            "open_dataset",
        }


def test_phrases_are_found_in_a_delta_and_its_base_but_not_in_replaced_files(repo: Path, tmp_path: Path) -> None:
    first, second = commit(repo, FILES), commit(repo, CHANGES)
    cache = tmp_path / "cache"
    load_or_build(repo, first, cache)
    updated, _ = load_or_build(repo, second, cache)
    assert updated.layered

    def holding(*texts: str) -> set[str]:
        phrases = [" ".join(codeindex.terms(text)) for text in texts]  # as the ranking makes them
        return {updated.info([fid])[fid][0] for fid, _ in updated.holding(phrases, (1.0, 1.0, 1.0), 10)}

    assert holding("def save_dataset") == {"pkg/io.py"}
    assert holding("def open_dataset") == set()
    assert holding("concat now keeps attributes") == set()
    assert holding("to_dict", "save_dataset") == {"pkg/core.py", "pkg/io.py"}
    assert holding() == set()
