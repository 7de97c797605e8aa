"""Weighing an issue's cues into a kind, instead of letting the first cue found decide.

An issue rarely says only one thing: a support question is often written in the bug
template, with the error the asker saw; a feature request often describes what does not
work today. Each cue below is a general, explainable sign (a template heading, a question
asked, error output, a wish, a reproduction) and adds its weight to one kind; the kind
with the most weight wins, ties going to the earlier kind of `KIND_PRECEDENCE`.

The weights were set on labelled public issues (the NLBSE'24 training rows and
scikit-learn's labelled issues), one cue at a time, and rounded: they say how much more
often a cue comes with one kind than with the others, not which words a project uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from runner.core.cue_phrases import (
    BODY_ASKS,
    BODY_HELP,
    BODY_TRYING,
    BODY_WISHES,
    FAULTS,
    SETUP_TROUBLE,
    TITLE_ASKS,
    TITLE_WISHES,
    USE_CASES,
)
from runner.core.phrases import Phrases, Words, normalize, padded
from runner.core.signals import error_evidence, question_form, template_kind, without_prefix

SCAN_CHARS = 6000  # of a body, read for its words
_PROSE_CHARS = 3000  # of those, kept once template text and code are left out

# How much each cue is worth; the names are what `cues` reports.
WEIGHTS: dict[str, float] = {
    "title_question": 5.0,  # "How do I ...", "Is it possible ...", "Why does ..."
    "title_question_mark": 5.0,
    "title_asks_inside": 3.0,  # "..., how to fix", "I want to ..."
    "body_asks": 3.0,  # "how can I", "is there a way"
    "body_help": 5.0,  # "any idea", "please help", "what am I doing wrong"
    "body_trying": 4.0,  # "I'm trying to", "I want to"
    "template": 4.0,  # the headings of a bug, feature or docs template
    "error_output": 2.0,  # a traceback, a stack trace, "SomeError: ..."
    "declared_chore": 1.5,  # "test: ...", "build: ...", "CI ..."
    "title_words": 1.0,  # the configured bug, feature and question words, in the title
    "title_topic_words": 5.0,  # the configured docs, security, performance and chore words, in the title
    "body_words": 1.0,
    "body_chore_words": 1.0,
    "fix_title": 5.0,  # "Fix ..."
    "change_title": 4.0,  # "Add ...", "Support ...", "Allow ..."
    "docs_title": 4.0,  # "Document ...", "Clarify ..."
    "fault_title": 1.0,  # "... not ...", "... fails", "missing ..."
    "wish_title": 2.0,  # "... should ...", "... would be nice"
    "wish_body": 2.0,  # "it would be great", "support for", "I propose"
    "fault_body": 0.5,
    "setup_title": 5.0,  # "Error while installing ...", "undefined reference to ..."
    "setup_body": 4.0,
    "use_case_body": 1.5,  # "use case", "motivation", "there is no way to"
}


@dataclass(frozen=True)
class Cue:
    name: str
    kind: str
    weight: float
    reason: str


_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
# Template text a reporter did not write: heading lines, bold-only lines, checklist items.
_BOILERPLATE = re.compile(r"^[ \t]*(?:#{1,6}[ \t].*|\*\*[^\n]*\*\*[ \t]*:?|[-*][ \t]+\[[ xX]?\].*)$", re.M)

_DOCS_TITLE = re.compile(r"^\s*(?:document|clarify|explain|describe)\b", re.I)
_FIX_TITLE = re.compile(r"^\s*(?:fix|fixes|fixed|fixing)\b", re.I)
_CHANGE_TITLE = re.compile(
    r"^\s*(?:add|allow|support|make|improve|enable|provide|expose|implement|introduce|show|display|warn|let|extend"
    r"|consider|offer|create|use|have|include|integrate|automatically|auto|feature|adopt|render|pass|accept|return"
    r"|expand|prefer|persist|hide|keep|handle|reduce|avoid|switch|replace|deprecate|split|need|want|enhance|customi[sz]e"
    r"|configurable|optionally|unify|remember|sort|filter|disable|set|respect|honou?r|surface|bring|restore|reuse|limit"
    r"|increase|decrease|align|adjust|tweak|polish|follow)\b",
    re.I,
)
_FAULTS, _TITLE_WISHES, _SETUP = padded(FAULTS), padded(TITLE_WISHES), padded(SETUP_TROUBLE)
_TITLE_ASKS = padded(TITLE_ASKS)
# (weight name, phrases, kind, what the reason says before the phrase found), in the order they are read
_BODY_CUES = (
    ("body_asks", padded(BODY_ASKS), "question", "body asks"),
    ("body_help", padded(BODY_HELP), "question", "body asks for help"),
    ("body_trying", padded(BODY_TRYING), "question", "body says what the reporter is trying"),
    ("wish_body", padded(BODY_WISHES), "feature", "body reads like a wish"),
    ("use_case_body", padded(USE_CASES), "feature", "body gives a use case"),
)
_LATE_BODY_CUES = (
    ("setup_body", _SETUP, "question", "body is about setting up"),
    ("fault_body", _FAULTS, "bug", "body reads like a fault"),
)
_TITLE_PHRASE_CUES = (
    ("fault_title", _FAULTS, "bug", "title reads like a fault"),
    ("setup_title", _SETUP, "question", "title is about setting up"),
    ("wish_title", _TITLE_WISHES, "feature", "title reads like a wish"),
)


def prose(body: str) -> Words:
    """The part of a body its reporter wrote: without template comments, headings, checklists and
    code blocks, which repeat the same words in every issue of a project."""
    text = _FENCE.sub(" ", _HTML_COMMENT.sub(" ", body[:SCAN_CHARS]))
    return Words(normalize(_BOILERPLATE.sub(" ", text)[:_PROSE_CHARS]))


def cues(title: str, body: str, body_prose: Words) -> Iterable[Cue]:
    """The structural and phrasing cues of an issue (not its configurable kind words)."""
    w = WEIGHTS
    asked = question_form(title)
    if asked:
        name = "title_question_mark" if asked == "title is a question" else "title_question"
        yield Cue(name, "question", w[name], asked)
    else:
        asks = Words(normalize(title)).first(_TITLE_ASKS)
        if asks:
            yield Cue("title_asks_inside", "question", w["title_asks_inside"], f"title asks {asks!r}")
    yield from _phrase_cues(body_prose, _BODY_CUES)
    template = template_kind(body)
    if template:
        yield Cue("template", template[0], w["template"], template[1])
    error = error_evidence(body)
    if error:
        yield Cue("error_output", "bug", w["error_output"], f"body has {error}")
    yield from _title_cues(title)
    yield from _phrase_cues(body_prose, _LATE_BODY_CUES)


def last_resort(body: str) -> tuple[str, str] | None:
    """When no cue spoke: a wish or a fault anywhere in the body's start, template text included,
    rather than the silent default."""
    words = Words(normalize(body[:2000]))
    wish, fault = words.first(_TITLE_WISHES), words.first(_FAULTS)
    if wish:
        return "feature", f"body reads like a wish ({wish!r})"
    if fault:
        return "bug", f"body reads like a fault ({fault!r})"
    return None


def _title_cues(title: str) -> Iterable[Cue]:
    w = WEIGHTS
    if _FIX_TITLE.match(title):
        yield Cue("fix_title", "bug", w["fix_title"], "title asks for a fix")
    docs = _DOCS_TITLE.match(without_prefix(title))
    if docs:
        yield Cue("docs_title", "docs", w["docs_title"], f"title asks to {docs.group(0).strip().lower()!r}")
    change = _CHANGE_TITLE.match(without_prefix(title))
    if change:
        yield Cue("change_title", "feature", w["change_title"], f"title asks to {change.group(0).strip().lower()!r}")
    yield from _phrase_cues(Words(normalize(title)), _TITLE_PHRASE_CUES)


def _phrase_cues(words: Words, table: tuple[tuple[str, Phrases, str, str], ...]) -> Iterable[Cue]:
    """A cue for each row of `table` whose phrases `words` hold, naming the first one found."""
    for name, phrases, kind, what in table:
        found = words.first(phrases)
        if found:
            yield Cue(name, kind, WEIGHTS[name], f"{what} ({found!r})")


def weigh(found: Iterable[Cue], precedence: tuple[str, ...]) -> tuple[str, str] | None:
    """The kind with the most weight and the reason of its heaviest cue; None when nothing spoke.
    Ties go to the kind earlier in `precedence`."""
    totals: dict[str, float] = {}
    heaviest: dict[str, Cue] = {}
    for cue in found:
        totals[cue.kind] = totals.get(cue.kind, 0.0) + cue.weight
        if cue.kind not in heaviest or cue.weight > heaviest[cue.kind].weight:
            heaviest[cue.kind] = cue
    if not totals:
        return None
    kind = max(totals, key=lambda k: (totals[k], -precedence.index(k)))
    if totals[kind] <= 0:
        return None
    return kind, heaviest[kind].reason
