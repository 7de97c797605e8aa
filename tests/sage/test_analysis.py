"""runner.sage.analysis: related files, matching lines and risk for an issue, against a real repository index."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import IDENTITY

from runner.core.models import Issue, Priority, Triage
from runner.sage.analysis import LINE_WIDTH, MAX_LINES, MAX_RELATED, Analysis, analyse
from runner.sage.codeindex import CodeIndex as RepoIndex
from runner.sage.codeindex import load_or_build

GIT_ENV = {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
FILES = {
    "README.md": "# Inventory\n\nTrack stock levels. See docs/guide.md for the instalation.\n",
    "app/auth/login.py": (
        "import hashlib\n"
        "\n"
        "def authenticateUser(name, password):\n"
        "    digest = hashlib.sha256(password.encode()).hexdigest()\n"
        "    session = create_session(name)\n"
        "    return session\n"
    ),
    "app/auth/session_store.py": "def create_session(user):\n    token = new_token()\n    return token\n",
    "app/export/csv_export.py": (
        "def export_rows(rows):\n"
        "    # csv export writes one line per row\n"
        "    return '\\n'.join(','.join(r) for r in rows)\n"
    ),
    "app/search/query.py": "def search_items(term):\n    return [item for item in ITEMS if term in item]\n",
    "app/reports/monthly.py": "def monthly_totals(rows):\n    return sum(r.amount for r in rows)\n",
    "docs/guide.md": "# Guide\n\n## Setup\n\nThe instalation takes two steps.\nRun the export command.\n",
    ".github/workflows/ci.yml": "name: ci\non: push\n",
    "tools/ci.yml": "name: tools ci\n",
    "lib/alpha.py": "alphaword = 1\n",
    "lib/beta.py": "betaword = 1\n",
    "assets/logo.png": "\x00\x01\x02binary password",
    "notes/wide.txt": "start " + "widemarker " * 40 + "\n",
    "notes/many.txt": "".join(f"line {n} repeatedmarker\n" for n in range(1, 12)),
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, check=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> RepoIndex:
    repo = tmp_path_factory.mktemp("analysis") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name, text in FILES.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sample")
    return load_or_build(repo, git(repo, "rev-parse", "HEAD"), repo.parent / "cache")[0]


def triage(kind: str, priority: Priority = Priority.MEDIUM) -> Triage:
    return Triage(priority, kind, "test", "test")


def run(index: RepoIndex, title: str, body: str = "", kind: str = "bug") -> Analysis:
    issue = Issue(7, title, body, (), None, None, None, 1, "hash")
    return analyse(issue, triage(kind), index)


def paths(result: Analysis) -> list[str]:
    return [f.path for f in result.related]


def test_path_mentioned_in_the_body_ranks_first(index: RepoIndex) -> None:
    result = run(index, "Login session token broken", "The problem is in app/export/csv_export.py somewhere.")
    assert paths(result)[0] == "app/export/csv_export.py"


@pytest.mark.parametrize(
    "mention",
    ["`app/search/query.py`", "./app/search/query.py", "(app/search/query.py).", "/app/search/query.py:2"],
)
def test_path_mentions_are_recognised_in_common_spellings(index: RepoIndex, mention: str) -> None:
    result = run(index, "Password session login token", f"Stack trace points at {mention}")
    assert paths(result)[0] == "app/search/query.py"


def test_file_name_mention_ranks_that_file_first(index: RepoIndex) -> None:
    result = run(index, "Password session token", "Something in monthly.py is off")
    assert paths(result)[0] == "app/reports/monthly.py"


def test_dotted_directory_mention_picks_the_exact_file(index: RepoIndex) -> None:
    result = run(index, "Tools pipeline config", "Please look at .github/workflows/ci.yml")
    assert paths(result)[0] == ".github/workflows/ci.yml"


def test_title_words_count_more_than_body_words(index: RepoIndex) -> None:
    assert paths(run(index, "alphaword problem", "betaword"))[:2] == ["lib/alpha.py", "lib/beta.py"]
    assert paths(run(index, "betaword problem", "alphaword"))[:2] == ["lib/beta.py", "lib/alpha.py"]


def test_identifiers_match_by_camel_case_parts(index: RepoIndex) -> None:
    result = run(index, "authenticate user rejects valid users")
    assert paths(result)[0] == "app/auth/login.py"


def test_identifiers_match_by_snake_case_parts(index: RepoIndex) -> None:
    result = run(index, "search items returns duplicates")
    assert paths(result)[0] == "app/search/query.py"


def test_path_words_boost_files(index: RepoIndex) -> None:
    result = run(index, "monthly reports are wrong")
    assert paths(result)[0] == "app/reports/monthly.py"


def test_matching_lines_have_correct_one_based_numbers(index: RepoIndex) -> None:
    result = run(index, "authenticateUser password digest wrong")
    login = next(f for f in result.related if f.path == "app/auth/login.py")
    source_lines = FILES["app/auth/login.py"].splitlines()
    assert login.lines, "expected quoted lines"
    for number, text in login.lines:
        assert text == source_lines[number - 1].strip()
    assert [n for n, _ in login.lines][:2] == [3, 4]


def test_matching_lines_are_bounded_in_count_and_width(index: RepoIndex) -> None:
    result = run(index, "repeatedmarker widemarker")
    by_path = {f.path: f for f in result.related}
    assert len(by_path["notes/many.txt"].lines) == MAX_LINES
    assert [n for n, _ in by_path["notes/many.txt"].lines] == [1, 2, 3, 4, 5]
    ((number, text),) = by_path["notes/wide.txt"].lines
    assert number == 1 and len(text) == LINE_WIDTH


def test_related_files_are_bounded_and_sorted(index: RepoIndex) -> None:
    body = " ".join(FILES)
    result = run(index, "everything", body)
    assert len(result.related) <= MAX_RELATED
    scores = [f.score for f in result.related]
    assert scores == sorted(scores, reverse=True)


def test_weak_matches_are_dropped_relative_to_the_best(index: RepoIndex) -> None:
    result = run(index, "Crash", "See app/export/csv_export.py; rows")
    assert all(f.score >= result.related[0].score * 0.25 for f in result.related)


def test_no_matching_words_gives_no_related_files_and_low_risk(index: RepoIndex) -> None:
    result = run(index, "Zyzzyva quux", "frobnicate", kind="feature")
    assert result.related == ()
    assert (result.risk, result.risk_reasons) == ("low", ())


def test_binary_file_content_is_never_related(index: RepoIndex) -> None:
    assert "assets/logo.png" not in paths(run(index, "binary password"))


def test_security_issue_touching_auth_is_high_risk(index: RepoIndex) -> None:
    result = run(index, "Password hash bypass in authenticateUser", "Anyone can log in", kind="security")
    assert result.risk == "high"
    assert "security issue" in result.risk_reasons
    assert any("app/auth/login.py" in reason for reason in result.risk_reasons)


def test_non_security_issue_with_sensitive_path_and_words_is_high_risk(index: RepoIndex) -> None:
    result = run(index, "Session token not refreshed", "create_session returns a stale token", kind="bug")
    assert result.risk == "high"


def test_docs_typo_is_low_risk(index: RepoIndex) -> None:
    result = run(index, "Typo in guide", "instalation should be installation", kind="docs")
    assert paths(result)[0] == "docs/guide.md"
    assert result.risk == "low"


def test_sensitive_words_alone_make_medium_risk(index: RepoIndex) -> None:
    result = run(index, "Export drops rows", "happens when the password is long; see csv_export.py", kind="bug")
    assert paths(result)[0] == "app/export/csv_export.py"
    assert result.risk == "medium"
    assert any("password" in reason for reason in result.risk_reasons)


def test_query_lists_the_most_telling_words(index: RepoIndex) -> None:
    result = run(index, "authenticateUser fails", "the the the")
    assert "authenticateuser" in result.query
    assert len(result.query) <= 12


def test_huge_body_is_cut_before_analysis(index: RepoIndex) -> None:
    body = "filler " * 200_000 + " app/reports/monthly.py"
    result = run(index, "alphaword", body)
    assert "app/reports/monthly.py" not in paths(result)
    assert paths(result)[0] == "lib/alpha.py"


def test_first_lines_with_a_word_are_those_a_full_search_finds() -> None:
    """With the lines each word was found on remembered from one call to the next."""
    from bisect import bisect_right
    from itertools import accumulate

    from runner.sage.analysis import _first_lines_with

    lines = ["def alpha():", "    beta = 1", "gamma", "", "alpha beta", "beta", "x = gamma", "alpha", "delta", "beta"]
    text = "\n".join(lines)
    starts = [0, *accumulate(len(line) + 1 for line in lines)][: len(lines)]

    def full(words: tuple[str, ...], skip: set[int], count: int) -> list[int]:
        found: set[int] = set()
        for word in dict.fromkeys(words):
            hits = sorted({bisect_right(starts, at) - 1 for at in range(len(text)) if text.startswith(word, at)})
            found.update(hits[: count + len(skip)])
        return sorted(found - skip)[:count]

    known: dict = {}
    for words in [("beta",), ("alpha", "gamma"), ("delta", "alpha", "beta"), ("zeta",), ("gamma", "beta", "alpha")]:
        for skip in [set(), {0}, {1, 4}]:
            for count in range(1, 6):
                assert _first_lines_with(text, starts, words, skip, count, known) == full(words, skip, count)
