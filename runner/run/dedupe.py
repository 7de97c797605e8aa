"""Possible duplicates within a batch: issues whose titles share most words.

Kept in the master because it needs every earlier title; memory is bounded by
remembering only the most recent `window` titles (an inverted index from word
to issue numbers, pruned as titles fall out of the window).
"""

from __future__ import annotations

import re
from collections import deque
from functools import lru_cache
from itertools import combinations
from math import ceil

_WORD = re.compile(r"\w+", re.UNICODE)
COMMON_WORD_HOLDERS = 200
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "when",
        "while",
        "after",
        "before",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "not",
        "no",
        "can",
        "cannot",
        "does",
        "do",
        "doesn't",
        "don't",
        "from",
        "by",
        "at",
        "as",
        "if",
        "into",
    ]
)


def title_words(title: str) -> frozenset[str]:
    words = set()
    for word in _WORD.findall(title.lower()):
        if word in _STOP or len(word) < 2:
            continue
        words.add(_stem(word))
    return frozenset(words)


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


class DuplicateFinder:
    def __init__(self, threshold: float = 0.6, window: int = 20_000, limit: int = 5) -> None:
        self.threshold = threshold
        self.limit = limit
        self._recent: deque[tuple[int, frozenset[str]]] = deque()
        self._window = window
        self._by_word: dict[str, set[int]] = {}
        self._words: dict[int, frozenset[str]] = {}

    def check(self, number: int, title: str) -> tuple[int, ...]:
        """Earlier issues whose titles look like this one; then remember this title."""
        words = title_words(title)
        matches = self._matches(number, words) if len(words) >= 2 else ()
        self._remember(number, words)
        return matches

    def remember(self, number: int, title: str) -> None:
        """Only remember this title: an issue the run does not take can still be a later one's twin."""
        self._remember(number, title_words(title))

    def _matches(self, number: int, words: frozenset[str]) -> tuple[int, ...]:
        """Titles sharing enough words, found through this title's rarest words only.

        A match shares at least `need` words; at most the common ones can be common, so it
        holds at least `k` of the rare words, and only their holders need a look.
        """
        need = ceil(self.threshold * len(words))
        holders = [(len(h), word, h) for word in words if (h := self._by_word.get(word)) is not None]
        rare = sorted(entry for entry in holders if entry[0] <= COMMON_WORD_HOLDERS)
        k = max(1, need - (len(holders) - len(rare)))
        if k > len(rare):
            return ()
        candidates = _holding_some(k, [h for _, _, h in rare])
        candidates.discard(number)
        scored = []
        size, known = len(words), self._words
        for other in candidates:
            theirs = known[other]
            common = len(words & theirs)
            if common >= need and common / (size + len(theirs) - common) >= self.threshold:
                scored.append((-common / (size + len(theirs) - common), other))
        return tuple(other for _, other in sorted(scored)[: self.limit])

    def _remember(self, number: int, words: frozenset[str]) -> None:
        if number in self._words:
            self._forget_words(number)
        self._words[number] = words
        for word in words:
            self._by_word.setdefault(word, set()).add(number)
        self._recent.append((number, words))
        while len(self._recent) > self._window:
            old, old_words = self._recent.popleft()
            if self._words.get(old) is old_words:
                self._forget_words(old)
                del self._words[old]

    def _forget_words(self, number: int) -> None:
        for word in self._words[number]:
            holders = self._by_word.get(word)
            if holders:
                holders.discard(number)
                if not holders:
                    del self._by_word[word]


def _holding_some(k: int, holder_sets: list[set[int]]) -> set[int]:
    """Issue numbers in at least one set (k=1), else in at least two of the `len - k + 2`
    smallest sets (pigeonhole: those must hold a title sharing `k` words with this one).

    Set unions and intersections run in C; a Python loop over every holder would not.
    """
    if k == 1:
        return set().union(*holder_sets)
    probe = holder_sets[: len(holder_sets) - k + 2]
    return set().union(*(a & b for a, b in combinations(probe, 2)))
