"""The hidden markers runner writes into what it publishes, and reads back to find its own work.

A comment on an issue carries `marker(number)`, so a later run (or another runner) finds it and
does not comment twice; a pull request's description ends in a digest of its text
(`signed_body`), so a later run can tell whether a person has edited it (`is_unedited`) and
leaves an edited one alone.
"""

from __future__ import annotations

import hashlib
import re


def marker(number: int) -> str:
    return f"<!-- runner:pull-request-for-issue {number} -->"


SIGNATURE = re.compile(r"\n?<!-- runner:body ([0-9a-f]{16}) -->\s*$")


def signed_body(text: str) -> str:
    """A pull request description with a hidden digest of its text, so a later run can tell
    whether a person has edited it."""
    return f"{text.rstrip()}\n\n<!-- runner:body {_digest(text)} -->\n"


def is_unedited(body: str) -> bool:
    found = SIGNATURE.search(normalized(body))
    return found is not None and found.group(1) == _digest(normalized(body)[: found.start()])


def _digest(text: str) -> str:
    return hashlib.sha256(normalized(text).strip().encode()).hexdigest()[:16]


def normalized(text: str) -> str:
    """GitHub may return a description edited in the browser with CRLF line ends."""
    return text.replace("\r\n", "\n")
