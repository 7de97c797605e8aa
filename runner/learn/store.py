"""Keeping a repository's triage model in the state directory, without pickle.

    <state-dir>/models/<owner>__<name>.npz   one file per repository, replaced atomically

A model is arrays and text only: each vectorizer's vocabulary and idf, the SVM's
weights (and the kind model's NB-SVM weights and its scores per rules' kind), the class names, the temperature, and
the metadata (training date, data counts, cross-validated scores, library versions) as
JSON. It is read with
`allow_pickle=False`, so a damaged or hostile file cannot run code; it only fails
to load. Loading never raises: a missing, damaged, older-format or foreign file
gives None and a message saying what to do (`runner learn OWNER/NAME`), and the
rules decide for that repository.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from runner.core.models import KINDS
from runner.learn.classifier import TextClassifier
from runner.learn.features import ANALYZERS, Vocabulary
from runner.learn.model import FORMAT_VERSION, TriageModel

log = logging.getLogger(__name__)
MODELS_DIR = "models"
_KEY = re.compile(r"^[a-z0-9_.-]+/[a-z0-9_.-]+$")
_TARGETS = ("kind", "priority")


class ModelProblem(Exception):
    """A model file that cannot be used; the message says why."""


def model_path(state_dir: Path, repository: str) -> Path:
    key = repository.strip().lower()
    if not _KEY.match(key) or key.split("/")[1] in (".", ".."):
        raise ValueError(f"expected OWNER/NAME, got {repository!r}")
    return state_dir / MODELS_DIR / (key.replace("/", "__") + ".npz")


def save(state_dir: Path, model: TriageModel) -> Path:
    """Write the model atomically (a crash leaves the old file or the new one, never half)."""
    path = model_path(state_dir, model.repository)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    arrays: dict[str, Any] = {"meta": np.array(json.dumps(model.meta))}
    trained = [(t, getattr(model, t)) for t in _TARGETS if getattr(model, t) is not None]
    for i, vectorizer in enumerate(trained[0][1].vectorizers if trained else []):  # kind and priority share them
        terms = vectorizer.vocabulary_
        arrays[f"vocab{i}"] = np.array(sorted(terms, key=terms.__getitem__), dtype=str)
        arrays[f"idf{i}"] = vectorizer.idf_.astype(np.float32)
    for target, clf in trained:
        arrays.update(_classifier_arrays(target, clf))
    fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _classifier_arrays(target: str, clf: TextClassifier) -> dict[str, np.ndarray]:
    out = {
        f"{target}.coef": clf.coef,
        f"{target}.intercept": clf.intercept,
        f"{target}.classes": np.array(clf.classes, dtype=str),
        f"{target}.temperature": np.array(clf.temperature),
        f"{target}.balanced": np.array(clf.balanced),
    }
    if clf.nb_coef is not None:
        out[f"{target}.nb"] = clf.nb_coef
    if clf.rule_coef is not None:
        out[f"{target}.rules"] = clf.rule_coef
        out[f"{target}.rule_kinds"] = np.array(KINDS, dtype=str)
    return out


def read_meta(path: Path) -> dict[str, Any]:
    """The metadata alone (cheap: the arrays stay on disk); ModelProblem when unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
    except FileNotFoundError:
        raise ModelProblem(f"no model at {path}") from None
    except Exception as exc:  # bytes on disk: a bad zip, a cut stream, bad JSON all mean one thing
        raise ModelProblem(
            f"model file {path} is damaged ({type(exc).__name__}); rebuild it with runner learn"
        ) from None
    if not isinstance(meta, dict):
        raise ModelProblem(f"model file {path} is damaged (no metadata); rebuild it with runner learn")
    return meta


