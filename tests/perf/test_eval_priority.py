"""The priority variants harness: time-ordered splits, offsets tuned for macro F1, results written.
A small made-up Jira export stands in for Hadoop's; no score is asserted beyond its range."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from perf import eval_priority

JIRA = {
    "Blocker": "build broken on trunk",
    "Critical": "namenode crashes",
    "Major": "wrong quota",
    "Minor": "typo in doc",
}
ORDER = ["Major", "Minor", "Major", "Critical", "Major", "Minor", "Blocker", "Major", "Trivial", "Major"]


def jira_export(folder: Path, rows: int = 100) -> Path:
    """Rows whose priority shows in their words, created a day apart, written newest first."""
    start = datetime(2021, 1, 1)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "gitbugs-hadoop-bugs.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, ["Summary", "Priority", "Created", "Description"])
        out.writeheader()
        for n in reversed(range(rows)):
            level = ORDER[n % len(ORDER)]
            words = JIRA.get(level, "misspelt word")
            out.writerow(
                {
                    "Summary": f"Module {n % 7} {words}",
                    "Priority": level,
                    "Created": (start + timedelta(days=n)).strftime("%d/%b/%y %H:%M"),
                    "Description": f"Seen after change {n}: {words}.",
                }
            )
    return folder


def test_variants_are_learned_on_older_issues_and_scored_on_newer_ones(tmp_path: Path) -> None:
    data = jira_export(tmp_path / "triage")
    names = ["svm (runner today)", "svm + offsets tuned on the newest quarter"]
    assert eval_priority.main(["--data", str(data), "--out", str(tmp_path / "out"), "--variants", ",".join(names)]) == 0
    result = json.loads((tmp_path / "out" / "priority-variants.json").read_text())
    assert {s: (v["train"], v["test"]) for s, v in result["splits"].items()} == {
        "validation": (60, 20),
        "test": (80, 20),
    }
    for name in names:
        for split in ("validation", "test"):
            row = result["variants"][name][split]
            assert all(0 <= row[way]["macro_f1"] <= 1 for way in ("model", "runner", "rules_raise"))
            assert set(row["auc"]) == set(eval_priority.LEVELS)
    assert set(result["chosen_by_validation"].values()) <= set(names)
    text = (tmp_path / "out" / "priority-variants.md").read_text()
    assert "svm (runner today)" in text and "Chosen by validation" in text


def test_the_examples_come_oldest_first(tmp_path: Path) -> None:
    examples = eval_priority.hadoop_examples(jira_export(tmp_path / "triage", rows=30))
    dates = [e.created_at for e in examples]
    assert dates == sorted(dates) and len(examples) == 30
    assert {e.priority for e in examples} == set(eval_priority.LEVELS)


def test_offsets_bring_back_a_level_the_scores_understate() -> None:
    truth = np.array(["critical", "high", "low", "medium"] * 10)
    scores = np.eye(4)[[eval_priority.LEVELS.index(v) for v in truth]] * 2.0
    scores[:, 0] -= 3.0  # critical always loses
    offsets = eval_priority.tune_offsets(scores, truth)
    assert offsets[eval_priority.LEVELS.index("medium")] == 0
    assert eval_priority.macro_f1(truth, eval_priority._argmax(scores + offsets)) == 1.0


def test_an_unknown_variant_is_named(tmp_path: Path, capsys) -> None:
    assert eval_priority.main(["--data", str(tmp_path), "--variants", "magic"]) == 2
    assert "unknown variant 'magic'" in capsys.readouterr().err
