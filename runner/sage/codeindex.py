"""One repository commit, searchable from disk: an SQLite file every sage opens read-only.

    git objects ──build / update──> <cache>/codeindex-<commit>.sqlite ──open (read-only)──> sages
                                    files  (path, kind, module, zlib text)
                                    defs   (name, qualified name, file, line)
                                    docs   FTS5: path | defs | body, pre-split code tokens
                                    terms  document frequency of every term (FTS5's
                                           vocabulary, copied into a B-tree a query can seek)

Why SQLite FTS5: it is in the standard library, its BM25 takes a weight per field, and
its pages are read through the page cache, which every sage of every run on the host
shares; a sage holds a connection and a few pages, not a copy of the index. The file of a
commit is never changed once written (a new commit gets a new file, built from the
previous commit's file by replacing only the files that changed), so readers open it
`immutable` and take no locks.

Every text file up to `MAX_FILE_BYTES` is indexed in full; larger and binary files are
listed (their paths can be named in an issue) but not searched.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

from runner.sage import filekinds
from runner.sage.index import _as_text, _ls_tree, _read_blobs, tokens
from runner.sage.symbols import definitions, module_name

SCHEMA_VERSION = "3"
MAX_FILE_BYTES = 1024 * 1024
KEEP_INDEXES = 6
MAX_CHANGED_SHARE = 0.5
_BATCH = 256
_LINES_MEMO = 32
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
"""


class CodeIndex:
    """A read-only view of one commit's index file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        uri = f"file:{self.path.resolve()}?mode=ro&immutable=1"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        # Reads, not a memory map: the pages then live in the kernel's page cache, shared by every
        # sage; mapped pages that only one sage touched counted as its own memory (229 MB USS on
        # a 16,000-file repository, 33 MB without).
        self.db.execute("PRAGMA mmap_size=0")
        self.db.execute("PRAGMA cache_size=-2000")
        try:
            meta = dict(self.db.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise ValueError(f"{path} does not hold a code index ({exc})") from None
        if meta.get("version") != SCHEMA_VERSION:
            self.db.close()
            raise ValueError(f"{path}: code index version {meta.get('version')!r}, expected {SCHEMA_VERSION}")
        self.commit = meta["commit"]
        self.file_count = int(meta["files"])
        self.doc_count = int(meta["docs"])
        self._lines: OrderedDict[int, list[str]] = OrderedDict()
        self._files: dict[int, tuple[str, str]] | None = None

    def __getstate__(self) -> dict:
        return {"path": str(self.path)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(Path(state["path"]))  # type: ignore[misc]  # unpickling re-opens the same file

    def doc_freq(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(dict.fromkeys(terms))
        found: dict[str, int] = {}
        for chunk in _chunks(terms, 500):
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(f"SELECT term, df FROM terms WHERE term IN ({marks})", chunk))
        return found

    def search(self, terms: list[str], weights: tuple[float, float, float], limit: int) -> list[tuple[int, float]]:
        """(file id, BM25 over path | defs | body, higher is better) of the best `limit` files."""
        if not terms:
            return []
        query = " OR ".join(f'"{t}"' for t in terms)
        rows = self.db.execute(
            "SELECT rowid, -bm25(docs, ?, ?, ?) AS s FROM docs WHERE docs MATCH ? ORDER BY s DESC LIMIT ?",
            (*weights, query, limit),
        )
        return rows.fetchall()

    def defined(self, names: Iterable[str]) -> list[tuple[str, str, int, int]]:
        """(name, qualified name, file id, line) of every definition of any of `names`."""
        names = list(dict.fromkeys(names))
        rows: list[tuple[str, str, int, int]] = []
        for chunk in _chunks(names, 500):
            marks = ",".join("?" * len(chunk))
            rows += self.db.execute(f"SELECT name, qual, file, line FROM defs WHERE name IN ({marks})", chunk)
        return rows

    def file_id(self, path: str) -> int | None:
        row = self.db.execute("SELECT id FROM files WHERE path = ?", (_raw(path),)).fetchone()
        return row[0] if row else None

    def named(self, name: str) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM files WHERE name = ?", (_raw(name.lower()),))]

    def stemmed(self, stem: str) -> list[tuple[int, str]]:
        """(file id, path) of files named `<stem>.<suffix>` or `<stem>s.<suffix>` (lower-case `stem`)."""
        rows: list[tuple[int, bytes]] = []
        for name in (stem, f"{stem}s"):
            rows += self.db.execute(
                "SELECT id, path FROM files WHERE name >= ? AND name < ?", (_raw(f"{name}."), _raw(f"{name}/"))
            )
        return [(fid, _text(path)) for fid, path in rows]

    def modules(self, dotted: str) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM files WHERE module = ?", (dotted,))]

    def info(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """{file id: (path, kind)}, from a table of every file read once per process (about 100
        bytes a file: 1.6 MB for 16,000 files), since every issue asks for a few hundred."""
        files = self._files
        if files is None:
            files = self._files = {
                fid: (_text(path), kind) for fid, path, kind in self.db.execute("SELECT id, path, kind FROM files")
            }
        return {fid: files[fid] for fid in ids if fid in files}

    def lines(self, file_id: int) -> list[str]:
        """The file's lines (a few recently used files are remembered); [] for one not searched."""
        found = self._lines.get(file_id)
        if found is None:
            row = self.db.execute("SELECT text FROM files WHERE id = ?", (file_id,)).fetchone()
            found = zlib.decompress(row[0]).decode("utf-8", "surrogateescape").splitlines() if row and row[0] else []
            self._lines[file_id] = found
            if len(self._lines) > _LINES_MEMO:
                self._lines.popitem(last=False)
        else:
            self._lines.move_to_end(file_id)
        return found

    def close(self) -> None:
        self.db.close()


