"""Writes of the categories app: re-scoring a store's catalogue into suggestions, and the merchant's decisions.

Nothing is applied silently: re-scoring only writes suggestion rows; `suggestions_decide` is the one place a
product's category or attributes change, in a transaction, and it never overwrites a merchant's attribute value
unless asked to (`overwrite=True`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from categories.ml.attributes import already_stated, existing_value, extract_attributes, same_value
from categories.ml.classifier import (
    DEFAULT_FEATURES,
    DEFAULT_TARGET_PRECISION,
    CategoryHead,
    TaxonomyMatcher,
    name_key,
    normalise_path,
    out_of_fold_predictions,
    product_text,
)
from categories.models import (
    AttributeSuggestion,
    CategoryModel,
    CategorySuggestion,
    SuggestionReason,
    SuggestionSource,
    SuggestionStatus,
)
from ecomops.models import Product, Store

RESCORE_KIND = "categories_rescore"
# A store model needs this many categorised products, in at least two categories with two products each;
# below it, suggestions come from the Shopify taxonomy by zero-shot similarity.
MIN_STORE_PRODUCTS = 30
Progress = Callable[[int, str], None]

_taxonomy: TaxonomyMatcher | None = None


def taxonomy_matcher() -> TaxonomyMatcher:
    """The taxonomy's vectors, computed once per process."""
    global _taxonomy
    if _taxonomy is None:
        _taxonomy = TaxonomyMatcher()
    return _taxonomy


def rescore_start(*, store: Store, created_by=None, params: dict | None = None):
    from ecomops.services.jobs import job_create

    return job_create(store=store, kind=RESCORE_KIND, params=params or {}, created_by=created_by)


def _embed(texts: list[str], report: Progress, lo: int, hi: int) -> np.ndarray:
    from ecomops.ml.embedder import EMBEDDING_DIM, embed

    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return embed(texts, progress=lambda done, total: report(lo + (hi - lo) * done // max(total, 1),
                                                             f"embedded {done}/{total} products"))


def _store_trainable(labels: list[str]) -> bool:
    if len(labels) < MIN_STORE_PRODUCTS:
        return False
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    return sum(1 for n in counts.values() if n >= 2) >= 2


