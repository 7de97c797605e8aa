"""Writing code index files: a full index of a commit, or a small delta over a full one.

    build    ls-tree + every blob ─────────────────────────────> full file
    delta    diff-tree base..commit: only the changed files ───> small file naming its base:
             their rows (new ids above the base's), `gone` (the base rows they hide) and the
             document frequencies and token total they change
    compact  a copy of the base, the changes applied in place ─> full file

A delta costs what changed, not what the repository holds: ten changed files of a 16,000-file
repository are a few hundred kilobytes, where copying the base file took 4 s. Readers query the
base and the delta together (`runner.sage.codeindex`); `compact` folds a delta that grew too
big back into a full file. Every file is written aside and moved in place, never changed after;
a write that fails (a full disk, a file-size limit) removes its scratch file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from runner.git.blobs import as_text, blob_sizes, ls_tree, read_blobs
from runner.sage import filekinds
from runner.sage.symbols import definitions, module_name
from runner.sage.tokens import terms

SCHEMA_VERSION = "4"
MAX_FILE_BYTES = 1024 * 1024
_BATCH = 256
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files(id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE, name BLOB NOT NULL, sha TEXT NOT NULL,
                   kind TEXT NOT NULL, module TEXT, text BLOB);
CREATE INDEX files_name ON files(name);
CREATE INDEX files_module ON files(module);
CREATE TABLE defs(name TEXT NOT NULL, qual TEXT NOT NULL, file INTEGER NOT NULL, line INTEGER NOT NULL);
CREATE INDEX defs_name ON defs(name);
CREATE INDEX defs_file ON defs(file);
CREATE VIRTUAL TABLE docs USING fts5(path, defs, body, tokenize="unicode61 remove_diacritics 0 tokenchars '_'");
CREATE VIRTUAL TABLE vocab USING fts5vocab(docs, 'row');
CREATE TABLE terms(term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE instances USING fts5vocab(docs, 'instance');
CREATE TABLE gone(id INTEGER PRIMARY KEY);
CREATE TABLE lengths(id INTEGER PRIMARY KEY, tokens INTEGER NOT NULL);
"""


def uri(path: Path, **params: str) -> str:
    """An SQLite URI for `path` (quoted: a `?` or `#` in a directory name stays part of the path)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(str(Path(path).resolve()))}" + (f"?{query}" if query else "")


def raw(path: str) -> bytes:
    """Paths are kept as git's bytes: a name that is not UTF-8 (decoded with surrogate escapes) round-trips."""
    return path.encode("utf-8", "surrogateescape")


def build(repo: Path, commit: str, target: Path) -> Path:
    """A fresh full index of `commit`'s tree at `target`."""
    entries = ls_tree(repo, commit)
    patterns = _attribute_patterns(repo, entries)
    with _writing(target) as db:
        tokens = _add(db, repo, entries, patterns, 1)
        db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        db.execute("INSERT INTO terms(term, df) SELECT term, doc FROM vocab")
        _finish(db, commit, {"kind": "full", "tokens": tokens, "attributes": json.dumps(patterns)})
    return target


def compact(
    repo: Path, base: Path, base_commit: str, commit: str, changes: dict[str, str | None], target: Path
) -> Path:
    """A full index of `commit` at `target`: a copy of `base` (of `base_commit`) with the paths
    `changes` lists (`runner.git.blobs.diff_tree`) replaced."""
    if _attributes_changed(changes):
        return build(repo, commit, target)
    entries = _entries(repo, changes)
    with _writing(target, copy_of=base) as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        patterns = [tuple(p) for p in json.loads(meta["attributes"])]
        ids = _ids(db, "main", changes)
        removed, tokens, _ = _doc_terms(db, "main", ids)
        db.executemany("DELETE FROM docs WHERE rowid = ?", [(i,) for i in ids])
        db.executemany("DELETE FROM defs WHERE file = ?", [(i,) for i in ids])
        db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])
        db.executemany("DELETE FROM lengths WHERE id = ?", [(i,) for i in ids])
        first = (db.execute("SELECT max(id) FROM files").fetchone()[0] or 0) + 1
        added = _add(db, repo, entries, patterns, first)
        new, _, _ = _doc_terms(db, "main", range(first, first + len(entries)))
        _recount(db, set(removed) | set(new))
        _finish(
            db,
            commit,
            {"kind": "full", "tokens": int(meta["tokens"]) - tokens + added, "attributes": meta["attributes"]},
        )
    return target


