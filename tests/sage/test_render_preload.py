"""The shipped templates compiled once in the fork server: the same plans as compiling them in each sage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runner.core.models import KINDS
from runner.sage import render


def test_the_preloaded_renderer_is_reused_for_shipped_templates_only(tmp_path: Path) -> None:
    code = (
        "import runner.sage.preload, runner.sage.render as r\n"
        "from runner.core.models import KINDS\n"
        "from pathlib import Path\n"
        "a = r.renderer_for(None, KINDS)\n"
        "assert a is r._shipped and r.renderer_for(None, KINDS) is a\n"
        f"assert r.renderer_for(Path({str(tmp_path)!r}), KINDS) is not a\n"
        "print(len(a._compiled))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) >= len(KINDS)


def test_a_preloaded_renderer_renders_what_a_fresh_one_does() -> None:
    render.preload_shipped(KINDS)
    try:
        preloaded, fresh = render.renderer_for(None, KINDS), render.Renderer()
        assert preloaded is render._shipped
        context = {
            "issue": {"number": 7, "title": "Crash | on {{ save }}", "labels": ["bug"], "url": ""},
            "summary": "It crashes.\nEvery time.",
            "priority": "High",
            "priority_reason": "label 'p1'",
            "kind": "bug",
            "kind_reason": "label 'bug'",
            "related": [{"path": "app/save.py", "score": 1.5, "lines": [(3, "def save():")], "symbols": ["save"]}],
            "tests": [{"path": "tests/test_save.py", "score": 1.0, "lines": [], "symbols": []}],
            "risk": "low",
            "risk_reasons": [],
            "duplicates": [3],
            "branch": "runner/issue-7",
        }
        for kind in KINDS:
            assert preloaded.render(kind, {**context, "kind": kind}) == fresh.render(kind, {**context, "kind": kind})
    finally:
        render._shipped = None
