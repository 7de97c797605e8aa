"""Learned priority on Hadoop's Jira bugs, variant by variant, judged the way the future judges it.

    python -m perf.eval_priority --data ../shared/eval/triage [--out perf/results] [--variants a,b]

The triage benchmark (`perf.eval_triage`) learns from the oldest 80% of the issues and tests on
the newest 20%. Choosing a model by random cross-validation folds of the older 80% misleads
there: those folds score 0.45-0.48 macro F1, the newest issues about 0.33 (the topics of
Blocker and Critical bugs change from year to year). So every variant is chosen here on a
time-ordered validation split and only then looked at on the test:

- validation: learn from the oldest 60%, score the next 20%;
- test: learn from the oldest 80%, score the newest 20% (the benchmark's split).

Each variant gives decision scores for critical / high / low / medium; three ways to decide
are scored from them: the model alone (the best score), runner's combination (the model when
its softmax confidence is at least 0.5, else the rules; the temperature fitted on the newest
quarter of the training part, learned from the older three quarters), and the rules raising
the model (the rules' critical or high wins over the model's medium). Per-class F1 and ROC AUC
of the scores say where the figure is lost. `ceiling` rows tune per-class offsets on the scored
rows themselves (hindsight, not a result): about what the best thresholds could make of the
model's scores alone.

Writes `priority-variants.json` and `.md` under --out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from perf.eval_priority_md import markdown
from perf.triage_data import HADOOP_LABELS, bare_issue, issue_item, read_csv
from runner.core.triage import Triager, TriageRules
from runner.learn.classifier import Example, LabelMap, TextClassifier, examples_from_items, fit_temperature, softmax
from runner.learn.features import document, make_vectorizers, title_grams, vectorize
from runner.learn.model import LearnedTriager, train_repository

LEVELS = ("critical", "high", "low", "medium")  # sorted, as the classifiers order their classes
ORDER = ("low", "medium", "high", "critical")
SHARES = {"validation": (0.6, 0.8), "test": (0.8, 1.0)}
Scorer = Callable[[Any, np.ndarray, Any], np.ndarray]

# Severity a maintainer reads in a title or a body, as yes/no columns beside the words.
CUES = {
    "data loss": r"data ?loss|los[est]+ data|corrupt",
    "security": r"\bcve\b|vulnerab|security|exploit",
    "crash": r"crash|nullpointer|\bnpe\b|segfault|fatal",
    "hang or leak": r"deadlock|\bhangs?\b|stuck|leak|out ?of ?memory|\boom\b",
    "build": r"build (?:fail|broken|break)|broken build|compil|does not build",
    "regression": r"regress",
    "cannot start": r"(?:cannot|can't|fails? to|unable to) (?:start|launch|boot|run)",
    "release": r"\brelease\b|licen[sc]e|\bnotice\b",
    "all users": r"\ball (?:users|clients|jobs|requests)\b|every (?:user|request|job)",
    "cosmetic": r"typo|javadoc|spelling|checkstyle|unused|clean ?up|\blog(?:s|ging)?\b|comment",
    "test failure": r"\btest\w*\b.*(?:fail|flak)|flaky",
    "upgrade": r"upgrade|\bbump\b|dependenc",
}
_CUES = [re.compile(p) for p in CUES.values()]


@dataclass
class Part:
    """The rows of one side of a split, in every view a variant may read."""

    views: dict[str, Any]
    y: np.ndarray
    rules: np.ndarray


def hadoop_examples(data: Path) -> list[Example]:
    """Hadoop's bugs with their priority, oldest first (as `perf.eval_triage` reads them)."""
    when = lambda r: datetime.strptime(r["Created"], "%d/%b/%y %H:%M").isoformat()  # noqa: E731
    items = [
        issue_item(r["Summary"], r["Description"], [r["Priority"]], when(r))
        for r in read_csv(data / "gitbugs-hadoop-bugs.csv")
    ]
    found = examples_from_items(items, LabelMap.from_rules(TriageRules(), HADOOP_LABELS))
    return sorted(found, key=lambda e: e.created_at)


def cue_columns(examples: Sequence[Example], rules: np.ndarray) -> np.ndarray:
    """The rules' level (one-hot), the severity cues, the body's length (three bins) and a stack trace."""
    rows = []
    for example, level in zip(examples, rules, strict=True):
        text = f"{example.title}\n{(example.body or '')[:3000]}".lower()
        size = len(example.body or "")
        rows.append(
            [float(level == v) for v in LEVELS]
            + [float(bool(p.search(text))) for p in _CUES]
            + [float(size < 200), float(200 <= size < 1000), float(size >= 1000)]
            + [float("\tat " in (example.body or "") or "exception" in text)]
        )
    return np.array(rows, dtype=np.float32)


