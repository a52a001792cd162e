"""Category suggestion: a linear head over MiniLM embeddings, its abstain threshold, and zero-shot taxonomy matching.

Django-free (STYLE.md §7). Inputs are plain texts, labels and vectors; the embedder is passed in (or comes from
ecomops.ml.embedder), so tests can run the real model and the training code stays importable alone.

- `CategoryHead`: sklearn LogisticRegression (multinomial, log-loss, so its probabilities are fitted to be
  calibrated) on the unit-length MiniLM vector of title + brand + description, optionally concatenated with a
  TF-IDF of the same text ("embed+tfidf"). The abstain threshold is the lowest confidence at which predictions
  on a held-out split reach the target precision; it is stored with the model.
- `TaxonomyMatcher`: for a store with too few categorised products, the nearest category path of the shipped
  Shopify taxonomy subset by cosine similarity, with a softmax confidence.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FEATURE_CHOICES = ("embed", "embed+tfidf")
DEFAULT_FEATURES = "embed+tfidf"
DEFAULT_TARGET_PRECISION = 0.9
DESCRIPTION_CHARS = 400
TAXONOMY_FILE = Path(__file__).resolve().parent.parent / "data" / "shopify_taxonomy_subset.txt"
# The zero-shot softmax temperature and threshold: chosen by hand, not validated on a store's data (a new store has
# none); the README says so. A suggestion needs a clear winner among the taxonomy's neighbours.
ZERO_SHOT_TEMPERATURE = 0.02
ZERO_SHOT_THRESHOLD = 0.5

Embed = Callable[[list[str]], np.ndarray]
_PATH_SPLIT = re.compile(r"\s*>{1,2}\s*")


def split_path(path: str, levels: int | None = None) -> list[str]:
    """'A > B >> C' -> ['A', 'B', 'C'], cut to `levels` (None: all)."""
    parts = [p.strip() for p in _PATH_SPLIT.split(path or "") if p.strip()]
    return parts[:levels] if levels else parts


def join_path(parts: Sequence[str]) -> str:
    return " > ".join(parts)


def normalise_path(path: str, levels: int | None = None) -> str:
    return join_path(split_path(path, levels))


def product_text(title: str, brand: str = "", description: str = "") -> str:
    """The text a product is classified by: title, brand, the start of the description."""
    parts = [title.strip()]
    if brand and brand.strip().lower() not in title.lower():
        parts.append(brand.strip())
    if description:
        parts.append(" ".join(description.split())[:DESCRIPTION_CHARS])
    return ". ".join(p for p in parts if p)


def default_embed(texts: list[str]) -> np.ndarray:
    from ecomops.ml.embedder import embed

    return embed(texts)


def threshold_for_precision(confidence: np.ndarray, correct: np.ndarray, target: float,
                            min_support: int = 5) -> float | None:
    """The lowest confidence t with precision(conf >= t) >= target, counting only cut-offs that keep at least
    `min_support` predictions; None when no cut-off reaches the target (the caller abstains on everything)."""
    if len(confidence) == 0:
        return None
    order = np.argsort(-confidence, kind="stable")
    conf, ok = confidence[order], correct[order].astype(float)
    precision = np.cumsum(ok) / np.arange(1, len(ok) + 1)
    best = None
    for k in range(len(conf)):
        # a cut-off sits between distinct confidences
        if k + 1 < len(conf) and conf[k + 1] == conf[k]:
            continue
        if k + 1 >= min(min_support, len(conf)) and precision[k] >= target:
            best = float(conf[k])
    return best


def group_split(groups: Sequence[str], test_size: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train / held-out indices with every group (a normalised product name) on one side only."""
    from sklearn.model_selection import GroupShuffleSplit

    idx = np.arange(len(groups))
    if len(set(groups)) < 2:
        return idx, idx[:0]
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(idx, groups=list(groups)))
    return np.sort(train), np.sort(test)


