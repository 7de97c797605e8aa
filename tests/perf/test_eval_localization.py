"""Smoke test of `make eval` on the requests + flask slice (nine real issues): it runs end to end,
with the ablation of `make eval-ablate`, and writes its results. No score is asserted: quality
is measured by `make eval` itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.sage.localize import RankSettings

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT.parent / "shared" / "eval" / "localization"

pytestmark = pytest.mark.skipif(
    not (EVAL / "swebench-lite.jsonl").is_file(), reason=f"evaluation data not found at {EVAL}"
)


def test_the_slice_is_scored_beside_bm25(tmp_path: Path) -> None:
    pytest.importorskip("bm25s")
    pytest.importorskip("Stemmer")
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "perf.eval_localization",
            "--instances",
            str(EVAL / "swebench-lite.jsonl"),
            "--bundles",
            str(EVAL / "repos"),
            "--repos",
            "requests,flask",
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "clones"),
            "--ablate",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    [json_path] = out.glob("eval-*.json")
    result = json.loads(json_path.read_text())
    assert set(result["scores"]) == {"flask", "requests", "all"}
    assert result["scores"]["all"]["n"] == 9
    assert {"acc@1", "acc@5", "mrr"} <= set(result["scores"]["all"]["runner"]) & set(result["scores"]["all"]["bm25"])
    assert all(record["runner"] and record["gold"] for record in result["instances"])
    assert "misses at rank 1" in json_path.with_suffix(".md").read_text()
    assert [row["part"] for row in result["ablation"]] == [None, *RankSettings.PARTS]
    assert result["ablation"][-1]["cumulative"][:2] == [
        result["scores"]["all"]["runner"]["acc@1"],
        result["scores"]["all"]["runner"]["acc@5"],
    ]
    assert "without it" in (out / f"{json_path.stem}-ablation.md").read_text()


def test_a_missing_instances_file_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "perf.eval_localization",
            "--instances",
            str(tmp_path / "none.jsonl"),
            "--bundles",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "none.jsonl: no such instances file" in proc.stderr
    assert "Traceback" not in proc.stderr
