"""The rules' kind as the kind model's prior: the labels weigh it, a run passes it from the
rules to the model, and the model file keeps it by kind name."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from test_learn import REPO

from runner.core.models import KINDS, Issue
from runner.core.triage import Triager
from runner.learn import store as model_store
from runner.learn.classifier import TextClassifier, features_of
from runner.learn.features import document
from runner.learn.model import LearnedTriager, TriageModel

FILLER = ["panel", "dial", "strip", "tray", "ledger", "sprocket", "quill", "orbit", "glyph", "chord"]


@pytest.fixture(scope="module")
def prior_only() -> TextClassifier:
    """A kind model of a project whose words say nothing of the kind and whose labels follow the rules."""
    rng = random.Random(5)
    docs, labels = [], []
    for n in range(60):
        words = " ".join(rng.sample(FILLER, 4))
        docs.append(document(f"Item {n} {words}", words))
        labels.append(("bug", "feature", "question")[n % 3])
    return TextClassifier(nb=True).fit(docs, labels, rule_kinds=labels)


def test_the_labels_teach_how_far_to_trust_the_rules_kind(prior_only: TextClassifier) -> None:
    row = features_of(prior_only).one(document("Item 99 panel dial strip tray", "panel"))
    for kind in ("bug", "feature", "question"):
        assert prior_only.predict_one(row, kind)[0] == kind
    assert prior_only.rule_bias(None) is None and prior_only.rule_bias("no such kind") is None
    assert prior_only.rule_coef is not None and prior_only.rule_coef.shape == (3, len(KINDS))


def test_a_run_gives_the_model_the_kind_the_rules_found(prior_only: TextClassifier) -> None:
    triager = Triager()
    learned = LearnedTriager(triager, {REPO: TriageModel(REPO, prior_only, None)}, min_confidence=0.8)
    for title, body in [("How do I tune the panel?", ""), ("The app crashes", "Traceback (most recent call last):")]:
        issue = Issue(1, title, body, (), REPO, None, None, 1, "h")
        rules = triager.triage(issue)
        result = learned.triage(issue)
        assert result.kind == rules.kind and result.kind_reason.startswith("model")


def _rewrite(path: Path, change) -> None:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    change(arrays)
    np.savez_compressed(path, **arrays)


def test_the_stored_prior_is_read_by_kind_name(tmp_path: Path, prior_only: TextClassifier) -> None:
    model = TriageModel(REPO, prior_only, None, {"format": model_store.FORMAT_VERSION, "repository": REPO})
    path = model_store.save(tmp_path, model)

    def reverse(arrays: dict) -> None:
        arrays["kind.rules"] = arrays["kind.rules"][:, ::-1]
        arrays["kind.rule_kinds"] = arrays["kind.rule_kinds"][::-1]

    _rewrite(path, reverse)
    assert prior_only.rule_coef is not None
    assert np.allclose(model_store.load(tmp_path, REPO).kind.rule_coef, prior_only.rule_coef)

    _rewrite(path, lambda arrays: arrays.update({"kind.rules": arrays["kind.rules"][:2]}))
    with pytest.raises(model_store.ModelProblem, match="damaged"):
        model_store.load(tmp_path, REPO)
