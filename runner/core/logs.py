"""The name every runner logger hangs under; where the records go is the command line's choice."""

from __future__ import annotations

LOGGER = "runner"
