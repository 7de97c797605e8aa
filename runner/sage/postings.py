"""A small commit's BM25 answered from memory: FTS5's own scores, without a query per search.

On a repository of a few hundred files the two FTS5 queries of an issue cost a sage about
1 ms, most of it SQLite stepping through the same few postings for every issue. A full index
of at most `MAX_TOKENS` tokens is therefore read once per process (the `docs` rows, whose
columns are the space-separated terms FTS5 tokenized) into postings per term: for each file
holding it, its count in path, defs and body, 12 bytes a posting in arrays. A search then adds
up each term's share of every file's score in Python, remembered per term and field weights.

The arithmetic is FTS5's `bm25()` (fts5_aux.c) step for step, so the scores are the same
floats and the order the same: the field-weighted frequency of a phrase, the document's
length in tokens over the average, `log((N - n + 0.5) / (n + 0.5))` floored at 1e-6, the
phrases added in query order, and the files tied on a score in rowid order as SQLite's
`ORDER BY ... LIMIT` keeps them. Larger indexes, and deltas (whose base files FTS5 scores
with the base's statistics), stay on SQLite, read through the page cache every sage shares:
a sage's memory does not grow with the repository.
"""

from __future__ import annotations

import math
import sqlite3
from array import array
from collections import Counter

MAX_TOKENS = 2_000_000
MAX_REMEMBERED = 1_000_000
K1 = 1.2
B = 0.75


class Postings:
    """Every term's postings of one full index, and its scores per term, in this process."""

    def __init__(self, db: sqlite3.Connection) -> None:
        lists: dict[str, tuple[array, array, array, array]] = {}
        lengths: dict[int, int] = {}
        for doc, *columns in db.execute("SELECT rowid, path, defs, body FROM main.docs"):
            size = 0
            for field, text in enumerate(columns):
                words = text.split() if text else []
                size += len(words)
                for term, count in Counter(words).items():
                    found = lists.get(term)
                    if found is None:
                        found = lists[term] = (array("i"), array("i"), array("i"), array("i"))
                    if not found[0] or found[0][-1] != doc:
                        found[0].append(doc)
                        for counts in found[1:]:
                            counts.append(0)
                    found[field + 1][-1] = count
            lengths[doc] = size
        self.lists = lists
        self.lengths = lengths
        self.rows = len(lengths)
        self.avgdl = sum(lengths.values()) / self.rows if self.rows else 0.0
        self._shares: dict[tuple[str, tuple[float, float, float]], list[tuple[int, float]]] = {}
        self._remembered = 0

    def doc_freq(self, term: str) -> int:
        found = self.lists.get(term)
        return len(found[0]) if found else 0

    def search(self, terms: list[str], weights: tuple[float, float, float], limit: int) -> list[tuple[int, float]]:
        """(file id, FTS5's `-bm25(docs, *weights)`) of the best `limit` files holding any of `terms`."""
        scores: dict[int, float] = {}
        for term in terms:
            for doc, share in self._share(term, weights):
                scores[doc] = scores.get(doc, 0.0) + share
        ranked = sorted(scores.items(), key=lambda row: (-row[1], row[0]))
        return ranked[:limit]

    def _share(self, term: str, weights: tuple[float, float, float]) -> list[tuple[int, float]]:
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

    def _compute(self, term: str, weights: tuple[float, float, float]) -> list[tuple[int, float]]:
        lists = self.lists.get(term)
        if lists is None:
            return []
        docs, *counts = lists
        idf = math.log((self.rows - len(docs) + 0.5) / (len(docs) + 0.5))
        if idf <= 0.0:
            idf = 1e-6
        lengths, avgdl = self.lengths, self.avgdl
        shares = []
        for i, doc in enumerate(docs):
            freq = weights[0] * counts[0][i] + weights[1] * counts[1][i] + weights[2] * counts[2][i]
            shares.append((doc, idf * ((freq * (K1 + 1.0)) / (freq + K1 * (1 - B + B * lengths[doc] / avgdl)))))
        return shares


def exact_weights(weights: tuple[float, float, float]) -> bool:
    """FTS5 adds a field's weight once per occurrence; a product equals that sum only for whole weights."""
    return all(float(w).is_integer() and 0 <= w < 1 << 20 for w in weights)