def category_rescore(*, store: Store, job=None, target_precision: float = DEFAULT_TARGET_PRECISION,
                     features: str = DEFAULT_FEATURES, on_progress: Progress | None = None) -> dict:
    """Train the store's head (or fall back to the taxonomy) and replace the pending category suggestions.

    Labelled products are scored by a head that never saw them (out-of-fold), so a wrong category is not
    confirmed by its own training example. Progress 0-60 embedding, 60-90 training and scoring."""
    report = on_progress or (lambda pct, msg: None)
    products = list(Product.objects.for_store(store).order_by("pk"))
    texts = [product_text(p.title, p.brand, p.description) for p in products]
    vectors = _embed(texts, report, 0, 60)
    labelled = [i for i, p in enumerate(products) if p.category.strip()]
    unlabelled = [i for i, p in enumerate(products) if not p.category.strip()]
    labels = [normalise_path(products[i].category) for i in labelled]
    predictions: dict[int, tuple] = {}  # product index -> (Prediction, reason)
    if _store_trainable(labels):
        report(62, f"training on {len(labelled)} categorised products")
        head = CategoryHead(features=features).fit_with_threshold(
            [texts[i] for i in labelled], labels, [name_key(products[i].title) for i in labelled],
            vectors[labelled], target_precision=target_precision)
        source, threshold = SuggestionSource.STORE, head.threshold
        report(75, "checking categorised products out-of-fold")
        oof = out_of_fold_predictions([texts[i] for i in labelled], labels, vectors[labelled], features=features,
                                      c=head.c)
        for i, label, pred in zip(labelled, labels, oof, strict=True):
            if pred is not None and pred.path != label:
                predictions[i] = (pred, SuggestionReason.DOUBTFUL)
        for i, pred in zip(unlabelled, head.predict([texts[i] for i in unlabelled], vectors[unlabelled]),
                           strict=True):
            predictions[i] = (pred, SuggestionReason.MISSING)
        model = CategoryModel(store=store, source=source, features=features, threshold=threshold,
                              target_precision=target_precision, classes=head.classes, head=head.to_bytes(),
                              job=job, stats={"trained_on": len(labelled), "validation": head.validation})
    else:
        report(70, "too few categorised products: matching the Shopify taxonomy")
        matcher = taxonomy_matcher()
        source, threshold = SuggestionSource.TAXONOMY, matcher.threshold
        for i, pred in zip(unlabelled, matcher.predict([texts[i] for i in unlabelled], vectors[unlabelled]),
                           strict=True):
            predictions[i] = (pred, SuggestionReason.MISSING)
        model = CategoryModel(store=store, source=source, features="zero-shot", threshold=threshold,
                              target_precision=target_precision, classes=[], job=job,
                              stats={"trained_on": 0, "categorised_products": len(labelled),
                                     "taxonomy_paths": len(matcher.paths)})
    report(90, "writing suggestions")
    rejected = set(CategorySuggestion.objects.for_store(store).filter(status=SuggestionStatus.REJECTED)
                   .values_list("product_id", "path"))
    rows, abstained = [], 0
    for i, (pred, reason) in predictions.items():
        product = products[i]
        if pred.confidence < threshold:
            abstained += 1
            continue
        if (product.pk, pred.path) in rejected:
            continue
        rows.append(CategorySuggestion(
            store=store, product=product, path=pred.path[:300], confidence=round(pred.confidence, 4),
            current_category=product.category[:300], reason=reason, source=source,
            alternatives=[[p, c] for p, c in pred.alternatives]))
    with transaction.atomic():
        model.stats = {**model.stats, "suggested": len(rows), "abstained": abstained}
        model.save()
        for row in rows:
            row.model = model
        CategorySuggestion.objects.for_store(store).filter(status=SuggestionStatus.PENDING).delete()
        CategorySuggestion.objects.bulk_create(rows, batch_size=500)
    return {"source": source, "threshold": round(threshold, 4), "products": len(products),
            "categorised": len(labelled), "suggested": len(rows), "abstained": abstained,
            "doubtful": sum(1 for r in rows if r.reason == SuggestionReason.DOUBTFUL),
            "missing": sum(1 for r in rows if r.reason == SuggestionReason.MISSING),
            "validation": model.stats.get("validation")}


def attribute_rescore(*, store: Store, on_progress: Progress | None = None) -> dict:
    """Extract attributes from every product's texts and replace the pending attribute suggestions.

    A value the product already has (under any spelling of the key) is not suggested; a different value the
    merchant set is suggested as a conflict, which accepting in bulk skips unless overwriting is asked for."""
    report = on_progress or (lambda pct, msg: None)
    products = list(Product.objects.for_store(store).order_by("pk"))
    rejected = set(AttributeSuggestion.objects.for_store(store).filter(status=SuggestionStatus.REJECTED)
                   .values_list("product_id", "name", "value"))
    rows = []
    for n, product in enumerate(products):
        for name, found in extract_attributes(product.title, product.description, product.brand).items():
            key, value = existing_value(product.attributes or {}, name)
            if key is not None and already_stated(value, found.value, found.evidence):
                continue
            if (product.pk, name, found.value) in rejected:
                continue
            rows.append(AttributeSuggestion(
                store=store, product=product, name=name, value=found.value[:200], confidence=found.confidence,
                evidence=found.evidence[:200], text_source=found.source, existing_key=(key or "")[:100],
                existing_value=str(value)[:200] if key is not None else ""))
        if n % 200 == 0:
            report(90 + 9 * n // max(len(products), 1), f"attributes {n}/{len(products)} products")
    with transaction.atomic():
        AttributeSuggestion.objects.for_store(store).filter(status=SuggestionStatus.PENDING).delete()
        AttributeSuggestion.objects.bulk_create(rows, batch_size=500)
    return {"suggested": len(rows), "conflicts": sum(1 for r in rows if r.existing_key)}


def catalogue_rescore(*, store: Store, job=None, target_precision: float = DEFAULT_TARGET_PRECISION,
                      attributes: bool = True, on_progress: Progress | None = None) -> dict:
    report = on_progress or (lambda pct, msg: None)
    result = {"categories": category_rescore(store=store, job=job, target_precision=target_precision,
                                             on_progress=report)}
    if attributes:
        result["attributes"] = attribute_rescore(store=store, on_progress=report)
    report(100, "done")
    return result


# --- decisions --------------------------------------------------------------------------------------------------

@dataclass
class DecisionResult:
    accepted: int = 0
    rejected: int = 0
    conflicts: list[int] | None = None  # attribute suggestions left pending: the merchant has another value

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "rejected": self.rejected, "conflicts": self.conflicts or []}


