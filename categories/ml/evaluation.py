"""Offline evaluation of category suggestion: CSV loading, the held-out split by name, ours vs TF-IDF + linear SVM.

Django-free. Any CSV with `title` and `category` (levels separated by `>` or `>>`), optional `description`, `brand`.
A catalogue without a category column (Myntra) names the columns to build the path from (`category_columns`);
the pseudo-column `title_type` is the product type at the end of the name ("... Slim Fit Casual Shirt" -> "Shirt").
"""

from __future__ import annotations

import csv
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from categories.ml.classifier import (
    DEFAULT_FEATURES,
    DEFAULT_TARGET_PRECISION,
    CategoryHead,
    group_split,
    name_key,
    normalise_path,
    product_text,
    split_path,
    threshold_for_precision,
)

TITLE_TYPE = "title_type"
COLUMN_ALIASES = {"title": ("title", "product_name", "name"), "description": ("description",),
                  "brand": ("brand", "product_brand")}


class BadCsv(ValueError):
    """A CSV that cannot be evaluated; the message names the file and line."""


@dataclass(frozen=True)
class LabelledProduct:
    title: str
    category: str
    brand: str = ""
    description: str = ""

    @property
    def text(self) -> str:
        return product_text(self.title, self.brand, self.description)


def title_type(title: str) -> str:
    """The product type a fashion name ends with: the last word before any 'with ...' / 'for ...' tail,
    singular and capitalised ("Set of 2 Kurtas" is rare enough to be ignored)."""
    head = re.split(r"\s+(?:with|for|\+)\s+", title.strip(), maxsplit=1)[0]
    words = re.findall(r"[A-Za-z][A-Za-z\-]*", head)
    if not words:
        return ""
    word = words[-1].lower()
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "jeans", "trousers", "shorts", "pants", "leggings",
                                                   "joggers", "briefs", "boxers", "sneakers", "flops", "heels",
                                                   "flats", "sandals", "shoes", "boots", "trunks", "palazzos")):
        word = word[:-1]
    return word.capitalize()


def _column(fieldnames: Sequence[str], wanted: str) -> str | None:
    lowered = {f.strip().lower(): f for f in fieldnames if f}
    for alias in COLUMN_ALIASES.get(wanted, (wanted,)):
        if alias in lowered:
            return lowered[alias]
    return None


