"""runner: a batch runner that turns GitHub issues into ready-to-review branches."""

from __future__ import annotations

__version__ = "0.1.0"
