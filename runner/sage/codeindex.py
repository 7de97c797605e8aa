"""One repository commit, searchable from disk: SQLite files every sage opens read-only.

    git objects ──build──> <cache>/codeindex-<commit>.sqlite       full: every file of the commit
                ──delta──> <cache>/codeindex-<later>.sqlite        the files changed since a full
                           one, which it names as its base ──open (read-only, base attached)──> sages

    tables   files  (path, kind, module, zlib text)     defs  (name, qualified name, file, line)
             docs   FTS5: path | defs | body, pre-split code tokens
             terms  document frequency of every term (FTS5's vocabulary, in a B-tree a query seeks)
             gone   (a delta) the base's files it replaces or deletes

Why SQLite FTS5: it is in the standard library, its BM25 takes a weight per field, and
its pages are read through the page cache, which every sage of every run on the host
shares; a sage holds a connection and a few pages, not a copy of the index. A file is never
changed once written, so readers open it `immutable` and take no locks.

A delta is queried together with its base: the base's rows it hides are left out, its own
files are scored by `bm25` (postings.py) with the statistics of the whole commit. The base's files
keep FTS5's scores from the base's statistics, which a delta of at most `DELTA_SHARE` of the
files hardly moves; past that, the next commit gets a full file again (`indexplan.update`).

Every text file up to `MAX_FILE_BYTES` is indexed in full; larger and binary files are
listed (their paths can be named in an issue) but not searched.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from runner.core.storage import StorageError, write_failure
from runner.sage.filetable import FileTable
from runner.sage.indexplan import is_sha, nearest, read_meta, resolve, update
from runner.sage.indexwrite import MAX_FILE_BYTES, raw, uri
from runner.sage.postings import MAX_TOKENS, Postings, bm25, exact_weights, plain
from runner.sage.textmemo import TextMemo
from runner.sage.tokens import terms

__all__ = ["MAX_FILE_BYTES", "CodeIndex", "IndexWriteError", "bm25", "index_files", "load", "load_or_build", "terms"]

KEEP_INDEXES = 6
_MEMO = 50_000
_FIELDS = ("path", "defs", "body")


class IndexWriteError(StorageError):
    """A commit's index could not be written (a full disk, a file-size limit, a read-only
    directory): the run cannot start, so it ends like one refused at the start (exit 2) before
    any issue is read or journaled. Nothing of the index is left where a later run looks."""

    def __init__(self, repo: Path, commit: str, path: Path, exc: BaseException) -> None:
        super().__init__(
            f"cannot write the code index of {repo} at commit {commit} to {path}: "
            f"{write_failure(path.parent, exc)}. Nothing of it was kept: the next run that can write "
            "there (or with another --state-dir) builds it"
        )
        self.path = path


class CodeIndex:
    """A read-only view of one commit's index: a full file, or a delta with its base attached."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(uri(self.path, mode="ro", immutable="1"), uri=True, check_same_thread=False)
        try:
            meta = self._open()
        except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
            self.db.close()
            raise ValueError(f"{path} does not hold a usable code index ({exc})") from None
        self.commit = meta["commit"]
        self.file_count = int(meta["files"])
        self.doc_count = int(meta["docs"])
        self.token_count = int(meta["tokens"])
        self._texts = TextMemo(self._read_text)
        self._table: FileTable | None = None
        self._df: dict[str, int] = {}
        self._defs: dict[str, list[tuple[str, str, int, int]]] = {}
        self._defs_rows = 0
        self._def_files: dict[str, int] = {}
        self._tf: dict[str, dict[int, tuple[int, int, int]]] = {}
        self._lengths: dict[int, int] | None = None
        self.small = self.token_count <= MAX_TOKENS
        self.in_memory = self.small and not self.layered
        self._postings: Postings | None = None

    def prepare(self) -> None:
        """Read now what a sage reads once: the file table, and a small full index's postings,
        so its first issues do not pay for them."""
        _ = self.table
        if self.in_memory:
            self._memory()

    def _memory(self) -> Postings:
        if self._postings is None:
            self._postings = Postings(self.db)
        return self._postings

    def _open(self) -> dict[str, str]:
        # Reads, not a memory map: the pages then live in the kernel's page cache, shared by every
        # sage; mapped pages that only one sage touched counted as its own memory (229 MB USS on
        # a 16,000-file repository, 33 MB without).
        self.db.execute("PRAGMA mmap_size=0")
        meta = read_meta(self.db, "main")
        self.layered = meta.get("kind") == "delta"
        self.base_max = 0
        self.base_path: Path | None = None
        self._gone: frozenset[int] = frozenset()
        if self.layered:
            if Path(meta["base"]).name != meta["base"]:
                raise ValueError(f"its base {meta['base']!r} is not a file name")
            base = self.base_path = self.path.parent / meta["base"]
            if not base.is_file():
                raise ValueError(f"its base {base.name} is missing")
            self.db.execute("ATTACH DATABASE ? AS base", (uri(base, mode="ro", immutable="1"),))
            self.db.execute("PRAGMA base.mmap_size=0")
            if read_meta(self.db, "base").get("commit") != meta["base_commit"]:
                raise ValueError(f"its base {base.name} is of another commit")
            self.base_max = int(meta["base_max"])
            self._gone = frozenset(r[0] for r in self.db.execute("SELECT id FROM main.gone"))
        return meta

    def __getstate__(self) -> dict:
        return {"path": str(self.path)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(Path(state["path"]))  # type: ignore[misc]  # unpickling re-opens the same file

    def _select(self, sql: str, args: Iterable, id_at: int = 0) -> list[tuple]:
        """`sql` (its tables written `{s}.table`) over the file, or over the delta and its base
        with the base rows the delta replaced or deleted left out."""
        args = list(args)
        rows = self.db.execute(sql.format(s="main"), args).fetchall()
        if self.layered:
            gone = self._gone
            rows += [r for r in self.db.execute(sql.format(s="base"), args) if r[id_at] not in gone]
        return rows

    def doc_freq(self, terms: Iterable[str]) -> dict[str, int]:
        """{term: files holding it} for the terms any file holds (remembered per term: the
        issues of one repository keep using the same words)."""
        memo = self._df
        if len(memo) > _MEMO:
            memo.clear()
        wanted = [t for t in dict.fromkeys(terms) if t not in memo]
        if wanted:
            found: dict[str, int] = {}
            for schema in ("main", "base") if self.layered else ("main",):
                for chunk in _chunks([t for t in wanted if t not in found], 500):
                    marks = ",".join("?" * len(chunk))
                    found.update(self.db.execute(f"SELECT term, df FROM {schema}.terms WHERE term IN ({marks})", chunk))
            memo.update((t, found.get(t, 0)) for t in wanted)
        return {t: memo[t] for t in terms if memo.get(t, 0) > 0}

    def search(
        self, terms: list[str], weights: tuple[float, float, float], limit: int, ordered: bool = True
    ) -> list[tuple[int, float]]:
        """(file id, BM25 over path | defs | body, higher is better) of the best `limit` files,
        best first; not `ordered`, the same in any order (answered from memory, unsorted).
        Terms in more than half the files are left out when others remain: BM25 gives them no
        weight (FTS5 floors their negative IDF at 1e-6), yet FTS5 scored every file holding
        them, which took half a query's time on the small bench repository."""
        freq = self.doc_freq(terms)
        terms = [t for t in terms if t in freq]
        terms = [t for t in terms if freq[t] <= self.doc_count / 2] or terms
        if not terms:
            return []
        if self.in_memory and exact_weights(weights):
            return self._memory().search(terms, weights, limit, ordered)
        query = " OR ".join(f'"{t}"' for t in terms)
        sql = "SELECT rowid, -bm25(docs, ?, ?, ?) AS s FROM {s}.docs WHERE docs MATCH ? ORDER BY s DESC LIMIT ?"
        if not self.layered:
            return self.db.execute(sql.format(s="main"), (*weights, query, limit)).fetchall()
        gone = self._gone
        rows = self.db.execute(sql.format(s="base"), (*weights, query, limit + len(gone))).fetchall()
        found = [r for r in rows if r[0] not in gone]
        found += self._delta_scores(terms, weights)
        found.sort(key=lambda r: -r[1])
        return found[:limit]

    def holding(self, phrases: list[str], weights: tuple[float, float, float], limit: int) -> list[tuple[int, float]]:
        """Files holding any of `phrases` word for word (FTS5 phrase queries), best first. For the
        look-ups that need the set of files (an option, a message), not scores comparable across
        a delta and its base, so each part keeps FTS5's own."""
        if not phrases:
            return []
        if self.in_memory and exact_weights(weights) and plain(phrases):
            return self._memory().holding(phrases, weights, limit)
        query = " OR ".join(f'"{p}"' for p in phrases)
        sql = "SELECT rowid, -bm25(docs, ?, ?, ?) AS s FROM {s}.docs WHERE docs MATCH ? ORDER BY s DESC LIMIT ?"
        rows = self.db.execute(sql.format(s="main"), (*weights, query, limit)).fetchall()
        if self.layered:
            gone = self._gone
            rows += [
                r
                for r in self.db.execute(sql.format(s="base"), (*weights, query, limit + len(gone)))
                if r[0] not in gone
            ]
            rows = sorted(rows, key=lambda r: -r[1])[:limit]
        return rows

    def holders(self, phrases: list[str], weights: tuple[float, float, float], limit: int) -> list[int]:
        """The files of `holding`, in any order (from memory, unscored when all are among the best)."""
        if phrases and self.in_memory and exact_weights(weights) and plain(phrases):
            return self._memory().holders(phrases, weights, limit)
        return [fid for fid, _ in self.holding(phrases, weights, limit)]

    def _delta_scores(self, terms: list[str], weights: tuple[float, float, float]) -> list[tuple[int, float]]:
        """`bm25` of the delta's files that hold any of `terms`, from their counts per field."""
        freqs: dict[int, dict[str, float]] = {}
        for term in terms:
            for doc, counts in self._instances(term).items():
                freqs.setdefault(doc, {})[term] = sum(w * n for w, n in zip(weights, counts, strict=True))
        if not freqs:
            return []
        if self._lengths is None:
            self._lengths = dict(self.db.execute("SELECT id, tokens FROM main.lengths"))
        stats = (self.doc_count, self.token_count, self.doc_freq(terms))
        return [(doc, bm25(freq, self._lengths[doc], terms, stats)) for doc, freq in freqs.items()]

    def _instances(self, term: str) -> dict[int, tuple[int, int, int]]:
        """{delta file: the term's count in path, defs and body} (remembered per term)."""
        found = self._tf.get(term)
        if found is None:
            if len(self._tf) > _MEMO:
                self._tf.clear()
            found = self._tf[term] = {}
            rows = "SELECT doc, col, count(*) FROM main.instances WHERE term = ? GROUP BY doc, col"
            for doc, col, count in self.db.execute(rows, (term,)):
                counts = list(found.get(doc, (0, 0, 0)))
                counts[_FIELDS.index(col)] = count
                found[doc] = (counts[0], counts[1], counts[2])
        return found

    def defined(self, names: Iterable[str]) -> list[tuple[str, str, int, int]]:
        """(name, qualified name, file id, line) of every definition of any of `names` (remembered
        per name, as `doc_freq` is)."""
        names = list(dict.fromkeys(names))
        memo = self._remember_defs(names)
        return [row for n in names for row in memo[n]]

    def defining(self, names: Iterable[str]) -> dict[str, tuple[list[tuple[str, str, int, int]], int]]:
        """{name: (its definitions as `defined` lists them, how many files hold them)}."""
        names = list(dict.fromkeys(names))
        memo, files = self._remember_defs(names), self._def_files
        for name in names:
            if name not in files:
                files[name] = len({row[2] for row in memo[name]})
        return {name: (memo[name], files[name]) for name in names}

    def _remember_defs(self, names: list[str]) -> dict[str, list[tuple[str, str, int, int]]]:
        memo = self._defs
        if len(memo) > _MEMO or self._defs_rows > _MEMO * 10:
            memo.clear()
            self._def_files.clear()
            self._defs_rows = 0
        wanted = [n for n in names if n not in memo]
        if wanted:
            found: dict[str, list[tuple[str, str, int, int]]] = {n: [] for n in wanted}
            for chunk in _chunks(wanted, 500):
                marks = ",".join("?" * len(chunk))
                for row in self._select(
                    f"SELECT name, qual, file, line FROM {{s}}.defs WHERE name IN ({marks})", chunk, 2
                ):
                    found[row[0]].append(row)
                    self._defs_rows += 1
            memo.update(found)
        return memo

    @property
    def table(self) -> FileTable:
        """Every file's id, path and kind, read once per process (`filetable`); for a small
        index also by path, name and module."""
        if self._table is None:
            rows = self._select("SELECT id, path, kind, name, module FROM {s}.files", ())
            self._table = FileTable(rows, self.base_max, lookups=self.small)
        return self._table

    def file_id(self, path: str) -> int | None:
        if self.small:
            return self.table.by_path.get(path)
        rows = self._select("SELECT id FROM {s}.files WHERE path = ?", (raw(path),))
        return rows[0][0] if rows else None

    def named(self, name: str) -> list[int]:
        if self.small:
            return self.table.named(name.lower())
        return [r[0] for r in self._select("SELECT id FROM {s}.files WHERE name = ?", (raw(name.lower()),))]

    def stemmed(self, stem: str) -> list[tuple[int, str]]:
        """(file id, path) of files named `<stem>.<suffix>` or `<stem>s.<suffix>` (lower-case `stem`)."""
        if self.small:
            return self.table.stemmed(stem) + self.table.stemmed(f"{stem}s")
        rows: list[tuple] = []
        for name in (stem, f"{stem}s"):
            rows += self._select(
                "SELECT id, path FROM {s}.files WHERE name >= ? AND name < ?", (raw(f"{name}."), raw(f"{name}/"))
            )
        return [(fid, path.decode("utf-8", "surrogateescape")) for fid, path in rows]

    def modules(self, dotted: str) -> list[int]:
        if self.small:
            return list(self.table.by_module.get(dotted, ()))
        return [r[0] for r in self._select("SELECT id FROM {s}.files WHERE module = ?", (dotted,))]

    def info(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """{file id: (path, kind)} (every issue asks for a few hundred)."""
        files = self.table.info
        return {fid: files[fid] for fid in ids if fid in files}

    def lines(self, file_id: int) -> list[str]:
        """The file's lines; [] for one not searched. Recently used files are remembered
        (`runner.sage.textmemo`)."""
        return self._texts.lines(file_id)

    def lowered(self, file_id: int) -> tuple[str, list[int], dict[str, tuple[int, list[int]]]]:
        """The file's lines lower-cased and joined, and where each starts (`TextMemo.lowered`)."""
        return self._texts.lowered(file_id)

    def _read_text(self, file_id: int) -> str:
        schema = "base" if self.layered and file_id <= self.base_max else "main"
        row = self.db.execute(f"SELECT text FROM {schema}.files WHERE id = ?", (file_id,)).fetchone()
        return zlib.decompress(row[0]).decode("utf-8", "surrogateescape") if row and row[0] else ""

    def close(self) -> None:
        self.db.close()


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load(path: Path) -> CodeIndex:
    return CodeIndex(path)


def index_file(cache_dir: Path, commit: str) -> Path:
    return cache_dir / f"codeindex-{commit}.sqlite"


def index_files(path: Path) -> list[Path]:
    """The files a reader of `path` opens: itself, then its base if it is a delta (which is
    found beside it by name, so copying both into one directory keeps it readable)."""
    index = CodeIndex(path)
    index.close()
    return [index.path] + ([index.base_path] if index.base_path else [])


def load_or_build(repo: Path, commit: str, cache_dir: Path, keep: int = KEEP_INDEXES) -> tuple[CodeIndex, Path]:
    """The index of `commit` in `cache_dir`: found, a delta over an earlier full index, that
    earlier index compacted with the changes, or built. `IndexWriteError` when it cannot be
    written."""
    commit = commit if is_sha(commit) else resolve(repo, commit)
    path = index_file(cache_dir, commit)
    damaged = path.exists()
    if damaged:
        try:
            return CodeIndex(path), path
        except ValueError:
            pass
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if damaged:
            path.unlink(missing_ok=True)
        update(repo, commit, path, nearest(repo, commit, cache_dir, keep))
    except (sqlite3.Error, OSError) as exc:
        raise IndexWriteError(repo, commit, path, exc) from None
    _prune(cache_dir, path, keep)
    return CodeIndex(path), path


def _prune(cache_dir: Path, current: Path, keep: int) -> None:
    """Keep the newest `keep` index files and the bases they need (readers that hold one open keep reading it)."""
    found = sorted(cache_dir.glob("codeindex-*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    kept = [current, *(p for p in found[:keep] if p != current)][:keep]
    needed = set(kept)
    for path in kept:
        try:
            needed.update(index_files(path))
        except ValueError:
            continue
    for path in found:
        if path not in needed:
            path.unlink(missing_ok=True)
