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
