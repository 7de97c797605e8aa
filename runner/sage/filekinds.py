"""What kind of file a path is, as far as "which file would a fix change" goes.

    source   code and configuration: what fixes change
    test     tests and test helpers (`testing/` packages): listed apart, as the tests to look at
    docs     prose (.rst, .md, .txt, doc/ and docs/ trees): ranked below source
    other    changelogs, release notes, translation catalogues, vendored (also a `packages`
             folder inside a package), generated, minified and lock files, issue templates:
             searchable, but almost never what a fix edits

General rules on names and git's `linguist-vendored` / `linguist-generated`
attributes only; nothing here knows a particular repository.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

KINDS = ("source", "test", "docs", "other")
_CHANGELOG = re.compile(
    r"(^|[/_.-])(changes?|changelog|history|news|release[-_]?notes?|whats[-_]?new|authors|contributors|"
    r"changelog\.d|newsfragments)([/_.-]|$)",
    re.IGNORECASE,
)
_OTHER_SUFFIXES = (
    ".po",
    ".pot",
    ".mo",
    ".lock",
    ".min.js",
    ".min.css",
    ".map",
    ".svg",
    ".csv",
    ".tsv",
    ".ipynb",
    ".pb",
    ".pickle",
    ".json.gz",
)
_LOCK_NAMES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "pipfile.lock",
        "cargo.lock",
        "gemfile.lock",
        "composer.lock",
        "go.sum",
        "uv.lock",
        "pdm.lock",
    }
)
_VENDOR_DIRS = frozenset(
    {
        "vendor",
        "vendored",
        "_vendor",
        "third_party",
        "thirdparty",
        "third-party",
        "node_modules",
        "externals",
        "extern",
        "bower_components",
        "site-packages",
    }
)
_GENERATED_PARTS = ("_pb2.py", "_pb2_grpc.py", ".generated.", "_generated.", ".g.dart")
# what people fill in when they open an issue: it shares every issue's boilerplate
CODE_SUFFIXES = (
    ".py",
    ".pyi",
    ".pyx",
    ".pxd",
    ".js",
    ".jsx",
    ".ts",
    ".tsx",
    ".mjs",
    ".cjs",
    ".go",
    ".rs",
    ".rb",
    ".java",
    ".kt",
    ".scala",
    ".swift",
    ".php",
    ".cs",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".m",
    ".lua",
    ".ex",
    ".exs",
    ".dart",
    ".jl",
    ".r",
    ".sh",
    ".pl",
    ".hs",
    ".ml",
    ".clj",
    ".erl",
    ".vue",
    ".svelte",
)
_TEMPLATE_DIRS = frozenset({"issue_template", "pull_request_template", "discussion_template"})
_DOC_SUFFIXES = (".rst", ".md", ".txt", ".adoc", ".rdoc", ".tex", ".html", ".htm")
_DOC_DIRS = frozenset(
    {"doc", "docs", "documentation", "examples", "example", "tutorial", "tutorials", "benchmarks", "asv_bench", "bench"}
)
_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "testcases"})
# linguist's list of well-known libraries copied into repositories
_VENDORED_NAME = re.compile(
    r"(jquery|underscore|bootstrap|modernizr|html5shiv|require|d3|backbone|prototype|"
    r"mootools|angular|react|vue|lodash|moment|mathjax)([-.][\w.-]*)?\.js$"
)
_TEST_NAME = re.compile(
    r"(^test_.*|.*_tests?\.\w+$|^tests?\.\w+$|.*\.(test|spec)\.\w+$|^conftest\.py$"
    r"|.*Tests?\.(java|kt|cs|scala|swift)$)"
)


@lru_cache(maxsize=1 << 16)
def kind_of(path: str) -> str:
    """The kind of `path` from its name alone (attributes: `with_attributes`)."""
    lower = path.lower()
    parts = lower.split("/")
    name = parts[-1]
    dirs = parts[:-1]
    if (
        name in _LOCK_NAMES
        or lower.endswith(_OTHER_SUFFIXES)
        or any(d in _VENDOR_DIRS for d in dirs)
        or any(p in name for p in _GENERATED_PARTS)
        or "/locale/" in f"/{lower}"
        or _VENDORED_NAME.match(name)
        or _CHANGELOG.search(name.rsplit(".", 1)[0] if "." in name else name)
        or any(_CHANGELOG.fullmatch(d) for d in dirs)
        or "packages" in dirs[1:]
        or any(d in _TEMPLATE_DIRS for d in dirs)
    ):
        return "other"
    if any(d in _TEST_DIRS for d in dirs) or _TEST_NAME.match(path.rsplit("/", 1)[-1]):
        return "test"
    if (
        lower.endswith(_DOC_SUFFIXES)
        or name in {"readme", "license", "copying", "notice"}
        or any(d in _DOC_DIRS for d in dirs)
    ):
        return "docs"
    return "source"


def is_code(path: str) -> bool:
    """Written in a programming language (by suffix), as opposed to configuration, data or markup."""
    return path.lower().endswith(CODE_SUFFIXES)


def linguist_patterns(gitattributes: str, directory: str = "") -> list[tuple[str, str]]:
    """(pattern, "other") for each line of a .gitattributes marking files vendored or generated."""
    found = []
    for line in gitattributes.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith("#"):
            continue
        for attr in fields[1:]:
            if attr in ("linguist-vendored", "linguist-generated", "linguist-vendored=true", "linguist-generated=true"):
                found.append((_anchored(fields[0], directory), "other"))
    return found


def _anchored(pattern: str, directory: str) -> str:
    """A .gitattributes pattern as an fnmatch pattern over full paths."""
    base = f"{directory}/" if directory else ""
    if pattern.endswith("/**"):
        pattern = pattern[:-3] + "/*"
    if "/" in pattern.strip("/"):
        return base + pattern.lstrip("/")
    return base + "*" + pattern if base else pattern


def with_attributes(path: str, patterns: list[tuple[str, str]]) -> str:
    """`kind_of(path)`, unless a linguist attribute says the file is vendored or generated."""
    for pattern, kind in patterns:
        if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern):
            return kind
    return kind_of(path)
