"""The triage benchmark's figures as text: the headline it prints and the Markdown it writes."""

from __future__ import annotations

from typing import Any


def headline(r: dict[str, Any]) -> str:
    k, h, s = r["nlbse_kind"]["mean_macro_f1"], r["hadoop_priority"], r["sklearn_kind"]
    lines = [
        f"kind NLBSE'24 mean macro F1: model {k['model']:.3f}, runner with model {k['runner_with_model']:.3f}, "
        f"rules {k['rules']:.3f}",
        f"priority Hadoop macro F1: model {h['model']['macro_f1']:.3f}, runner with model "
        f"{h['runner_with_model']['macro_f1']:.3f}, rules {h['rules']['macro_f1']:.3f}",
        f"kind scikit-learn (own labels) macro F1: model {s['model']['macro_f1']:.3f}, runner with model "
        f"{s['runner_with_model']['macro_f1']:.3f}, rules {s['rules']['macro_f1']:.3f}",
    ]
    if "speed" in r:
        sp = r["speed"]
        lines.append(
            f"learn on {sp['issues']} issues: {sp['train_with_cv_cpu_s']} s CPU ({sp['train_with_cv_s']} s wall, "
            f"load average {sp['load_average_1min']}); per issue: model {sp['model_per_issue_cpu_ms']} ms CPU "
            f"on top of the rules' {sp['rules_per_issue_cpu_ms']} ms"
        )
    return "\n".join(lines)


def matrix_md(title: str, s: dict[str, Any]) -> list[str]:
    columns = list(next(iter(s["confusion"].values())).keys())
    lines = [
        f"{title} (rows: people's answer, columns: runner's)",
        "",
        "| | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    lines += [f"| **{t}** | " + " | ".join(str(row[c]) for c in columns) + " |" for t, row in s["confusion"].items()]
    return [*lines, ""]


def markdown(r: dict[str, Any]) -> str:
    out = [
        "# Triage quality",
        "",
        f"`python -m perf.eval_triage --data {r['data']}` ({r['started_at']})",
        "",
        "```",
        headline(r),
        "```",
        "",
        "## Kind, NLBSE'24 (macro F1 per repository)",
        "",
        "| repository | model | runner with model | rules |",
        "|---|---|---|---|",
    ]
    for repo, x in r["nlbse_kind"]["repositories"].items():
        out.append(
            f"| {repo} | {x['model']['macro_f1']:.3f} | {x['runner_with_model']['macro_f1']:.3f} "
            f"| {x['rules']['macro_f1']:.3f} |"
        )
    m = r["nlbse_kind"]["mean_macro_f1"]
    out += [f"| **mean** | **{m['model']:.3f}** | **{m['runner_with_model']:.3f}** | **{m['rules']:.3f}** |", ""]
    for repo, x in r["nlbse_kind"]["repositories"].items():
        out += matrix_md(f"{repo}, model", x["model"]) + matrix_md(f"{repo}, rules", x["rules"])
    for key, title in (
        ("hadoop_priority", "Priority, Hadoop (newest 20% by date)"),
        ("sklearn_kind", "Kind, scikit-learn's own labels (newest 20% by date)"),
    ):
        x = r[key]
        out += [
            f"## {title}",
            "",
            f"train {x['train']}, test {x['test']}; mapping `{x['mapping']}`",
            "",
            f"- {x['cv']}",
            "",
        ]
        for way in ("model", "runner_with_model", "rules"):
            out += matrix_md(f"{way.replace('_', ' ')}: macro F1 {x[way]['macro_f1']:.3f}", x[way])
    a = r["rules_all"]
    out += [
        "## Rules alone on every row",
        "",
        f"- NLBSE'24, all 3,000 rows: macro F1 {a['nlbse_all_rows_kind']['macro_f1']:.3f} "
        f"({a['nlbse_all_rows_kind']['default_kind']} fell to the default kind)",
        f"- Hadoop, all rows: priority macro F1 {a['hadoop_all_rows_priority']['macro_f1']:.3f}",
        "",
    ]
    out += matrix_md("Hadoop priority by rules, all rows", a["hadoop_all_rows_priority"])
    return "\n".join(out) + "\n"
