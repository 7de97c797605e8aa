"""`runner learn`'s cross-validation: dated issues are scored on stretches of time, so a figure
that only held because neighbours in time share words does not flatter the model."""

from __future__ import annotations

import random

from runner.learn.classifier import Example
from runner.learn.model import train_repository

FILLER = ["the widget", "a panel", "when saving", "after an update", "in the settings", "on start"]


def release_examples(dated: bool) -> list[Example]:
    """Eight releases of 15 issues each; every release has its own code word and its issues all
    got one kind (bug and feature releases alternate). The code word says the kind of a release's
    other issues but nothing about another release's."""
    rng = random.Random(3)
    examples = []
    for release in range(8):
        kind = ("bug", "feature")[release % 2]
        for n in range(15):
            words = " ".join(rng.sample(FILLER, 3))
            created = f"2024-{release + 1:02d}-{n + 1:02d}T00:00:00Z" if dated else ""
            examples.append(Example(f"release{release}word {words}", words, kind, None, created))
    rng.shuffle(examples)
    return examples


def test_dated_issues_are_cross_validated_on_stretches_of_time() -> None:
    _, (by_time, _) = train_repository("acme/widgets", release_examples(dated=True))
    _, (shuffled, _) = train_repository("acme/widgets", release_examples(dated=False))
    assert by_time.cv_in_time_order and not shuffled.cv_in_time_order
    assert "folds in time order" in by_time.summary()
    assert shuffled.cv_macro_f1 is not None and by_time.cv_macro_f1 is not None
    assert shuffled.cv_macro_f1 > 0.9  # a test issue's release-mates were learned from
    assert by_time.cv_macro_f1 < 0.7  # a whole release is held out: its code word is new


def test_stretches_that_leave_one_class_to_learn_from_fall_back_to_random_folds() -> None:
    examples = [Example(f"issue {n} crashes", "", "bug", None, f"2024-01-{n + 1:02d}") for n in range(20)] + [
        Example(f"issue {n} wishlist", "", "feature", None, f"2024-03-{n + 1:02d}") for n in range(5)
    ]
    model, (kind, _) = train_repository("acme/widgets", examples)
    assert model.kind is not None and not kind.cv_in_time_order