def name_key(title: str) -> str:
    return " ".join(re.findall(r"\w+", (title or "").lower()))


@dataclass
class Prediction:
    path: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)


class CategoryHead:
    """MiniLM (+ TF-IDF) features -> LogisticRegression over the store's category paths."""

    def __init__(self, *, features: str = DEFAULT_FEATURES, c: float = 10.0, embed: Embed | None = None):
        if features not in FEATURE_CHOICES:
            raise ValueError(f"features must be one of {', '.join(FEATURE_CHOICES)}")
        self.features = features
        self.c = c
        self.threshold = 1.0
        self.target_precision = DEFAULT_TARGET_PRECISION
        self.validation: dict = {}
        self._embed = embed
        self._tfidf = None
        self._lr = None

    # --- features -------------------------------------------------------------------------------------------
    def _matrix(self, texts: list[str], vectors: np.ndarray | None, *, fit: bool):
        from scipy import sparse

        emb = vectors if vectors is not None else (self._embed or default_embed)(texts)
        if self.features == "embed":
            return emb
        if fit:
            from sklearn.feature_extraction.text import TfidfVectorizer

            # words seen once add parameters, not evidence, once a catalogue is big enough to have repeats
            self._tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(texts) >= 200 else 1, sublinear_tf=True,
                                          max_features=30_000)
            tf = self._tfidf.fit_transform(texts)
        else:
            tf = self._tfidf.transform(texts)
        return sparse.hstack([sparse.csr_matrix(emb), tf], format="csr")

    # --- training -------------------------------------------------------------------------------------------
    def fit(self, texts: list[str], labels: list[str], vectors: np.ndarray | None = None) -> CategoryHead:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            raise ValueError("At least two different categories are needed to train a category model.")
        x = self._matrix(texts, vectors, fit=True)
        # tol/max_iter: hundreds of categories x 30k features must train in a job, not an afternoon; the ranking
        # of classes is settled long before lbfgs' default tolerance
        self._lr = LogisticRegression(C=self.c, max_iter=300, tol=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._lr.fit(x, labels)
        return self

    def fit_with_threshold(self, texts: list[str], labels: list[str], groups: list[str],
                           vectors: np.ndarray | None = None, *, target_precision: float = DEFAULT_TARGET_PRECISION,
                           validation_size: float = 0.2, seed: int = 0) -> CategoryHead:
        """Choose the abstain threshold on a held-out split (by name), then fit on everything."""
        self.target_precision = target_precision
        train, val = group_split(groups, validation_size, seed)
        if vectors is None:
            vectors = (self._embed or default_embed)(list(texts))
        labels_arr = np.asarray(labels, dtype=object)
        if len(val) >= 5 and len(set(labels_arr[train])) >= 2:
            probe = CategoryHead(features=self.features, c=self.c, embed=self._embed)
            probe.fit([texts[i] for i in train], list(labels_arr[train]), vectors[train])
            preds = probe.predict([texts[i] for i in val], vectors[val])
            conf = np.array([p.confidence for p in preds])
            ok = np.array([p.path == labels_arr[i] for p, i in zip(preds, val, strict=True)])
            found = threshold_for_precision(conf, ok, target_precision)
            self.threshold = 1.0 if found is None else found
            covered = conf >= self.threshold
            self.validation = {
                "size": int(len(val)), "accuracy": round(float(ok.mean()), 4),
                "coverage": round(float(covered.mean()), 4),
                "precision_at_threshold": round(float(ok[covered].mean()), 4) if covered.any() else None,
            }
        else:
            self.threshold = 1.0
            self.validation = {"size": int(len(val)), "note": "too few products for a validation split"}
        return self.fit(list(texts), list(labels), vectors)

    # --- inference ------------------------------------------------------------------------------------------
    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self._lr.classes_] if self._lr is not None else []

    def predict_proba(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        return self._lr.predict_proba(self._matrix(texts, vectors, fit=False))

    def predict(self, texts: list[str], vectors: np.ndarray | None = None, *, top: int = 3) -> list[Prediction]:
        if not texts:
            return []
        proba = self.predict_proba(texts, vectors)
        classes = self.classes
        out = []
        for row in proba:
            order = np.argsort(-row)[:top]
            out.append(Prediction(classes[order[0]], float(row[order[0]]),
                                  [(classes[j], round(float(row[j]), 4)) for j in order]))
        return out

    # --- storage --------------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        import joblib

        buf = io.BytesIO()
        embed, self._embed = self._embed, None  # the embedder is the process's, never pickled
        try:
            joblib.dump(self, buf, compress=3)
        finally:
            self._embed = embed
        return buf.getvalue()

    @staticmethod
    def from_bytes(blob: bytes, *, embed: Embed | None = None) -> CategoryHead:
        import joblib

        head = joblib.load(io.BytesIO(bytes(blob)))
        head._embed = embed
        return head


def out_of_fold_predictions(texts: list[str], labels: list[str], vectors: np.ndarray, *, features: str,
                            c: float = 10.0, folds: int = 5, seed: int = 0) -> list[Prediction | None]:
    """A prediction for every labelled product from a head that never saw it (for spotting doubtful categories).
    Products of a category too rare to be both trained on and held out get None."""
    from sklearn.model_selection import StratifiedKFold

    labels_arr = np.asarray(labels, dtype=object)
    counts = {lab: int((labels_arr == lab).sum()) for lab in set(labels)}
    usable = np.array([counts[lab] >= 2 for lab in labels_arr])
    out: list[Prediction | None] = [None] * len(texts)
    idx = np.flatnonzero(usable)
    if len(idx) < 10 or len(set(labels_arr[idx])) < 2:
        return out
    k = max(2, min(folds, min(counts[lab] for lab in set(labels_arr[idx]))))
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, labels_arr[idx]):
        tr, te = idx[train], idx[test]
        head = CategoryHead(features=features, c=c).fit([texts[i] for i in tr], list(labels_arr[tr]), vectors[tr])
        for i, pred in zip(te, head.predict([texts[i] for i in te], vectors[te]), strict=True):
            out[i] = pred
    return out


