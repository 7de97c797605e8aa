"""Imported by the fork server sages are forked from (`runner.pool.start`), never by a run
itself: compiles the shipped templates once there, so every sage starts with them."""

from __future__ import annotations

from runner.core.models import KINDS
from runner.sage.render import preload_shipped

preload_shipped(KINDS)
