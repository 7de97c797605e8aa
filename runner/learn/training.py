"""Training one target (kind or priority): cross-validation first, for the figures `runner
learn` prints and for the temperature that turns scores into confidence, then the model.

    examples with a label ──> folds (stretches of time when dated, else stratified) ──>
        held-out scores ──> macro F1 against the rules', softmax temperature
    all of them ──> TextClassifier
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.learn.classifier import LARGE, MIN_EXAMPLES, MIN_PER_CLASS, TextClassifier, fit_temperature


@dataclass
class TargetReport:
    """How one target (kind or priority) was learned, or why not."""

    target: str
    examples: int
    classes: dict[str, int]
    trained: bool
    reason: str = ""
    cv_macro_f1: float | None = None
    cv_rules_macro_f1: float | None = None
    cv_per_class: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    cv_in_time_order: bool = False

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.classes.items(), key=lambda kv: -kv[1]))
        if not self.trained:
            return (
                f"{self.target}: not learned, {self.reason} "
                f"({self.examples} labelled: {counts or 'none'}); rules decide"
            )
        text = (
            f"{self.target}: learned from {self.examples} issues ({counts}); cross-validated macro F1 "
            f"{self.cv_macro_f1:.3f}{' (folds in time order)' if self.cv_in_time_order else ''}"
        )
        if self.cv_rules_macro_f1 is not None:
            text += f" (rules on the same issues {self.cv_rules_macro_f1:.3f})"
        if self.dropped:
            text += "; too few to learn: " + ", ".join(f"{k} {v}" for k, v in self.dropped.items())
        return text


def train_target(
    target: str,
    matrix: Any,
    vectorizers: list[Any],
    labels: Sequence[str | None],
    rules_guess: Sequence[str] | None = None,
    folds: int = 5,
    min_examples: int = MIN_EXAMPLES,
    dates: Sequence[str] | None = None,
) -> tuple[TextClassifier | None, TargetReport]:
    """A classifier for one target from the examples that have it, cross-validated first.
    `matrix` holds every example's features (the vocabulary is learned from all the text once:
    words carry no labels, and it spares a vectorization per fold).

    When every example has a creation date the folds are consecutive stretches of time, not a
    shuffle: issues filed close together share topics (one release's bugs, one outage), and
    random folds let the model see a test issue's neighbours, which on Hadoop's priorities read
    0.37 where the newest issues give 0.26-0.33; consecutive folds read 0.26, at no extra cost."""
    present = {i: label for i, label in enumerate(labels) if label}
    keep = list(present)
    counts = Counter(present.values())
    dropped = {k: v for k, v in counts.items() if v < MIN_PER_CLASS}
    keep = [i for i in keep if present[i] not in dropped]
    classes = {k: v for k, v in counts.items() if k not in dropped}
    report = TargetReport(target, len(keep), dict(counts), False, dropped=dropped)
    if matrix is None or len(keep) < min_examples or len(classes) < 2:
        report.reason = f"fewer than {min_examples} labelled issues" if len(keep) < min_examples else "one class only"
        return None, report
    chronology = None
    if dates is not None and all(dates[i] for i in keep):
        chronology = np.array(sorted(range(len(keep)), key=lambda j: dates[keep[j]]))
    x = matrix[keep]
    y = np.array([present[i] for i in keep])
    balanced = target == "priority"
    nb = target == "kind"
    guesses = [rules_guess[i] for i in keep] if rules_guess is not None else None
    prior = guesses if target == "kind" else None
    folds = min(folds if len(keep) <= LARGE else 3, min(classes.values()))
    predicted, scores, order, report.cv_in_time_order = _cross_validate(x, y, folds, balanced, nb, chronology, prior)
    from sklearn.metrics import f1_score

    names = sorted(classes)
    report.cv_macro_f1 = float(f1_score(y, predicted, labels=names, average="macro", zero_division=0))
    per = f1_score(y, predicted, labels=names, average=None, zero_division=0)
    report.cv_per_class = {n: round(float(f), 3) for n, f in zip(names, per, strict=False)}
    if guesses is not None:
        report.cv_rules_macro_f1 = float(f1_score(y, guesses, labels=names, average="macro", zero_division=0))
    model = TextClassifier(balanced=balanced, nb=nb).fit([], y, matrix=x, vectorizers=vectorizers, rule_kinds=prior)
    model.temperature = fit_temperature(scores, np.array([order.index(v) for v in y]))
    report.trained = True
    return model, report


def _cross_validate(
    x: Any,
    y: np.ndarray,
    folds: int,
    balanced: bool,
    nb: bool = False,
    chronology: np.ndarray | None = None,
    prior: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
    """Held-out predictions and scores (columns in sorted class order) for every example, and
    whether the folds were stretches of time (`chronology`: the rows' positions by date); with
    `prior`, the rules' kind of each, trained and predicted with those."""
    order = sorted(set(y))
    predicted = np.empty(len(y), dtype=object)
    scores = np.zeros((len(y), len(order)))
    splits, in_time_order = _folds(y, folds, chronology)
    for train, test in splits:
        kinds = (None, None) if prior is None else ([prior[i] for i in train], [prior[i] for i in test])
        model = TextClassifier(balanced=balanced, nb=nb).fit_matrix(x[train], y[train], kinds[0])
        s = model.scores_of(x[test], kinds[1])
        full = np.full((len(test), len(order)), -10.0)
        for j, name in enumerate(model.classes):
            full[:, order.index(name)] = s[:, j]
        scores[test] = full
        predicted[test] = [order[k] for k in full.argmax(axis=1)]
    return predicted, scores, order, in_time_order


def _folds(y: np.ndarray, folds: int, chronology: np.ndarray | None) -> tuple[list[tuple[Any, Any]], bool]:
    """Consecutive stretches of time when the rows' dates are known, unless one would leave a
    single class to learn from; else stratified random folds."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if chronology is not None:
        stretches = KFold(max(folds, 2), shuffle=False).split(chronology)
        splits = [(chronology[train], chronology[test]) for train, test in stretches]
        if all(len(set(y[train])) > 1 for train, _ in splits):
            return splits, True
    shuffled = StratifiedKFold(max(folds, 2), shuffle=True, random_state=0)
    return list(shuffled.split(np.zeros(len(y)), y)), False
