"""The text of the files a sage's issues keep pointing at, remembered within a budget.

A run's issues name the same few hundred files again and again; decompressing one from the
index costs more than the ranking that asks for its lines, so recently used files stay here,
up to `LINES_MEMO_CHARS` characters of text, least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

LINES_MEMO_CHARS = 8_000_000


@dataclass
class _Text:
    """A remembered file: its lines, its lower-cased text once asked for, and what both cost."""

    lines: list[str]
    chars: int
    lowered: tuple[str, list[int], dict[str, tuple[int, list[int]]]] | None = None


class TextMemo:
    """Lines (and lower-cased text) of files by id, read through `read` when not remembered."""

    def __init__(self, read: Callable[[int], str], budget: int = LINES_MEMO_CHARS) -> None:
        self._read = read
        self._budget = budget
        self._texts: OrderedDict[int, _Text] = OrderedDict()
        self._chars = 0

    def lines(self, file_id: int) -> list[str]:
        return self._text(file_id).lines

    def lowered(self, file_id: int) -> tuple[str, list[int], dict[str, tuple[int, list[int]]]]:
        """The lines lower-cased and joined, where each starts (for finding the lines that hold
        a word with `str.find`), and a dict for the finder to remember, per word, the lines it
        found (`runner.sage.analysis`: a run's issues ask the same files for the same words).
        Remembered with the lines, in the same budget."""
        text = self._text(file_id)
        if text.lowered is None:
            lowered = [line.lower() for line in text.lines]
            starts = [0, *accumulate(len(line) + 1 for line in lowered)][: len(lowered)]
            text.lowered = ("\n".join(lowered), starts, {})
            text.chars += len(text.lowered[0])
            self._chars += len(text.lowered[0])
            self._evict()
        return text.lowered

    def _text(self, file_id: int) -> _Text:
        found = self._texts.get(file_id)
        if found is not None:
            self._texts.move_to_end(file_id)
            return found
        text = self._read(file_id)
        found = self._texts[file_id] = _Text(text.splitlines(), len(text))
        self._chars += len(text)
        self._evict()
        return found

    def _evict(self) -> None:
        while self._chars > self._budget and len(self._texts) > 1:
            self._chars -= self._texts.popitem(last=False)[1].chars