def _raw(path: str) -> bytes:
    """Paths are kept as git's bytes: a name that is not UTF-8 (decoded with surrogate escapes) round-trips."""
    return path.encode("utf-8", "surrogateescape")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def terms(text: str) -> list[str]:
    """Code tokens (`runner.repoindex.tokens`) with plurals folded (`blueprints` -> `blueprint`),
    as the index stores them and queries ask for them."""
    return [_singular(t) for t in tokens(text)]


def _singular(token: str) -> str:
    if len(token) <= 4 or token[-1] != "s" or token.endswith(("ss", "us", "is", "_s")):
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    return token[:-1]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load(path: Path) -> CodeIndex:
    return CodeIndex(path)


def index_file(cache_dir: Path, commit: str) -> Path:
    return cache_dir / f"codeindex-{commit}.sqlite"


def load_or_build(repo: Path, commit: str, cache_dir: Path, keep: int = KEEP_INDEXES) -> tuple[CodeIndex, Path]:
    """The index of `commit` in `cache_dir`: found, updated from an earlier commit's, or built."""
    commit = _resolve(repo, commit) if not _is_sha(commit) else commit
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = index_file(cache_dir, commit)
    if path.exists():
        try:
            return CodeIndex(path), path
        except (ValueError, sqlite3.DatabaseError, KeyError):
            path.unlink(missing_ok=True)
    previous = _nearest(repo, commit, cache_dir, keep)
    if previous is not None:
        update(repo, previous[0], previous[1], commit, path)
    else:
        build(repo, commit, path)
    _prune(cache_dir, path, keep)
    return CodeIndex(path), path


def build(repo: Path, commit: str, target: Path) -> Path:
    """A fresh index of `commit`'s tree at `target` (written aside, then moved in place)."""
    entries = _ls_tree(repo, commit)
    with _writing(target, None) as db:
        _add(db, repo, entries, _attribute_patterns(repo, entries))
        _finish(db, commit)
    return target


def update(repo: Path, base: Path, base_commit: str, commit: str, target: Path) -> Path:
    """`target` for `commit`, from `base` (the index of `base_commit`) plus the files that changed."""
    changed = _diff(repo, base_commit, commit)
    if any(p == ".gitattributes" or p.endswith("/.gitattributes") for p in changed):
        return build(repo, commit, target)
    entries = {e[0]: e for e in _ls_tree(repo, commit) if e[0] in changed} if changed else {}
    with _writing(target, base) as db:
        gone = [(_raw(p),) for p in changed]
        touched = _doc_terms(db, gone)
        db.executemany("DELETE FROM docs WHERE rowid = (SELECT id FROM files WHERE path = ?)", gone)
        db.executemany("DELETE FROM defs WHERE file = (SELECT id FROM files WHERE path = ?)", gone)
        db.executemany("DELETE FROM files WHERE path = ?", gone)
        patterns = _attribute_patterns(repo, _ls_tree(repo, commit)) if entries else []
        _add(db, repo, list(entries.values()), patterns)
        touched |= _doc_terms(db, [(_raw(p),) for p in entries])
        _recount(db, touched)
        _finish(db, commit, optimize=False)
    return target


def _doc_terms(db: sqlite3.Connection, paths: list[tuple[bytes]]) -> set[str]:
    """Every distinct term of these files' documents."""
    found: set[str] = set()
    for (raw,) in paths:
        row = db.execute(
            "SELECT d.path, d.defs, d.body FROM docs d JOIN files f ON d.rowid = f.id WHERE f.path = ?", (raw,)
        ).fetchone()
        if row:
            found.update(" ".join(row).split())
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
    """A connection on a scratch copy of `base` (or an empty file) that becomes `target` on success."""

    def __init__(self, target: Path, base: Path | None) -> None:
        self.target, self.base = target, base

    def __enter__(self) -> sqlite3.Connection:
        fd, name = tempfile.mkstemp(dir=self.target.parent, prefix=".codeindex-", suffix=".tmp")
        os.close(fd)
        self.scratch = Path(name)
        if self.base is not None:
            shutil.copyfile(self.base, self.scratch)
        self.db = sqlite3.connect(self.scratch, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-65536")
        if self.base is None:
            self.db.executescript(_SCHEMA)
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, kind, value, tb) -> None:
        try:
            if kind is None:
                self.db.execute("COMMIT")
            self.db.close()
            if kind is None:
                os.replace(self.scratch, self.target)
        finally:
            self.scratch.unlink(missing_ok=True)


