"""A second, differently biased member for the kind model: NB-SVM (Wang and Manning, 2012).

Which words occur at all in an issue, each weighed by how much more often it occurs in one
class's issues than in the others' (a naive Bayes log-count ratio), into a linear SVM per class.
It leans on rare, telling words where the TF-IDF SVM leans on frequent ones, and their scores
averaged (each divided by the spread of its own training scores, so neither dominates) score
0.8-1.6 points of macro F1 higher than the TF-IDF SVM alone in 5-fold cross-validation on
NLBSE'24's training rows (three ways of cutting the folds; `python -m perf.eval_kind`).

Both members read the same columns of an issue: NB-SVM's weights per word fold into one array
beside the SVM's, so predicting costs one more gather, not another reading of the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

SMOOTHING = 1.0  # added to every word's count per side, as in the paper


def nb_weights(
    matrix: Any, labels: Sequence[str] | np.ndarray, classes: Sequence[str], alpha: float, epochs: int
) -> tuple[np.ndarray, np.ndarray]:
    """(weights per class and word, intercepts) of one-vs-rest NB-SVMs on the words present in
    `matrix`'s rows, already divided by the spread of their training scores: an issue's score for
    a class is the sum of the weights of its words plus the intercept."""
    from sklearn.linear_model import SGDClassifier

    present = (matrix > 0).astype(np.float32).tocsr()
    y = np.asarray(labels)
    coef = np.zeros((len(classes), present.shape[1]), dtype=np.float64)
    intercept = np.zeros(len(classes))
    for k, name in enumerate(classes):
        mine = y == name
        ratio = _log_count_ratio(present, mine)
        svm = SGDClassifier(loss="hinge", alpha=alpha, max_iter=epochs, tol=None, random_state=0)
        svm.fit(present.multiply(ratio).tocsr(), mine.astype(int))
        coef[k], intercept[k] = svm.coef_[0] * ratio, svm.intercept_[0]
    scale = spread(present @ coef.T + intercept)
    return (coef / scale).astype(np.float32), (intercept / scale).astype(np.float32)


def _log_count_ratio(present: Any, mine: np.ndarray) -> np.ndarray:
    pos = np.asarray(present[mine].sum(axis=0)).ravel() + SMOOTHING
    neg = np.asarray(present[~mine].sum(axis=0)).ravel() + SMOOTHING
    return np.log((pos / pos.sum()) / (neg / neg.sum()))


def spread(scores: np.ndarray) -> float:
    """The standard deviation of a member's training scores, what its scores are divided by."""
    value = float(np.asarray(scores).std())
    return value if value > 1e-9 else 1.0
