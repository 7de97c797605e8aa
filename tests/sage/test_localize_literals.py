"""The ranking's rules on text the code holds verbatim (options, messages) and on file names a
title uses, each against a file that only talks about the same words; and the settings that
switch parts of the ranking off."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import IDENTITY

from runner.core.models import Issue, Priority, Triage
from runner.sage.analysis import Analysis, analyse
from runner.sage.codeindex import CodeIndex, load_or_build
from runner.sage.literals import message_phrases, options, tracebacks
from runner.sage.localize import DEFAULT_SETTINGS, RankSettings

GIT_ENV = {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
CHATTY = "# collect tests, collect only the selected ones; widths of frames; blueprint routes\n" * 8
FILES = {
    "app/main.py": 'def options(parser):\n    parser.add_argument("--collect-only", action="store_true")\n',
    "app/frames.py": "def draw(width):\n    if width < 0:\n"
    '        raise ValueError("the frobnicator cannot handle negative widths")\n',
    "app/blueprints.py": "class Blueprint:\n    pass\n",
    "app/scaffold.py": CHATTY,
    "app/report.py": CHATTY,
    "locale/fr/LC_MESSAGES/app.po": 'msgid "the frobnicator cannot handle negative widths"\nmsgstr "x"\n',
    "tests/test_main.py": 'def test_it(run):\n    run("--collect-only")\n',
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> CodeIndex:
    repo = tmp_path_factory.mktemp("literals") / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for name, text in FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "s"], check=True, env={**os.environ, **GIT_ENV})
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    return load_or_build(repo, head, repo.parent / "cache")[0]


def run(index: CodeIndex, title: str, body: str = "", settings: RankSettings = DEFAULT_SETTINGS) -> Analysis:
    issue = Issue(1, title, body, (), None, None, None, 1, "h")
    return analyse(issue, Triage(Priority.MEDIUM, "bug", "", ""), index, settings)


def paths(result: Analysis) -> list[str]:
    return [f.path for f in result.related]


def test_an_option_leads_to_the_file_that_defines_it(index: CodeIndex) -> None:
    result = run(index, "A short form for collecting", "I run `pytest --collect-only` all the time, collect only.")
    assert paths(result)[0] == "app/main.py"
    assert "tests/test_main.py" not in paths(result)


def test_a_message_leads_to_the_file_that_raises_it(index: CodeIndex) -> None:
    body = "Drawing fails:\n\n```\nValueError: the frobnicator cannot handle negative widths\n```\n"
    result = run(index, "Drawing frames fails", body)
    assert paths(result)[0] == "app/frames.py"


def test_without_the_messages_part_the_same_issue_ranks_otherwise(index: CodeIndex) -> None:
    body = "Drawing fails:\n\n```\nValueError: the frobnicator cannot handle negative widths\n```\n"
    on = run(index, "Drawing frames fails", body).related[0]
    settings = DEFAULT_SETTINGS.only(p for p in RankSettings.PARTS if p != "messages")
    off = run(index, "Drawing frames fails", body, settings).related[0]
    assert off.path != on.path or off.score < on.score


def test_a_title_word_naming_a_code_file_leads_to_it(index: CodeIndex) -> None:
    title, body = "Blueprint names with a dot", "Names of blueprint routes should not hold dots."
    without = DEFAULT_SETTINGS.only(p for p in RankSettings.PARTS if p != "stems")
    assert paths(run(index, title, body, without))[0] != "app/blueprints.py"
    assert paths(run(index, title, body))[0] == "app/blueprints.py"


def test_settings_name_only_known_parts() -> None:
    only = DEFAULT_SETTINGS.only(["kinds"])
    assert only.kinds and not any(getattr(only, part) for part in RankSettings.PARTS if part != "kinds")
    assert all(getattr(DEFAULT_SETTINGS, part) for part in RankSettings.PARTS)
    with pytest.raises(ValueError, match="unknown ranking parts: colour"):
        DEFAULT_SETTINGS.only(["kinds", "colour"])


def test_options_and_messages_are_read_from_where_issues_show_them() -> None:
    assert options("run `pylint --recursive=y src/` or -v, then --collect-only; not a-- b") == [
        "--recursive",
        "--collect-only",
    ]
    text = "\n".join(
        [
            'Traceback:\n  File "x.py", line 3, in f',
            "    raise ValueError(the very long code line that is not a message)",
            "ValueError: the frobnicator cannot handle negative widths",
            "src/a.py:2:0: R2044: Line with empty comment (empty-comment)",
            "> Using pytest.skip outside of a test is not allowed.",
            "    >       assert all(is_even(number) for number in evens)",
            "C:\\lib\\pathlib.py:1266: FileNotFoundError",
            "an ordinary sentence of the issue that quotes nothing at all",
            "The docs say: negative widths are drawn mirrored around the frame's left edge, as before.",
            "    indented code that reads like a sentence but sits in a code block, as code does",
        ]
    )
    assert message_phrases(text) == [
        ["frobnicator handle negative width"],
        ["line empty comment empty comment"],
        ["pytest skip outside test allowed"],
        ["docs say negative width drawn", "around frame left edge before"],
    ]


def test_tracebacks_are_read_in_python_ipython_and_pytest_forms() -> None:
    text = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "C:\\site-packages\\app\\scaffold.py", line 3, in run',
            "    draw(-1)",
            '  File "/usr/lib/python3/site-packages/app/frames.py", line 3, in draw',
            "    raise ValueError(...)",
            "ValueError: the frobnicator cannot handle negative widths",
            "File ~/code/app/report.py:841, in Plot._plot(self, pyplot)",
            "--> 841 self._setup()",
            "app/main.py:2: in options",
            "E   KeyError: 'x'",
        ]
    )
    assert tracebacks(text) == [
        ["C:/site-packages/app/scaffold.py", "/usr/lib/python3/site-packages/app/frames.py"],
        ["~/code/app/report.py", "app/main.py"],
    ]


def test_each_frame_form_is_read_on_its_own_and_a_text_without_frames_has_none() -> None:
    assert tracebacks("app/main.py:2: in options\nE   KeyError: 'x'") == [["app/main.py"]]
    assert tracebacks("File ~/code/app/report.py:841, in f\nKeyError: 1") == [["~/code/app/report.py"]]
    assert tracebacks('  File "a/b.py", line 3, in f\nValueError: no') == [["a/b.py"]]
    assert tracebacks("ValueError: no frames here\nmain.py line 3") == []
    assert options("run `pytest --collect-only -x` then --lf") == ["--collect-only", "--lf"]
    assert options("no long options - here, nor -x") == []


def test_the_innermost_frame_in_the_tree_comes_first(index: CodeIndex) -> None:
    body = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "/home/me/venv/site-packages/app/scaffold.py", line 3, in run',
            "    draw(-1)",
            '  File "/home/me/venv/site-packages/app/scaffold.py", line 5, in go',
            "    draw(-1)",
            '  File "/home/me/venv/site-packages/app/frames.py", line 3, in draw',
            "    raise Oops",
            '  File "/usr/lib/python3.11/enum.py", line 3, in __call__',
            "Oops",
        ]
    )
    assert paths(run(index, "It breaks", body))[:2] == ["app/frames.py", "app/scaffold.py"]


def test_a_name_the_issue_itself_defines_points_less(index: CodeIndex) -> None:
    body = "My plugin does this:\n\n```python\ndef draw(width):\n    return width\n```\n\nand then `draw()` is slow."
    without = DEFAULT_SETTINGS.only(p for p in RankSettings.PARTS if p != "issue_defs")

    def score(result: Analysis) -> float:
        return next(f.score for f in result.related if f.path == "app/frames.py")

    assert score(run(index, "Slow plugin", body)) < score(run(index, "Slow plugin", body, without))


def test_the_message_patterns_match_as_one_alternation_as_they_did_one_by_one() -> None:
    from runner.sage.literals import _MESSAGE_LINE, _MESSAGE_LINES

    lines = [
        "E   ValueError: Scalar operands are not allowed, use '*' instead",
        "pkg.errors.ParseError: cannot parse the value",
        "2024-01-01 WARNING: disk almost full again today",
        "src/app.py:12:5: E501 line too long (90 > 79 characters)",
        "> Using pytest.skip outside of a test is not allowed.",
        ">> not a quote",
        ">   indented code, not a quote",
        "error: something failed here",
        "plain sentence with no message",
        "",
    ]
    for line in lines:
        one_by_one = next((m.group(1) for pattern in _MESSAGE_LINES if (m := pattern.match(line))), None)
        match = _MESSAGE_LINE.match(line)
        assert (match.group(match.lastindex or 0) if match else None) == one_by_one, line
