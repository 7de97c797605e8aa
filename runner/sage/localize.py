"""Which files an issue concerns: the ranking behind "related files" and "tests to look at".

    issue text ─┬─ code tokens (identifiers and their parts) ──> BM25 over path | defs | body (FTS5)
                ├─ names used as code (`concat()`, `Dataset.to_dict`, :meth:) ──> files DEFINING them
                ├─ dotted module names (`sphinx.ext.napoleon`, imports) ──> that module's file
                └─ paths and tracebacks (`File ".../requests/models.py"`) ──> that file
                                         │
              sum, times the file's kind (source 1, docs, changelogs / catalogues / vendored less)
                                         │
                 source and docs files ─> related      test files ─> tests to look at

Each signal was kept because it raised the scores of `make eval` (README, "How related
files are found"); weights are general, nothing here knows a repository.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from heapq import nsmallest
from typing import ClassVar

from runner.sage import literals
from runner.sage.codeindex import CodeIndex, terms
from runner.sage.filekinds import is_code
from runner.sage.symbols import defined_in, named_symbols
from runner.sage.tokens import tokens_and_terms

BODY_CHARS = 20_000
QUERY_TERMS = 16
CANDIDATES = 100
FIELD_WEIGHTS = (4.0, 3.0, 1.0)
TITLE_WEIGHT = 1.0
KIND_FACTOR = {"source": 1.0, "test": 1.0, "docs": 0.35, "other": 0.08}
SYMBOL_BOOST = 0.6
QUALIFIED_BOOST = 0.6
MODULE_BOOST = 0.8
PATH_BOOST = 3.0
NAME_BOOST = 2.5
MAX_DEFINING = 25
METHOD_SHARE = 0.5
NOT_CODE_FACTOR = 0.5
MAX_DF_SHARE = 0.25
COMMON_FLOOR = 1000
STEM_BOOST = 0.6
MAX_STEM_FILES = 6
OPTION_BOOST = 1.0
MESSAGE_BOOST = 1.2
LITERAL_CANDIDATES = 40
MAX_MESSAGE_FILES = 4
ISSUE_DEFINED_SHARE = 0.3
REPEAT_SHARE = 0.5
INNERMOST_SHARE = 0.3
_PATH_MENTION = re.compile(r"(?<![\w./-])[\w./-]+\.[A-Za-z0-9]{1,8}")
_LEADING_DIRS = re.compile(r"^(?:\.{0,2}/)+")


@dataclass(frozen=True)
class RankSettings:
    """Which parts of the ranking run; all of them by default, as runs use it.

    The evaluation harness switches parts off (`python -m perf.eval_localization --ablate`) to
    measure what each adds on the same indexes; `PARTS` is the order it adds them back in."""

    kinds: bool = True
    title: bool = True
    symbols: bool = True
    modules: bool = True
    mentions: bool = True
    stems: bool = True
    options: bool = True
    messages: bool = True
    issue_defs: bool = True

    PARTS: ClassVar[tuple[str, ...]] = (
        "kinds",
        "title",
        "symbols",
        "modules",
        "mentions",
        "stems",
        "options",
        "messages",
        "issue_defs",
    )

    def only(self, parts: Iterable[str]) -> RankSettings:
        """These settings with exactly `parts` on."""
        wanted = set(parts)
        unknown = wanted - set(self.PARTS)
        if unknown:
            raise ValueError(f"unknown ranking parts: {', '.join(sorted(unknown))}")
        return replace(self, **{part: part in wanted for part in self.PARTS})


DEFAULT_SETTINGS = RankSettings()


@dataclass
class Hit:
    file_id: int
    path: str
    kind: str
    score: float
    symbols: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranking:
    sources: list[Hit]
    tests: list[Hit]
    query: tuple[str, ...]
    words: frozenset[str] = frozenset()


def rank(
    title: str,
    body: str,
    index: CodeIndex,
    limit: int,
    tests_limit: int,
    settings: RankSettings = DEFAULT_SETTINGS,
) -> Ranking:
    """The best `limit` source and docs files and `tests_limit` test files; `words` are the
    title's and body's `tokens`, which the risk assessment looks at too."""
    body = body[:BODY_CHARS]
    text = f"{title}\n{body}"
    title_tokens, title_terms = tokens_and_terms(title)
    body_tokens, body_terms = tokens_and_terms(body)
    weights = Counter(title_terms)
    weights.update(weights)
    weights.update(body_terms)
    query = _query(weights, index)
    scores: dict[int, float] = defaultdict(float)
    symbols: dict[int, dict[str, int]] = defaultdict(dict)
    _text_scores(scores, query, index, 1.0)
    if settings.title:
        _text_scores(scores, [t for t in dict.fromkeys(title_terms) if t in query], index, TITLE_WEIGHT)
    if settings.symbols or settings.modules:
        _symbol_scores(scores, symbols, _named(title, body, settings), index, settings)
    if settings.mentions:
        _mention_scores(scores, text, index)
    if settings.stems:
        _stem_scores(scores, title_terms, query, index)
    if settings.options:
        _option_scores(scores, text, index)
    if settings.messages:
        _message_scores(scores, text, index)
    sources, tests = _best(scores, symbols, index, settings, (limit, tests_limit))
    return Ranking(sources, tests, tuple(query[:12]), frozenset(title_tokens).union(body_tokens))


def _best(
    scores: dict[int, float],
    symbols: dict[int, dict[str, int]],
    index: CodeIndex,
    settings: RankSettings,
    limits: tuple[int, int],
) -> tuple[list[Hit], list[Hit]]:
    """The best-scored source files and test files (score times the kind's factor, ties by
    path). A query scores a hundred files or more and few are tests, so the tests are told
    apart by a set of their ids rather than by looking at every file's kind, and only the
    few best of each are picked (`nsmallest` is `sorted()[:n]` without sorting them all)."""
    info = index.table.info
    factors = index.table.factors if settings.kinds else {fid: 1.0 for fid in scores}
    for fid in scores.keys() - factors.keys():
        if fid in info:
            factors[fid] = _factor(*info[fid])
    test_ids = index.table.tests
    sources = nsmallest(
        limits[0],
        [
            (-score * factors[fid], info[fid][0], fid)
            for fid, score in scores.items()
            if score > 0 and fid in info and fid not in test_ids
        ],
    )
    tests = nsmallest(
        limits[1],
        [(-scores[fid] * factors[fid], info[fid][0], fid) for fid in scores.keys() & test_ids if scores[fid] > 0],
    )
    return (
        [Hit(fid, *info[fid], -negated, symbols.get(fid, {})) for negated, _, fid in sources],
        [Hit(fid, *info[fid], -negated, symbols.get(fid, {})) for negated, _, fid in tests],
    )


@lru_cache(maxsize=1 << 16)
def _factor(path: str, kind: str) -> float:
    """How likely a fix edits a file of this kind; configuration and markup count as half a source file."""
    factor = KIND_FACTOR.get(kind, 1.0)
    return factor if kind != "source" or is_code(path) else factor * NOT_CODE_FACTOR


def _named(title: str, body: str, settings: RankSettings) -> dict[str, float]:
    """Names used as code; a name in the title counts twice. A name the issue's own code
    defines (`def test_all_even():`, a method it proposes to add) says less about where the
    code to change is: it is the reporter's code, or code that does not exist yet."""
    found = named_symbols(body)
    for name, weight in named_symbols(title).items():
        found[name] = max(found.get(name, 0.0), 2 * max(weight, 0.7))
    if settings.issue_defs:
        for name in defined_in(body):
            if name in found:
                found[name] *= ISSUE_DEFINED_SHARE
    return found


