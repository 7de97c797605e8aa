"""What an issue's own structure says about its kind, beyond single words.

Most issues today are written from a template: a title prefix ("Bug: ...",
"[Feature Request] ..."), an issue form with a type field ("### Issue type" then
"Bug"), or markdown headings such as "Steps to reproduce" or "Describe the
solution you'd like". People also ask questions in recognisable forms ("How do
I ...", "Is it possible ...") and paste error output into bug reports. These
signals are general, not tied to a project, and each comes back with the words
that triggered it, so a report can say why an issue got its kind.

runner.core.triage uses them as rules; runner.learn adds them to the text a model
sees, so a repository's own labels decide how much each is worth there.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SCAN = 20_000

# Words people put in a title prefix or a type field, and the kind each one declares.
DECLARED_KINDS: dict[str, tuple[str, ...]] = {
    "security": ("security", "vulnerability", "security issue"),
    "performance": ("performance", "perf"),
    "docs": ("docs", "doc", "documentation", "documentation bug", "documentation issue", "typo"),
    "bug": ("bug", "bug report", "defect", "crash", "regression", "broken", "fix"),
    "feature": (
        "feature",
        "feature request",
        "enhancement",
        "enh",
        "proposal",
        "feature proposal",
        "rfc",
        "feat",
        "idea",
        "feature idea",
        "suggestion",
        "feature suggestion",
        "request",
        "new feature",
        "improvement",
        "documentation feature request",
        "api proposal",
    ),
    "question": ("question", "support", "help", "help wanted", "q&a", "how to", "how-to", "discussion", "usage"),
    "chore": (
        "chore",
        "ci",
        "build",
        "bld",
        "refactor",
        "cleanup",
        "maintenance",
        "maint",
        "dependencies",
        "deps",
        "test",
        "tests",
        "tst",
    ),
}
_DECLARED = {alias: kind for kind, aliases in DECLARED_KINDS.items() for alias in aliases}

_TITLE_PREFIX = re.compile(r"^\s*(?:\[([^\]\n]{1,40})\]|\(([^)\n]{1,40})\)|([A-Za-z][\w /&+-]{0,38}?)\s*:(?!:))")
# "DOC Fix the example", "ENH add a solver", "MAINT ...": a project's commit-style tag as a title's first word.
_CAPS_TAG = re.compile(r"^\s*([A-Z]{2,5})\b(?![.'’-])")
_TYPE_FIELD = re.compile(
    r"^\s{0,3}(?:#{1,6}\s*|\*\*)\s*"
    r"(?:issue type|type of issue|issue kind|type of request|kind"
    r"|(?:do you want to|would you like to) (?:request|propose) an? \*?feature\*? or report an? \*?bug\*?\??)"
    r"\s*:?\s*(?:\*\*)?\s*:?\s*$"
    r"\s*(?:<[^>]+>)*\s*([^\n<]{1,60})",
    re.I | re.M,
)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HEADING = re.compile(r"^\s{0,3}(?:#{1,6}\s+(.{3,120})|\*\*(.{3,120}?)\*\*\s*:?|([A-Z][^\n:]{2,80}):)\s*$", re.M)

BUG_HEADINGS = (
    "describe the bug",
    "bug description",
    "bug report",
    "steps to reproduce",
    "to reproduce",
    "repro steps",
    "reproduction steps",
    "how to reproduce",
    "reproducible example",
    "minimal reproducible example",
    "actual behavior",
    "actual behaviour",
    "actual result",
    "actual results",
    "observed behavior",
    "observed behaviour",
    "error message",
    "error log",
    "stack trace",
    "traceback",
    "crash log",
    "how often does this bug happen",
    "regression",
    "what happened",
    "what went wrong",
    "reproduced the bug",
)
FEATURE_HEADINGS = (
    "is your feature request related to a problem",
    "describe the solution you'd like",
    "describe the solution you would like",
    "describe alternatives you've considered",
    "describe alternatives you have considered",
    "alternatives considered",
    "feature request",
    "feature description",
    "describe the feature",
    "motivation",
    "proposal",
    "proposed solution",
    "suggested solution",
    "proposed api",
    "pitch",
    "who will benefit",
    "will this change the current api",
    "use case",
    "use cases",
    "describe the enhancement",
    "what problem does this solve",
)
DOCS_HEADINGS = (
    "documentation link",
    "url of the documentation",
    "location of the documentation",
    "documentation page",
    "which page",
)

_QUESTION_TITLE = re.compile(
    r"^\s*(?:how\s+(?:do|does|can|could|should|would|to|is|are)\b|is\s+(?:it|there)\s+(?:possible|a\s+way|any)\b"
    r"|can\s+(?:i|we|you|someone)\b|what\s+(?:is|are|does|do)\b|why\s+(?:is|does|do|are|can)\b|where\s+(?:is|can|do)\b"
    r"|which\b|does\s+\w+\s+support\b|question\b)",
    re.I,
)
_QUESTION_BODY = re.compile(
    r"\b(?:how (?:do|can|could|should) (?:i|we)\b|is (?:it|there) (?:possible|a way)\b|any (?:idea|help|suggestions?)\b"
    r"|can (?:someone|anyone|you) (?:help|explain|tell)\b|i(?:'m| am) (?:new|a beginner)\b|please help|help me\b"
    r"|what am i doing wrong|am i (?:doing|missing) \w+|is this a bug|not sure (?:if|whether|how)\b|thanks in advance"
    r"|i(?:'m| am) (?:trying|unable|struggling) to\b|how (?:can|do|should) i\b)"
)  # matched on lower-cased text
# (what, substrings one of which must be there, pattern): the substrings are a cheap test first.
_ERROR_EVIDENCE = (
    ("a Python traceback", ("Traceback (most",), re.compile(r"Traceback \(most recent call last\)")),
    ("a Java stack trace", ("at ",), re.compile(r"^[ \t]*at [\w$.<>]+\([\w$ ]+\.(?:java|kt|scala|groovy):\d+\)", re.M)),
    (
        "an uncaught exception",
        ("Exception in thread", "Uncaught "),
        re.compile(r"\bException in thread\b|\bUncaught (?:\w+Error|exception)\b"),
    ),
    ("an error message", ("Error: ", "Exception: "), re.compile(r"(?<![\w.])[A-Z]\w*(?:Error|Exception): \S")),
    (
        "a crash",
        (
            "egmentation fault",
            "egfault",
            "core dumped",
            "SIGSEGV",
            "SIGABRT",
            "panic: ",
            "atal error",
            "ssertion failed",
            "ssertion `",
            "tack overflow",
            "ccess violation",
        ),
        None,
    ),
    ("a stack trace", ("0x",), re.compile(r"^[ \t]*(?:#\d+ +0x[0-9a-f]+|\d+ +\S+ +0x[0-9a-f]{6,})", re.M)),
)


@lru_cache(maxsize=16)  # the rules and a learned model read the same issue in turn
def declared_kind(title: str, body: str) -> tuple[str, str] | None:
    """The kind an issue declares itself: a title prefix or an issue form's type field."""
    match = _TITLE_PREFIX.match(title)
    if match:
        prefix = next(g for g in match.groups() if g is not None)
        kind = _declared(prefix)
        if kind:
            return kind, f"title prefix {prefix.strip()!r}"
    tag = _CAPS_TAG.match(title)
    if tag:
        kind = _DECLARED.get(tag.group(1).lower())
        if kind:
            return kind, f"title tag {tag.group(1)!r}"
    field = _TYPE_FIELD.search(body[:_SCAN])
    if field:
        kind = _declared(field.group(1))
        if kind:
            return kind, f"issue type {field.group(1).strip()!r}"
    return None


