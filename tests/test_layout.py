"""The package layout is the data flow: each package imports only the ones below it.

    core < learn < git < config < records < sage < pool < scaling < github < dask < run < cli

(`testing` is the GitHub emulator; it stands apart and imports only `core`.) Every import
counts, at module level, inside a function or under TYPE_CHECKING: a lazy import hides a
dependency from the reader, not from the fork server or a Dask worker that loads it. Module
level imports must also form no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import runner

ROOT = Path(runner.__file__).resolve().parent
LAYERS = ["core", "learn", "git", "config", "records", "sage", "pool", "scaling", "github", "dask", "run", "cli"]
TOP_LEVEL = {"__init__", "__main__"}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "runner" else None


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        if "demo_data" in rel.parts:
            continue
        name = ".".join(rel.parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports(path: Path, module_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {name for name in out if name == "runner" or name.startswith("runner.")}


def test_no_package_imports_one_above_it():
    upward = []
    for name, path in modules().items():
        here = package_of(name)
        if here is None or here in TOP_LEVEL:
            continue
        for target in imports(path):
            there = package_of(target)
            if there is None or there == here or there == "__version__":
                continue
            if here == "testing":
                if there != "core":
                    upward.append(f"{name} -> {target}")
                continue
            if there == "testing" or LAYERS.index(there) > LAYERS.index(here):
                upward.append(f"{name} -> {target}")
    assert not upward, "imports against the flow:\n" + "\n".join(sorted(upward))


def test_module_level_imports_have_no_cycle():
    mods = modules()
    graph = {
        name: {t for t in imports(path, module_level_only=True) if t in mods and t != name}
        for name, path in mods.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and not _is_package_reexport(nxt, node):
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _is_package_reexport(package: str, module: str) -> bool:
    """A package's __init__ re-exporting its own module is not a cycle (the module loads first)."""
    return module.startswith(package + ".")


def test_the_worker_side_loads_no_master_ui_or_github_code():
    """What the fork server preloads and what a Dask worker imports stay on the worker's side."""
    import subprocess
    import sys

    code = (
        "import sys, runner.pool.start as s, importlib; [importlib.import_module(m) for m in s.SAGE_MODULES]; "
        "import runner.dask.worker; print(' '.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    master_side = [
        m
        for m in loaded
        if m.startswith(
            ("runner.run", "runner.cli", "runner.github", "runner.records", "runner.scaling", "typer", "rich", "github")
        )
    ]
    assert not master_side, master_side


MODULE_LINES = 400


def test_every_module_stays_short_enough_to_read_in_one_sitting():
    """A module past ~400 lines has usually grown a second concept; split it before it hides."""
    package_root = ROOT.parent
    paths = list(modules().values()) + sorted((package_root / "perf").glob("*.py"))
    long = {str(p.relative_to(package_root)): n for p in paths if (n := len(p.read_text().splitlines())) > MODULE_LINES}
    assert not long, f"modules over {MODULE_LINES} lines: {long}"
