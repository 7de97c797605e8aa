"""What a model reads of an issue: its text cleaned into two documents, and those made into
TF-IDF rows, by scikit-learn's vectorizers when learning and by plain Python and numpy when
predicting one issue (scikit-learn's per-call checks cost milliseconds for one row, and
importing it costs a run two seconds of CPU).

    title, body ──> document() ──> (title + signal words, title twice + cleaned body)
                                        │ word n-grams (title 1-3, body 1-2)
                    learning: make_vectorizers() + vectorize() ──> sparse matrix
                    predicting: Features.one() ──> (columns, values) of one row
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runner.core.signals import signal_words

BODY_CHARS = 3000
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_URL = re.compile(r"https?://\S+")


def document(title: str, body: str) -> tuple[str, str]:
    """What a model reads: the title with the signal words of its first 2 * BODY_CHARS characters; and
    title twice plus the body without template comments, code blocks and URLs, cut to BODY_CHARS
    (a long log says little more, and reading it twice, here and in the rules, costs)."""
    text = _URL.sub(" url ", _FENCE.sub(" codeblock ", _COMMENT.sub(" ", (body or "")[: 4 * BODY_CHARS])))[:BODY_CHARS]
    title_doc = " ".join([title, *signal_words(title, (body or "")[: 2 * BODY_CHARS])])
    return title_doc, f"{title} . {title} . {text}"


@dataclass
class Vocabulary:
    """What prediction needs of a fitted TF-IDF vectorizer (its analyzer, terms and idf), so a stored
    model predicts without importing scikit-learn, which costs a run two seconds of CPU to start."""

    analyzer: Callable[[str], list[str]]
    vocabulary_: dict[str, int]
    idf_: np.ndarray

    def build_analyzer(self) -> Callable[[str], list[str]]:
        return self.analyzer


class Features:
    """One document's TF-IDF row without scikit-learn's per-call checks, which cost milliseconds
    for a single issue: the same analyzers, vocabularies and idf, in plain Python and numpy."""

    def __init__(self, vectorizers: list[Any]) -> None:
        self.parts = []
        offset = 0
        for v in vectorizers:
            vocabulary = v.vocabulary_
            self.parts.append((v.build_analyzer(), vocabulary, np.asarray(v.idf_, dtype=np.float32), offset))
            offset += len(vocabulary)

    def one(self, doc: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for (analyze, vocabulary, idf, offset), text in zip(self.parts, doc, strict=False):
            get = vocabulary.get
            index, tf = [], []
            for term, n in Counter(analyze(text)).items():
                j = get(term)
                if j is not None:
                    index.append(j)
                    tf.append(n)
            if not index:
                continue
            where = np.array(index, dtype=np.intp)
            weight = np.log(np.array(tf, dtype=np.float32))
            weight += 1
            weight *= idf[where]
            weight /= np.sqrt(weight @ weight)
            columns.append(where + offset)
            values.append(weight)
        if not columns:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        return np.concatenate(columns), np.concatenate(values)


_TOKEN = re.compile(r"(?u)\b\w\w+\b")
NGRAMS = (3, 2)  # word n-grams up to this length: of the title, of title + body


def title_grams(text: str) -> list[str]:
    return word_grams(text, NGRAMS[0])


def body_grams(text: str) -> list[str]:
    return word_grams(text, NGRAMS[1])


def word_grams(text: str, upto: int) -> list[str]:
    """Lower-cased words of two or more characters and their n-grams up to `upto`: what scikit-learn's
    default word analyzer gives, built with zip and join, which is a third faster on a long body."""
    words = _TOKEN.findall(text.lower())
    grams = list(words)
    for n in range(2, upto + 1):
        grams += map(" ".join, zip(*(words[i:] for i in range(n)), strict=False))
    return grams


ANALYZERS = (title_grams, body_grams)


def make_vectorizers() -> list[Any]:
    """The title's and the body's TF-IDF vectorizers, to fit."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    options: list[dict[str, Any]] = [{}, {"min_df": 2, "max_features": 200_000}]
    return [
        TfidfVectorizer(sublinear_tf=True, analyzer=analyzer, dtype=np.float32, **options[i])
        for i, analyzer in enumerate(ANALYZERS)
    ]


def vectorize(vectorizers: list[Any], docs: Sequence[tuple[str, str]], fit: bool = False) -> Any:
    from scipy.sparse import hstack

    columns = ([d[0] for d in docs], [d[1] for d in docs])
    parts = [v.fit_transform(c) if fit else v.transform(c) for v, c in zip(vectorizers, columns, strict=False)]
    return hstack(parts, format="csr")
