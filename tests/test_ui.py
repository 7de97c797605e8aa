"""The terminal side: the periodic status line says when GitHub lets runner write again."""
from __future__ import annotations

import io
import time

from rich.console import Console

from runner import ui


def snapshot(paused_until: float | None) -> dict:
    return {"queue": [0, 1, 2, 3], "open": 1, "workers": 2, "busy": 1, "target": 2, "throughput": 1.5, "p95": 0.2,
            "scaling": "-", "breaker": "closed", "totals": {}, "paused_until": paused_until}


def test_status_line_says_paused_by_github_until_when(monkeypatch):
    monkeypatch.setattr(ui, "LOG_EVERY_S", 0.0)
    out = io.StringIO()
    observer = ui.TerminalObserver(console=Console(file=out, width=300))
    until = time.time() + 60
    observer.tick(snapshot(until))
    observer.tick(snapshot(None))
    first, second = out.getvalue().splitlines()
    assert first.endswith(f"| paused by GitHub until {time.strftime('%H:%M:%S', time.localtime(until))}")
    assert "paused" not in second