def _pending(model, store: Store, ids: list[int], field: str):
    ids = list(dict.fromkeys(int(i) for i in ids))
    rows = list(model.objects.for_store(store).select_for_update().filter(pk__in=ids, status=SuggestionStatus.PENDING))
    missing = sorted(set(ids) - {r.pk for r in rows})
    if missing:
        # another store's id reads exactly like a missing one
        raise ValidationError({field: [f"Not pending suggestions of this store: {', '.join(map(str, missing[:20]))}."]})
    return rows


def suggestions_decide(*, store: Store, user, action: str, category_ids: Iterable[int] = (),
                       attribute_ids: Iterable[int] = (), overwrite: bool = False) -> DecisionResult:
    """Accept or reject suggestions in bulk, all or nothing. Accepting a category writes the product's category;
    accepting an attribute merges it into Product.attributes (a merchant's different value only with
    `overwrite`, otherwise the suggestion stays pending and is reported as a conflict)."""
    if action not in ("accept", "reject"):
        raise ValidationError({"action": ["Must be accept or reject."]})
    category_ids, attribute_ids = list(category_ids), list(attribute_ids)
    if not category_ids and not attribute_ids:
        raise ValidationError({"non_field_errors": ["Select at least one suggestion."]})
    now = timezone.now()
    result = DecisionResult(conflicts=[])
    with transaction.atomic():
        cats = _pending(CategorySuggestion, store, category_ids, "category_ids")
        attrs = _pending(AttributeSuggestion, store, attribute_ids, "attribute_ids")
        product_ids = {s.product_id for s in cats} | {s.product_id for s in attrs}
        products = {p.pk: p for p in Product.objects.for_store(store).select_for_update().filter(pk__in=product_ids)}
        status = SuggestionStatus.ACCEPTED if action == "accept" else SuggestionStatus.REJECTED
        decided_cats, decided_attrs, changed = [], [], set()
        for s in cats:
            if action == "accept":
                products[s.product_id].category = s.path
                changed.add(s.product_id)
            decided_cats.append(s)
        for s in attrs:
            if action == "accept":
                product = products[s.product_id]
                attributes = dict(product.attributes or {})
                key, value = existing_value(attributes, s.name)
                if key is not None and not same_value(value, s.value) and not overwrite:
                    result.conflicts.append(s.pk)
                    continue
                attributes[key or s.name] = s.value
                product.attributes = attributes
                changed.add(s.product_id)
            decided_attrs.append(s)
        for s in (*decided_cats, *decided_attrs):
            s.status, s.decided_by, s.decided_at = status, user, now
        CategorySuggestion.objects.bulk_update(decided_cats, ["status", "decided_by", "decided_at"])
        AttributeSuggestion.objects.bulk_update(decided_attrs, ["status", "decided_by", "decided_at"])
        for pid in changed:
            products[pid].save(update_fields=["category", "attributes", "updated_at"])
        n = len(decided_cats) + len(decided_attrs)
        if action == "accept":
            result.accepted = n
        else:
            result.rejected = n
    return result


def rows_from_store(store: Store, *, levels: int | None = 2):
    """The store's categorised products as evaluation rows."""
    from categories.ml.evaluation import LabelledProduct
    from categories.selectors import labelled_products

    return [LabelledProduct(title=p.title, category=normalise_path(p.category, levels), brand=p.brand,
                            description=p.description) for p in labelled_products(store)]
