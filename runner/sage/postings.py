"""A small commit's BM25 answered from memory: FTS5's own scores, without a query per search.

On a repository of a few hundred files the FTS5 queries of an issue (two searches, a phrase
query per message it quotes) cost a sage about 1 ms, most of it SQLite stepping through the
same few postings for every issue. A full index of at most `MAX_TOKENS` tokens is therefore
read once per process (the `docs` rows, whose fields are the space-separated terms FTS5
tokenized) into postings per term: for each file holding it, its count in path, defs and body
(16 bytes a posting, in one array a term), beside the fields' text for phrases. A search adds
up each term's share of every file's score in Python, remembered per term and field weights;
a phrase is looked for in the fields of the files holding all its words.

The arithmetic is FTS5's `bm25()` (fts5_aux.c) step for step, so the scores are the same
floats and the order the same: the field-weighted frequency of a phrase, the document's
length in tokens over the average, `log((N - n + 0.5) / (n + 0.5))` floored at 1e-6, the
phrases added in query order, and the files tied on a score in rowid order as SQLite's
`ORDER BY ... LIMIT` keeps them. At `MAX_TOKENS` a sage holds about 25 MB. Larger indexes,
and deltas (whose base files FTS5 scores with the base's statistics), stay on SQLite, read
through the page cache every sage shares: a sage's memory does not grow with the repository.
"""

from __future__ import annotations

import math
import re
import sqlite3
from array import array
from collections import Counter
from functools import lru_cache

MAX_TOKENS = 1_000_000
MAX_REMEMBERED = 100_000
K1 = 1.2  # FTS5's bm25() constants
B = 0.75
_PLAIN = re.compile(r"[a-z0-9_\s]*")


