"""runner.sage.localize through runner.sage.analysis: the rules that pick the files a fix would change."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import IDENTITY

from runner.core.models import Issue, Priority, Triage
from runner.sage.analysis import Analysis, analyse
from runner.sage.codeindex import CodeIndex, load_or_build

GIT_ENV = {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
FILES = {
    "lib/shapes/core.py": "class Dataset:\n    def to_dict(self):\n        return {}\n",
    "lib/shapes/combine.py": "def concat(objs):\n    # concat joins datasets; concat keeps attrs\n    return objs\n",
    "lib/shapes/docs_helper.py": "# notes about Dataset and concat and to_dict usage\n",
    "lib/net/models.py": "class Request:\n    def prepare_body(self, data):\n        return data\n",
    "lib/ext/napoleon/__init__.py": "def setup(app):\n    return app\n",
    "CHANGES.rst": "concat: concat keeps attrs; concat dataset concat to_dict fixed\n" * 5,
    "locale/fr/LC_MESSAGES/app.po": 'msgid "concat dataset"\nmsgstr "concat"\n' * 5,
    "tests/test_combine.py": "from lib.shapes.combine import concat\n\n"
    "def test_concat():\n    assert concat([]) == []\n",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> CodeIndex:
    repo = tmp_path_factory.mktemp("localize") / "repo"
    repo.mkdir()
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for name, text in FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "s"], check=True, env=env)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    return load_or_build(repo, head, repo.parent / "cache")[0]


def run(index: CodeIndex, title: str, body: str = "") -> Analysis:
    return analyse(Issue(1, title, body, (), None, None, None, 1, "h"), Triage(Priority.MEDIUM, "bug", "", ""), index)


def test_a_function_named_as_code_leads_to_the_file_defining_it(index: CodeIndex) -> None:
    result = run(index, "concat drops attributes", "Calling `concat()` on two datasets loses attrs.")
    assert result.related[0].path == "lib/shapes/combine.py"
    assert result.related[0].symbols == ("concat",)
    assert (1, "def concat(objs):") in result.related[0].lines


def test_a_qualified_method_picks_its_class_file(index: CodeIndex) -> None:
    result = run(index, "to_dict is wrong", "See :meth:`Dataset.to_dict` which returns nothing useful.")
    assert result.related[0].path == "lib/shapes/core.py"
    assert "Dataset.to_dict" in result.related[0].symbols


def test_changelogs_and_catalogues_stay_below_source(index: CodeIndex) -> None:
    paths = [f.path for f in run(index, "concat dataset attrs", "concat concat dataset to_dict").related]
    assert paths[0].startswith("lib/")
    for other in ("CHANGES.rst", "locale/fr/LC_MESSAGES/app.po"):
        assert other not in paths or paths.index(other) > paths.index("lib/shapes/combine.py")


def test_tests_are_listed_apart(index: CodeIndex) -> None:
    result = run(index, "concat fails", "`concat` raises")
    assert "tests/test_combine.py" not in [f.path for f in result.related]
    assert [f.path for f in result.tests] == ["tests/test_combine.py"]


def test_a_traceback_path_from_another_machine_finds_the_file(index: CodeIndex) -> None:
    body = 'Traceback:\n  File "/usr/lib/python3/site-packages/lib/net/models.py", line 2, in prepare_body\n'
    assert run(index, "Crash on upload", body).related[0].path == "lib/net/models.py"


def test_a_dotted_module_name_finds_its_package(index: CodeIndex) -> None:
    result = run(index, "Option ignored", "With extensions = ['lib.ext.napoleon'] the option is ignored")
    assert result.related[0].path == "lib/ext/napoleon/__init__.py"


def test_names_used_as_code_are_those_every_pattern_finds() -> None:
    """A pattern skipped for a text without its character (`(`, `.`, `_`, a backtick, `:`)
    would have found nothing there."""
    from runner.sage import symbols

    def every_pattern(text: str) -> dict[str, float]:
        found: dict[str, float] = {}
        spans = [name for span in symbols._BACKTICK.findall(text) for name in symbols._SPAN_NAME.findall(span)]
        for names, weight in (
            (spans, 1.0),
            (symbols._ROLE.findall(text), 1.0),
            (symbols._CALL.findall(text), 1.0),
            (symbols._DOTTED.findall(text), 0.7),
            (symbols._CAMEL.findall(text), 0.5),
            (symbols._SNAKE.findall(text), 0.5),
        ):
            for name in names:
                name = name.strip(".")
                if len(name) >= 3 and not symbols._FILE_SUFFIX.search(name) and found.get(name, 0) < weight:
                    found[name] = weight
        return found

    texts = [
        "Crash when loading sessions in auth",
        "`Dataset.to_dict` fails; see :meth:`Dataset.to_dict` and concat(a, b) in xr.core.merge",
        "load_session returns None for SearchFilterService.handle",
        "no dots no calls but camelCase and snake_case words",
        "",
    ]
    for text in texts:
        assert symbols.named_symbols(text) == every_pattern(text)
