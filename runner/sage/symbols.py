"""Where names are defined in code, and which names an issue's text points at.

Definitions: for Python, classes, functions, methods as `Class.method` (enclosing
classes found by indentation) and module-level names; for other languages, a keyword
regex (`def`, `class`, `function`, `func`, `fn`, `struct`, `interface`, `trait`, `enum`,
`type`, ...).

Issue names: backticked spans, Sphinx roles (`:meth:`Dataset.to_dict``), calls
(`concat(`), dotted names (`sphinx.ext.napoleon`, `xr.Dataset.to_dict`), CamelCase and
snake_case words: the spellings people use for code.
"""

from __future__ import annotations

import re

from runner.sage.filekinds import is_code

_PY_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_PY_NAME = re.compile(r"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)", re.MULTILINE)
_OTHER_DEF = re.compile(
    r"^[ \t]*(?:(?:export|public|private|protected|static|async|pub(?:\([\w:]+\))?|abstract|final|default|"
    r"inline|virtual|override|unsafe|extern|const)[ \t]+)*"
    r"(?:def|class|function\*?|func(?:[ \t]*\([^)]*\))?|fn|struct|interface|trait|enum|type|module|impl|object|"
    r"record|protocol|extension)[ \t]+([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_PY_SUFFIXES = (".py", ".pyi", ".pyx")

_BACKTICK = re.compile(r"`{1,2}([^`\n]{1,120})`{1,2}")
_SPAN_NAME = re.compile(r"[A-Za-z_][\w.]*")
_ROLE = re.compile(r":(?:py:)?(?:meth|func|class|attr|mod|obj|exc|data|const|ref)?:`~?([\w.]+)")
_CALL = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*\w)\(")
_DOTTED = re.compile(r"(?<![\w./-])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w/-])")
_CAMEL = re.compile(r"(?<![\w.])([A-Z][a-z0-9]+[A-Z]\w*|[a-z]+[A-Z]\w*)")
_SNAKE = re.compile(r"(?<![\w.])(_*[a-z][a-z0-9]*_\w+)")
_FILE_SUFFIX = re.compile(r"\.(py|rst|md|txt|cfg|toml|ini|json|yaml|yml|html|js|ts|c|h|go|rs|rb|java|po|in)$")


def definitions(path: str, text: str) -> list[tuple[str, str, int]]:
    """(name, qualified name, 1-based line) of what `text` defines; [] for files that are not code."""
    lower = path.lower()
    if lower.endswith(_PY_SUFFIXES):
        return _python(text)
    if is_code(lower):
        lines = _LineNumbers(text)
        return [(m.group(1), m.group(1), lines.at(m.start())) for m in _OTHER_DEF.finditer(text)]
    return []


class _LineNumbers:
    """1-based line of an offset, for offsets met in increasing order (regex matches)."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _python(text: str) -> list[tuple[str, str, int]]:
    """`def`/`class` with their enclosing classes found by indentation, and names bound at column 0.

    A regex, not `ast`: parsing took 60% of an index build (17 of 27 s on a 1,400-file
    tree), and this also reads files that do not parse (Python 2, templates)."""
    found: list = []
    classes: list = []
    lines = _LineNumbers(text)
    for m in _PY_DEF.finditer(text):
        indent = len(m.group(1).expandtabs(4))
        while classes and classes[-1][0] >= indent:
            classes.pop()
        prefix = "".join(f"{name}." for _, name in classes)
        found.append((m.group(3), prefix + m.group(3), lines.at(m.start())))
        if m.group(2) == "class":
            classes.append((indent, m.group(3)))
    lines = _LineNumbers(text)
    found += [(m.group(1), m.group(1), lines.at(m.start())) for m in _PY_NAME.finditer(text)]
    return found


def module_name(path: str) -> str | None:
    """`src/pkg/sub/mod.py` -> `pkg.sub.mod` (`__init__.py` names its package); None for non-Python."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    if parts and parts[0] in ("src", "lib") and len(parts) > 1:
        parts.pop(0)
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def defined_in(text: str) -> set[str]:
    """Names a Python snippet in `text` defines with `def` or `class`."""
    return {m.group(3) for m in _PY_DEF.finditer(text)}


def named_symbols(text: str) -> dict[str, float]:
    """Names the issue uses as code, each with how surely it is code (1 backticked, role or
    call; 0.7 dotted; 0.5 CamelCase / snake_case word). A pattern is not run over a text
    without the character it needs (a call's `(`, a dotted name's `.`): each run is a scan
    of the whole text."""
    found: dict[str, float] = {}

    def add(name: str, weight: float) -> None:
        name = name.strip(".")
        if len(name) >= 3 and not _FILE_SUFFIX.search(name) and found.get(name, 0) < weight:
            found[name] = weight

    for span in _BACKTICK.findall(text) if "`" in text else ():
        for name in _SPAN_NAME.findall(span):
            add(name, 1.0)
    for name in _ROLE.findall(text) if ":" in text else ():
        add(name, 1.0)
    for name in _CALL.findall(text) if "(" in text else ():
        add(name, 1.0)
    for name in _DOTTED.findall(text) if "." in text else ():
        add(name, 0.7)
    for name in _CAMEL.findall(text):
        add(name, 0.5)
    for name in _SNAKE.findall(text) if "_" in text else ():
        add(name, 0.5)
    return found
