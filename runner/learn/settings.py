"""`[learn]` in runner.toml, and the triager a run uses: rules, plus each repository's model.

Kept free of numpy and scikit-learn: a run whose state directory holds no model
never imports them, so commands start as fast as before.

    [learn]
    min_issues = 20          # fewer labelled issues than this: the rules stay
    min_confidence = 0.5     # the model decides at or above this confidence
    max_age_days = 30        # runner nightly retrains a model older than this
    [learn.labels]           # a repository's own labels -> a kind, a priority or "ignore"
    "RFC" = "feature"
    "Blocker" = "critical"
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.models import Issue, Triage
from runner.core.triage import Triager, TriageRules

log = logging.getLogger(__name__)
_KEYS = ("min_issues", "min_confidence", "max_age_days", "labels")


@dataclass(frozen=True)
class LearnSettings:
    min_issues: int = 20
    min_confidence: float = 0.5
    max_age_days: float = 30.0
    labels: Mapping[str, str] = field(default_factory=dict)


def learn_settings(table: Mapping[str, Any]) -> LearnSettings:
    """The `[learn]` table checked; ValueError naming the key otherwise."""
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ValueError(f"unknown [learn] key {unknown[0]!r} (expected one of {', '.join(_KEYS)})")
    labels = table.get("labels", {})
    if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
        raise ValueError('[learn.labels] must map label names to a kind, a priority or "ignore"')
    settings = LearnSettings(
        min_issues=_number(table, "min_issues", 20, int),
        min_confidence=_number(table, "min_confidence", 0.5, float),
        max_age_days=_number(table, "max_age_days", 30.0, float),
        labels=dict(labels),
    )
    if settings.min_issues < 2 or not 0 <= settings.min_confidence <= 1 or settings.max_age_days <= 0:
        raise ValueError("[learn] needs min_issues >= 2, 0 <= min_confidence <= 1 and max_age_days > 0")
    return settings


def _number(table: Mapping[str, Any], key: str, default: float, kind: type) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise ValueError(f"[learn] {key} must be a {'whole ' if kind is int else ''}number, got {value!r}")
    return kind(value)


class RunTriager:
    """What the intake asks for each issue: the repository's model when it has one (loaded once,
    on the first issue of that repository), else the rules."""

    def __init__(
        self,
        rules: TriageRules,
        state_dir: Path,
        settings: LearnSettings | None = None,
        warn: Callable[[str], None] = log.warning,
    ) -> None:
        self.rules = Triager(rules)
        self.state_dir = state_dir
        self.settings = settings or LearnSettings()
        self.warn = warn
        self._models_dir = state_dir / "models"
        self._learned: Any = None
        self._tried: set[str] = set()

    def triage(self, issue: Issue, repository: str | None = None) -> Triage:
        key = (repository or issue.repository or "").lower()
        if key and key not in self._tried:
            self._tried.add(key)
            self._load(key)
        if self._learned is None or key not in self._learned.models:
            return self.rules.triage(issue)
        return self._learned.triage(issue, key)

    def _load(self, key: str) -> None:
        if not (self._models_dir / (key.replace("/", "__") + ".npz")).exists():
            return
        try:
            from runner.learn import store as model_store
            from runner.learn.model import LearnedTriager
        except ImportError as exc:
            self.warn(f"the model of {key} needs scikit-learn ({exc}); the rules triage it")
            return
        models = model_store.load_usable(self.state_dir, [key], warn=self.warn)
        if self._learned is None:
            self._learned = LearnedTriager(self.rules, {}, self.settings.min_confidence)
        self._learned.models.update(models)