class Postings:
    """Every term's postings of one full index, and its scores per term, in this process."""

    def __init__(self, db: sqlite3.Connection) -> None:
        lists: dict[str, array] = {}
        lengths: dict[int, int] = {}
        texts: dict[int, tuple[str, ...]] = {}
        for doc, *columns in db.execute("SELECT rowid, path, defs, body FROM main.docs"):
            texts[doc] = tuple(f" {text} " for text in columns)
            counts: dict[str, list[int]] = {}
            size = 0
            for field, text in enumerate(columns):
                words = text.split() if text else []
                size += len(words)
                for term, count in Counter(words).items():
                    counts.setdefault(term, [doc, 0, 0, 0])[field + 1] = count
            for term, row in counts.items():
                found = lists.get(term)
                if found is None:
                    found = lists[term] = array("i")
                found.extend(row)
            lengths[doc] = size
        self.lists = lists
        self.lengths = lengths
        self.texts = texts
        self.rows = len(lengths)
        self.avgdl = sum(lengths.values()) / self.rows if self.rows else 0.0
        self._shares: dict[tuple[str, tuple[float, float, float]], dict[int, float]] = {}
        self._remembered = 0
        self._holders: dict[str, frozenset[int]] = {}
        self._held = 0

    def doc_freq(self, term: str) -> int:
        return len(self.lists.get(term, ())) // 4

    def search(
        self, terms: list[str], weights: tuple[float, float, float], limit: int, ordered: bool = True
    ) -> list[tuple[int, float]]:
        """(file id, FTS5's `-bm25(docs, *weights)`) of the best `limit` files holding any of `terms`.
        Not `ordered`: the same files and scores, in no particular order when all of them are
        among the best (sorting them was a fifth of a search)."""
        scores: dict[int, float] = {}
        for term in terms:
            add_to(scores, self._share(term, weights))
        if not ordered and len(scores) <= limit:
            return list(scores.items())
        return best(scores, limit)

    def holding(self, phrases: list[str], weights: tuple[float, float, float], limit: int) -> list[tuple[int, float]]:
        """As `search`, for FTS5 phrase queries: each phrase's words next to each other in one field."""
        return best(self._phrase_scores(self._each_instances(phrases), weights), limit)

    def holders(self, phrases: list[str], weights: tuple[float, float, float], limit: int) -> list[int]:
        """The files `holding` finds, in no particular order: when `limit` or fewer files hold
        the phrases they are all among the best, and their scores are not worked out."""
        instances = self._each_instances(phrases)
        found: set[int] = set().union(*instances)
        if len(found) <= limit:
            return sorted(found)
        return [doc for doc, _ in best(self._phrase_scores(instances, weights), limit)]

    def _each_instances(self, phrases: list[str]) -> list[dict[int, tuple[int, int, int]]]:
        return [self._instances(phrase.split()) for phrase in phrases]

    def _phrase_scores(
        self, instances: list[dict[int, tuple[int, int, int]]], weights: tuple[float, float, float]
    ) -> dict[int, float]:
        """Each file's summed BM25 addends of the phrases whose `_instances` these are."""
        scores: dict[int, float] = {}
        for counts in instances:
            idf = self._idf(len(counts))
            for doc, (path, defs, body) in counts.items():
                freq = weights[0] * path + weights[1] * defs + weights[2] * body
                scores[doc] = scores.get(doc, 0.0) + self._term_share(idf, freq, doc)
        return scores

    def _instances(self, words: list[str]) -> dict[int, tuple[int, int, int]]:
        """{file: how often the words stand in this order in path, defs and body}: FTS5 counts
        every place a phrase starts, overlapping ones too."""
        if not words or any(word not in self.lists for word in words):
            return {}
        rarest, *others = sorted((self._docs(word) for word in words), key=len)
        docs = rarest.intersection(*others) if others else rarest
        needle = f" {' '.join(words)} "
        found: dict[int, tuple[int, int, int]] = {}
        for doc in sorted(docs):
            path, defs, body = (_occurrences(text, needle) for text in self.texts[doc])
            if path or defs or body:
                found[doc] = (path, defs, body)
        return found

    def _docs(self, term: str) -> frozenset[int]:
        """The files holding `term` (remembered: an issue's phrases and the next issues' share words)."""
        found = self._holders.get(term)
        if found is None:
            if self._held > MAX_REMEMBERED:
                self._holders.clear()
                self._held = 0
            found = self._holders[term] = frozenset(self.lists[term][0::4])
            self._held += len(found)
        return found

    def _share(self, term: str, weights: tuple[float, float, float]) -> dict[int, float]:
        """The term's addend to the score of each file holding it (it depends on nothing else)."""
        key = (term, weights)
        found = self._shares.get(key)
        if found is None:
            if self._remembered > MAX_REMEMBERED:
                self._shares.clear()
                self._remembered = 0
            found = self._shares[key] = self._compute(term, weights)
            self._remembered += len(found)
        return found

    def _compute(self, term: str, weights: tuple[float, float, float]) -> dict[int, float]:
        row = self.lists.get(term, ())
        idf = self._idf(len(row) // 4)
        shares = {}
        for at in range(0, len(row), 4):
            freq = weights[0] * row[at + 1] + weights[1] * row[at + 2] + weights[2] * row[at + 3]
            shares[row[at]] = self._term_share(idf, freq, row[at])
        return shares

    def _idf(self, hits: int) -> float:
        idf = math.log((self.rows - hits + 0.5) / (hits + 0.5))
        return idf if idf > 0.0 else 1e-6

    def _term_share(self, idf: float, freq: float, doc: int) -> float:
        return idf * ((freq * (K1 + 1.0)) / (freq + K1 * (1 - B + B * self.lengths[doc] / self.avgdl)))


def add_to(scores: dict[int, float], shares: dict[int, float]) -> None:
    """`scores[key] += share` for each of `shares`, from 0.0 (which the first term's shares are)."""
    if not scores:
        scores.update(shares)
        return
    get = scores.get
    for key, share in shares.items():
        scores[key] = get(key, 0.0) + share


def best(scores: dict[int, float], limit: int) -> list[tuple[int, float]]:
    """The `limit` highest (key, score), ties by key, as SQLite's `ORDER BY score DESC LIMIT` keeps
    rows (a reversed sort keeps equal keys in the order they come: ascending)."""
    ranked = sorted(sorted(scores), key=scores.__getitem__, reverse=True)[:limit]
    return [(key, scores[key]) for key in ranked]


def bm25(freq: dict[str, float], length: int, terms: list[str], stats: tuple[int, int, dict[str, int]]) -> float:
    """FTS5's `bm25()` of one document, from its field-weighted count of each term and its length
    in tokens, with the statistics of a whole commit: (documents, tokens, {term: documents
    holding it}). It scores a delta's files on the scale FTS5 scores the base's."""
    docs, tokens, df = stats
    norm = K1 * (1 - B + B * length / (tokens / max(docs, 1) or 1.0))
    score = 0.0
    for term in terms:
        f = freq.get(term, 0.0)
        if f:
            hits = df.get(term, 0)
            idf = max(math.log((docs - hits + 0.5) / (hits + 0.5)), 1e-6)
            score += idf * f * (K1 + 1) / (f + norm)
    return score


def _occurrences(text: str, needle: str) -> int:
    count, at = 0, text.find(needle)
    while at >= 0:
        count += 1
        at = text.find(needle, at + 1)
    return count


def plain(phrases: list[str]) -> bool:
    """Phrases of the index's own tokens (lower-case letters, digits, `_`), which FTS5 splits only
    at spaces: nothing but those and whitespace (`\\s` is `str.split`'s whitespace), one match a phrase."""
    return all(_PLAIN.fullmatch(phrase) for phrase in phrases)


@lru_cache(maxsize=64)
def exact_weights(weights: tuple[float, float, float]) -> bool:
    """FTS5 adds a field's weight once per occurrence; a product equals that sum only for whole weights."""
    return all(float(w).is_integer() and 0 <= w < 1 << 20 for w in weights)
