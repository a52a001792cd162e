"""An in-memory hybrid index: cosine similarity over unit vectors blended with BM25 over word tokens.

Built from (entry id, text, vector) triples; a search returns entry ids with blended scores. The caller rebuilds
the index whenever the store's knowledge version changes, so edits and deletions are always reflected.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an the and or of to in on for with is are was were be been it its this that i you we my your our me us do "
    "does did can could would should how what when where which who why if at by from as about into please".split()
)


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall((text or "").lower()) if t not in STOPWORDS]


@dataclass(frozen=True)
class Hit:
    entry_id: int
    score: float
    cosine: float
    bm25: float


@dataclass
class HybridIndex:
    ids: list[int] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))
    version: object = None
    k1: float = 1.5
    b: float = 0.75
    keyword_weight: float = 0.1

    def __post_init__(self) -> None:
        self._postings: dict[str, list[tuple[int, int]]] = {}
        self._doc_len = np.zeros(0, dtype=np.float32)
        self._avg_len = 1.0
        self._idf: dict[str, float] = {}

    @classmethod
    def build(cls, entries: list[tuple[int, str, np.ndarray]], *, version=None, keyword_weight: float = 0.1):
        index = cls(version=version, keyword_weight=keyword_weight)
        index.ids = [e[0] for e in entries]
        index.vectors = (
            np.vstack([e[2] for e in entries]).astype(np.float32) if entries else np.zeros((0, 384), np.float32)
        )
        postings: dict[str, list[tuple[int, int]]] = {}
        lengths = []
        for row, (_, text, _) in enumerate(entries):
            tokens = tokenize(text)
            lengths.append(len(tokens))
            for term, tf in Counter(tokens).items():
                postings.setdefault(term, []).append((row, tf))
        index._postings = postings
        index._doc_len = np.asarray(lengths, dtype=np.float32)
        index._avg_len = float(index._doc_len.mean()) if lengths else 1.0
        n = len(entries)
        index._idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def bm25(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(tokenize(query)):
            plist = self._postings.get(term)
            if not plist:
                continue
            idf = self._idf[term]
            for row, tf in plist:
                norm = tf + self.k1 * (1 - self.b + self.b * self._doc_len[row] / max(self._avg_len, 1e-6))
                scores[row] += idf * tf * (self.k1 + 1) / norm
        return scores

    def search(self, query_vector: np.ndarray, query_text: str, *, k: int = 5, min_score: float = -1.0) -> list[Hit]:
        if not self.ids:
            return []
        cosine = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        keyword = self.bm25(query_text)
        top = float(keyword.max()) if keyword.size else 0.0
        keyword_norm = keyword / top if top > 0 else keyword
        blended = (1 - self.keyword_weight) * cosine + self.keyword_weight * keyword_norm
        k = min(k, len(self.ids))
        order = np.argpartition(-blended, k - 1)[:k]
        order = order[np.argsort(-blended[order])]
        return [
            Hit(self.ids[i], float(blended[i]), float(cosine[i]), float(keyword[i]))
            for i in order
            if blended[i] >= min_score
        ]