def _query(weights: Counter, index: CodeIndex) -> list[str]:
    """The most telling terms: weight times inverse document frequency. Unknown terms are dropped,
    and so are terms in more than `MAX_DF_SHARE` of the files (and more than `COMMON_FLOOR`):
    they hardly move BM25, and scoring every file that has them took three quarters of a
    query's time on a 16,000-file repository."""
    freq = index.doc_freq(weights)
    n = max(index.doc_count, 1)
    common = max(COMMON_FLOOR, n * MAX_DF_SHARE)
    scored = {
        t: w * math.log(1 + (n - df + 0.5) / (df + 0.5))
        for t, w in weights.items()
        if (df := freq.get(t)) and df <= common
    }
    return sorted(scored, key=lambda t: (-scored[t], t))[:QUERY_TERMS]


def _text_scores(scores: dict[int, float], query: list[str], index: CodeIndex, weight: float) -> None:
    """BM25 of `query`, the best file scoring `weight` (`scores` is summed whatever the
    order the files come in; into no scores yet, as the first query's are, one update;
    else `get` and a store, not the default dict's `+=`, for a hundred files)."""
    found = index.search(query, FIELD_WEIGHTS, CANDIDATES, ordered=False)
    if not found:
        return
    top = max([score for _, score in found]) or 1.0
    if not scores:
        scores.update({fid: weight * score / top for fid, score in found})
        return
    get = scores.get
    for fid, score in found:
        scores[fid] = get(fid, 0.0) + weight * score / top


def _symbol_scores(
    scores: dict[int, float],
    symbols: dict[int, dict[str, int]],
    named: dict[str, float],
    index: CodeIndex,
    settings: RankSettings,
) -> None:
    """Files that define a name the issue uses as code; the fewer files define it, the more it says."""
    last = {name: name.rsplit(".", 1)[-1] for name in named}
    defining = index.defining(last.values())
    boosts: dict[int, list[float]] = defaultdict(list)
    for name, weight in named.items():
        found, files = defining[last[name]]
        if settings.symbols and 0 < files <= MAX_DEFINING:
            _name_boosts(name, weight, found, files, boosts, symbols)
        if settings.modules:
            _module_scores(scores, name, index, weight)
    for fid, boost in boosts.items():
        scores[fid] += sum(boost)


