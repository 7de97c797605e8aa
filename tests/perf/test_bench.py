"""Smoke test of the benchmark suite: `python -m perf.bench --quick` once, end to end.

It checks that the suite completes and writes a valid results file with every scenario,
never how fast anything was (machines are noisy).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {"original", "pipeline", "baselines", "pacing", "adaptive", "crash", "bigrepo", "scale"}


@pytest.mark.timeout(300)
def test_quick_suite_writes_a_complete_results_file(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "perf.bench", "--quick", "--out", str(out)], cwd=ROOT, capture_output=True, timeout=280
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    [json_path] = out.glob("bench-*.json")
    result = json.loads(json_path.read_text())
    assert set(result["scenarios"]) == SCENARIOS
    for name, data in result["scenarios"].items():
        assert "error" not in data, f"{name}: {data.get('error')}"
    assert result["quick"] is True
    assert {"cpu_count", "cpu_model", "python", "git"} <= set(result["machine"])
    assert all({"target", "measured", "goal", "met"} <= set(row) for row in result["targets"])
    markdown = json_path.with_suffix(".md").read_text()
    assert "## Targets" in markdown
    for name in result["charts"].values():
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["scenarios"]["crash"]["issues_lost"] == 0
