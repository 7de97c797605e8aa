"""Read the elements of a JSON array one at a time, in bounded memory; decode JSON items.

Every item, array element or line of JSON Lines, is decoded by the standard library's
`json`: integers of any size, lone surrogate escapes kept as they are, errors with a
position, and one decoder for both formats. Integers longer than Python converts
(`sys.get_int_max_str_digits`) become `LongInteger` placeholders instead of an error.

An array is read through a window on the stream. Each element is decoded in place
where the window holds it and the comma after it, which is almost always; otherwise
(the last element, one the window cuts, one that does not decode or nests too deep)
regular expressions find where it ends, stepping over strings and everything but
brackets in C, the window grows to hold it, and it is decoded alone, so an error is
reported where it is.

Two bounds keep a hostile or broken file from costing memory that grows with the file:
nesting (`MAX_DEPTH`: an issue object is a few levels deep, and without a bound a small
file of brackets exhausts the decoder's recursion limit or, in a streaming parser that
keeps a path per level, memory that grows with the square of the depth) and the length
of one item (`MAX_ITEM_CHARS`: GitHub caps an issue body at 65,536 characters, so a
real issue object is far below it, while an element that never closes would otherwise
be held until the end of the file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn, TextIO

MAX_DEPTH = 64
MAX_ITEM_CHARS = 8 << 20
CHUNK = 1 << 16

# Everything up to the next bracket, or up to a string that does not end in the text.
_FLAT = re.compile(r'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_ATOM = re.compile(r'[^\s,\[\]{}":]*+')
_SPACE = re.compile(r"[ \t\r\n]*+")
_COMMA = re.compile(r"[ \t\r\n]*+,[ \t\r\n]*+")
_OPEN = frozenset("[{")


@dataclass(frozen=True, slots=True)
class LongInteger:
    """An integer with more digits than Python converts: valid JSON, usable as nothing."""

    digits: int
    negative: bool = False

    def __str__(self) -> str:
        return f"{'a negative' if self.negative else 'an'} integer of {self.digits} digits"


def _integer(text: str) -> int | LongInteger:
    try:
        return int(text)
    except ValueError:
        return LongInteger(len(text.lstrip("-")), text.startswith("-"))


_DECODER = json.JSONDecoder()
_LONG_INTEGER_DECODER = json.JSONDecoder(parse_int=_integer)


class JSONTextError(ValueError):
    """The input is not a JSON array of items runner can read; `line` and `column` (1-based) say where."""

    def __init__(self, msg: str, line: int, column: int) -> None:
        super().__init__(f"{msg}: line {line} column {column}")
        self.msg, self.line, self.column = msg, line, column


def loads(text: str) -> object:
    """`json.loads`, with integers too long to convert left as `LongInteger`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        return _LONG_INTEGER_DECODER.decode(text)


def too_deep(text: str, start: int = 0, end: int | None = None, max_depth: int = MAX_DEPTH) -> int | None:
    """Index of the first bracket nested deeper than `max_depth` in the value at `start`.

    `end`, where the value is known to end, only makes the common case cheaper. Brackets
    inside strings do not count; text that is not JSON is left for the decoder.
    """
    if text.count("[", start, end) + text.count("{", start, end) <= max_depth:
        return None
    pos, depth = _brackets(text, start, 0, max_depth)
    return pos if depth > max_depth else None


def _brackets(text: str, pos: int, depth: int, max_depth: int) -> tuple[int, int]:
    """Step over `text` from `pos`, at nesting `depth`, one bracket at a time.

    Returns (position, depth): depth 0 just after the bracket that closes the value;
    depth > `max_depth` at the opening bracket one level too deep; otherwise the end of
    `text`, or the start of a string that does not end in it.
    """
    end = len(text)
    while True:
        pos = _match_end(_FLAT, text, pos)
        if pos >= end or text[pos] == '"':
            return pos, depth
        if text[pos] in _OPEN:
            depth += 1
            if depth > max_depth:
                return pos, depth
        else:
            depth -= 1
            if depth <= 0:
                return pos + 1, 0
        pos += 1


