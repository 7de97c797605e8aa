"""What each part of the ranking adds: `python -m perf.eval_localization ... --ablate` (`make eval-ablate`).

Every instance is ranked again on the index already loaded for it, once per variant of
`runner.sage.localize.RankSettings`:

    cumulative   no part, then the parts added back one at a time in `RankSettings.PARTS`
                 order (the last row is the ranking as shipped)
    without      every part but one: what the ranking loses if only that part goes

Both are reported because parts overlap: a part can add little on top of the ones before it
and still be the only thing that finds some files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.sage.localize import DEFAULT_SETTINGS, RankSettings

PART_LABELS = {
    "kinds": "file kinds (changelogs, catalogues, vendored files down; docs, configuration below code)",
    "title": "the title searched on its own",
    "symbols": "files defining the names the issue uses as code",
    "modules": "module files of dotted names",
    "mentions": "paths, file names and tracebacks in the text (repeats and innermost frames count more)",
    "stems": "code files named by a word of the title",
    "options": "files quoting a command-line option the issue uses",
    "messages": "files holding a message or passage the issue shows, word for word",
    "issue_defs": "names the issue's own code defines count less",
}
BASE_LABEL = "BM25 over path, definitions and content, the 16 most telling terms"


def variants() -> dict[str, RankSettings]:
    """{variant name: settings}: `+part` cumulative rows, `-part` leave-one-out rows, `none` first."""
    parts = RankSettings.PARTS
    found = {"none": DEFAULT_SETTINGS.only(())}
    for i, part in enumerate(parts):
        found[f"+{part}"] = DEFAULT_SETTINGS.only(parts[: i + 1])
        found[f"-{part}"] = DEFAULT_SETTINGS.only(p for p in parts if p != part)
    return found


def ablation_ranks(rank: Callable[[RankSettings], list[str]], gold: list[str]) -> dict[str, int | None]:
    """{variant name: rank of the first gold file in that variant's list, None when absent}."""
    return {
        name: next((i for i, path in enumerate(rank(settings), 1) if path in gold), None)
        for name, settings in variants().items()
    }


def _scores(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    return (
        sum(1 for k in ranks if k == 1) / n,
        sum(1 for k in ranks if k and k <= 5) / n,
        sum(1 / k for k in ranks if k) / n,
    )


def ablation_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per part (and the base row): cumulative Acc@1 / Acc@5 / MRR, and the same without only that part."""
    rows = []
    for name in ["none", *(f"+{part}" for part in RankSettings.PARTS)]:
        part = name[1:] if name != "none" else None
        cumulative = _scores([r["ablation"][name] for r in records])
        without = _scores([r["ablation"][f"-{part}"] for r in records]) if part else None
        rows.append(
            {
                "part": part,
                "label": PART_LABELS[part] if part else BASE_LABEL,
                "cumulative": [round(x, 3) for x in cumulative],
                "without": [round(x, 3) for x in without] if without else None,
            }
        )
    return rows


def ablation_markdown(records: list[dict[str, Any]]) -> str:
    out = [
        f"What each part of the ranking adds ({len(records)} instances). Cumulative: each row adds one part",
        "to the row above (the last row is the ranking as shipped). Without: every part but that one.",
        "",
        "| ranking | Acc@1 | Acc@5 | MRR | without it: Acc@1 | Acc@5 |",
        "|---|---|---|---|---|---|",
    ]
    for row in ablation_table(records):
        one, five, mrr = row["cumulative"]
        label = row["label"] if row["part"] is None else f"+ {row['label']} (`{row['part']}`)"
        without = f"{row['without'][0]:.2f} | {row['without'][1]:.2f}" if row["without"] else "- | -"
        out.append(f"| {label} | {one:.2f} | {five:.2f} | {mrr:.2f} | {without} |")
    return "\n".join(out) + "\n"


def write_ablation(out: Path, stamp: str, records: list[dict[str, Any]]) -> Path:
    path = out / f"eval-{stamp}-ablation.md"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Ranking ablation {stamp}\n\n" + ablation_markdown(records))
    return path
