"""Code-aware tokens, as the code index stores them and queries ask for them.

Identifiers are kept whole and also split into their camelCase / snake_case parts
(`authenticateUser_v2` -> authenticateuser_v2, authenticate, user), so an issue that says
"authenticate user" finds the function and one that names it exactly finds it first.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "have",
        "not",
        "are",
        "was",
        "were",
        "when",
        "what",
        "which",
        "while",
        "will",
        "would",
        "should",
        "could",
        "can't",
        "cannot",
        "into",
        "onto",
        "than",
        "then",
        "them",
        "they",
        "their",
        "there",
        "here",
        "your",
        "you",
        "our",
        "out",
        "but",
        "all",
        "any",
        "use",
        "used",
        "using",
        "get",
        "set",
        "has",
        "had",
        "its",
        "it's",
        "also",
        "just",
        "like",
        "only",
        "some",
        "such",
        "very",
        "def",
        "class",
        "return",
        "self",
        "none",
        "true",
        "false",
        "null",
        "import",
        "from",
        "elif",
        "else",
        "try",
        "except",
        "pass",
        "lambda",
        "var",
        "let",
        "const",
        "function",
        "new",
        "public",
        "private",
        "static",
        "void",
        "int",
        "str",
        "string",
        "bool",
        "http",
        "https",
        "www",
        "com",
        "org",
        "issue",
        "issues",
        "please",
        "thanks",
        "thank",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-case words and identifier parts: `authenticateUser_v2` -> authenticateuser_v2, authenticate, user."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out += _word_tokens(word)
    return out


@lru_cache(maxsize=1 << 16)
def _word_tokens(word: str) -> tuple[str, ...]:
    """One word's tokens; cached because issues and files repeat the same identifiers."""
    lower = word.lower()
    out = [lower] if lower not in STOPWORDS else []
    if "_" in word or not word.islower():
        out.extend(p for p in _parts(word) if p not in STOPWORDS and p != lower)
    return tuple(out)


def _parts(word: str) -> list[str]:
    return [p.lower() for chunk in word.split("_") for p in _CAMEL.findall(chunk) if len(p) >= 3]


def terms(text: str) -> list[str]:
    """Code tokens (`tokens`) with plurals folded (`blueprints` -> `blueprint`),
    as the index stores them and queries ask for them."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out += _word_terms(word)
    return out


def tokens_and_terms(text: str) -> tuple[list[str], list[str]]:
    """`tokens(text)` and `terms(text)` in one pass over its words."""
    found: list[str] = []
    folded: list[str] = []
    for word in _WORD.findall(text):
        found += _word_tokens(word)
        folded += _word_terms(word)
    return found, folded


@lru_cache(maxsize=1 << 16)
def _word_terms(word: str) -> tuple[str, ...]:
    """One word's terms, cached as its tokens are: folding plurals token by token was a
    tenth of the time an issue's text took to become a query."""
    return tuple(singular(t) for t in _word_tokens(word))


def singular(token: str) -> str:
    """`blueprints` -> `blueprint`, `entries` -> `entry`: the index's form of a token."""
    if len(token) <= 4 or token[-1] != "s" or token.endswith(("ss", "us", "is", "_s")):
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    return token[:-1]