def array_values(
    stream: TextIO, max_depth: int = MAX_DEPTH, max_chars: int = MAX_ITEM_CHARS
) -> Iterator[tuple[int, int, object]]:
    """(line, column, value) of each element of the JSON array that `stream` holds.

    Raises `JSONTextError` for text that is not JSON, an element nested deeper than
    `max_depth` or longer than `max_chars`, and an input that ends inside the array.
    """
    reader = _Reader(stream)
    pos = reader.skip_space(0)
    if reader.char(pos) != "[":
        reader.fail("Expecting '['", pos)
    pos = reader.skip_space(pos + 1)
    if reader.char(pos) == "]":
        reader.finish(pos + 1)
        return
    decode, comma = _DECODER.raw_decode, _COMMA.match
    while True:
        text = reader.text
        try:
            value, end = decode(text, pos)
            delimited = comma(text, end)
        except (ValueError, RecursionError):
            delimited = None
        if delimited is not None and end - pos <= max_chars and too_deep(text, pos, end, max_depth) is None:
            yield (*reader.where(pos), value)
            pos = delimited.end()
            continue
        # Not followed by a comma in the window (the last element, or one the window cuts: a
        # number may go on), not JSON, or too deep: find where it ends, then decode it alone.
        pos = reader.skip_space(pos)
        end = _element_end(reader, pos, max_depth, max_chars)
        if end - pos > max_chars:
            reader.fail(f"an item longer than {max_chars} characters", pos)
        value = reader.decode(pos, end)
        yield (*reader.where(pos), value)
        pos = reader.skip_space(end)
        punctuation = reader.char(pos)
        if punctuation == "]":
            reader.finish(pos + 1)
            return
        if punctuation != ",":
            reader.fail("Expecting ',' delimiter" if punctuation else "the input ends early", pos)
        pos = reader.skip_space(pos + 1)


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where `pattern`'s match at `pos` ends. Each pattern given here also matches the empty
    string, at any position, so a match always exists."""
    match = pattern.match(text, pos)
    assert match is not None
    return match.end()


def _element_end(reader: _Reader, start: int, max_depth: int, max_chars: int) -> int:
    first = reader.char(start)
    if first in _OPEN:
        return _container_end(reader, start, max_depth, max_chars)
    if first == '"':
        while (match := _STRING.match(reader.text, start)) is None and reader.more(start, max_chars):
            pass
        if match is None:
            reader.fail("Unterminated string starting at", start)
        return match.end()
    while (end := _match_end(_ATOM, reader.text, start)) == len(reader.text) and reader.more(start, max_chars):
        pass
    if end == start:
        reader.fail("Expecting value" if first else "the input ends early", start)
    return end


def _container_end(reader: _Reader, start: int, max_depth: int, max_chars: int) -> int:
    pos, depth = start, 0
    while True:
        pos, depth = _brackets(reader.text, pos, depth, max_depth)
        if depth == 0:
            return pos
        if depth > max_depth:
            reader.fail(f"nested more than {max_depth} levels deep", pos)
        if not reader.more(start, max_chars):
            reader.fail("the input ends early", len(reader.text))


class _Reader:
    """A growing window on the stream; indices into `text` stay valid until `release`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""
        self._line, self._column, self._mark = 1, 1, 0

    def more(self, start: int, max_chars: int = MAX_ITEM_CHARS) -> bool:
        """Read at least as much again as the window holds (linear overall, however long the
        element being read from `start`); False at the end of the input."""
        if len(self.text) - start > max_chars:
            self.fail(f"an item longer than {max_chars} characters", start)
        chunk = self.stream.read(max(CHUNK, len(self.text)))
        self.text += chunk
        return bool(chunk)

    def char(self, pos: int) -> str:
        while pos >= len(self.text):
            if not self.more(pos):
                return ""
        return self.text[pos]

    def skip_space(self, pos: int) -> int:
        """Index of the next character that is not white space; forgets the text before it."""
        while (pos := _match_end(_SPACE, self.text, pos)) == len(self.text):
            pos = self.release(pos)
            if not self.more(pos):
                break
        return self.release(pos)

    def release(self, pos: int) -> int:
        """Forget the text before `pos` once there is enough of it; returns `pos`'s new index."""
        if pos < CHUNK:
            return pos
        self.where(pos)
        self.text = self.text[pos:]
        self._mark = 0
        return 0

    def decode(self, start: int, end: int) -> object:
        try:
            return loads(self.text[start:end])
        except json.JSONDecodeError as exc:
            self.fail(exc.msg.removesuffix(" at"), start + exc.pos)

    def where(self, pos: int) -> tuple[int, int]:
        """Line and column of `pos`; positions are asked for in increasing order."""
        newlines = self.text.count("\n", self._mark, pos)
        if newlines:
            self._line += newlines
            self._column = pos - self.text.rfind("\n", self._mark, pos)
        else:
            self._column += pos - self._mark
        self._mark = pos
        return self._line, self._column

    def finish(self, pos: int) -> None:
        pos = self.skip_space(pos)
        if self.char(pos):
            self.fail("Extra data", pos)

    def fail(self, msg: str, pos: int) -> NoReturn:
        raise JSONTextError(msg, *self.where(pos))
