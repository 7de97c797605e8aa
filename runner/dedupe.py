"""Possible duplicates within a batch: issues whose titles share most words.

Kept in the master because it needs every earlier title; memory is bounded by
remembering only the most recent `window` titles (an inverted index from word
to issue numbers, pruned as titles fall out of the window).
"""
from __future__ import annotations

import re
from collections import deque

_WORD = re.compile(r"\w+", re.UNICODE)
COMMON_WORD_HOLDERS = 200
_STOP = frozenset(
    "a an the and or of to in on for with when while after before is are was were be been it its "
    "this that not no can cannot does do doesn't don't from by at as if into".split()
)


def title_words(title: str) -> frozenset[str]:
    words = set()
    for word in _WORD.findall(title.lower()):
        if word in _STOP or len(word) < 2:
            continue
        words.add(_stem(word))
    return frozenset(words)


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

    def _matches(self, number: int, words: frozenset[str]) -> tuple[int, ...]:
        candidates: set[int] = set()
        for word in words:
            holders = self._by_word.get(word, ())
            if len(holders) <= COMMON_WORD_HOLDERS:
                candidates.update(holders)
        candidates.discard(number)
        scored = []
        for other in candidates:
            theirs = self._words[other]
            similarity = len(words & theirs) / len(words | theirs)
            if similarity >= self.threshold:
                scored.append((-similarity, other))
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
