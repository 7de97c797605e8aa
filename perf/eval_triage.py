"""Triage quality against people's answers: kind and priority, learned and by rules, in one run.

    python -m perf.eval_triage --data ../shared/eval/triage [--out perf/results]
    python -m perf.eval_triage --data ../shared/eval/triage --rules-only   # seconds, prints only

Data (see that folder's README): the NLBSE'24 issues (kind, 300 train + 300 test per
repository), Hadoop's Jira bugs (priority), scikit-learn's issues (its own labels).

- kind, NLBSE'24, as the competition scores it: a model per repository trained on its
  training rows, macro F1 over bug / feature / question on its test rows, mean of the five.
  Three columns: the learned model alone; runner with the model (labels, then the model when
  confident, else rules); the rules alone (any other kind they give counts as wrong).
- priority, Hadoop: the oldest 80% (by creation date) to learn from, the newest 20% to test;
  Jira's levels mapped as a runner.toml `[learn.labels]` table would (`HADOOP_LABELS`).
- kind, scikit-learn: the same date split, its labels read with runner's aliases plus
  `SKLEARN_LABELS`; the classes the newest 20% hold are scored.
- speed: `runner learn` on 10,000 issues (training with cross-validation), and one
  prediction at a time as the intake makes them.

Writes `triage-quality.json` and `.md` (figures and confusion matrices) under --out.
`--rules-only` trains nothing and writes nothing: the rules on every split (train rows beside
test rows, so rules can be developed on the former) and their time per issue, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from perf.eval_triage_md import headline, markdown, matrix_md
from perf.triage_data import HADOOP_LABELS, bare_issue, issue_item, read_csv
from runner.core.triage import Triager, TriageRules
from runner.learn.classifier import Example, LabelMap, examples_from_items
from runner.learn.features import document
from runner.learn.model import LearnedTriager, train_repository

NLBSE_CLASSES = ("bug", "feature", "question")
PRIORITY_CLASSES = ("critical", "high", "medium", "low")
SKLEARN_LABELS = {"New Feature": "feature", "Build / CI": "chore", "RFC": "feature", "Documentation": "docs"}
TEST_SHARE = 0.2
SPEED_ISSUES = 10_000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.eval_triage", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the eval/triage folder")
    parser.add_argument("--out", type=Path, default=Path("perf/results"), help="where the results go")
    parser.add_argument("--no-speed", action="store_true", help="skip the 10,000-issue timing")
    parser.add_argument(
        "--rules-only", action="store_true", help="only the rules, on train and test rows; print, write nothing"
    )
    parser.add_argument("--confusion", action="store_true", help="with --rules-only: print the confusion matrices")
    args = parser.parse_args(argv)
    missing = [
        n
        for n in ("nlbse24-train.csv", "nlbse24-test.csv", "gitbugs-hadoop-bugs.csv", "scikit-learn-issues.jsonl")
        if not (args.data / n).is_file()
    ]
    if missing:
        print(f"eval_triage: {args.data} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.rules_only:
        print(rules_only(args.data, confusion=args.confusion))
        return 0
    results: dict[str, Any] = {"data": str(args.data), "started_at": datetime.now().isoformat(timespec="seconds")}
    results["nlbse_kind"] = nlbse(args.data)
    results["hadoop_priority"] = hadoop(args.data)
    results["sklearn_kind"] = sklearn_own_labels(args.data)
    results["rules_all"] = rules_everywhere(args.data)
    if not args.no_speed:
        results["speed"] = speed(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "triage-quality.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "triage-quality.md").write_text(markdown(results))
    print(headline(results))
    return 0


# -- data -------------------------------------------------------------------------------


def _date_split(rows: list, key: Callable[[Any], str]) -> tuple[list, list]:
    ordered = sorted(rows, key=key)
    cut = int(len(ordered) * (1 - TEST_SHARE))
    return ordered[:cut], ordered[cut:]


# -- scoring ----------------------------------------------------------------------------


def score(truth: Sequence[str], guess: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """Macro F1 over `classes` (a guess outside them is simply wrong), per class, and the confusion matrix."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    p, r, f, n = precision_recall_fscore_support(truth, guess, labels=list(classes), zero_division=0)
    others = sorted(set(guess) - set(classes))
    columns = [*classes, *others]
    matrix = {
        t: {g: sum(1 for a, b in zip(truth, guess, strict=False) if a == t and b == g) for g in columns}
        for t in classes
    }
    return {
        "macro_f1": round(float(f1_score(truth, guess, labels=list(classes), average="macro", zero_division=0)), 4),
        "accuracy": round(sum(a == b for a, b in zip(truth, guess, strict=False)) / max(len(truth), 1), 4),
        "per_class": {
            c: {
                "precision": round(float(p[i]), 3),
                "recall": round(float(r[i]), 3),
                "f1": round(float(f[i]), 3),
                "support": int(n[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion": matrix,
        "n": len(truth),
    }


def _three_ways(
    train: list[Example], test: list[Example], classes: Sequence[str], target: str, repository: str, labels: LabelMap
) -> dict[str, Any]:
    """Model alone, runner with the model, rules alone, on one train/test split."""
    triager = Triager()
    started = time.perf_counter()
    model, reports = train_repository(repository, train, triager, unmapped=labels.unmapped)
    seconds = time.perf_counter() - started
    clf = model.kind if target == "kind" else model.priority
    docs = [document(e.title, e.body) for e in test]
    truth = [getattr(e, target) for e in test]
    learned = LearnedTriager(triager, {repository: model})
    out: dict[str, Any] = {
        "train": len(train),
        "test": len(test),
        "train_s": round(seconds, 2),
        "cv": reports[0 if target == "kind" else 1].summary(),
    }
    rules = [triager.triage(bare_issue(e.title, e.body)) for e in test]
    out["model"] = score(truth, [g for g, _ in clf.predict(docs, [t.kind for t in rules])], classes) if clf else None
    hybrid = [learned.triage(bare_issue(e.title, e.body), repository) for e in test]
    pick = (lambda t: t.kind) if target == "kind" else (lambda t: t.priority.name.lower())
    out["runner_with_model"] = score(truth, [pick(t) for t in hybrid], classes)
    out["rules"] = score(truth, [pick(t) for t in rules], classes)
    return out


def nlbse(data: Path) -> dict[str, Any]:
    train, test = read_csv(data / "nlbse24-train.csv"), read_csv(data / "nlbse24-test.csv")
    per_repo = {}
    for repo in sorted({r["repo"] for r in train}):
        labels = LabelMap.from_rules(TriageRules())

        def pick(rows, repo=repo, labels=labels):
            return examples_from_items(
                [issue_item(r["title"], r["body"], [r["label"]], r["created_at"]) for r in rows if r["repo"] == repo],
                labels,
            )

        per_repo[repo] = _three_ways(pick(train), pick(test), NLBSE_CLASSES, "kind", repo, labels)
    mean = {
        way: round(sum(r[way]["macro_f1"] for r in per_repo.values()) / len(per_repo), 4)
        for way in ("model", "runner_with_model", "rules")
    }
    return {"mean_macro_f1": mean, "repositories": per_repo}


def hadoop(data: Path) -> dict[str, Any]:
    rows = read_csv(data / "gitbugs-hadoop-bugs.csv")
    when = lambda r: datetime.strptime(r["Created"], "%d/%b/%y %H:%M").isoformat()  # noqa: E731
    labels = LabelMap.from_rules(TriageRules(), HADOOP_LABELS)
    items = [issue_item(r["Summary"], r["Description"], [r["Priority"]], when(r)) for r in rows]
    train, test = _date_split(examples_from_items(items, labels), key=lambda e: e.created_at)
    result = _three_ways(train, test, PRIORITY_CLASSES, "priority", "apache/hadoop", labels)
    result["mapping"] = HADOOP_LABELS
    return result


def sklearn_own_labels(data: Path) -> dict[str, Any]:
    items = [json.loads(line) for line in (data / "scikit-learn-issues.jsonl").open(encoding="utf-8") if line.strip()]
    labels = LabelMap.from_rules(TriageRules(), SKLEARN_LABELS)
    examples = [e for e in examples_from_items(items, labels) if e.kind]
    train, test = _date_split(examples, key=lambda e: e.created_at)
    classes = sorted({e.kind for e in test if e.kind}, key=lambda k: -sum(e.kind == k for e in test))
    result = _three_ways(
        train,
        test,
        [c for c in classes if sum(e.kind == c for e in test) >= 5],
        "kind",
        "scikit-learn/scikit-learn",
        labels,
    )
    result["mapping"] = SKLEARN_LABELS
    result["unmapped_labels"] = dict(labels.unmapped.most_common(15))
    return result


def rules_everywhere(data: Path) -> dict[str, Any]:
    """The rules alone on every labelled row (train and test): they learn nothing, so all rows are test rows."""
    triager = Triager()
    rows = read_csv(data / "nlbse24-train.csv") + read_csv(data / "nlbse24-test.csv")
    kinds = [triager.triage(bare_issue(r["title"], r["body"])).kind for r in rows]
    nlbse_all = score([r["label"] for r in rows], kinds, NLBSE_CLASSES)
    nlbse_all["default_kind"] = sum(
        triager.triage(bare_issue(r["title"], r["body"])).kind_reason == "default" for r in rows
    )
    hrows = read_csv(data / "gitbugs-hadoop-bugs.csv")
    truth = [HADOOP_LABELS[r["Priority"]] for r in hrows]
    guess = [triager.triage(bare_issue(r["Summary"], r["Description"])).priority.name.lower() for r in hrows]
    return {"nlbse_all_rows_kind": nlbse_all, "hadoop_all_rows_priority": score(truth, guess, PRIORITY_CLASSES)}


def rules_only(data: Path, confusion: bool = False) -> str:
    """The rules alone on each split the full run scores, train rows included, and their speed:
    a quick loop for developing rules on training rows and checking them on test rows."""
    triager = Triager()
    lines, issues = [], []

    def kinds(rows: list[dict[str, str]]) -> list[str]:
        found = [bare_issue(r["title"], r["body"]) for r in rows]
        issues.extend(found)
        return [triager.triage(i).kind for i in found]

    for name in ("train", "test"):
        rows = read_csv(data / f"nlbse24-{name}.csv")
        per_repo = {}
        for repo in sorted({r["repo"] for r in rows}):
            mine = [r for r in rows if r["repo"] == repo]
            per_repo[repo] = score([r["label"] for r in mine], kinds(mine), NLBSE_CLASSES)
        mean = sum(s["macro_f1"] for s in per_repo.values()) / len(per_repo)
        lines.append(
            f"kind NLBSE'24 {name}: mean macro F1 {mean:.3f} ("
            + ", ".join(f"{repo.split('/')[1]} {s['macro_f1']:.3f}" for repo, s in per_repo.items())
            + ")"
        )
        if confusion:
            for repo, s in per_repo.items():
                lines += matrix_md(f"{repo} {name}", s)
    labels = LabelMap.from_rules(TriageRules(), HADOOP_LABELS)
    rows = read_csv(data / "gitbugs-hadoop-bugs.csv")
    when = lambda r: datetime.strptime(r["Created"], "%d/%b/%y %H:%M").isoformat()  # noqa: E731
    items = [issue_item(r["Summary"], r["Description"], [r["Priority"]], when(r)) for r in rows]
    hadoop_rows = examples_from_items(items, labels)
    splits = dict(zip(("oldest 80%", "newest 20%"), _date_split(hadoop_rows, key=lambda e: e.created_at), strict=True))
    for name, part in splits.items():
        found = [bare_issue(e.title, e.body) for e in part]
        issues.extend(found)
        guess = [triager.triage(i).priority.name.lower() for i in found]
        s = score([e.priority or "" for e in part], guess, PRIORITY_CLASSES)
        lines.append(f"priority Hadoop {name}: macro F1 {s['macro_f1']:.3f}")
        if confusion:
            lines += matrix_md(f"Hadoop {name}", s)
    items = [json.loads(line) for line in (data / "scikit-learn-issues.jsonl").open(encoding="utf-8") if line.strip()]
    examples = [e for e in examples_from_items(items, LabelMap.from_rules(TriageRules(), SKLEARN_LABELS)) if e.kind]
    for name, part in zip(("oldest 80%", "newest 20%"), _date_split(examples, key=lambda e: e.created_at), strict=True):
        classes = [c for c in sorted({e.kind for e in part if e.kind}) if sum(e.kind == c for e in part) >= 5]
        found = [bare_issue(e.title, e.body) for e in part]
        s = score([e.kind or "" for e in part], [triager.triage(i).kind for i in found], classes)
        lines.append(f"kind scikit-learn (own labels) {name}: macro F1 {s['macro_f1']:.3f}, accuracy {s['accuracy']}")
        if confusion:
            lines += matrix_md(f"scikit-learn {name}", s)
    (_, cpu), _ = _timed(lambda: [triager.triage(i) for i in issues])
    lines.append(f"rules: {cpu / len(issues) * 1000:.3f} ms CPU per issue over {len(issues)} issues")
    return "\n".join(lines)


def speed(data: Path) -> dict[str, Any]:
    """Training (with 5-fold cross-validation) on 10,000 real issues, the corpora cycled to reach that many."""
    labels = LabelMap.from_rules(TriageRules(), {**HADOOP_LABELS, **SKLEARN_LABELS})
    rows = read_csv(data / "nlbse24-train.csv") + read_csv(data / "nlbse24-test.csv")
    items = [issue_item(r["title"], r["body"], [r["label"]]) for r in rows]
    items += [
        issue_item(r["Summary"], r["Description"], [r["Priority"], "bug"])
        for r in read_csv(data / "gitbugs-hadoop-bugs.csv")
    ]
    items += [json.loads(line) for line in (data / "scikit-learn-issues.jsonl").open(encoding="utf-8") if line.strip()]
    examples = examples_from_items(items, labels)
    examples = [examples[i % len(examples)] for i in range(SPEED_ISSUES)]
    load = os.getloadavg()[0]
    (train_s, train_cpu), (model, _) = _timed(lambda: train_repository("speed/test", examples))
    learned = LearnedTriager(Triager(), {"speed/test": model})
    sample = [bare_issue(e.title, e.body) for e in examples[:2000]]
    (with_model, with_model_cpu), _ = _timed(lambda: [learned.triage(i, "speed/test") for i in sample])
    (rules_only, rules_cpu), _ = _timed(lambda: [learned.triager.triage(i) for i in sample])
    per = lambda seconds: round(seconds / len(sample) * 1000, 3)  # noqa: E731
    return {
        "issues": SPEED_ISSUES,
        "load_average_1min": round(load, 1),
        "train_with_cv_s": round(train_s, 2),
        "train_with_cv_cpu_s": round(train_cpu, 2),
        "triage_per_issue_ms": per(with_model),
        "triage_per_issue_cpu_ms": per(with_model_cpu),
        "rules_per_issue_ms": per(rules_only),
        "rules_per_issue_cpu_ms": per(rules_cpu),
        "model_per_issue_cpu_ms": per(with_model_cpu - rules_cpu),
    }


def _timed(work: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    """(wall seconds, CPU seconds of this process) and the result: on a shared machine the CPU
    time is what the work costs, the wall time what it took beside the others."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


if __name__ == "__main__":
    sys.exit(main())
