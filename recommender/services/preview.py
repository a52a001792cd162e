"""What each trained model would recommend, for the Recommendations page: one list per model version for a
customer or a product, with the reason for each item.

A preview is not a served list: it logs no impression (so it never counts towards click-through) and it reads
the version's own artifact, whichever version is active. Bundles are kept per process, keyed by checksum.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecomops.models import Customer, Event, EventType, OrderLine, Product, Store
from recommender.ml.bundle import ArtifactError, ModelBundle, artifact_load
from recommender.models import ModelStatus, RecommenderModel
from recommender.services.serving import HISTORY_LIMIT, VERBS, _rank

PREVIEW_K = 5
_CACHE_SIZE = 12
_bundles: dict[int, tuple[str, ModelBundle]] = {}
_lock = threading.Lock()


@dataclass
class ModelList:
    model: RecommenderModel
    items: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def preview_models(store: Store) -> list[RecommenderModel]:
    """The newest ready version of each algorithm, the active version first."""
    newest: dict[str, RecommenderModel] = {}
    for model in RecommenderModel.objects.for_store(store).filter(status=ModelStatus.READY).order_by("-version"):
        newest.setdefault(model.algorithm, model)
    active = [m for m in RecommenderModel.objects.for_store(store).filter(is_active=True, status=ModelStatus.READY)]
    rest = [m for m in newest.values() if not m.is_active]
    return active + rest


def _bundle(model: RecommenderModel) -> ModelBundle | None:
    cached = _bundles.get(model.pk)
    if cached and cached[0] == model.artifact_sha256:
        return cached[1]
    try:
        bundle = artifact_load(model.artifact_path, model.artifact_sha256)
    except ArtifactError:
        return None
    with _lock:
        if len(_bundles) >= _CACHE_SIZE:
            _bundles.pop(next(iter(_bundles)))
        _bundles[model.pk] = (model.artifact_sha256, bundle)
    return bundle


def _public(items: list[tuple[dict, float, int]], reasons: list[str]) -> list[dict[str, Any]]:
    return [{"sku": p["sku"], "title": p["title"], "category": p["category"], "price": p["price"],
             "score": round(float(s), 4), "explanation": why} for (p, s, _), why in zip(items, reasons, strict=True)]


def _reason(model: RecommenderModel, bundle: ModelBundle, history: np.ndarray, n: int, because: dict[int, str],
            fallback: str) -> str:
    """`because` maps a product id of the history to the sentence that explains an item related to it."""
    if model.algorithm == "popularity":
        return "one of the store's best sellers"
    if model.algorithm == "trending":
        return "trending in the store right now"
    source = bundle.explain(history, n)
    key = bundle.item_keys[source] if source is not None else None
    return because.get(key, fallback)


def customer_preview(*, store: Store, external_id: str, k: int = PREVIEW_K) -> dict[str, Any]:
    """Each model's top-k for one customer (None when the store has no such customer)."""
    customer = Customer.objects.for_store(store).filter(external_id=external_id).first()
    if customer is None:
        return {"customer": None, "lists": []}
    events = list(
        Event.objects.for_store(store).filter(customer=customer, product__isnull=False)
        .order_by("-occurred_at").values_list("product_id", "type", "product__title")[:HISTORY_LIMIT]
    )
    because = {pid: f"because they {VERBS.get(kind, 'viewed')} {title}" for pid, kind, title in reversed(events)}
    purchased = {pid for pid, kind, _ in events if kind == EventType.PURCHASE}
    purchased |= set(OrderLine.objects.for_store(store).filter(order__customer=customer).values_list("product_id", flat=True))
    history_keys = [pid for pid, _, _ in reversed(events)]
    lists = []
    for model in preview_models(store):
        bundle = _bundle(model)
        if bundle is None:
            lists.append(ModelList(model, note="This version's file cannot be read; retrain it."))
            continue
        history = bundle.indices_of(history_keys)
        if not len(history):
            lists.append(ModelList(model, note="This customer has no activity this version was trained on."))
            continue
        picked = _rank(store, bundle, bundle.model.score([history])[0], k, purchased, None)
        reasons = [_reason(model, bundle, history, n, because, "popular with customers like them")
                   for _, _, n in picked]
        lists.append(ModelList(model, _public(picked, reasons)))
    return {"customer": customer, "history": [t for _, _, t in events[:5]], "lists": lists}


def product_preview(*, store: Store, sku: str, k: int = PREVIEW_K) -> dict[str, Any]:
    """Each model's top-k for a shopper who is looking at this product (None when there is no such product)."""
    product = Product.objects.for_store(store).filter(sku=sku).first()
    if product is None:
        return {"product": None, "lists": []}
    lists = []
    for model in preview_models(store):
        bundle = _bundle(model)
        if bundle is None:
            lists.append(ModelList(model, note="This version's file cannot be read; retrain it."))
            continue
        n = bundle.index.get(product.pk)
        if n is None:
            lists.append(ModelList(model, note="No activity on this product when this version was trained."))
            continue
        history = np.array([n], dtype=np.int64)
        picked = _rank(store, bundle, bundle.model.score([history])[0], k, {product.pk}, None)
        reasons = [_reason(model, bundle, history, m, {product.pk: f"often viewed together with {product.title}"},
                           f"what shoppers who look at {product.title} go on to") for _, _, m in picked]
        lists.append(ModelList(model, _public(picked, reasons)))
    return {"product": product, "lists": lists}
