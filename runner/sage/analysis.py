"""Per-issue analysis inside a sage: related files, tests to look at, matching lines, risk.

Functions of an issue and the commit's `CodeIndex` (read from the shared index file,
never from git). The ranking is `runner.sage.localize`'s; here it becomes the files a plan
lists, each with the lines and symbols that matched.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from runner.core.models import Issue, RelatedFile, Triage
from runner.sage.codeindex import CodeIndex
from runner.sage.localize import DEFAULT_SETTINGS, Hit, RankSettings, rank

MAX_RELATED = 8
MAX_TESTS = 5
MAX_LINES = 5
MIN_RELATIVE_SCORE = 0.25
LINE_WIDTH = 160
MAX_KNOWN_WORDS = 4096
SENSITIVE_PATH_WORDS = (
    "auth",
    "login",
    "password",
    "passwd",
    "secret",
    "token",
    "session",
    "crypto",
    "permission",
    "acl",
    "oauth",
    "payment",
    "billing",
    "migration",
    "migrations",
    ".github/workflows",
    "dockerfile",
)
SENSITIVE_WORDS = frozenset(
    {
        "password",
        "token",
        "secret",
        "credential",
        "credentials",
        "injection",
        "xss",
        "csrf",
        "vulnerability",
        "exploit",
        "privilege",
        "encryption",
        "session",
        "auth",
        "authentication",
    }
)


@dataclass(frozen=True)
class Analysis:
    related: tuple[RelatedFile, ...]
    risk: str
    risk_reasons: tuple[str, ...]
    query: tuple[str, ...]
    tests: tuple[RelatedFile, ...] = ()


def analyse(issue: Issue, triage: Triage, index: CodeIndex, settings: RankSettings = DEFAULT_SETTINGS) -> Analysis:
    ranking = rank(issue.title, issue.body, index, MAX_RELATED, MAX_TESTS, settings)
    sources = ranking.sources
    if sources:
        floor = sources[0].score * MIN_RELATIVE_SCORE
        sources = [hit for hit in sources if hit.score >= floor]
    words = tuple(dict.fromkeys(w.lower() for w in ranking.query if w))
    related = tuple(_related(index, hit, words) for hit in sources)
    tests = tuple(_related(index, hit, words) for hit in ranking.tests)
    risk, reasons = _risk(triage, related, ranking.words)
    return Analysis(related, risk, reasons, ranking.query, tests)


def _related(index: CodeIndex, hit: Hit, words: tuple[str, ...]) -> RelatedFile:
    return RelatedFile(hit.path, round(hit.score, 3), _matching_lines(index, hit, words), tuple(hit.symbols))


def _matching_lines(index: CodeIndex, hit: Hit, query: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Where the names the issue uses are defined, then the first lines holding a query word
    (`query`: the distinct lower-case words, made once an issue, not once a file)."""
    lines = index.lines(hit.file_id)
    if not lines:
        return ()
    numbers = [n - 1 for n in sorted(set(hit.symbols.values())) if 0 < n <= len(lines)][:MAX_LINES]
    if len(numbers) < MAX_LINES and query:
        text, starts, known = index.lowered(hit.file_id)
        numbers += _first_lines_with(text, starts, query, set(numbers), MAX_LINES - len(numbers), known)
    return tuple((n + 1, lines[n].strip()[:LINE_WIDTH]) for n in sorted(numbers))


def _first_lines_with(
    text: str, starts: list[int], words: tuple[str, ...], skip: set[int], count: int, known: dict
) -> list[int]:
    """The first `count` lines (not in `skip`) holding any of `words` (lower-case), in the
    lower-cased text. Each word's first lines are found with `str.find` (a case-insensitive regex of a dozen
    alternatives over every related file took three quarters of a sage's time) and kept in
    `known` with the file's text, as (lines asked for, lines found): the next issue asking this
    file for this word reads them there."""
    found: set[int] = set()
    wanted = count + len(skip)
    if len(known) > MAX_KNOWN_WORDS:
        known.clear()
    for word in words:
        asked, lines = known.get(word, (0, ()))
        if asked < wanted and len(lines) == asked:
            asked, lines = known[word] = (wanted, _lines_holding(text, starts, word, wanted))
        found.update(lines[:wanted])
    return sorted(found - skip)[:count]


def _lines_holding(text: str, starts: list[int], word: str, wanted: int) -> list[int]:
    """The first `wanted` lines holding `word`."""
    found: list[int] = []
    at = 0
    while len(found) < wanted:
        position = text.find(word, at)
        if position < 0:
            break
        line = bisect_right(starts, position) - 1
        found.append(line)
        at = starts[line + 1] if line + 1 < len(starts) else len(text)
    return found


@lru_cache(maxsize=4096)
def _sensitive_path(path: str) -> bool:
    lowered = path.lower()
    return any(word in lowered for word in SENSITIVE_PATH_WORDS)


def _risk(triage: Triage, related: tuple[RelatedFile, ...], weights: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    reasons = []
    if triage.kind == "security":
        reasons.append("security issue")
    sensitive = [f.path for f in related[:5] if _sensitive_path(f.path)]
    if sensitive:
        reasons.append("touches sensitive paths: " + ", ".join(sensitive[:3]))
    words = sorted(SENSITIVE_WORDS.intersection(weights))
    if words:
        reasons.append("mentions " + ", ".join(words[:4]))
    areas = {f.path.split("/", 1)[0] for f in related[:5] if "/" in f.path}
    if len(areas) >= 3:
        reasons.append(f"spans {len(areas)} top-level areas")
    level = "high" if (triage.kind == "security" or (sensitive and words)) else "medium" if reasons else "low"
    return level, tuple(reasons)