def make_parts(train: Sequence[Example], test: Sequence[Example], triager: Triager) -> tuple[Part, Part]:
    """Views learned from the training rows only: TF-IDF as runner builds it, title-only, plus cues."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    rules = [
        np.array([triager.triage(bare_issue(e.title, e.body)).priority.name.lower() for e in rows])
        for rows in (train, test)
    ]
    vectorizers = make_vectorizers()
    docs = [[document(e.title, e.body) for e in rows] for rows in (train, test)]
    text = [vectorize(vectorizers, docs[0], fit=True), vectorize(vectorizers, docs[1])]
    titles = TfidfVectorizer(sublinear_tf=True, analyzer=title_grams, dtype=np.float32)
    title = [titles.fit_transform([e.title for e in train]), titles.transform([e.title for e in test])]
    cues = [cue_columns(rows, r) for rows, r in zip((train, test), rules, strict=True)]
    parts = []
    for i, rows in enumerate((train, test)):
        views = {"text": text[i], "title": title[i], "cues": hstack([text[i], csr_matrix(cues[i])], format="csr")}
        parts.append(Part(views, np.array([e.priority for e in rows]), rules[i]))
    return parts[0], parts[1]


# -- scorers: (training matrix, its levels, matrix to score) -> scores in LEVELS order -----


def svm(alpha: float = 1e-4, half_life: float = 0) -> Scorer:
    """runner's priority model (hinge-loss SGD, balanced class weights); with a half-life in
    issues, an issue weighs half as much for every `half_life` newer ones after it."""

    def score(x: Any, y: np.ndarray, xt: Any) -> np.ndarray:
        if not half_life:
            return _ordered(TextClassifier(alpha=alpha, balanced=True).fit_matrix(x, y), xt)
        from sklearn.linear_model import SGDClassifier

        weight = 0.5 ** ((len(y) - 1 - np.arange(len(y))) / half_life)
        model = SGDClassifier(
            loss="hinge", alpha=alpha, class_weight="balanced", max_iter=30, tol=None, random_state=0
        ).fit(x, y, sample_weight=weight)
        return _columns(model.decision_function(xt), [str(c) for c in model.classes_])

    return score


def logistic(c: float = 1.0) -> Scorer:
    def score(x: Any, y: np.ndarray, xt: Any) -> np.ndarray:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)
        return _columns(model.decision_function(xt), [str(k) for k in model.classes_])

    return score


def ordinal(c: float = 1.0) -> Scorer:
    """Priority as an order (low < medium < high < critical): one balanced logistic regression per
    step ("at least medium", "at least high", "critical"), so the rare top levels borrow the
    evidence of the levels next to them; a level's probability is the difference of two steps."""

    def score(x: Any, y: np.ndarray, xt: Any) -> np.ndarray:
        from sklearn.linear_model import LogisticRegression

        rank = np.array([ORDER.index(v) for v in y])
        steps = [
            LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, rank >= k).predict_proba(xt)[:, 1]
            for k in (1, 2, 3)
        ]
        at_least = np.minimum.accumulate(np.vstack([np.ones(xt.shape[0]), *steps, np.zeros(xt.shape[0])]))
        probs = {level: at_least[k] - at_least[k + 1] for k, level in enumerate(ORDER)}
        return np.log(np.clip(np.array([probs[v] for v in LEVELS]).T, 1e-6, 1))

    return score


def knn(k: int = 15) -> Scorer:
    """The k most similar past issues (TF-IDF cosine) vote with their similarity, over each level's share."""

    def score(x: Any, y: np.ndarray, xt: Any) -> np.ndarray:
        similar = np.asarray((xt @ x.T).todense())
        nearest = np.argsort(-similar, axis=1)[:, :k]
        votes = np.zeros((xt.shape[0], len(LEVELS)))
        index = np.array([LEVELS.index(v) for v in y])
        for row, found in enumerate(nearest):
            np.add.at(votes[row], index[found], similar[row, found])
        prior = np.array([max(np.mean(y == v), 1e-3) for v in LEVELS])
        return np.log((votes + 1e-3) / prior)

    return score


def _ordered(model: TextClassifier, xt: Any) -> np.ndarray:
    return _columns(model.scores_of(xt), model.classes)


def _columns(scores: np.ndarray, classes: list[str]) -> np.ndarray:
    full = np.full((scores.shape[0], len(LEVELS)), -10.0)
    for j, name in enumerate(classes):
        full[:, LEVELS.index(name)] = scores[:, j]
    return full


