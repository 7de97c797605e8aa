"""A searchable snapshot of one repository at one commit.

Built from git objects (never the working tree, which may be dirty): tracked
paths, an inverted index of identifiers and words to the files that contain
them, and the lines of each text file so a plan can quote them. The master
builds it once per commit and pickles it into the state directory; every sage
loads that file in its initializer, so per-issue work never touches git.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import tempfile
import threading
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from runner.git.cmd import GitError, git_proc, open_git

MAX_FILE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_LINE_MEMO = 500_000
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "have",
        "not",
        "are",
        "was",
        "were",
        "when",
        "what",
        "which",
        "while",
        "will",
        "would",
        "should",
        "could",
        "can't",
        "cannot",
        "into",
        "onto",
        "than",
        "then",
        "them",
        "they",
        "their",
        "there",
        "here",
        "your",
        "you",
        "our",
        "out",
        "but",
        "all",
        "any",
        "use",
        "used",
        "using",
        "get",
        "set",
        "has",
        "had",
        "its",
        "it's",
        "also",
        "just",
        "like",
        "only",
        "some",
        "such",
        "very",
        "def",
        "class",
        "return",
        "self",
        "none",
        "true",
        "false",
        "null",
        "import",
        "from",
        "elif",
        "else",
        "try",
        "except",
        "pass",
        "lambda",
        "var",
        "let",
        "const",
        "function",
        "new",
        "public",
        "private",
        "static",
        "void",
        "int",
        "str",
        "string",
        "bool",
        "http",
        "https",
        "www",
        "com",
        "org",
        "issue",
        "issues",
        "please",
        "thanks",
        "thank",
    ]
)


@dataclass
class RepoIndex:
    commit: str
    paths: list[str]
    postings: dict[str, list[tuple[int, int]]]
    lines: dict[int, list[str]] = field(default_factory=dict)
    path_tokens: dict[str, list[int]] = field(default_factory=dict)
    by_name: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._forget_memos()

    def _forget_memos(self) -> None:
        """Per-process caches, filled as a sage meets tokens and files; never pickled."""
        self._idf_memo: dict[str, float] = {}
        self._content_memo: dict[str, list[tuple[int, float]]] = {}
        self._lowered_memo: dict[int, tuple[str, list[int]]] = {}
        self._lines_memo: dict[int, dict[str, tuple[int, ...]]] = {}
        self._memo_size = 0
        self._path_id_memo: dict[str, int] = {}

    def idf(self, token: str) -> float:
        memo = self._idf_memo
        value = memo.get(token)
        if value is None:
            value = memo[token] = math.log(1 + len(self.paths) / (1 + len(self.postings.get(token, ()))))
        return value

    def content_postings(self, token: str) -> list[tuple[int, float]]:
        """(path id, 1 + log(count)) for a token rare enough to rank by; [] for a common one."""
        memo = self._content_memo
        found = memo.get(token)
        if found is None:
            postings = self.postings.get(token) or ()
            too_common = len(postings) > max(50, len(self.paths) // 2)
            found = memo[token] = [] if too_common else [(pid, 1 + math.log(n)) for pid, n in postings]
        return found

    def path_id(self, path: str) -> int | None:
        ids = self._path_id_memo
        if not ids:
            ids.update((p, i) for i, p in enumerate(self.paths))
        return ids.get(path)

    def first_lines_with_any(self, path_id: int, words: tuple[str, ...], limit: int) -> tuple[int, ...]:
        """0-based numbers of the first `limit` lines holding any of `words`.

        Those are among each word's first `limit`, which are remembered per file and word:
        issues keep naming the same identifiers.
        """
        memo = self._lines_memo.get(path_id)
        if memo is None:
            if self._memo_size >= MAX_LINE_MEMO:
                self._lines_memo.clear()
                self._memo_size = 0
            memo = self._lines_memo[path_id] = {}
        numbers: set[int] = set()
        for word in words:
            found = memo.get(word)
            if found is None:
                found = memo[word] = self._first_lines(path_id, word, limit)
                self._memo_size += 1
            if found:
                numbers.update(found)
        return tuple(sorted(numbers)[:limit])

    def _first_lines(self, path_id: int, word: str, limit: int) -> tuple[int, ...]:
        text, starts = self._lowered(path_id)
        numbers: list[int] = []
        at = text.find(word)
        while at >= 0 and len(numbers) < limit:
            numbers.append(bisect_right(starts, at) - 1)
            end = text.find("\n", at)
            at = -1 if end < 0 else text.find(word, end)
        return tuple(numbers)

    def _lowered(self, path_id: int) -> tuple[str, list[int]]:
        """A file's lines lower-cased and joined, with each line's start offset."""
        found = self._lowered_memo.get(path_id)
        if found is None:
            lowered = [line.lower() for line in self.lines.get(path_id, ())]
            starts, offset = [], 0
            for line in lowered:
                starts.append(offset)
                offset += len(line) + 1
            found = self._lowered_memo[path_id] = ("\n".join(lowered), starts)
        return found

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.endswith("_memo")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._forget_memos()


def tokens(text: str) -> list[str]:
    """Lower-case words and identifier parts: `authenticateUser_v2` -> authenticateuser_v2, authenticate, user."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out += _word_tokens(word)
    return out


