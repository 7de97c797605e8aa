"""The priority variants' figures as Markdown (see perf.eval_priority)."""

from __future__ import annotations

from typing import Any

WAYS = {"model": "model alone", "runner": "runner (model if >= 50% sure, else rules)", "rules_raise": "rules raise"}


def markdown(r: dict[str, Any]) -> str:
    splits = r["splits"]
    lines = [
        "# Learned priority, Hadoop: variants on a time-ordered validation, then the test",
        "",
        f"Data: `{r['data']}`, {r['started_at']}. Macro F1 over critical / high / low / medium.",
        "",
    ]
    for name, s in splits.items():
        p = s["runner"]
        lines.append(
            f"- {name}: learned from {s['train']}, scored on {s['test']} ("
            + ", ".join(f"{k} {v}" for k, v in s["levels"].items())
            + f"); runner itself: random-fold cross-validation {p['random_fold_cv_macro_f1']:.3f}, "
            f"model {p['model']['macro_f1']:.3f} (90% bootstrap "
            + "-".join(f"{v:.3f}" for v in p["model_90pct_bootstrap"])
            + f"), runner with model {p['runner']['macro_f1']:.3f}, "
            f"rules {p['rules']['macro_f1']:.3f}"
        )
    lines += ["", "| variant | " + " | ".join(f"{w}: validation / test" for w in WAYS.values()) + " |"]
    lines.append("|---|" + "---|" * len(WAYS))
    for name, row in r["variants"].items():
        cells = [f"{row['validation'][w]['macro_f1']:.3f} / {row['test'][w]['macro_f1']:.3f}" for w in WAYS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    chosen = r.get("chosen_by_validation", {})
    lines += [""] + [
        f"Chosen by validation, {WAYS[w]}: {n}: validation {r['variants'][n]['validation'][w]['macro_f1']:.3f}, "
        f"test {r['variants'][n]['test'][w]['macro_f1']:.3f}."
        for w, n in chosen.items()
    ]
    lines += ["", "Per level, runner's way (F1; ROC AUC of the variant's scores), validation | test:", ""]
    lines += ["| variant | F1 critical / high / low / medium | AUC critical / high / low / medium |", "|---|---|---|"]
    for name, row in r["variants"].items():
        f1 = " \\| ".join(" / ".join(f"{v:.2f}" for v in row[s]["runner"]["f1"].values()) for s in splits)
        auc = " \\| ".join(" / ".join(f"{v:.2f}" for v in row[s]["auc"].values()) for s in splits)
        lines.append(f"| {name} | {f1} | {auc} |")
    if r.get("ceiling"):
        lines += [
            "",
            "In hindsight, not a result: per-level offsets tuned on the scored rows themselves (model alone):",
            "",
        ]
        for name, row in r["ceiling"].items():
            lines.append(
                f"- {name}: "
                + ", ".join(
                    f"{s} {f['macro_f1']:.3f} (" + " / ".join(f"{v:.2f}" for v in f["f1"].values()) + ")"
                    for s, f in row.items()
                )
            )
    return "\n".join(lines) + "\n"
