"""The learned kind's variants on NLBSE'24: 5-fold cross-validation on each repository's training
rows (what a change is chosen by), and with --test the test rows once (the check).

    python -m perf.eval_kind --data ../shared/eval/triage [--test] [--cuts N]

Variants, all on runner's own features (runner.learn.features), the vocabulary fitted inside
each fold: `svm` the TF-IDF linear SVM alone (the model before NB-SVM was added); `svm+nbsvm`
an NB-SVM on the same words averaged in (the model before the rules' prior); `svm+nbsvm+rules`
the model `runner learn` trains for kind, with the rules' kind of each issue as a prior
(runner.learn.prior). Prints macro F1 over bug / feature / question per repository and their
mean (with --cuts N, the mean over N ways of cutting the folds); writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from perf.triage_data import read_csv
from runner.core.models import Issue
from runner.core.triage import Triager, TriageRules
from runner.learn.classifier import Example, LabelMap, TextClassifier, examples_from_items
from runner.learn.features import document, make_vectorizers, vectorize

CLASSES = ["bug", "feature", "question"]
VARIANTS = {
    "svm": {"nb": False, "prior": False},
    "svm+nbsvm": {"nb": True, "prior": False},
    "svm+nbsvm+rules": {"nb": True, "prior": True},
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.eval_kind", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the eval/triage folder")
    parser.add_argument("--test", action="store_true", help="also train on all training rows and score the test rows")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cuts", type=int, default=1, help="ways of cutting the folds to average over")
    args = parser.parse_args(argv)
    train, test = read_csv(args.data / "nlbse24-train.csv"), read_csv(args.data / "nlbse24-test.csv")
    for name, options in VARIANTS.items():
        cv, held = {}, {}
        for repo in sorted({r["repo"] for r in train}):
            mine = _examples(train, repo)
            cv[repo] = float(np.mean([cross_validated(mine, args.folds, cut=c, **options) for c in range(args.cuts)]))
            if args.test:
                held[repo] = tested(mine, _examples(test, repo), **options)
        line = f"{name:15s} cross-validation {_mean(cv)}"
        if args.test:
            line += f"   test {_mean(held)}"
        print(line, flush=True)
    return 0


def _examples(rows: list[dict[str, str]], repo: str) -> list[Example]:
    items = [{"title": r["title"], "body": r["body"], "labels": [r["label"]]} for r in rows if r["repo"] == repo]
    return examples_from_items(items, LabelMap.from_rules(TriageRules()))


def _fit_predict(train: list[Example], test: list[Example], nb: bool, prior: bool) -> list[str]:
    vectorizers = make_vectorizers()
    x = vectorize(vectorizers, [document(e.title, e.body) for e in train], fit=True)
    clf = TextClassifier(nb=nb).fit_matrix(x, [e.kind or "" for e in train], _rule_kinds(train) if prior else None)
    x_test = vectorize(vectorizers, [document(e.title, e.body) for e in test])
    scores = clf.scores_of(x_test, _rule_kinds(test) if prior else None)
    return [clf.classes[i] for i in scores.argmax(axis=1)]


def _rule_kinds(examples: list[Example]) -> list[str]:
    triager = Triager()
    return [triager.triage(Issue(0, e.title, e.body, (), None, None, None, 0, "")).kind for e in examples]


def _f1(truth: list[str], guess: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, guess, labels=CLASSES, average="macro", zero_division=0))


def cross_validated(examples: list[Example], folds: int, nb: bool, prior: bool, cut: int = 0) -> float:
    from sklearn.model_selection import StratifiedKFold

    y = np.array([e.kind for e in examples])
    guess = np.empty(len(y), dtype=object)
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=cut).split(np.zeros(len(y)), y):
        guess[held] = _fit_predict([examples[i] for i in train], [examples[i] for i in held], nb, prior)
    return _f1(list(y), list(guess))


def tested(train: list[Example], test: list[Example], nb: bool, prior: bool) -> float:
    return _f1([e.kind or "" for e in test], _fit_predict(train, test, nb, prior))


def _mean(per_repo: dict[str, float]) -> str:
    parts = ", ".join(f"{repo.split('/')[1]} {f:.3f}" for repo, f in per_repo.items())
    return f"{sum(per_repo.values()) / len(per_repo):.4f} ({parts})"


if __name__ == "__main__":
    sys.exit(main())