def _add(
    db: sqlite3.Connection, repo: Path, entries: list[tuple[str, str, int]], patterns: list[tuple[str, str]]
) -> None:
    kinds = {
        path: filekinds.with_attributes(path, patterns) if patterns else filekinds.kind_of(path)
        for path, _, _ in entries
    }
    texts = _texts(repo, [(i, sha) for i, (_, sha, size) in enumerate(entries) if size <= MAX_FILE_BYTES])
    pending = next(texts, None)
    files, docs, defs = [], [], []
    for i, (path, sha, _) in enumerate(entries):
        fid = db.execute(
            "INSERT INTO files(path, name, sha, kind, module) VALUES (?, ?, ?, ?, ?)",
            (_raw(path), _raw(path.rsplit("/", 1)[-1].lower()), sha, kinds[path], module_name(path)),
        ).lastrowid
        if pending is None or pending[0] != i:
            continue
        text, pending = pending[1], next(texts, None)
        found = definitions(path, text)
        files.append((zlib.compress(text.encode("utf-8", "surrogateescape"), 1), fid))
        defs += [(name, qual, fid, line) for name, qual, line in found]
        docs.append((fid, _path_tokens(path), " ".join(terms(" ".join(n for n, _, _ in found))), " ".join(terms(text))))
        if len(docs) >= _BATCH:
            _flush(db, files, docs, defs)
    _flush(db, files, docs, defs)


def _texts(repo: Path, wanted: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    for i, data in _read_blobs(repo, wanted):
        text = _as_text(data)
        if text is not None:
            yield i, text


def _flush(db: sqlite3.Connection, files: list, docs: list, defs: list) -> None:
    db.executemany("UPDATE files SET text = ? WHERE id = ?", files)
    db.executemany("INSERT INTO docs(rowid, path, defs, body) VALUES (?, ?, ?, ?)", docs)
    db.executemany("INSERT INTO defs(name, qual, file, line) VALUES (?, ?, ?, ?)", defs)
    files.clear()
    docs.clear()
    defs.clear()


def _path_tokens(path: str) -> str:
    module = module_name(path) or ""
    return " ".join(terms(path.replace("/", " ").replace(".", " ") + " " + module.replace(".", " ")))


def _finish(db: sqlite3.Connection, commit: str, optimize: bool = True) -> None:
    if optimize:
        db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        db.execute("INSERT INTO terms(term, df) SELECT term, doc FROM vocab")
    files = db.execute("SELECT count(*) FROM files").fetchone()[0]
    docs = db.execute("SELECT count(*) FROM docs").fetchone()[0]
    db.executemany(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        [
            ("version", SCHEMA_VERSION),
            ("commit", commit),
            ("files", str(files)),
            ("docs", str(docs)),
            ("max_file_bytes", str(MAX_FILE_BYTES)),
        ],
    )


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


def _diff(repo: Path, old: str, new: str) -> set[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "diff-tree", "-r", "-z", "--no-renames", "--name-only", old, new, "--"],
        capture_output=True,
        check=True,
    ).stdout
    return {name.decode("utf-8", "surrogateescape") for name in out.split(b"\0") if name}


def _nearest(repo: Path, commit: str, cache_dir: Path, keep: int) -> tuple[Path, str] | None:
    """The newest index in `cache_dir` of a commit this repository has, close enough to update from."""
    candidates = sorted(cache_dir.glob("codeindex-*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates[:keep]:
        other = path.stem.removeprefix("codeindex-")
        if not _is_sha(other) or not _has_commit(repo, other):
            continue
        try:
            index = CodeIndex(path)
        except (ValueError, sqlite3.DatabaseError, KeyError):
            continue
        files = index.file_count
        index.close()
        if len(_diff(repo, other, commit)) <= max(10, files * MAX_CHANGED_SHARE):
            return path, other
    return None


def _prune(cache_dir: Path, current: Path, keep: int) -> None:
    """Keep the newest `keep` index files (readers that hold one open keep reading it)."""
    found = sorted(cache_dir.glob("codeindex-*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in found[keep:]:
        if path != current:
            path.unlink(missing_ok=True)


def _is_sha(value: str) -> bool:
    return len(value) == 40 and all(c in "0123456789abcdef" for c in value)


def _has_commit(repo: Path, commit: str) -> bool:
    return (
        subprocess.run(
            ["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True
        ).returncode
        == 0
    )


def _resolve(repo: Path, rev: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
