"""Learning as part of a run: train and store one repository's triage model, and retrain the
stale ones at night. `runner learn` (runner.cli.learn) and `runner nightly` both come here."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.config import ConfigError
from runner.core.triage import Triager, TriageRules
from runner.learn.settings import LearnSettings

UNMAPPED_SHOWN = 10


def learn_repository(
    repository: str,
    items: list[dict[str, Any]],
    state_dir: Path,
    rules: TriageRules,
    settings: LearnSettings,
    say: Callable[[str], None],
) -> bool:
    """Train and store one repository's model; False (and the rules stay) when nothing could be learned."""
    from runner.learn import store as model_store
    from runner.learn.classifier import LabelMap, LearnError, examples_from_items
    from runner.learn.model import train_repository

    try:
        labels = LabelMap.from_rules(rules, settings.labels)
    except LearnError as exc:
        raise ConfigError(str(exc)) from None
    examples = examples_from_items(items, labels)
    model, reports = train_repository(
        repository,
        examples,
        Triager(rules),
        issues_read=len(items),
        unmapped=labels.unmapped,
        min_examples=settings.min_issues,
    )
    say(f"{repository}: {len(items)} issues read, {len(examples)} with a kind or priority label")
    for report in reports:
        say(f"  {report.summary()}")
    if labels.unmapped:
        shown = ", ".join(f"{name!r} {count}" for name, count in labels.unmapped.most_common(UNMAPPED_SHOWN))
        say(f"  labels not mapped (add them to [learn.labels] in runner.toml if they name a kind or priority): {shown}")
    if model.kind is None and model.priority is None:
        say(f"  no model stored: the rules keep triaging {repository}")
        return False
    path = model_store.save(state_dir, model)
    say(f"  model stored in {path} ({model.meta['seconds']:.1f} s)")
    return True


def _fetch_into_list(
    gh: Any, repository: str, state_dir: Path, max_wait: float, fetch_issues: Any
) -> list[dict[str, Any]]:
    import json

    (state_dir / "tmp").mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="learn-", suffix=".jsonl", dir=state_dir / "tmp")
    try:
        with os.fdopen(fd, "w+", encoding="utf-8") as handle:
            fetch_issues(gh, repository, handle, state="all", cache_dir=state_dir / "http-cache", max_wait_s=max_wait)
            handle.seek(0)
            return [json.loads(line) for line in handle if line.strip()]
    finally:
        os.unlink(name)


def refresh_models(cfg: Any, gh: Any, note: Callable[[str], None]) -> None:
    """`runner nightly`: retrain each configured repository's model that is older than max_age_days.
    A failure leaves the old model in use and is said, never stops the night."""
    from runner.github.fetch import FetchError, fetch_issues
    from runner.learn import store as model_store

    for repository in sorted(cfg.repos):
        try:
            meta = model_store.read_meta(model_store.model_path(cfg.state_dir, repository))
        except (model_store.ModelProblem, ValueError):
            continue
        model = model_store.TriageModel(repository, None, None, meta)
        if model.age_days() < cfg.learn.max_age_days:
            continue
        note(f"retraining the triage model of {repository} ({model.age_days():.0f} days old)")
        try:
            items = _fetch_into_list(gh, repository, cfg.state_dir, cfg.github_settings.max_wait_s, fetch_issues)
            learn_repository(repository, items, cfg.state_dir, cfg.rules, cfg.learn, note)
        except (FetchError, ConfigError, OSError, ValueError) as exc:
            note(f"could not retrain the model of {repository} ({exc}); the old one stays")