def read_labelled_csv(path: Path, *, levels: int | None = 2, category_columns: Sequence[str] | None = None,
                      limit: int | None = None, seed: int = 0) -> list[LabelledProduct]:
    """Rows with a title and a non-empty category path (cut to `levels`); `limit` draws a seeded sample."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise BadCsv(f"{path}: cannot be read ({exc.strerror}).") from None
    rows: list[LabelledProduct] = []
    with handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        title_col = _column(fields, "title")
        if title_col is None:
            raise BadCsv(f"{path}:1: needs a `title` column (found: {', '.join(f for f in fields if f)}).")
        if category_columns:
            lowered = {f.strip().lower(): f for f in fields if f}
            cat_cols = []
            for col in category_columns:
                if col.lower() == TITLE_TYPE:
                    cat_cols.append(TITLE_TYPE)
                elif col.strip().lower() in lowered:
                    cat_cols.append(lowered[col.strip().lower()])
                else:
                    raise BadCsv(f"{path}:1: no column {col!r} for the category path.")
        else:
            cat_col = _column(fields, "category")
            if cat_col is None:
                raise BadCsv(f"{path}:1: needs a `category` column, or --category-columns to build the path from.")
            cat_cols = None
        desc_col, brand_col = _column(fields, "description"), _column(fields, "brand")
        try:
            for row in reader:
                title = (row.get(title_col) or "").strip()
                if not title:
                    continue
                if cat_cols is None:
                    category = row.get(cat_col) or ""
                else:
                    category = " > ".join(title_type(title) if c == TITLE_TYPE else (row.get(c) or "").strip()
                                          for c in cat_cols)
                if any(not part for part in (category.split(" > ") if cat_cols else [category.strip()])):
                    continue
                category = normalise_path(category, levels)
                if not category:
                    continue
                rows.append(LabelledProduct(title=title, category=category,
                                            brand=(row.get(brand_col) or "").strip() if brand_col else "",
                                            description=(row.get(desc_col) or "").strip() if desc_col else ""))
        except csv.Error as exc:
            raise BadCsv(f"{path}:{reader.line_num}: not valid CSV ({exc}).") from None
    if limit is not None and len(rows) > limit:
        rows = random.Random(seed).sample(rows, limit)
    return rows


# --- metrics ----------------------------------------------------------------------------------------------------

def level_match(pred: str, true: str, level: int) -> bool:
    return split_path(pred, level) == split_path(true, level)


def system_metrics(true: list[str], pred: list[str], conf: np.ndarray | None, threshold: float | None) -> dict:
    from sklearn.metrics import f1_score

    n = len(true)
    out = {
        "accuracy_l1": round(sum(level_match(p, t, 1) for p, t in zip(pred, true, strict=True)) / n, 4),
        "accuracy_l2": round(sum(level_match(p, t, 2) for p, t in zip(pred, true, strict=True)) / n, 4),
        "accuracy": round(sum(p == t for p, t in zip(pred, true, strict=True)) / n, 4),
        "macro_f1": round(float(f1_score(true, pred, average="macro", zero_division=0)), 4),
    }
    if conf is not None and threshold is not None:
        covered = conf >= threshold
        ok = np.array([p == t for p, t in zip(pred, true, strict=True)])
        out.update(threshold=round(float(threshold), 4), coverage=round(float(covered.mean()), 4),
                   accuracy_at_threshold=round(float(ok[covered].mean()), 4) if covered.any() else None)
    return out


class SvmBaseline:
    """TF-IDF (word 1-2 grams) + LinearSVC; its "confidence" is the winning decision margin."""

    def fit(self, texts: list[str], labels: list[str]) -> SvmBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=50_000)
        self.svm = LinearSVC(C=1.0).fit(self.vec.fit_transform(texts), labels)
        return self

    def predict(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        scores = self.svm.decision_function(self.vec.transform(texts))
        if scores.ndim == 1:  # two classes
            scores = np.stack([-scores, scores], axis=1)
        best = scores.argmax(axis=1)
        return [str(self.svm.classes_[j]) for j in best], scores.max(axis=1)


def _svm_with_threshold(texts, labels, groups, target, seed):
    train, val = group_split(groups, 0.2, seed)
    threshold = None
    if len(val) >= 5 and len({labels[i] for i in train}) >= 2:
        probe = SvmBaseline().fit([texts[i] for i in train], [labels[i] for i in train])
        pred, margin = probe.predict([texts[i] for i in val])
        ok = np.array([p == labels[i] for p, i in zip(pred, val, strict=True)])
        threshold = threshold_for_precision(margin, ok, target)
        if threshold is None:  # the target is out of reach: abstain on everything
            threshold = float(margin.max()) + 1.0
    return SvmBaseline().fit(texts, labels), threshold


def evaluate(rows: list[LabelledProduct], *, embed: Callable[[list[str]], np.ndarray],
             target_precision: float = DEFAULT_TARGET_PRECISION, features: str = DEFAULT_FEATURES,
             seed: int = 0, progress: Callable[[str], None] | None = None) -> dict:
    """Hold out 20% by product name; ours (the configured features), the other feature set, and the SVM."""
    say = progress or (lambda msg: None)
    if len(rows) < 20:
        raise ValueError(f"Only {len(rows)} labelled rows: at least 20 are needed for a held-out evaluation.")
    groups = [name_key(r.title) for r in rows]
    train, test = group_split(groups, 0.2, seed)
    texts = [r.text for r in rows]
    labels = [r.category for r in rows]
    if len({labels[i] for i in train}) < 2:
        raise ValueError("The training split has fewer than two categories.")
    say(f"embedding {len(texts)} products")
    started = time.process_time()
    vectors = embed(texts)
    embed_cpu = time.process_time() - started
    tr_texts, tr_labels, tr_groups = [texts[i] for i in train], [labels[i] for i in train], [groups[i] for i in train]
    te_texts, te_labels = [texts[i] for i in test], [labels[i] for i in test]
    systems: dict[str, dict] = {}
    for feats in (features, *[f for f in ("embed", "embed+tfidf") if f != features]):
        say(f"training MiniLM head ({feats})")
        t0 = time.process_time()
        head = CategoryHead(features=feats).fit_with_threshold(tr_texts, tr_labels, tr_groups, vectors[train],
                                                               target_precision=target_precision, seed=seed)
        preds = head.predict(te_texts, vectors[test])
        systems[feats] = {**system_metrics(te_labels, [p.path for p in preds],
                                           np.array([p.confidence for p in preds]), head.threshold),
                          "train_cpu_s": round(time.process_time() - t0, 2)}
    say("training TF-IDF + linear SVM")
    t0 = time.process_time()
    svm, svm_threshold = _svm_with_threshold(tr_texts, tr_labels, tr_groups, target_precision, seed)
    pred, margin = svm.predict(te_texts)
    systems["tfidf+svm"] = {**system_metrics(te_labels, pred, margin, svm_threshold),
                            "train_cpu_s": round(time.process_time() - t0, 2)}
    unseen = sum(1 for i in test if labels[i] not in set(tr_labels))
    return {
        "ours": {**systems[features], "features": features, "target_precision": target_precision},
        "baseline": {**systems["tfidf+svm"], "system": "TF-IDF (1-2 grams) + LinearSVC"},
        "systems": systems,
        "data": {"rows": len(rows), "train": int(len(train)), "test": int(len(test)),
                 "categories": len(set(labels)), "test_rows_with_category_unseen_in_train": unseen,
                 "embed_cpu_s": round(embed_cpu, 2)},
    }


def table(result: dict) -> str:
    cols = ("accuracy_l1", "accuracy_l2", "macro_f1", "coverage", "accuracy_at_threshold", "threshold")
    lines = [f"{'system':<22}" + "".join(f"{c:>22}" for c in cols)]
    names = {"embed": "MiniLM + LR", "embed+tfidf": "MiniLM+TF-IDF + LR", "tfidf+svm": "TF-IDF + SVM (baseline)"}
    ours = result["ours"]["features"]
    for key, metrics in result["systems"].items():
        label = names.get(key, key) + (" *" if key == ours else "")
        lines.append(f"{label:<22}" + "".join(
            f"{'—' if metrics.get(c) is None else metrics[c]:>22}" for c in cols))
    d = result["data"]
    lines.append(f"* ours. {d['rows']} rows ({d['train']} train / {d['test']} held out by name), "
                 f"{d['categories']} categories; threshold for precision {result['ours']['target_precision']} "
                 f"chosen on a validation split of the training side.")
    return "\n".join(lines)


# --- attribute extraction -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelledAttributes:
    line: int
    title: str
    description: str
    expected: dict[str, str]


def read_attribute_csv(path: Path, *, expected_columns: dict[str, str] | None = None) -> list[LabelledAttributes]:
    """`title`, optional `description`, `attributes` (a JSON object of the hand-labelled values); or, for a
    catalogue with its own attribute columns, `expected_columns` {attribute: column} (rows with it empty are
    skipped)."""
    import json

    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise BadCsv(f"{path}: cannot be read ({exc.strerror}).") from None
    rows = []
    with handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        title_col, desc_col = _column(fields, "title"), _column(fields, "description")
        if expected_columns:
            missing = [c for c in expected_columns.values() if c not in fields]
            if title_col is None or missing:
                raise BadCsv(f"{path}:1: needs a title column and {', '.join(missing) or 'the expected columns'}.")
        elif title_col is None or "attributes" not in fields:
            raise BadCsv(f"{path}:1: needs columns title, attributes (JSON), optional description.")
        for lineno, row in enumerate(reader, start=2):
            if expected_columns:
                expected = {n: (row.get(c) or "").strip() for n, c in expected_columns.items()}
                if not all(expected.values()):
                    continue
                rows.append(LabelledAttributes(lineno, (row.get(title_col) or "").strip(),
                                               (row.get(desc_col) or "").strip() if desc_col else "", expected))
                continue
            try:
                expected = json.loads(row.get("attributes") or "{}")
            except json.JSONDecodeError as exc:
                raise BadCsv(f"{path}:{lineno}: attributes is not valid JSON ({exc.msg}).") from None
            if not isinstance(expected, dict):
                raise BadCsv(f"{path}:{lineno}: attributes must be a JSON object.")
            rows.append(LabelledAttributes(lineno, (row.get(title_col) or "").strip(),
                                           (row.get(desc_col) or "").strip() if desc_col else "",
                                           {str(k): str(v) for k, v in expected.items()}))
    return rows


def _value_set(value: str) -> frozenset[str]:
    return frozenset(re.sub(r"[\s\-_]+", " ", v.strip().lower()) for v in re.split(r"\s*(?:&|/|,| and )\s*", value)
                     if v.strip())


def evaluate_attributes(rows: list[LabelledAttributes], *, colour_match: str = "exact") -> dict:
    """Precision and recall per attribute name and overall (a value counts when its set of parts matches; with
    colour_match="family", a colour counts when its family matches: "navy blue" for "Navy")."""
    from categories.ml.attributes import ATTRIBUTE_NAMES, colour_family, extract_attributes

    counts = {name: {"tp": 0, "fp": 0, "fn": 0} for name in ATTRIBUTE_NAMES}
    errors = []
    for row in rows:
        found = {k: v.value for k, v in extract_attributes(row.title, row.description).items()}
        for name in ATTRIBUTE_NAMES:
            want, got = row.expected.get(name), found.get(name)
            if got is not None and want is not None and (_value_set(got) == _value_set(want) or (
                    name == "colour" and colour_match == "family" and colour_family(want) is not None
                    and colour_family(want) in {colour_family(part) for part in _value_set(got)})):
                counts[name]["tp"] += 1
                continue
            if got is not None:
                counts[name]["fp"] += 1
            if want is not None:
                counts[name]["fn"] += 1
            if got is not None or want is not None:
                errors.append({"line": row.line, "title": row.title, "attribute": name, "expected": want,
                               "extracted": got})

    def prf(c: dict) -> dict:
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
        f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
        return {"precision": None if p is None else round(p, 4), "recall": None if r is None else round(r, 4),
                "f1": None if f is None else round(f, 4), "support": c["tp"] + c["fn"], **c}

    total = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")}
    return {"micro": prf(total), "per_attribute": {n: prf(c) for n, c in counts.items()},
            "rows": len(rows), "errors": errors}


def attribute_table(result: dict) -> str:
    lines = [f"{'attribute':<12}{'precision':>11}{'recall':>9}{'f1':>8}{'support':>9}"]
    for name, m in [*result["per_attribute"].items(), ("ALL (micro)", result["micro"])]:
        lines.append(f"{name:<12}" + "".join(f"{'—' if m[k] is None else m[k]:>{w}}"
                                             for k, w in (("precision", 11), ("recall", 9), ("f1", 8))) +
                     f"{m['support']:>9}")
    lines.append(f"{result['rows']} products")
    return "\n".join(lines)
