"""Whole-word phrase search, the way triage reads an issue's words.

Text is normalized once (lower case, every run of characters other than word
characters, `+` and `#` one space, so "I'm" reads "i m" and "C++" stays), and a
phrase matches only as whole words. Phrase lists are grouped by their first word,
so a list of a hundred phrases costs one set intersection, not a hundred scans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^\w+#]+")
_ASCII_NON_WORD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) in "_+#")}


def normalize(text: str) -> str:
    """Lower case, each run of characters other than word characters, `+` and `#` one space."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_NON_WORD).split())
    return _NON_WORD.sub(" ", text.lower()).strip()


class Phrases:
    """Phrases to look for in `Words`, grouped by first word: only the groups whose first word the
    text holds are looked at, so a long list costs one set intersection, not a loop over it."""

    __slots__ = ("_by_head", "_heads", "plain")

    def __init__(self, phrases: Iterable[str]) -> None:
        self.plain = tuple(dict.fromkeys(n for n in (normalize(p) for p in phrases) if n))
        self._by_head: dict[str, list[tuple[int, str, str]]] = {}
        for index, words in enumerate(self.plain):
            self._by_head.setdefault(words.split()[0], []).append((index, f" {words} ", words))
        self._heads = frozenset(self._by_head)

    def first_in(self, words: Words) -> str | None:
        """The earliest of these phrases (in list order) the text holds as whole words."""
        best: tuple[int, str] | None = None
        for head in self._heads.intersection(words.words):
            for index, phrase, plain in self._by_head[head]:
                if (best is None or index < best[0]) and (phrase == f" {head} " or phrase in words.text):
                    best = (index, plain)
                    break
        return best[1] if best else None


def padded(phrases: Iterable[str]) -> Phrases:
    return Phrases(phrases)


class Words:
    """Normalized text padded for whole-word phrase search, and its set of words."""

    __slots__ = ("text", "words")

    def __init__(self, normalized: str) -> None:
        self.text = f" {normalized} "
        self.words = frozenset(normalized.split())

    def first(self, phrases: Phrases) -> str | None:
        """The first of `phrases` the text holds, as whole words."""
        return phrases.first_in(self)
