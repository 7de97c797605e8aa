"""Text an issue quotes that the code holds verbatim: command-line options, messages, passages.

    `pytest --collect-only`               -> the option `--collect-only`, found in a file that
                                             spells it in quotes (`addoption("--collect-only")`)
    `ValueError: Scalar operands are ...` -> the message, found where the code raises or prints it
    `> Using pytest.skip outside of a test is not allowed.`
    a long line of plain sentences        -> a docstring or a printed hint the issue copied

A message is looked up as phrases of `WINDOW` consecutive code tokens (stop words left out,
as the index stores text), one from its start and one from its end, so a message the code
builds from parts (`f"... {name} ..."`) is still found by the words on either side.
"""

from __future__ import annotations

import re
import string

from runner.sage.codeindex import terms

WINDOW = 5
MAX_FRAGMENTS = 24
MAX_OPTIONS = 8
_OPTION = re.compile(r"(?<![\w-])(--[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)(?![\w-])")
MIN_WORDS = 3
_CODE_CHARS = re.compile(r"[()\[\]{}<>=_;]")
PROSE_WORDS = 8
PROSE_SHARE = 0.9
MAX_PROSE = 12
_ASCII_LETTERS = string.ascii_letters.encode("ascii")
_RAISED = re.compile(r"^(?:E\s+)?(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning|Failure)\b")
# a traceback's frame: Python's `File "x.py", line 3`, IPython's `File ~/x.py:3, in f`, pytest's `x.py:3: in f`
_FRAME_PATH = re.compile(r'^\s*(?:File "([^"]+)", line \d+|File (\S+\.py):\d+|(\S+\.py):\d+: in )')
# where a message shows in an issue: after an exception's name, a log level, or a
# `file:line:` location (compilers, linters, Sphinx), or quoted as a Markdown block quote
_MESSAGE_LINES = (
    re.compile(r"^\s*(?:E\s+)?(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|Failure)\b:\s*(.+)$"),
    re.compile(r"(?:^|[\s\"'`(:])(?:WARNING|ERROR|CRITICAL|FATAL|Warning|Error|warning|error)\s*:\s*(.+)$"),
    re.compile(r"^\s*\S+:\d+(?::\d+)?:\s*(?:[A-Z]\d{3,5}:?\s*)?(.+)$"),
    re.compile(r"^\s*>(?!>)(?!\s{2})\s?(.+)$"),
)
# the four as one pattern: alternatives are tried in order, so the first that matches wins as
# before, and its group is the last matched; a line is matched once, not up to four times
_MESSAGE_LINE = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in _MESSAGE_LINES))


def options(text: str) -> list[str]:
    """Long command-line options (`--collect-only`; `--recursive=y` gives `--recursive`), in order
    (a text without `--` is not scanned)."""
    found = dict.fromkeys(_OPTION.findall(text) if "--" in text else ())
    return [option for option in found if len(option) > 3][:MAX_OPTIONS]


def message_phrases(text: str) -> list[list[str]]:
    """For each message the issue shows (see `_MESSAGE_LINES`) and each line of plain sentences
    of at least `PROSE_WORDS` tokens (up to `MAX_PROSE`), its phrases (up to two, of `MIN_WORDS`
    to `WINDOW` tokens) as FTS5 phrase queries: tokens joined by spaces. The reporter's own
    sentences seldom match five code tokens in a row; a passage copied from a docstring or a
    hint the program prints does."""
    found: list[list[str]] = []
    seen: set[str] = set()
    prose = 0
    for raw in text.splitlines():
        match = _MESSAGE_LINE.match(raw)
        message = match.group(match.lastindex or 0) if match else None
        words = terms(message) if message and len(message.split()) >= MIN_WORDS else []
        if not message and prose < MAX_PROSE and _is_prose(raw):
            words = terms(raw)
            if len(words) < PROSE_WORDS:
                continue
            prose += 1
        if len(words) < MIN_WORDS:
            continue
        window = min(WINDOW, len(words))
        phrases = [" ".join(words[:window]), " ".join(words[-window:])]
        phrases = [p for p in dict.fromkeys(phrases) if p not in seen]
        if phrases:
            seen.update(phrases)
            found.append(phrases)
            if len(found) >= MAX_FRAGMENTS:
                break
    return found


def _is_prose(line: str) -> bool:
    """A line of sentences (a quoted docstring or documentation), not code or output."""
    stripped = line.strip()
    if not stripped or line.startswith(("    ", "\t")) or _CODE_CHARS.search(stripped):
        return False
    plain = _letters(stripped) + sum(map(stripped.count, " ,.'`"))
    return plain >= PROSE_SHARE * len(stripped)


def _letters(text: str) -> int:
    """How many characters of `text` are letters (`str.isalpha`); for ASCII text, by deleting
    the letters from its bytes rather than asking each character."""
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw) - len(raw.translate(None, _ASCII_LETTERS))
    return sum(map(str.isalpha, text))


def tracebacks(text: str) -> list[list[str]]:
    """The frames' paths of each traceback in `text`, outermost first (backslashes as slashes);
    a traceback ends at the line naming the exception. Every frame's form holds `File ` or
    `.py:`, so a text with neither is not read line by line."""
    if "File " not in text and ".py:" not in text:
        return []
    found: list[list[str]] = []
    block: list[str] = []
    for line in text.splitlines():
        frame = _FRAME_PATH.match(line)
        if frame:
            block.append(next(g for g in frame.groups() if g).replace("\\", "/"))
        elif block and _RAISED.match(line):
            found.append(block)
            block = []
    if block:
        found.append(block)
    return found


def quotes_option(text: str, option: str) -> bool:
    """Whether `text` spells `option` as a string literal, as code that defines or parses it does."""
    return f'"{option}' in text or f"'{option}" in text
