"""How the benchmark results are written in Markdown: numbers, medians over repeated runs, and
tables, the same way in every section of bench-<timestamp>.md.
"""

from __future__ import annotations

from typing import Any

MB = 1024 * 1024


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def med(stat: dict[str, Any] | None, digits: int = 1) -> str:
    """`median (min–max, n)` of a perf.common.summary."""
    if not stat or stat.get("median") is None:
        return "–"
    if stat["n"] == 1:
        return fmt(stat["median"], digits)
    return f"{fmt(stat['median'], digits)} ({fmt(stat['min'], digits)}–{fmt(stat['max'], digits)}, n={stat['n']})"


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return [*lines, ""]