def load(state_dir: Path, repository: str) -> TriageModel:
    """The repository's model, or ModelProblem saying why there is none to use."""
    path = model_path(state_dir, repository)
    meta = read_meta(path)
    if meta.get("format") != FORMAT_VERSION:
        raise ModelProblem(
            f"model file {path} has format {meta.get('format')!r}, this runner reads "
            f"{FORMAT_VERSION}; rebuild it with runner learn {repository}"
        )
    if str(meta.get("repository", "")).lower() != repository.lower():
        raise ModelProblem(f"model file {path} belongs to {meta.get('repository')!r}, not {repository}")
    try:
        with np.load(path, allow_pickle=False) as data:
            vectorizers = _vectorizers(data) if "vocab0" in data.files else []
            parts = {t: _classifier(data, t, vectorizers) if f"{t}.coef" in data.files else None for t in _TARGETS}
    except Exception as exc:  # as in read_meta: whatever is wrong with the file, it is not used
        raise ModelProblem(
            f"model file {path} is damaged ({type(exc).__name__}); rebuild it with runner learn"
        ) from None
    return TriageModel(repository.lower(), parts["kind"], parts["priority"], meta)


def _vectorizers(data: Any) -> list[Vocabulary]:
    return [
        Vocabulary(
            analyzer,
            {str(t): j for j, t in enumerate(data[f"vocab{i}"].tolist())},
            data[f"idf{i}"].astype(np.float32),
        )
        for i, analyzer in enumerate(ANALYZERS)
    ]


def _classifier(data: Any, target: str, vectorizers: list[Any]) -> TextClassifier:
    clf = TextClassifier(balanced=bool(data[f"{target}.balanced"]))
    clf.coef = data[f"{target}.coef"].astype(np.float32)
    clf.intercept = data[f"{target}.intercept"].astype(np.float32)
    clf.classes = [str(c) for c in data[f"{target}.classes"]]
    clf.temperature = float(data[f"{target}.temperature"])
    clf.vectorizers = vectorizers
    if f"{target}.nb" in data.files:
        clf.nb, clf.nb_coef = True, data[f"{target}.nb"].astype(np.float32)
    width = sum(len(v.vocabulary_) for v in vectorizers)
    if clf.coef.shape != (len(clf.classes), width) or clf.intercept.shape != (len(clf.classes),):
        raise ValueError("weights do not match the vocabulary")
    if clf.nb_coef is not None and clf.nb_coef.shape != clf.coef.shape:
        raise ValueError("NB-SVM weights do not match the vocabulary")
    if f"{target}.rules" in data.files:
        clf.rule_coef = _rule_coef(data[f"{target}.rules"], data[f"{target}.rule_kinds"], len(clf.classes))
    return clf


def _rule_coef(weights: np.ndarray, kinds: np.ndarray, classes: int) -> np.ndarray:
    """The scores per class and rules' kind, in this runner's KINDS order (a kind the file
    does not know adds nothing)."""
    names = [str(k) for k in kinds]
    if weights.shape != (classes, len(names)):
        raise ValueError("scores per rules' kind do not match the classes")
    out = np.zeros((classes, len(KINDS)), dtype=np.float32)
    for j, name in enumerate(names):
        if name in KINDS:
            out[:, KINDS.index(name)] = weights[:, j]
    return out


def load_usable(state_dir: Path, repositories: list[str], warn=log.warning) -> dict[str, TriageModel]:
    """The models of those repositories that have a usable one; a message for each that is damaged."""
    models = {}
    for repository in repositories:
        try:
            path = model_path(state_dir, repository)
        except ValueError:
            continue
        if not path.exists():
            continue
        try:
            models[repository.lower()] = load(state_dir, repository)
        except ModelProblem as exc:
            warn(f"{exc}; the rules triage {repository}")
    return models


def stored(state_dir: Path) -> list[tuple[str, dict[str, Any] | str]]:
    """Every model file in the state directory: (repository, metadata) or (file name, problem)."""
    directory = state_dir / MODELS_DIR
    found: list[tuple[str, dict[str, Any] | str]] = []
    for path in sorted(directory.glob("*.npz")) if directory.is_dir() else []:
        try:
            meta = read_meta(path)
            found.append((str(meta.get("repository", path.stem)), meta))
        except ModelProblem as exc:
            found.append((path.stem.replace("__", "/"), str(exc)))
    return found
