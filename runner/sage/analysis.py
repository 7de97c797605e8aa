"""Per-issue analysis inside a sage: related files, matching lines, risk.

Pure functions of an issue and a `RepoIndex`, so they are cheap to test and
cost no I/O per issue. Ranking is TF-IDF over identifiers and words (title
words count double), plus strong boosts for file paths or file names the issue
text mentions and for path components that match its words.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from runner.core.models import Issue, RelatedFile, Triage
from runner.sage.index import RepoIndex, tokens

BODY_CHARS = 20_000
MAX_RELATED = 8
MAX_LINES = 5
MIN_RELATIVE_SCORE = 0.25
LINE_WIDTH = 160
# Only from the start of a run of path characters: a run with no match from its start has
# none from inside it either, and retrying at every character made this the slowest regex.
_PATH_MENTION = re.compile(r"(?<![\w./-])[\w./-]+\.[A-Za-z0-9]{1,8}")
_LEADING_DIRS = re.compile(r"^(?:\.{0,2}/)+")
SENSITIVE_PATH_WORDS = (
    "auth", "login", "password", "passwd", "secret", "token", "session", "crypto", "permission",
    "acl", "oauth", "payment", "billing", "migration", "migrations", ".github/workflows", "dockerfile",
)
SENSITIVE_WORDS = frozenset(
    {"password", "token", "secret", "credential", "credentials", "injection", "xss", "csrf", "vulnerability",
     "exploit", "privilege", "encryption", "session", "auth", "authentication"}
)


@dataclass(frozen=True)
class Analysis:
    related: tuple[RelatedFile, ...]
    risk: str
    risk_reasons: tuple[str, ...]
    query: tuple[str, ...]


def analyse(issue: Issue, triage: Triage, index: RepoIndex) -> Analysis:
    body = issue.body[:BODY_CHARS]
    title = tokens(issue.title)
    weights = Counter(title)
    weights.update(title)
    weights.update(tokens(body))
    scores = _content_scores(weights, index)
    _boost_paths(scores, weights, index)
    _boost_mentions(scores, issue.title + "\n" + body, index)
    ranked = _best(scores, index)
    if ranked:
        floor = ranked[0][1] * MIN_RELATIVE_SCORE
        ranked = [(pid, score) for pid, score in ranked if score >= floor]
    query = tuple(t for t, _ in sorted(weights.items(), key=lambda kv: (-kv[1] * index.idf(kv[0]), kv[0]))[:12])
    related = tuple(
        RelatedFile(index.paths[pid], round(score, 3), _matching_lines(index, pid, query)) for pid, score in ranked
    )
    risk, reasons = _risk(triage, related, weights)
    return Analysis(related, risk, reasons, query)


def _best(scores: dict[int, float], index: RepoIndex) -> list[tuple[int, float]]:
    """The `MAX_RELATED` best-scored files, ties by path; only the top scores are sorted in Python."""
    if len(scores) > MAX_RELATED:
        cutoff = sorted(scores.values(), reverse=True)[MAX_RELATED - 1]
        scores = {pid: score for pid, score in scores.items() if score >= cutoff}
    return sorted(scores.items(), key=lambda kv: (-kv[1], index.paths[kv[0]]))[:MAX_RELATED]


def _content_scores(weights: Counter, index: RepoIndex) -> dict[int, float]:
    scores: dict[int, float] = {}
    get = scores.get
    for token, weight in weights.items():
        postings = index.content_postings(token)
        if postings:
            scale = weight * index.idf(token)
            for path_id, factor in postings:
                scores[path_id] = get(path_id, 0.0) + scale * factor
    return scores


def _boost_paths(scores: dict[int, float], weights: Counter, index: RepoIndex) -> None:
    """Boost files whose path holds an issue word; a word in most paths (`src`, `app`) says
    nothing about which file, so it boosts none."""
    get = scores.get
    too_common = max(50, len(index.paths) // 2)
    for token, weight in weights.items():
        path_ids = index.path_tokens.get(token)
        if path_ids and len(path_ids) <= too_common:
            boost = 3.0 * weight * index.idf(token)
            for path_id in path_ids:
                scores[path_id] = get(path_id, 0.0) + boost


def _boost_mentions(scores: dict[int, float], text: str, index: RepoIndex) -> None:
    for mention in _mentions(text):
        mention = _LEADING_DIRS.sub("", mention)
        path_id = index.path_id(mention)
        if path_id is not None:
            scores[path_id] = scores.get(path_id, 0.0) + 100.0
            continue
        for path_id in index.by_name.get(mention.rsplit("/", 1)[-1].lower(), ()):
            scores[path_id] = scores.get(path_id, 0.0) + 40.0


def _mentions(text: str) -> set[str]:
    """What looks like a file name or path; no match spans white space, and only the words
    with a dot can hold one, so those alone are searched."""
    return {m for word in text.split() if "." in word for m in _PATH_MENTION.findall(word)}


def _matching_lines(index: RepoIndex, path_id: int, query: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """The first `MAX_LINES` lines of a file that contain a query word."""
    lines = index.lines.get(path_id)
    if not lines or not query:
        return ()
    return tuple((n + 1, lines[n].strip()[:LINE_WIDTH]) for n in index.first_lines_with_any(path_id, query, MAX_LINES))


@lru_cache(maxsize=4096)
def _sensitive_path(path: str) -> bool:
    lowered = path.lower()
    return any(word in lowered for word in SENSITIVE_PATH_WORDS)


def _risk(triage: Triage, related: tuple[RelatedFile, ...], weights: Counter) -> tuple[str, tuple[str, ...]]:
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
