"""The kind model's second member, NB-SVM: what a stored model predicts with numpy is what
scikit-learn's SVMs give on the same features (the words and the rules' kind), and older model
files are refused clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier
from test_learn import MAPPING, REPO, labelled_items

from runner.core.models import Issue
from runner.core.triage import Triager, TriageRules
from runner.learn import store as model_store
from runner.learn.classifier import NB_EPOCHS, Example, LabelMap, examples_from_items
from runner.learn.features import document, vectorize
from runner.learn.model import FORMAT_VERSION, train_repository
from runner.learn.prior import with_rule_columns


@pytest.fixture(scope="module")
def model():
    items = labelled_items(60)
    examples = [
        Example(e.title, e.body, e.kind, "high" if "flux" in e.title else "low")
        for e in examples_from_items(items, LabelMap.from_rules(TriageRules(), MAPPING))
    ]
    return train_repository(REPO, examples)[0], examples


def _rule_kinds(texts: list[tuple[str, str]]) -> list[str]:
    triager = Triager()
    return [triager.triage(Issue(0, title, body, (), None, None, None, 0, "")).kind for title, body in texts]


def _sklearn_scores(train_x, labels, x) -> np.ndarray:
    """The kind model's scores built from scikit-learn's own SVMs: the TF-IDF SVM and one
    NB-SVM per class, each divided by the spread of its scores on the training rows."""
    svm = SGDClassifier(loss="hinge", alpha=1e-4, max_iter=30, tol=None, random_state=0).fit(train_x, labels)
    first = svm.decision_function(x) / svm.decision_function(train_x).std()
    present, seen = (train_x > 0).astype(np.float32).tocsr(), (x > 0).astype(np.float32).tocsr()
    on_train, on_x = [], []
    for name in svm.classes_:
        mine = labels == name
        pos = np.asarray(present[mine].sum(axis=0)).ravel() + 1
        neg = np.asarray(present[~mine].sum(axis=0)).ravel() + 1
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        nb = SGDClassifier(loss="hinge", alpha=1e-4, max_iter=NB_EPOCHS, tol=None, random_state=0)
        nb.fit(present.multiply(ratio).tocsr(), mine.astype(int))
        on_train.append(nb.decision_function(present.multiply(ratio).tocsr()))
        on_x.append(nb.decision_function(seen.multiply(ratio).tocsr()))
    return first + np.vstack(on_x).T / np.vstack(on_train).T.std()


def test_a_stored_kind_model_predicts_what_scikit_learns_svms_give(tmp_path: Path, model) -> None:
    trained, examples = model
    assert trained.kind.nb_coef is not None and trained.priority.nb_coef is None
    assert trained.kind.rule_coef is not None and trained.priority.rule_coef is None
    model_store.save(tmp_path, trained)
    loaded = model_store.load(tmp_path, REPO)
    assert loaded.kind is not None and loaded.priority is not None
    train_x = vectorize(trained.kind.vectorizers, [document(e.title, e.body) for e in examples])
    train_x = with_rule_columns(train_x, _rule_kinds([(e.title, e.body) for e in examples]))
    texts = [(i["title"], i["body"]) for i in labelled_items(9, seed=3)]
    texts += [("Nothing this project has ever said", ""), ("How do I set the flux dial?", ""), ("The app crashes", "")]
    docs, kinds = [document(*t) for t in texts], _rule_kinds(texts)
    assert {"bug", "question"} <= set(kinds)
    x = with_rule_columns(vectorize(trained.kind.vectorizers, docs), kinds)
    expected = _sklearn_scores(train_x, np.array([e.kind for e in examples]), x)
    assert np.allclose(loaded.kind.scores(docs, kinds), expected, atol=1e-3)
    jointly = [loaded.predict_one([loaded.kind, loaded.priority], d, k)[0] for d, k in zip(docs, kinds, strict=True)]
    assert [kind for kind, _ in jointly] == [loaded.kind.classes[i] for i in expected.argmax(axis=1)]


def test_a_model_file_of_the_format_before_nbsvm_is_ignored_with_a_clear_message(tmp_path: Path, model) -> None:
    trained, _ = model
    older = type(trained)(REPO, trained.kind, trained.priority, dict(trained.meta, format=FORMAT_VERSION - 1))
    path = model_store.save(tmp_path, older)
    with pytest.raises(model_store.ModelProblem) as caught:
        model_store.load(tmp_path, REPO)
    assert str(path) in str(caught.value) and f"runner learn {REPO}" in str(caught.value)