@lru_cache(maxsize=1 << 16)
def _word_tokens(word: str) -> tuple[str, ...]:
    """One word's tokens; cached because issues and files repeat the same identifiers."""
    lower = word.lower()
    out = [lower] if lower not in STOPWORDS else []
    if "_" in word or not word.islower():
        out.extend(p for p in _parts(word) if p not in STOPWORDS and p != lower)
    return tuple(out)


def _parts(word: str) -> list[str]:
    return [p.lower() for chunk in word.split("_") for p in _CAMEL.findall(chunk) if len(p) >= 3]


def build(repo: Path, commit: str) -> RepoIndex:
    entries = _ls_tree(repo, commit)
    index = RepoIndex(commit=commit, paths=[path for path, _, _ in entries], postings={})
    postings: dict[str, list[tuple[int, int]]] = {}
    wanted = _text_candidates(entries)
    for path_id, data in _read_blobs(repo, [(i, entries[i][1]) for i in wanted]):
        text = _as_text(data)
        if text is None:
            continue
        index.lines[path_id] = text.splitlines()
        for token, count in Counter(tokens(text)).items():
            postings.setdefault(token, []).append((path_id, count))
    index.postings = postings
    for path_id, path in enumerate(index.paths):
        index.by_name.setdefault(os.path.basename(path).lower(), []).append(path_id)
        for token in set(tokens(path.replace("/", " ").replace(".", " "))):
            index.path_tokens.setdefault(token, []).append(path_id)
    return index


def load_or_build(repo: Path, commit: str, cache_dir: Path) -> tuple[RepoIndex, Path]:
    """The cached index for `commit`, building and saving it on first use.

    Keyed by the commit alone: an index is a function of the commit's tree, so clones of
    one repository at the same commit share it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"index-{commit}.pickle"
    if path.exists():
        try:
            return load(path), path
        except Exception:  # a damaged cache can fail in many ways (bad opcode, text, import); rebuild it
            path.unlink(missing_ok=True)
    index = build(repo, commit)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return index, path


def load(path: Path) -> RepoIndex:
    with path.open("rb") as handle:
        index = pickle.load(handle)
    if not isinstance(index, RepoIndex):
        raise pickle.UnpicklingError(f"{path} does not hold a repository index")
    return index


def _ls_tree(repo: Path, commit: str) -> list[tuple[str, str, int]]:
    proc = git_proc(repo, "ls-tree", "-r", "-z", "--long", "--full-tree", commit, "--")
    if proc.returncode != 0:
        raise GitError(f"git ls-tree {commit} in {repo}: {proc.stderr.decode(errors='replace').strip()}")
    out = proc.stdout
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha, size = meta.split()
        if kind == b"blob" and mode != b"120000":
            entries.append((name.decode("utf-8", "surrogateescape"), sha.decode(), int(size)))
    return entries


def _text_candidates(entries: list[tuple[str, str, int]]) -> list[int]:
    chosen, total = [], 0
    for i, (_, _, size) in sorted(enumerate(entries), key=lambda e: e[1][2]):
        if size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES:
            continue
        chosen.append(i)
        total += size
    return sorted(chosen)


def _read_blobs(repo: Path, wanted: list[tuple[int, str]]):
    """Stream blob contents through one `git cat-file --batch` process."""
    if not wanted:
        return
    proc = open_git(repo, "cat-file", "--batch")
    assert proc.stdin and proc.stdout
    request = "".join(f"{sha}\n" for _, sha in wanted).encode()
    feeder = threading.Thread(target=_feed, args=(proc.stdin, request), daemon=True)
    feeder.start()
    try:
        for path_id, _ in wanted:
            header = proc.stdout.readline().split()
            size = int(header[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)
            yield path_id, data
    finally:
        proc.stdout.close()
        proc.wait()
        feeder.join()


def _feed(pipe, data: bytes) -> None:
    """Write requests from a thread so a full output pipe cannot deadlock us."""
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, ValueError):
        pass


def _as_text(data: bytes) -> str | None:
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
