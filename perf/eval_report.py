"""Scores and result files of the localization evaluation (perf.eval_localization)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

SIDES = ("runner", "bm25")


def scores(records: list[dict[str, Any]], side: str) -> dict[str, float]:
    ranks = [r[f"{side}_rank"] for r in records]
    n = len(ranks) or 1
    return {
        "acc@1": round(sum(1 for k in ranks if k == 1) / n, 3),
        "acc@5": round(sum(1 for k in ranks if k and k <= 5) / n, 3),
        "mrr": round(sum(1 / k for k in ranks if k) / n, 3),
    }


def table(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{repository or "all": {n, runner: scores, bm25: scores}}."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[record["repo"]].append(record)
    groups["all"] = list(records)
    return {
        name: {"n": len(group), **{side: scores(group, side) for side in SIDES}}
        for name, group in sorted(groups.items(), key=lambda kv: (kv[0] == "all", kv[0]))
    }


def summary(records: list[dict[str, Any]]) -> str:
    lines = [
        f"{'repository':<12} {'n':>4}   {'runner Acc@1':>12} {'Acc@5':>6} {'MRR':>6}   "
        f"{'BM25 Acc@1':>10} {'Acc@5':>6} {'MRR':>6}"
    ]
    for name, row in table(records).items():
        r, b = row["runner"], row["bm25"]
        lines.append(
            f"{name:<12} {row['n']:>4}   {r['acc@1']:>12.2f} {r['acc@5']:>6.2f} {r['mrr']:>6.2f}   "
            f"{b['acc@1']:>10.2f} {b['acc@5']:>6.2f} {b['mrr']:>6.2f}"
        )
    return "\n".join(lines)


def markdown(meta: dict[str, Any], records: list[dict[str, Any]]) -> str:
    out = [
        f"# Localization evaluation {meta['stamp']}",
        "",
        f"Project commit `{meta['commit']}`, {len(records)} instances from `{meta['instances']}`, {meta['wall_s']} s.",
        "",
        "| repository | n | runner Acc@1 | Acc@5 | MRR | BM25 Acc@1 | Acc@5 | MRR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in table(records).items():
        r, b = row["runner"], row["bm25"]
        out.append(
            f"| {name} | {row['n']} | {r['acc@1']:.2f} | {r['acc@5']:.2f} | {r['mrr']:.2f} | "
            f"{b['acc@1']:.2f} | {b['acc@5']:.2f} | {b['mrr']:.2f} |"
        )
    misses = [r for r in records if r["runner_rank"] != 1]
    out += [
        "",
        f"## runner's misses at rank 1 ({len(misses)})",
        "",
        "| issue | gold file | runner's rank of it | runner's first | BM25's first |",
        "|---|---|---|---|---|",
    ]
    for r in misses:
        out.append(
            f"| {r['instance_id']} | {', '.join(r['gold'])} | {r['runner_rank'] or '-'} | "
            f"{(r['runner'] or ['-'])[0]} | {(r['bm25'] or ['-'])[0]} |"
        )
    return "\n".join(out) + "\n"


def write_results(out: Path, stamp: str, meta: dict[str, Any], records: list[dict[str, Any]]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"eval-{stamp}.json", out / f"eval-{stamp}.md"
    json_path.write_text(json.dumps({**meta, "scores": table(records), "instances": records}, indent=1) + "\n")
    md_path.write_text(markdown(meta, records))
    return json_path, md_path