# --- zero-shot over the Shopify taxonomy ----------------------------------------------------------------------

def load_taxonomy(path: Path = TAXONOMY_FILE) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [normalise_path(line) for line in lines if line.strip() and not line.startswith("#")]


def taxonomy_text(path: str) -> str:
    """'Home & Garden > ... > Kettles' -> 'Kettles (Kitchen Appliances, Kitchen & Dining, Home & Garden)': the
    leaf first, as products are named by their leaf."""
    parts = split_path(path)
    return f"{parts[-1]} ({', '.join(reversed(parts[:-1]))})" if len(parts) > 1 else parts[0]


class TaxonomyMatcher:
    def __init__(self, paths: list[str] | None = None, *, embed: Embed | None = None):
        self.paths = paths if paths is not None else load_taxonomy()
        self._embed = embed or default_embed
        self._vectors: np.ndarray | None = None
        self.threshold = ZERO_SHOT_THRESHOLD

    @property
    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = self._embed([taxonomy_text(p) for p in self.paths])
        return self._vectors

    def predict(self, texts: list[str], vectors: np.ndarray | None = None, *, top: int = 3) -> list[Prediction]:
        if not texts:
            return []
        q = vectors if vectors is not None else self._embed(texts)
        sims = q @ self.vectors.T
        out = []
        for row in sims:
            z = (row - row.max()) / ZERO_SHOT_TEMPERATURE
            p = np.exp(z)
            p /= p.sum()
            order = np.argsort(-p)[:top]
            out.append(Prediction(self.paths[order[0]], float(p[order[0]]),
                                  [(self.paths[j], round(float(p[j]), 4)) for j in order]))
        return out