def delta(
    repo: Path,
    base: Path,
    commit: str,
    changes: dict[str, str | None],
    target: Path,
    previous: Path | None = None,
) -> Path:
    """A delta index of `commit` at `target` over the full index `base`: a copy of `previous` (an
    earlier delta over `base`) or an empty one, with the paths `changes` lists (since `previous`'s
    commit, or the base's) replaced. It reads only their blobs, never the whole tree, and a
    night's update costs what changed that night, not all that changed since the base."""
    if _attributes_changed(changes):
        return build(repo, commit, target)
    entries = _entries(repo, changes)
    with _writing(target, copy_of=previous, attach=base) as db:
        meta = dict(db.execute(f"SELECT key, value FROM {'main' if previous else 'base'}.meta"))
        if previous is None:
            meta["base_max"] = db.execute("SELECT max(id) FROM base.files").fetchone()[0] or 0
        base_max, gone = int(meta["base_max"]), {r[0] for r in db.execute("SELECT id FROM main.gone")}
        own, hidden = _ids(db, "main", changes), [i for i in _ids(db, "base", changes) if i not in gone]
        removed, removed_tokens, removed_docs = _doc_terms(db, "main", own)
        from_base = _doc_terms(db, "base", hidden)
        removed.update(from_base[0])
        first = max(base_max, db.execute("SELECT max(id) FROM main.files").fetchone()[0] or 0) + 1
        for table, key in (("docs", "rowid"), ("defs", "file"), ("files", "id"), ("lengths", "id")):
            db.executemany(f"DELETE FROM main.{table} WHERE {key} = ?", [(i,) for i in own])
        db.executemany("INSERT INTO main.gone(id) VALUES (?)", [(i,) for i in hidden])
        patterns = [tuple(p) for p in json.loads(meta["attributes"])]
        added_tokens = _add(db, repo, entries, patterns, first)
        added, _, added_docs = _doc_terms(db, "main", range(first, first + len(entries)))
        touched = list(set(removed) | set(added))
        current = {**_df(db, "base", touched), **_df(db, "main", touched)}
        db.executemany(
            "INSERT OR REPLACE INTO main.terms(term, df) VALUES (?, ?)",
            [(t, current.get(t, 0) - removed[t] + added[t]) for t in touched],
        )
        db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        rows = db.execute("SELECT (SELECT count(*) FROM main.files) + (SELECT count(*) FROM gone)").fetchone()[0]
        _finish(
            db,
            commit,
            {
                **{k: meta[k] for k in ("attributes", "base_max")},
                "kind": "delta",
                "base": base.name,
                "base_commit": meta["base_commit"] if previous else meta["commit"],
                "rows": rows,
                "files": int(meta["files"]) - len(own) - len(hidden) + len(entries),
                "docs": int(meta["docs"]) - removed_docs - from_base[2] + added_docs,
                "tokens": int(meta["tokens"]) - removed_tokens - from_base[1] + added_tokens,
            },
        )
    return target


def _attributes_changed(changes: dict[str, str | None]) -> bool:
    """A changed .gitattributes can change the kind of any file: that commit is built afresh."""
    return any(p == ".gitattributes" or p.endswith("/.gitattributes") for p in changes)


def _entries(repo: Path, changes: dict[str, str | None]) -> list[tuple[str, str, int]]:
    """(path, blob id, size) of the files `changes` adds or changes."""
    shas = {path: sha for path, sha in sorted(changes.items()) if sha is not None}
    sizes = blob_sizes(repo, list(dict.fromkeys(shas.values())))
    return [(path, sha, sizes[sha]) for path, sha in shas.items()]


def _ids(db: sqlite3.Connection, schema: str, paths: Iterable[str]) -> list[int]:
    found: list[int] = []
    wanted = [raw(p) for p in paths]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found += [r[0] for r in db.execute(f"SELECT id FROM {schema}.files WHERE path IN ({marks})", chunk)]
    return found


def _doc_terms(db: sqlite3.Connection, schema: str, ids: Iterable[int]) -> tuple[Counter, int, int]:
    """How many of these files' documents hold each term, their tokens in all, and how many there are."""
    counts: Counter = Counter()
    tokens = docs = 0
    for fid in ids:
        row = db.execute(f"SELECT path, defs, body FROM {schema}.docs WHERE rowid = ?", (fid,)).fetchone()
        if row:
            words = " ".join(row).split()
            tokens += len(words)
            docs += 1
            counts.update(set(words))
    return counts, tokens, docs


