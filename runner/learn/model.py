"""A repository's learned triage, and how it joins the rules.

Order of authority for an issue of a repository with a model:

1. a label on the issue (runner.core.triage's aliases): people's word wins;
2. the model, when its confidence reaches `min_confidence`;
3. the rules otherwise.

`kind_reason` / `priority_reason` say which one decided and how sure the model was.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from runner.core.models import Issue, Priority, Triage
from runner.core.triage import Triager
from runner.learn.classifier import MIN_EXAMPLES, Example, TextClassifier, features_of
from runner.learn.features import document, make_vectorizers, vectorize
from runner.learn.training import TargetReport, train_target

DEFAULT_MIN_CONFIDENCE = 0.5
FORMAT_VERSION = 3  # 2: the kind model's NB-SVM weights beside the SVM's; 3: its scores per rules' kind


@dataclass
class TriageModel:
    repository: str
    kind: TextClassifier | None
    priority: TextClassifier | None
    meta: dict[str, Any] = field(default_factory=dict)
    joint: TextClassifier | None = field(default=None, repr=False, compare=False)

    @property
    def trained_at(self) -> str:
        return str(self.meta.get("trained_at", ""))

    def age_days(self, now: float | None = None) -> float:
        try:
            moment = datetime.fromisoformat(self.trained_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return float("inf")
        return ((now or time.time()) - moment) / 86400

    def predict_one(
        self, targets: Sequence[TextClassifier], doc: tuple[str, str], rule_kind: str | None = None
    ) -> list[tuple[str, float]]:
        """(class, confidence) of each of `targets` for one document, given the kind the rules gave
        it: its features are made once and, as kind and priority share them, both read their
        weights in one gather."""
        joint = self._joint()
        if joint is None or not all(_shared(t, joint) for t in targets):
            return [t.predict_one(features_of(t).one(doc), rule_kind) for t in targets]
        scores = joint.scores_one(features_of(joint).one(doc))
        bias = self.kind.rule_bias(rule_kind) if self.kind is not None else None
        if bias is not None:
            scores[: len(bias)] += bias
        found = []
        for target in targets:
            start = 0 if target is self.kind else len(self.kind.classes if self.kind else ())
            found.append(target.pick(scores[start : start + len(target.classes)].tolist()))
        return found

    def _joint(self) -> TextClassifier | None:
        """Kind's and priority's weights side by side, made once for a run."""
        if self.kind is None or self.priority is None or not _shared(self.kind, self.priority):
            return None
        if self.joint is None:
            joint = TextClassifier()
            joint.vectorizers = self.kind.vectorizers
            joint.features = self.kind.features
            joint.coef = np.vstack([self.kind.coef, self.priority.coef])
            joint.intercept = np.concatenate([self.kind.intercept, self.priority.intercept])
            if self.kind.nb_coef is not None or self.priority.nb_coef is not None:
                joint.nb_coef = np.vstack([_nb_or_zeros(self.kind), _nb_or_zeros(self.priority)])
            self.joint = joint
        return self.joint

    def summary(self) -> str:
        lines = [
            f"{self.repository}: model of {self.trained_at} ({self.meta.get('issues', 0)} issues read, "
            f"{self.meta.get('seconds', 0):.1f} s)"
        ]
        lines += [f"  {line}" for line in self.meta.get("summaries", [])]
        return "\n".join(lines)


def train_repository(
    repository: str,
    examples: Sequence[Example],
    triager: Triager | None = None,
    issues_read: int | None = None,
    unmapped: Mapping[str, int] | None = None,
    min_examples: int = MIN_EXAMPLES,
    folds: int = 5,
) -> tuple[TriageModel, list[TargetReport]]:
    """Learn kind and priority from `examples`, each only when there are enough of them."""
    started = time.perf_counter()
    triager = triager or Triager()
    docs = [document(e.title, e.body) for e in examples]
    vectorizers, matrix = [], None
    if len(examples) >= min_examples:
        vectorizers = make_vectorizers()
        try:
            matrix = vectorize(vectorizers, docs, fit=True)
        except ValueError:  # no words at all
            matrix = None
    by_rules = [triager.triage(_issue(e)) for e in examples]
    rule_kinds = [t.kind for t in by_rules]
    rule_priorities = [t.priority.name.lower() for t in by_rules]
    dates = [e.created_at for e in examples]
    kind, kind_report = train_target(
        "kind", matrix, vectorizers, [e.kind for e in examples], rule_kinds, folds, min_examples, dates
    )
    priority, priority_report = train_target(
        "priority", matrix, vectorizers, [e.priority for e in examples], rule_priorities, folds, min_examples, dates
    )
    reports = [kind_report, priority_report]
    meta = {
        "format": FORMAT_VERSION,
        "repository": repository,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "issues": issues_read if issues_read is not None else len(examples),
        "labelled": len(examples),
        "seconds": round(time.perf_counter() - started, 2),
        "targets": {r.target: _report_dict(r) for r in reports},
        "summaries": [r.summary() for r in reports],
        "unmapped_labels": dict(sorted((unmapped or {}).items(), key=lambda kv: -kv[1])[:20]),
        "versions": _versions(),
    }
    return TriageModel(repository, kind, priority, meta), reports


def _report_dict(report: TargetReport) -> dict[str, Any]:
    return {
        "trained": report.trained,
        "examples": report.examples,
        "classes": report.classes,
        "reason": report.reason,
        "cv_macro_f1": report.cv_macro_f1,
        "cv_rules_macro_f1": report.cv_rules_macro_f1,
        "cv_per_class": report.cv_per_class,
        "cv_folds": "time order" if report.cv_in_time_order else "random",
        "dropped": report.dropped,
    }


def _versions() -> dict[str, str]:
    import sklearn

    from runner import __version__

    return {"runner": __version__, "scikit-learn": sklearn.__version__}


def _issue(example: Example) -> Issue:
    return Issue(0, example.title, example.body, (), None, None, None, 0, "")


class LearnedTriager:
    """Labels (and for kind the issue's type), then a repository's model when it is confident, then the rules."""

    def __init__(
        self,
        triager: Triager,
        models: Mapping[str, TriageModel] | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        self.triager = triager
        self.models = dict(models or {})
        self.min_confidence = min_confidence

    def triage(self, issue: Issue, repository: str | None = None) -> Triage:
        rules = self.triager.triage(issue)
        model = self.models.get((repository or issue.repository or "").lower())
        if model is None:
            return rules
        kind_said, priority_said = self.triager.declared(issue)
        want = [
            clf
            for clf, said in ((model.kind, kind_said), (model.priority, priority_said))
            if clf is not None and not said
        ]
        if not want:
            return rules
        doc = document(issue.title, issue.body)
        guesses = dict(zip(map(id, want), model.predict_one(want, doc, rules.kind), strict=True))
        kind, kind_reason = rules.kind, rules.kind_reason
        if id(model.kind) in guesses:
            kind, kind_reason = self._decide(guesses[id(model.kind)], rules.kind, rules.kind_reason)
        priority, priority_reason = rules.priority, rules.priority_reason
        if id(model.priority) in guesses:
            level, priority_reason = self._decide(
                guesses[id(model.priority)], rules.priority.name.lower(), rules.priority_reason
            )
            priority = Priority[level.upper()]
        return Triage(priority, kind, priority_reason, kind_reason)

    def _decide(self, guess: tuple[str, float], rule: str, rule_reason: str) -> tuple[str, str]:
        name, confidence = guess
        if confidence >= self.min_confidence:
            return name, f"model ({confidence:.0%} sure)"
        return rule, f"{rule_reason} (rules; model {confidence:.0%} sure of {name})"


def _shared(a: TextClassifier, b: TextClassifier) -> bool:
    """Whether two classifiers read the same features (kind and priority of one model do)."""
    return len(a.vectorizers) == len(b.vectorizers) and all(
        x is y for x, y in zip(a.vectorizers, b.vectorizers, strict=True)
    )


def _nb_or_zeros(clf: TextClassifier) -> np.ndarray:
    """A classifier's NB-SVM weights, or zeros of their shape for one without them."""
    return clf.nb_coef if clf.nb_coef is not None else np.zeros_like(clf.coef)