# -- what is done with the scores -----------------------------------------------------------


def macro_f1(truth: Sequence[str] | np.ndarray, guess: Sequence[str] | np.ndarray) -> float:
    """scikit-learn's macro F1 over LEVELS (0 for a level neither has), in numpy: offset tuning calls it often."""
    t, g = np.asarray(truth), np.asarray(guess)
    total = 0.0
    for level in LEVELS:
        hits = float(np.sum((t == level) & (g == level)))
        total += 2 * hits / max(float(np.sum(t == level) + np.sum(g == level)), 1.0)
    return total / len(LEVELS)


def tune_offsets(scores: np.ndarray, truth: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Per-level offsets added to the scores for the best macro F1 (medium's stays 0), by
    coordinate ascent over -1.5..1.5: what a tuned decision threshold per level does."""
    offsets = np.zeros(len(LEVELS))
    best = macro_f1(truth, _argmax(scores))
    for _ in range(rounds):
        for j in range(len(LEVELS)):
            if LEVELS[j] == "medium":
                continue
            for value in np.round(np.linspace(-1.5, 1.5, 31), 2):
                trial = offsets.copy()
                trial[j] = value
                f = macro_f1(truth, _argmax(scores + trial))
                if f > best + 1e-9:
                    best, offsets = f, trial
    return offsets


def _argmax(scores: np.ndarray) -> np.ndarray:
    return np.array(LEVELS)[scores.argmax(axis=1)]


def _held_out(scorer: Scorer, x: Any, y: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores of training rows the scorer did not learn from, and their levels: the newest
    quarter learned from the older three (`forward`), or 5 random stratified folds (`random`)."""
    if how == "forward":
        cut = int(len(y) * 0.75)
        return scorer(x[:cut], y[:cut], x[cut:]), y[cut:]
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros((len(y), len(LEVELS)))
    for a, b in StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
        scores[b] = scorer(x[a], y[a], x[b])
    return scores, y


def decide(
    scorer: Scorer, view: str, post: str | None, train: Part, test: Part
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The variant's scores of the test rows and its three ways of deciding from them."""
    x, xt = train.views[view], test.views[view]
    scores = scorer(x, train.y, xt)
    if post in ("offsets-forward", "offsets-random"):
        held, truth = _held_out(scorer, x, train.y, post.split("-")[1])
        scores = scores + tune_offsets(held, truth)
    elif post == "stack":
        from sklearn.linear_model import LogisticRegression

        held, truth = _held_out(scorer, x, train.y, "random")
        onehot = lambda r: np.array([[v == level for level in LEVELS] for v in r], dtype=float)  # noqa: E731
        stacker = LogisticRegression(class_weight="balanced", max_iter=2000)
        stacker.fit(np.hstack([held, onehot(train.rules)]), truth)
        scores = _columns(stacker.decision_function(np.hstack([scores, onehot(test.rules)])), list(stacker.classes_))
    held, truth = _held_out(scorer, x, train.y, "forward")
    temperature = fit_temperature(held, np.array([LEVELS.index(v) for v in truth]))
    probs = softmax(scores, temperature)
    model = _argmax(scores)
    runner = np.where(probs.max(axis=1) >= 0.5, model, test.rules)
    raised = np.where((model == "medium") & np.isin(test.rules, ("critical", "high")), test.rules, model)
    return scores, {"model": model, "runner": runner, "rules_raise": raised}


VARIANTS: dict[str, tuple[str, Scorer, str | None]] = {
    "svm (runner today)": ("text", svm(), None),
    "svm, alpha 1e-3": ("text", svm(1e-3), None),
    "svm, alpha 3e-3": ("text", svm(3e-3), None),
    "svm, title words only": ("title", svm(), None),
    "svm + rules' level and severity cues": ("cues", svm(), None),
    "svm, recent issues weigh more (half-life 250)": ("text", svm(half_life=250), None),
    "logistic regression, C 1": ("text", logistic(1.0), None),
    "15 nearest past issues": ("text", knn(15), None),
    "ordinal: logistic regression per step, C 1": ("text", ordinal(1.0), None),
    "ordinal: logistic regression per step, C 3": ("text", ordinal(3.0), None),
    "ordinal, C 1 + rules' level and severity cues": ("cues", ordinal(1.0), None),
    "svm + offsets tuned on random folds": ("text", svm(), "offsets-random"),
    "svm + offsets tuned on the newest quarter": ("text", svm(), "offsets-forward"),
    "svm alpha 1e-3 + offsets tuned on the newest quarter": ("text", svm(1e-3), "offsets-forward"),
    "stacked: svm scores + rules' level -> logistic regression": ("text", svm(), "stack"),
}
CEILING = ("svm (runner today)", "logistic regression, C 1")


def figures(truth: np.ndarray, guess: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    per = f1_score(truth, guess, labels=list(LEVELS), average=None, zero_division=0)
    return {
        "macro_f1": round(macro_f1(truth, guess), 4),
        "f1": {v: round(float(f), 3) for v, f in zip(LEVELS, per, strict=True)},
    }


def aucs(truth: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    return {v: round(float(roc_auc_score(truth == v, scores[:, j])), 3) for j, v in enumerate(LEVELS)}


def bootstrap(truth: np.ndarray, guess: np.ndarray, draws: int = 1000) -> list[float]:
    """The 5th and 95th percentile of macro F1 over the scored rows drawn again with replacement:
    how much the figure owes to which few Blockers and Criticals happen to be in the rows."""
    rng = np.random.default_rng(0)
    found = [macro_f1(truth[i], guess[i]) for i in (rng.integers(0, len(truth), len(truth)) for _ in range(draws))]
    return [round(float(v), 3) for v in np.percentile(found, [5, 95])]


def product(train: Sequence[Example], test: Sequence[Example], triager: Triager) -> dict[str, Any]:
    """runner itself on the split: `train_repository` (its random-fold cross-validation) and `LearnedTriager`."""
    model, reports = train_repository("apache/hadoop", train, triager)
    assert model.priority is not None
    truth = np.array([e.priority for e in test])
    guess = np.array([g for g, _ in model.priority.predict([document(e.title, e.body) for e in test])])
    learned = LearnedTriager(triager, {"apache/hadoop": model})
    runner = np.array(
        [learned.triage(bare_issue(e.title, e.body), "apache/hadoop").priority.name.lower() for e in test]
    )
    rules = np.array([triager.triage(bare_issue(e.title, e.body)).priority.name.lower() for e in test])
    return {
        "random_fold_cv_macro_f1": round(reports[1].cv_macro_f1 or 0.0, 4),
        "model": figures(truth, guess),
        "model_90pct_bootstrap": bootstrap(truth, guess),
        "runner": figures(truth, runner),
        "rules": figures(truth, rules),
    }


def evaluate(examples: Sequence[Example], names: Sequence[str]) -> dict[str, Any]:
    triager = Triager()
    out: dict[str, Any] = {"splits": {}, "variants": {name: {} for name in names}, "ceiling": {}}
    for split, (fit_share, end_share) in SHARES.items():
        cut, end = int(len(examples) * fit_share), int(len(examples) * end_share)
        train, test = examples[:cut], examples[cut:end]
        out["splits"][split] = {
            "train": len(train),
            "test": len(test),
            "levels": {v: sum(e.priority == v for e in test) for v in LEVELS},
            "runner": product(train, test, triager),
        }
        fit, held = make_parts(train, test, triager)
        for name in names:
            view, scorer, post = VARIANTS[name]
            started = time.process_time()
            scores, ways = decide(scorer, view, post, fit, held)
            row: dict[str, Any] = {way: figures(held.y, guess) for way, guess in ways.items()}
            row["auc"] = aucs(held.y, scores)
            row["cpu_s"] = round(time.process_time() - started, 1)
            out["variants"][name][split] = row
            if name in CEILING:
                tuned = _argmax(scores + tune_offsets(scores, held.y))
                out["ceiling"].setdefault(name, {})[split] = figures(held.y, tuned)
            print(f"{split:10s} {name}: " + ", ".join(f"{w} {r['macro_f1']:.3f}" for w, r in row.items() if w in ways))
    out["chosen_by_validation"] = {
        way: max(names, key=lambda n: out["variants"][n]["validation"][way]["macro_f1"]) for way in ("model", "runner")
    }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.eval_priority", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the eval/triage folder")
    parser.add_argument("--out", type=Path, default=Path("perf/results"), help="where the results go")
    parser.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.variants.split(",") if n.strip()] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        print(f"eval_priority: unknown variant {unknown[0]!r}; known: {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    if not (args.data / "gitbugs-hadoop-bugs.csv").is_file():
        print(f"eval_priority: {args.data} lacks gitbugs-hadoop-bugs.csv", file=sys.stderr)
        return 2
    results = {"data": str(args.data), "started_at": datetime.now().isoformat(timespec="seconds")}
    results.update(evaluate(hadoop_examples(args.data), names))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "priority-variants.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "priority-variants.md").write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
