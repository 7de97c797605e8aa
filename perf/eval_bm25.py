"""The yardstick: BM25 over every text file of a tree (path + content), as SWE-bench retrieves.

bm25s with English stemming and stop words, one document per file: its path, then its text.
"""

from __future__ import annotations

from pathlib import Path

from perf.eval_trees import text_files


class Bm25Tree:
    """A BM25 index of one tree; `rank(text, k)` gives the k best paths."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self._stemmer = Stemmer.Stemmer("english")
        files = list(text_files(git_dir, commit))
        self.paths = [path for path, _ in files]
        corpus = [f"{path}\n{text}" for path, text in files]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=self._stemmer, show_progress=False)
        self._retriever = bm25s.BM25()
        self._retriever.index(tokens, show_progress=False)

    def rank(self, text: str, k: int) -> list[str]:
        query = self._bm25s.tokenize(
            [text], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        if not query or not query[0]:
            return []
        k = min(k, len(self.paths))
        found, scores = self._retriever.retrieve(query, k=k, show_progress=False)
        return [self.paths[int(i)] for i, s in zip(found[0], scores[0], strict=False) if s > 0]
