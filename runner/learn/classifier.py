"""Learning a repository's triage from its own labelled issues.

    labelled issue objects ──> LabelMap (aliases + runner.toml) ──> examples (text, kind, priority)
                                                                        │
        TF-IDF (title words; title + body words) + linear SVM per target ◄┘
        cross-validated: macro F1 against the rules on the same issues, and a
        softmax temperature so decision scores read as confidence

Why this model: on the NLBSE'24 issues (300 per repository) a linear SVM over
TF-IDF word n-grams scores within a point of logistic regression, of a
calibrated liblinear SVM and of added character n-grams (0.76-0.785 mean macro
F1 for all of them), and trained by SGD it is five to fifteen times faster than
those; it needs only scikit-learn, on one CPU, and its whole state is arrays
(vocabulary, idf, weights), which runner.learn.store keeps without pickle.
The structural signals of runner.core.signals (template headings, a question,
error output) go in as pseudo-words, so each repository's labels weigh them; for
kind, so does the kind the rules give (runner.learn.prior).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.core.labels import alias_table, best_label, issue_type_name, label_name
from runner.core.models import KINDS, Priority
from runner.core.triage import KIND_PRECEDENCE, TriageRules
from runner.learn.features import Features, make_vectorizers, vectorize
from runner.learn.nbsvm import nb_weights, spread
from runner.learn.prior import rule_scores, split_rule_weights, with_rule_columns

PRIORITIES = tuple(p.name.lower() for p in Priority)
MIN_EXAMPLES = 20
MIN_PER_CLASS = 5
LARGE = 3000  # beyond this many examples three folds estimate as well as five, in less time
NB_EPOCHS = 10  # the NB-SVM member's passes: as good as 30 in cross-validation, a third of the time


class LearnError(Exception):
    """Learning could not start (bad mapping, unusable input); the message says what."""


@dataclass(frozen=True)
class Example:
    title: str
    body: str
    kind: str | None
    priority: str | None
    created_at: str = ""


@dataclass
class LabelMap:
    """A repository's labels -> runner's kinds and priorities: runner.toml's `[learn.labels]`
    first, then the triage aliases (with their `priority:`/`type:` prefixes)."""

    kinds: dict[str, str]
    priorities: dict[str, str]
    explicit: dict[str, str] = field(default_factory=dict)
    unmapped: Counter = field(default_factory=Counter)

    @classmethod
    def from_rules(cls, rules: TriageRules, explicit: Mapping[str, str] | None = None) -> LabelMap:
        table = {}
        for label, target in (explicit or {}).items():
            name = str(target).strip().lower()
            if name not in KINDS and name not in PRIORITIES and name != "ignore":
                raise LearnError(
                    f"[learn.labels] {label!r} = {target!r}: expected a kind ({', '.join(KINDS)}), "
                    f'a priority ({", ".join(PRIORITIES)}) or "ignore"'
                )
            table[str(label).strip().lower()] = name
        return cls(alias_table(rules.kind_labels), alias_table(rules.priority_labels), table)

    def read_type(self, name: str | None) -> str | None:
        """The kind an issue's type names (runner.toml's `[learn.labels]` first), when its labels named none."""
        if not name:
            return None
        target = label_name(name, self.explicit)
        if target is not None:
            return target if target in KINDS else None
        kind = label_name(name, self.kinds)
        if kind is None:
            self.unmapped[name] += 1
        return kind

    def read(self, labels: Sequence[str]) -> tuple[str | None, str | None]:
        """(kind, priority) the labels give, each None when no label names one."""
        kinds, priorities, rest = [], [], []
        for label in labels:
            target = label_name(label, self.explicit)
            if target in KINDS:
                kinds.append(target)
            elif target in PRIORITIES:
                priorities.append(target)
            elif target is None:
                rest.append(label)
        kind = best_label(rest, self.kinds, key=KIND_PRECEDENCE.index)
        priority = best_label(rest, self.priorities, key=PRIORITIES.index)
        for label in rest:
            if (
                not (kind and label == kind[1])
                and not (priority and label == priority[1])
                and best_label([label], self.kinds, key=KIND_PRECEDENCE.index) is None
                and best_label([label], self.priorities, key=PRIORITIES.index) is None
            ):
                self.unmapped[label] += 1
        kinds += [kind[0]] if kind else []
        priorities += [priority[0]] if priority else []
        return (
            min(kinds, key=KIND_PRECEDENCE.index) if kinds else None,
            min(priorities, key=PRIORITIES.index) if priorities else None,
        )


def examples_from_items(items: Iterable[Mapping[str, Any]], labels: LabelMap) -> list[Example]:
    """Issue objects (as the REST API gives them) with a kind or priority label, pull requests left out."""
    found = []
    for item in items:
        if not isinstance(item, Mapping) or "pull_request" in item or not isinstance(item.get("title"), str):
            continue
        names = [x if isinstance(x, str) else x.get("name") for x in item.get("labels") or ()]
        kind, priority = labels.read([n for n in names if isinstance(n, str)])
        kind = kind or labels.read_type(issue_type_name(item))
        if kind or priority:
            body = item.get("body")
            found.append(
                Example(
                    item["title"],
                    body if isinstance(body, str) else "",
                    kind,
                    priority,
                    str(item.get("created_at") or ""),
                )
            )
    return found


class TextClassifier:
    """TF-IDF of the title (1-3 word n-grams) and of title + body (1-2), then a linear SVM trained
    by stochastic gradient descent (30 passes; as good as liblinear's here, five times faster);
    `confidence` is a softmax of its scores at a temperature fitted on cross-validation.
    With `nb`, an NB-SVM on the same words (runner.learn.nbsvm) is averaged in, each member's
    scores divided by their training spread: `nb_coef` holds its weights per class and word.
    Trained with the rules' kinds (runner.learn.prior), `rule_coef` holds a score per class and
    rules' kind (in KINDS order), added to the words' scores."""

    def __init__(self, alpha: float = 1e-4, balanced: bool = False, nb: bool = False) -> None:
        self.alpha = alpha
        self.balanced = balanced
        self.nb = nb
        self.nb_coef: np.ndarray | None = None
        self.rule_coef: np.ndarray | None = None
        self.temperature = 1.0
        self.vectorizers: list[Any] = []
        self.coef = np.zeros((0, 0))
        self.intercept = np.zeros(0)
        self.classes: list[str] = []
        self.features: Features | None = None
        self.weights: np.ndarray | None = None

    def fit(
        self,
        docs: Sequence[tuple[str, str]],
        labels: Sequence[str] | np.ndarray,
        matrix: Any = None,
        vectorizers: list[Any] | None = None,
        rule_kinds: Sequence[str] | None = None,
    ) -> TextClassifier:
        """Fit on `docs`; or, given the `matrix` those `vectorizers` made of them, on that."""
        if matrix is None:
            self.vectorizers = make_vectorizers()
            matrix = self._matrix(docs, fit=True)
        else:
            self.vectorizers = list(vectorizers or [])
        self.fit_matrix(matrix, labels, rule_kinds)
        return self

    def fit_matrix(
        self, matrix: Any, labels: Sequence[str] | np.ndarray, rule_kinds: Sequence[str] | None = None
    ) -> TextClassifier:
        """Fit on `matrix`; given the rules' kind of each row, with them as a prior."""
        width = matrix.shape[1]
        if rule_kinds is not None:
            matrix = with_rule_columns(matrix, rule_kinds)
        self._fit_members(matrix, labels)
        self.rule_coef = None
        if rule_kinds is not None:
            self.coef, self.nb_coef, self.rule_coef = split_rule_weights(self.coef, self.nb_coef, width)
        self.weights = None
        return self

    def _fit_members(self, matrix: Any, labels: Sequence[str] | np.ndarray) -> None:
        from sklearn.linear_model import SGDClassifier

        svm = SGDClassifier(
            loss="hinge",
            alpha=self.alpha,
            class_weight="balanced" if self.balanced else None,
            max_iter=30,
            tol=None,
            random_state=0,
        ).fit(matrix, list(labels))
        self.classes = [str(c) for c in svm.classes_]
        coef, intercept = svm.coef_, svm.intercept_
        if len(self.classes) == 2:  # one score for two classes: make it one per class
            coef, intercept = np.vstack([-coef[0], coef[0]]) / 2, np.array([-intercept[0], intercept[0]]) / 2
        self.coef, self.intercept = coef.astype(np.float32), intercept.astype(np.float32)
        self.nb_coef = None
        if self.nb:
            scale = spread(self.scores_of(matrix))
            self.coef, self.intercept = self.coef / scale, self.intercept / scale
            self.nb_coef, nb_intercept = nb_weights(matrix, labels, self.classes, self.alpha, NB_EPOCHS)
            self.intercept = self.intercept + nb_intercept

    def _matrix(self, docs: Sequence[tuple[str, str]], fit: bool = False):
        return vectorize(self.vectorizers, docs, fit)

    def scores_of(self, matrix: Any, rule_kinds: Sequence[str | None] | None = None) -> np.ndarray:
        scores = np.asarray(matrix @ self.coef.T) + self.intercept
        if self.nb_coef is not None:
            scores += np.asarray((matrix > 0).astype(np.float32) @ self.nb_coef.T)
        if self.rule_coef is not None and rule_kinds is not None:
            scores += rule_scores(self.rule_coef, rule_kinds)
        return scores

    def scores(self, docs: Sequence[tuple[str, str]], rule_kinds: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores per document; `rule_kinds`, the rules' kind of each, for a model trained with them."""
        if not docs:
            return np.zeros((0, len(self.classes)))
        features = features_of(self)
        kinds = rule_kinds if rule_kinds is not None else [None] * len(docs)
        return np.vstack([self.scores_one(features.one(d), k) for d, k in zip(docs, kinds, strict=True)])

    def rule_bias(self, rule_kind: str | None) -> np.ndarray | None:
        """What the rules' kind adds to each class's score; None when nothing."""
        if self.rule_coef is None or rule_kind not in KINDS:
            return None
        return self.rule_coef[:, KINDS.index(rule_kind)]

    def scores_one(self, row: tuple[np.ndarray, np.ndarray], rule_kind: str | None = None) -> np.ndarray:
        scores = self._word_scores(row)
        bias = self.rule_bias(rule_kind)
        return scores if bias is None else scores + bias

    def _word_scores(self, row: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        columns, values = row
        k = len(self.intercept)
        width = k if self.nb_coef is None else 2 * k
        if self.weights is None or self.weights.shape != (self.coef.shape[1], width):
            stacked = self.coef if self.nb_coef is None else np.vstack([self.coef, self.nb_coef])
            self.weights = np.ascontiguousarray(stacked.T)  # a word's weights for all classes side by side
        found = self.weights.take(columns, axis=0)
        if found.shape[1] == k:
            return values @ found + self.intercept
        return values @ found[:, :k] + found[:, k:].sum(axis=0) + self.intercept

    def predict(
        self, docs: Sequence[tuple[str, str]], rule_kinds: Sequence[str | None] | None = None
    ) -> list[tuple[str, float]]:
        """(class, confidence 0..1) per document."""
        probs = softmax(self.scores(docs, rule_kinds), self.temperature)
        best = probs.argmax(axis=1)
        return [(self.classes[i], float(probs[row, i])) for row, i in enumerate(best)]

    def predict_one(self, row: tuple[np.ndarray, np.ndarray], rule_kind: str | None = None) -> tuple[str, float]:
        """As `predict` for one document's features; plain floats, as numpy costs more than it saves on four numbers."""
        return self.pick(self.scores_one(row, rule_kind).tolist())

    def pick(self, scores: list[float]) -> tuple[str, float]:
        """The best class of these decision scores and its softmax probability."""
        top = max(scores)
        t = max(self.temperature, 1e-3)
        odds = [math.exp((x - top) / t) for x in scores]
        best = scores.index(top)
        return self.classes[best], 1.0 / sum(odds)


def features_of(clf: TextClassifier) -> Features:
    """The classifier's `Features`, made once (a model lives for a run)."""
    if clf.features is None:
        clf.features = Features(clf.vectorizers)
    return clf.features


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / max(temperature, 1e-3)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The temperature with the lowest log loss of held-out scores (a one-parameter calibration)."""
    best, best_loss = 1.0, float("inf")
    for t in np.geomspace(0.05, 5.0, 40):
        p = softmax(scores, float(t))[np.arange(len(truth)), truth]
        loss = float(-np.log(np.clip(p, 1e-9, 1)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best
