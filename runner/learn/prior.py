"""The rules' kind as the kind model's prior knowledge.

A repository's 300 labelled issues cannot teach what the rules know of issues in general
(template headings, questions asked, error output, wishes: runner.core.kind_cues), so the kind
the rules give an issue goes into the kind model as one column per kind, a one-hot of value
RULE_SCALE beside the TF-IDF words, and the repository's labels weigh how far to trust each of
the rules' answers. After training, the weights of those columns fold into one score per class
and rules' kind, added when predicting: the rules have already decided an issue's kind by then,
so the prior costs a lookup.

On NLBSE'24's training rows, 5-fold cross-validation over five cuts of the folds
(`python -m perf.eval_kind --data ../shared/eval/triage --cuts 5`): the model without it
0.765, with it at scale 0.1 / 0.2 / 0.3 0.780 / 0.782 / 0.782.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from runner.core.models import KINDS

RULE_SCALE = 0.2


def with_rule_columns(matrix: Any, rule_kinds: Sequence[str]) -> Any:
    """`matrix` with one more column per kind of KINDS, RULE_SCALE where the rules gave that kind."""
    from scipy.sparse import csr_matrix, hstack

    rows = [i for i, kind in enumerate(rule_kinds) if kind in KINDS]
    columns = [KINDS.index(rule_kinds[i]) for i in rows]
    onehot = csr_matrix(
        (np.full(len(rows), RULE_SCALE, dtype=np.float32), (rows, columns)), shape=(len(rule_kinds), len(KINDS))
    )
    return hstack([matrix, onehot], format="csr", dtype=np.float32)


def split_rule_weights(
    coef: np.ndarray, nb_coef: np.ndarray | None, width: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(word weights, NB-SVM word weights, score per class and rules' kind) of weights learned
    over `width` word columns and the rules' columns after them."""
    rule_coef = coef[:, width:] * RULE_SCALE
    if nb_coef is not None:
        rule_coef = rule_coef + nb_coef[:, width:]  # NB-SVM reads a column's presence, not its value
        nb_coef = np.ascontiguousarray(nb_coef[:, :width])
    return np.ascontiguousarray(coef[:, :width]), nb_coef, rule_coef.astype(np.float32)


def rule_scores(rule_coef: np.ndarray, rule_kinds: Sequence[str | None]) -> np.ndarray:
    """The prior's score per issue and class: rows of zeros where the rules' kind is not known."""
    out = np.zeros((len(rule_kinds), rule_coef.shape[0]), dtype=np.float32)
    for i, kind in enumerate(rule_kinds):
        if kind in KINDS:
            out[i] = rule_coef[:, KINDS.index(kind)]
    return out
