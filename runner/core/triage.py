"""Priority and kind for an issue, from its labels first and its words second.

The rules are data (`TriageRules`) so that `runner.toml` can replace any list,
and the README documents the same tables. Matching is deliberately simple and
predictable, because users must be able to tell why an issue got its priority:

1. Labels (case-insensitive). A label matches when it equals an alias, or when
   its value after a prefix such as ``priority:``, ``severity/``, ``kind/`` or
   ``type:`` equals one (``priority: critical`` -> ``critical``), also without
   emoji and brackets or before a ``priority`` suffix (`runner.core.labels`).
   For kind, an issue's type (GitHub's issue types: Bug, Feature, Task) counts
   next, read through the same aliases.
2. Priority words, title first: the most severe level whose phrase appears in
   the title wins; only when the title has none is the body searched: the
   reporter's own words in its first `BODY_SCAN_CHARS` characters (template
   comments, headings, checklists and code blocks left out, so a 1 MB body
   costs no more than a short one), where a critical word gives only High.
   Kind: what the issue declares, else its cues weighed (`runner.core.kind_cues`).
3. Otherwise the configured default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from runner.core.kind_cues import SCAN_CHARS, WEIGHTS, Cue, cues, last_resort, prose, weigh
from runner.core.labels import alias_table, best_label, label_name
from runner.core.models import KINDS, Issue, Priority, Triage
from runner.core.phrases import Phrases, Words, normalize, padded
from runner.core.signals import declared_kind
from runner.core.triage_words import (
    DEFAULT_KIND_LABELS,
    DEFAULT_KIND_WORDS,
    DEFAULT_PRIORITY_LABELS,
    DEFAULT_PRIORITY_WORDS,
)

BODY_SCAN_CHARS = SCAN_CHARS

# When cues weigh the same for several kinds, the first in this order wins.
KIND_PRECEDENCE = ("security", "performance", "bug", "docs", "feature", "question", "chore")
_PASSING = ("security", "performance")
_ACTS = ("bug", "feature", "question")  # what an issue does, beside what it is about (docs, security, ...)


@dataclass(frozen=True)
class TriageRules:
    priority_labels: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_PRIORITY_LABELS)
    priority_words: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_PRIORITY_WORDS)
    kind_labels: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_KIND_LABELS)
    kind_words: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_KIND_WORDS)
    default_priority: Priority = Priority.MEDIUM
    default_kind: str = "chore"

    def with_overrides(self, table: Mapping[str, object]) -> TriageRules:
        """Return rules where each list named in a `[triage]` table replaces the default."""
        unknown = sorted(set(table) - set(_OVERRIDE_KEYS))
        if unknown:
            raise ValueError(f"unknown [triage] key {unknown[0]!r} (expected one of {', '.join(_OVERRIDE_KEYS)})")
        return TriageRules(
            priority_labels=_merge(self.priority_labels, table.get("priority_labels"), _PRIORITY_NAMES),
            priority_words=_merge(self.priority_words, table.get("priority_words"), _PRIORITY_NAMES),
            kind_labels=_merge(self.kind_labels, table.get("kind_labels"), KINDS),
            kind_words=_merge(self.kind_words, table.get("kind_words"), KINDS),
            default_priority=Priority.parse(str(table.get("default_priority", self.default_priority.name))),
            default_kind=_checked_kind(str(table.get("default_kind", self.default_kind))),
        )


_PRIORITY_NAMES = tuple(p.name.lower() for p in Priority)
_OVERRIDE_KEYS = (
    "priority_labels",
    "priority_words",
    "kind_labels",
    "kind_words",
    "default_priority",
    "default_kind",
)


def _checked_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    return kind


def _merge(base: Mapping[str, Sequence[str]], override: object, names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    merged = {k: tuple(v) for k, v in base.items()}
    if override is None:
        return merged
    if not isinstance(override, Mapping):
        raise ValueError("triage overrides must be tables of lists")
    for key, words in override.items():
        if key not in names:
            raise ValueError(f"unknown triage key {key!r} (expected one of {', '.join(names)})")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"triage list {key!r} must be a list of strings")
        merged[key] = tuple(w.lower() for w in words)
    return merged


class Triager:
    """Applies `TriageRules`; built once per run, so lookups are precomputed."""

    def __init__(self, rules: TriageRules | None = None) -> None:
        self.rules = rules or TriageRules()
        self._priority_labels = alias_table(self.rules.priority_labels)
        self._kind_labels = alias_table(self.rules.kind_labels)
        self._priority_words = [
            (Priority[name.upper()], _phrases(words))
            for name, words in sorted(self.rules.priority_words.items(), key=lambda kv: Priority[kv[0].upper()])
        ]
        self._kind_words = [(kind, _phrases(self.rules.kind_words.get(kind, ()))) for kind in KIND_PRECEDENCE]
        # In a body, one word such as "slow" or "security" is said in passing; several words are meant.
        self._body_kind_words = [
            (kind, _phrases([p for p in phrases.plain if kind not in _PASSING or " " in p]))
            for kind, phrases in self._kind_words
        ]

    def triage(self, issue: Issue) -> Triage:
        texts = _Texts(issue)
        priority, p_reason = self._priority(issue, texts)
        kind, k_reason = self._kind(issue, texts)
        return Triage(priority, kind, p_reason, k_reason)

    def declared(self, issue: Issue) -> tuple[bool, bool]:
        """Whether people already said the issue's (kind, priority): a label, or for kind its type."""
        return self._said_kind(issue) is not None, self._said_priority(issue) is not None

    def _said_priority(self, issue: Issue) -> tuple[Priority, str] | None:
        found = best_label(issue.labels, self._priority_labels, key=lambda name: Priority[name.upper()])
        return (Priority[found[0].upper()], f"label {found[1]!r}") if found else None

    def _said_kind(self, issue: Issue) -> tuple[str, str] | None:
        found = best_label(issue.labels, self._kind_labels, key=KIND_PRECEDENCE.index)
        if found:
            return found[0], f"label {found[1]!r}"
        typed = label_name(issue.issue_type, self._kind_labels) if issue.issue_type else None
        return (typed, f"GitHub issue type {issue.issue_type!r}") if typed else None

    def _priority(self, issue: Issue, texts: _Texts) -> tuple[Priority, str]:
        said = self._said_priority(issue)
        if said:
            return said
        for where, text in texts:
            for level, phrases in self._priority_words:
                hit = _first_phrase(text, phrases)
                if hit:
                    if where == "body" and level == Priority.CRITICAL:
                        return Priority.HIGH, f"body mentions {hit!r} (critical only when the title says it)"
                    return level, f"{where} mentions {hit!r}"
        return self.rules.default_priority, "default"

    def _kind(self, issue: Issue, texts: _Texts) -> tuple[str, str]:
        return self._said_kind(issue) or self.kind_from_text(issue, texts)

    def kind_from_text(self, issue: Issue, texts: _Texts | None = None) -> tuple[str, str]:
        """Kind from the words alone: what the issue declares decides; otherwise every cue (a
        question, template headings, error output, a wish, the title's and the body's kind words)
        adds its weight and the heaviest kind wins (`runner.core.kind_cues`); chore by default."""
        declared = declared_kind(issue.title, issue.body)
        if declared and declared[0] != "chore":
            return declared
        (_, title), (_, body_prose) = texts or _Texts(issue)
        found = list(cues(issue.title, issue.body, body_prose))
        if declared:  # "test: ...", "build: ...": in an issue's title more often the area than the kind
            found.append(Cue("declared_chore", "chore", WEIGHTS["declared_chore"], declared[1]))
        for kind, phrases in self._kind_words:
            word = _first_phrase(title, phrases)
            if word:
                name = "title_words" if kind in _ACTS else "title_topic_words"
                found.append(Cue(name, kind, WEIGHTS[name], f"title mentions {word!r}"))
        for kind, phrases in self._body_kind_words:
            word = _first_phrase(body_prose, phrases)
            if word:
                name = "body_chore_words" if kind == "chore" else "body_words"
                found.append(Cue(name, kind, WEIGHTS[name], f"body mentions {word!r}"))
        return weigh(found, KIND_PRECEDENCE) or last_resort(issue.body) or (self.rules.default_kind, "default")


def _phrases(words: Sequence[str]) -> Phrases:
    return padded(words)


_normalize = normalize


class _Texts:
    """Title and body padded and normalized for phrase search, each made only when asked:
    labels often decide, and then the body is never read."""

    def __init__(self, issue: Issue) -> None:
        self._issue = issue
        self._made: dict[str, Words] = {}

    def __iter__(self):
        for where in ("title", "body"):
            if where not in self._made:
                if where == "title":
                    self._made[where] = Words(_normalize(self._issue.title))
                else:
                    self._made[where] = prose(self._issue.body)
            yield where, self._made[where]


def _first_phrase(text: Words, phrases: Phrases) -> str | None:
    return text.first(phrases)