def _df(db: sqlite3.Connection, schema: str, words: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(words), 500):
        chunk = words[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(db.execute(f"SELECT term, df FROM {schema}.terms WHERE term IN ({marks})", chunk))
    return found


def _recount(db: sqlite3.Connection, changed: set[str]) -> None:
    """Document frequencies of the terms whose documents changed, from FTS5's own statistics."""
    for term in changed:
        row = db.execute("SELECT doc FROM vocab WHERE term = ?", (term,)).fetchone()
        if row and row[0]:
            db.execute("INSERT OR REPLACE INTO terms(term, df) VALUES (?, ?)", (term, row[0]))
        else:
            db.execute("DELETE FROM terms WHERE term = ?", (term,))


class _writing:
    """A connection on a scratch file (empty, or a copy of `copy_of`) that becomes `target` on success;
    `attach` is opened read-only as schema `base`."""

    def __init__(self, target: Path, copy_of: Path | None = None, attach: Path | None = None) -> None:
        self.target, self.copy_of, self.attach = target, copy_of, attach

    def __enter__(self) -> sqlite3.Connection:
        fd, name = tempfile.mkstemp(dir=self.target.parent, prefix=".codeindex-", suffix=".tmp")
        os.close(fd)
        self.scratch = Path(name)
        self.db: sqlite3.Connection | None = None
        try:
            if self.copy_of is not None:
                shutil.copyfile(self.copy_of, self.scratch)
            self.db = sqlite3.connect(uri(self.scratch), uri=True, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=OFF")
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute("PRAGMA cache_size=-65536")
            if self.copy_of is None:
                self.db.executescript(_SCHEMA)
            if self.attach is not None:
                self.db.execute("ATTACH DATABASE ? AS base", (uri(self.attach, mode="ro", immutable="1"),))
            self.db.execute("BEGIN")
        except BaseException:
            self._discard()
            raise
        return self.db

    def __exit__(self, kind, value, tb) -> None:
        try:
            if kind is None and self.db is not None:
                self.db.execute("COMMIT")
                self.db.close()
                os.replace(self.scratch, self.target)
        finally:
            self._discard()

    def _discard(self) -> None:
        """Close and remove the scratch file (a failed write leaves nothing behind; after the
        move there is nothing left to remove)."""
        if self.db is not None:
            self.db.close()
        self.scratch.unlink(missing_ok=True)


def _add(
    db: sqlite3.Connection,
    repo: Path,
    entries: list[tuple[str, str, int]],
    patterns: list[tuple[str, str]],
    first_id: int,
) -> int:
    """Rows for `entries`, numbered from `first_id`; the number of tokens their documents hold."""
    kinds = {
        path: filekinds.with_attributes(path, patterns) if patterns else filekinds.kind_of(path)
        for path, _, _ in entries
    }
    texts = _texts(repo, [(i, sha) for i, (_, sha, size) in enumerate(entries) if size <= MAX_FILE_BYTES])
    pending = next(texts, None)
    files: list[tuple] = []
    docs: list[tuple] = []
    defs: list[tuple] = []
    lengths: list[tuple[int, int]] = []
    tokens = 0
    for i, (path, sha, _) in enumerate(entries):
        fid = first_id + i
        base_name = raw(path.rsplit("/", 1)[-1].lower())
        text = None
        if pending is not None and pending[0] == i:
            text, pending = pending[1], next(texts, None)
        packed = zlib.compress(text.encode("utf-8", "surrogateescape"), 1) if text is not None else None
        files.append((fid, raw(path), base_name, sha, kinds[path], module_name(path), packed))
        if text is None:
            continue
        found = definitions(path, text)
        defs += [(name, qual, fid, line) for name, qual, line in found]
        words = (_path_terms(path), terms(" ".join(n for n, _, _ in found)), terms(text))
        lengths.append((fid, sum(map(len, words))))
        tokens += lengths[-1][1]
        docs.append((fid, *(" ".join(w) for w in words)))
        if len(docs) >= _BATCH:
            _flush(db, files, docs, defs, lengths)
    _flush(db, files, docs, defs, lengths)
    return tokens


def _texts(repo: Path, wanted: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    for i, data in read_blobs(repo, wanted):
        text = as_text(data)
        if text is not None:
            yield i, text


def _flush(db: sqlite3.Connection, *batches: list) -> None:
    files, docs, defs, lengths = batches
    db.executemany("INSERT INTO files(id, path, name, sha, kind, module, text) VALUES (?, ?, ?, ?, ?, ?, ?)", files)
    db.executemany("INSERT INTO docs(rowid, path, defs, body) VALUES (?, ?, ?, ?)", docs)
    db.executemany("INSERT INTO defs(name, qual, file, line) VALUES (?, ?, ?, ?)", defs)
    db.executemany("INSERT INTO lengths(id, tokens) VALUES (?, ?)", lengths)
    for batch in batches:
        batch.clear()


def _path_terms(path: str) -> list[str]:
    module = module_name(path) or ""
    return terms(path.replace("/", " ").replace(".", " ") + " " + module.replace(".", " "))


def _finish(db: sqlite3.Connection, commit: str, meta: dict[str, object]) -> None:
    values = {
        "version": SCHEMA_VERSION,
        "commit": commit,
        "files": db.execute("SELECT count(*) FROM files").fetchone()[0],
        "docs": db.execute("SELECT count(*) FROM docs").fetchone()[0],
        "max_file_bytes": MAX_FILE_BYTES,
        **meta,
    }
    db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [(k, str(v)) for k, v in values.items()])


def _attribute_patterns(repo: Path, entries: list[tuple[str, str, int]]) -> list[tuple[str, str]]:
    """linguist-vendored / linguist-generated patterns of every .gitattributes in the tree."""
    found = [
        (i, sha)
        for i, (path, sha, _) in enumerate(entries)
        if path == ".gitattributes" or path.endswith("/.gitattributes")
    ]
    patterns: list[tuple[str, str]] = []
    for i, text in _texts(repo, found):
        patterns += filekinds.linguist_patterns(text, entries[i][0].rpartition("/")[0])
    return patterns