def _declared(text: str) -> str | None:
    """The kind a short label-like text names: whole text first, then its last words ("DevTools Bug")."""
    words = re.sub(r"[^\w&+-]+", " ", text.lower()).split()
    for start in range(len(words)):
        kind = _DECLARED.get(" ".join(words[start:]))
        if kind:
            return kind
    return None


@lru_cache(maxsize=16)  # the rules and a learned model read the same issue in turn
def template_kind(body: str) -> tuple[str, str] | None:
    """The kind whose template headings the body uses most (a tie decides nothing)."""
    headings = [h.lower() for h in _headings(body)]
    if not headings:
        return None
    scores = []
    for kind, phrases in (("bug", BUG_HEADINGS), ("feature", FEATURE_HEADINGS), ("docs", DOCS_HEADINGS)):
        hits = [h for h in headings if any(p in h for p in phrases)]
        scores.append((len(hits), kind, hits))
    scores.sort(key=lambda s: -s[0])
    (best, kind, hits), (second, _, _) = scores[0], scores[1]
    if best == 0 or best == second:
        return None
    return kind, f"template heading {hits[0].strip()!r}"


def _headings(body: str) -> list[str]:
    text = _HTML_COMMENT.sub(" ", body[:_SCAN])
    return [next(g for g in m.groups() if g).strip(" #*:?") for m in _HEADING.finditer(text)]


@lru_cache(maxsize=16)  # the rules and a learned model read the same issue in turn
def question_form(title: str, body: str = "") -> str | None:
    """How the issue asks a question, if it does: a title that asks one, or a body that does."""
    stripped = title.strip()
    match = _QUESTION_TITLE.match(without_prefix(stripped))
    if match:
        return f"title asks {match.group(0).strip()!r}"
    if stripped.endswith("?"):
        return "title is a question"
    if body:
        found = _QUESTION_BODY.search(_HTML_COMMENT.sub(" ", body[:2000]).lower())
        if found:
            return f"body asks {found.group(0)!r}"
    return None


def without_prefix(title: str) -> str:
    """The title without a leading "[Area]", "(area)" or "Area:" prefix."""
    match = _TITLE_PREFIX.match(title)
    return title[match.end() :].lstrip() if match else title


@lru_cache(maxsize=16)  # the rules and a learned model read the same issue in turn
def error_evidence(body: str) -> str | None:
    """What error output the body holds (a traceback, an exception message, a crash), if any."""
    text = body[:_SCAN]
    for what, needles, pattern in _ERROR_EVIDENCE:
        if any(n in text for n in needles) and (pattern is None or pattern.search(text)):
            return what
    return None


def signal_words(title: str, body: str) -> list[str]:
    """The signals as pseudo-words a model can weigh like any other word."""
    words = []
    declared = declared_kind(title, body)
    if declared:
        words.append(f"zzdeclared{declared[0]}")
    template = template_kind(body)
    if template:
        words.append(f"zztemplate{template[0]}")
    if question_form(title):
        words.append("zzquestiontitle")
    elif question_form("", body):
        words.append("zzquestionbody")
    if error_evidence(body):
        words.append("zzerroroutput")
    if "```" in body or "\n    " in body:
        words.append("zzcodeblock")
    return words
