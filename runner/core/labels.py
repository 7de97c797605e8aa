"""What a label names, among a table of aliases (priorities or kinds).

Repositories spell the same label many ways: ``bug``, ``Type: Bug``, ``kind/bug``, ``[Type] Bug``,
``🐛 bug``, ``:bug: Bug``, ``C-bug``; ``feature-request``; ``High Priority``, ``P1 - High``;
``Build / CI``. A label names an alias when, lower-cased, it equals one; else when its form
without decoration (emoji, shortcodes, brackets; hyphens and underscores as spaces) does, or its
value after a prefix (``priority:``, ``type/``, ...) or before a ``priority``/``severity``
suffix; else when it lists alternatives (``/``, ``|``, `` - ``) that all name the same thing.
An issue's type (GitHub's issue types) is read through the same aliases.
It never matches on a word inside a longer label: "not critical at all" names nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

_PREFIX = re.compile(r"^(?:priority|prio|severity|sev|p|c|kind|type|area|category)\s*[:/=\-_ ]\s*(.+)$")
_SUFFIX = re.compile(r"^(.+?)\s+(?:priority|prio|severity)$")
_DECORATION = re.compile(r":[a-z0-9_+-]+:|[^\w\s/:=+|-]|_")
_SPACES = re.compile(r"[\s-]+")
_ALTERNATIVES = re.compile(r"[/|]|\s-\s")
LONGEST = 100  # characters; GitHub's labels have at most 50, and a longer one names nothing


def alias_table(groups: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """alias -> name, each alias as written (lower-cased) and in its plain form."""
    table: dict[str, str] = {}
    for name, aliases in groups.items():
        for alias in aliases:
            table.setdefault(alias.lower().strip(), name)
            table.setdefault(plain(alias.lower()), name)
    table.pop("", None)
    return table


def plain(text: str) -> str:
    """`text` without emoji, shortcodes and brackets, hyphens and underscores as single spaces."""
    return _SPACES.sub(" ", _DECORATION.sub(" ", text)).strip()


def label_name(label: str, table: Mapping[str, str]) -> str | None:
    """The name `label` gives among `table`'s aliases, or None."""
    text = label.lower().strip()
    if len(text) > LONGEST:
        return None
    for form in _forms(text):
        if form in table:
            return table[form]
    parts = [p for p in _ALTERNATIVES.split(text) if p.strip()]
    if len(parts) > 1:
        names = {next((table[f] for f in _forms(p.strip()) if f in table), None) for p in parts}
        if len(names) == 1 and None not in names:
            return names.pop()
    return None


def _forms(text: str) -> Iterator[str]:
    yield text
    match = _PREFIX.match(text)
    if match:
        yield match.group(1).strip()
    bare = plain(text)
    yield bare
    for pattern in (_PREFIX, _SUFFIX):
        match = pattern.match(bare)
        if match:
            yield match.group(1).strip()


def best_label(labels: Sequence[str], table: Mapping[str, str], key: Callable[[str], Any]) -> tuple[str, str] | None:
    """The most significant (lowest `key`) name any label gives, with that label."""
    best: tuple[str, str] | None = None
    for label in labels:
        name = label_name(label, table)
        if name and (best is None or key(name) < key(best[0])):
            best = (name, label)
    return best


def issue_type_name(item: object) -> str | None:
    """The name of an issue object's `type` (GitHub's issue types: an object with a name, or a
    plain name in exported files), or None."""
    kind = item.get("type") if isinstance(item, Mapping) else None
    name = kind.get("name") if isinstance(kind, Mapping) else kind
    if not isinstance(name, str):
        return None
    return name.strip() or None