def _name_boosts(
    name: str, weight: float, found, files: int, boosts: dict[int, list[float]], symbols: dict[int, dict[str, int]]
) -> None:
    share = weight / math.sqrt(files)
    qualified = name.split(".")[-2:] if "." in name else None
    best: dict[int, float] = {}
    for _, qual, fid, line in found:
        boost = SYMBOL_BOOST * share
        if qualified and qual.split(".")[-2:] == qualified:
            boost += QUALIFIED_BOOST * weight
        elif "." in qual:
            boost *= METHOD_SHARE
        if boost > best.get(fid, 0.0):
            best[fid] = boost
            symbols[fid][qual] = line
    for fid, boost in best.items():
        boosts[fid].append(boost)


def _module_scores(scores: dict[int, float], dotted: str, index: CodeIndex, weight: float) -> None:
    """`pkg.sub.mod` (or `pkg.sub.mod.name`) names the module file it is, or that holds it."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        found = index.modules(".".join(parts[:end]))
        if found:
            for fid in found:
                scores[fid] += MODULE_BOOST * weight * (1.0 if end == len(parts) else 0.6)
            return


def _mention_scores(scores: dict[int, float], text: str, index: CodeIndex) -> None:
    """Paths and file names in the text (tracebacks included): the longest suffix the tree has.
    A path named again counts more, slowly, and the innermost frame of a traceback that is in
    the tree more again: that is where the failing code runs."""
    text = text.replace("\\", "/")
    mentions = Counter(m for word in text.split() if "." in word for m in _PATH_MENTION.findall(word))
    innermost: set[int] = set()
    for frames in literals.tracebacks(text):
        inside = [found for path in frames if (found := _mentioned(path, index))]
        if inside:
            innermost.update(inside[-1])
    for mention, count in mentions.items():
        repeated = 1.0 + REPEAT_SHARE * math.log(count)
        for fid, boost in _mentioned(mention, index).items():
            scores[fid] += boost * (repeated + (INNERMOST_SHARE if fid in innermost else 0.0))


def _mentioned(mention: str, index: CodeIndex) -> dict[int, float]:
    """{file id: boost}: the file a path names (its longest suffix the tree has), or else the
    files with its name, less the more there are."""
    parts = _LEADING_DIRS.sub("", mention).split("/")
    for start in range(len(parts) - 1):
        fid = index.file_id("/".join(parts[start:]))
        if fid is not None:
            return {fid: PATH_BOOST}
    named = index.named(parts[-1])
    return {fid: NAME_BOOST / math.sqrt(len(named)) for fid in named[:10]}


def _stem_scores(scores: dict[int, float], title_terms: list[str], query: list[str], index: CodeIndex) -> None:
    """A code file whose name is a word of the title (`blueprint` -> `blueprints.py`, `pretty
    printing` -> `pretty.py`): issues name the part of the program they are about. Only words
    among the query's telling terms count, so a title's `error` does not lead to `errors.py`."""
    for term in dict.fromkeys(title_terms):
        if term not in query:
            continue
        found = [fid for fid, path in index.stemmed(term) if is_code(path)]
        if found and len(found) <= MAX_STEM_FILES:
            for fid in found:
                scores[fid] += STEM_BOOST / math.sqrt(len(found))


def _option_scores(scores: dict[int, float], text: str, index: CodeIndex) -> None:
    """Files that spell a command-line option the issue uses (`--collect-only`) as a string:
    where it is defined or parsed. Only source files count (tests pass options, translation
    catalogues and docs repeat them); a file quoting several of the options scores once."""
    best: dict[int, float] = {}
    for option in literals.options(text):
        words = terms(option)
        candidates = index.holders([" ".join(words)], FIELD_WEIGHTS, LITERAL_CANDIDATES) if words else []
        info = index.info(candidates)
        found = [
            fid
            for fid in candidates
            if fid in info and info[fid][1] == "source" and literals.quotes_option("\n".join(index.lines(fid)), option)
        ]
        for fid in found:
            best[fid] = max(best.get(fid, 0.0), OPTION_BOOST / math.sqrt(len(found)))
    for fid, boost in best.items():
        scores[fid] += boost


def _message_scores(scores: dict[int, float], text: str, index: CodeIndex) -> None:
    """Files holding a message the issue shows, word for word: where the code raises or prints it.
    Only source files count, as for options."""
    for phrases in literals.message_phrases(text):
        candidates = index.holders(phrases, FIELD_WEIGHTS, LITERAL_CANDIDATES)
        info = index.info(candidates)
        found = {fid for fid in candidates if fid in info and info[fid][1] == "source"}
        if found and len(found) <= MAX_MESSAGE_FILES:
            for fid in found:
                scores[fid] += MESSAGE_BOOST / math.sqrt(len(found))
