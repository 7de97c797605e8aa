"""Names from git and the file system, shown so that they always encode.

Paths and ref names are bytes, and not always UTF-8 (a Latin-1 `légacy.py` from
an old repository). runner carries them as `str` decoded with surrogateescape,
so they turn back into the same bytes wherever they are used as paths or handed
to git. Where a person reads one (a plan, the report, a commit message, a pull
request) it goes through `readable`, which shows each byte that is not UTF-8 as
`\\xNN` (and any other lone surrogate as `\\uNNNN`) instead of failing to encode.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(text: str) -> str:
    """`text` with every lone surrogate written as an escape; unchanged when it has none."""
    if text.isascii():
        return text
    return _SURROGATE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


_ASCII_CONTROL = bytes(range(0x09)) + bytes(range(0x0B, 0x20)) + b"\x7f"


def clean(text: str) -> str:
    """One line of display text: control characters and newlines become spaces."""
    return _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def clean_bytes(text: str) -> bytes:
    """`clean_text(text)` as UTF-8, lone surrogates escaped (`readable`); ASCII text, as most plans are,
    in one C-speed pass."""
    if text.isascii():
        return text.encode().translate(None, _ASCII_CONTROL)
    return readable(clean_text(text)).encode()
