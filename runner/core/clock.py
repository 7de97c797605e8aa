"""Timestamps and run ids, the same everywhere runner writes them."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

_second: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """UTC, ISO 8601 with milliseconds, as every timestamp in a report.

    Called several times per issue, so the formatted second is reused until it changes.
    """
    global _second
    now = time.time()
    whole = int(now)
    second, text = _second
    if second != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = (whole, text)
    return f"{text}.{int((now - whole) * 1000):03d}Z"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
