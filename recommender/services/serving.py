"""Serving: the active model held in memory per process, reloaded when the version stamp changes; lists for
customers, similar items, bought-together and trending, with filters, fallbacks, explanations and impressions.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, OuterRef, Subquery
from django.utils import timezone

from ecomops import hotcache
from ecomops.models import Customer, Event, EventType, OrderLine, Product, ProductStatus, Store
from recommender.ml.bundle import ArtifactError, ModelBundle, artifact_load
from recommender.models import ModelStatus, RecommenderConfig, RecommenderModel, Surface
from recommender.services.impressions import ImpressionSpec, impression_log
from recommender.services.training import stamp_key

logger = logging.getLogger(__name__)

TRENDING_DAYS = 7
TRENDING_CACHE_SECONDS = 60
# Served lists are kept per process (ecomops.hotcache) under the store's model and catalog stamps and, for a
# personal list, the customer's newest event and order line: an activation, a product write or any new event of
# the customer shows on the next request; the TTL bounds the rest (trending moving on as time passes).
PERSONAL_CACHE_SECONDS = 60
HISTORY_LIMIT = 200
VERBS = {EventType.VIEW: "viewed", EventType.ADD_TO_CART: "added to cart", EventType.CHECKOUT: "checked out",
         EventType.PURCHASE: "bought", EventType.SEARCH: "searched for", EventType.REMOVE_FROM_CART: "looked at"}


class UnknownProduct(LookupError):
    pass


@dataclass
class Served:
    model: RecommenderModel | None
    bundle: ModelBundle | None


@dataclass
class _StoreModels:
    stamp: str
    champion: Served
    challenger: Served | None
    share: float


_loaded: dict[int, _StoreModels] = {}
_lock = threading.Lock()


def _current_stamp(store_id: int) -> str:
    stamp = cache.get(stamp_key(store_id))
    if stamp is None:
        stamp = "initial"
        cache.add(stamp_key(store_id), stamp, timeout=None)
        stamp = cache.get(stamp_key(store_id)) or stamp
    return stamp


def _load(model: RecommenderModel) -> ModelBundle | None:
    try:
        return artifact_load(model.artifact_path, model.artifact_sha256)
    except ArtifactError as exc:
        logger.error("recommender %s (store %s) cannot be served: %s", model.label, model.store_id, exc)
        RecommenderModel.objects.filter(pk=model.pk).update(load_error=f"{timezone.now():%Y-%m-%d %H:%M} UTC: {exc}")
        return None


def _load_champion(store_id: int) -> Served:
    """The active version, else the most recently active earlier version that loads, else nothing (trending)."""
    candidates = RecommenderModel.objects.for_store(store_id).filter(status=ModelStatus.READY).filter(
        is_active=True
    ).order_by("-activated_at")
    previous = RecommenderModel.objects.for_store(store_id).filter(
        status=ModelStatus.READY, is_active=False, activated_at__isnull=False
    ).order_by("-activated_at")[:3]
    for model in [*candidates, *previous]:
        bundle = _load(model)
        if bundle is not None:
            return Served(model, bundle)
    return Served(None, None)


def store_models(store_id: int, stamp: str | None = None) -> _StoreModels:
    """The store's loaded models; `stamp` when the caller has just read the store's model stamp."""
    stamp = stamp or _current_stamp(store_id)
    current = _loaded.get(store_id)
    if current is not None and current.stamp == stamp:
        return current
    with _lock:
        current = _loaded.get(store_id)
        if current is not None and current.stamp == stamp:
            return current
        champion = _load_champion(store_id)
        config = RecommenderConfig.objects.for_store(store_id).select_related("challenger").first()
        challenger = None
        if config and config.challenger and config.challenger_share > 0 and config.challenger.status == ModelStatus.READY:
            bundle = _load(config.challenger)
            challenger = Served(config.challenger, bundle) if bundle else None
        current = _StoreModels(stamp, champion, challenger, config.challenger_share if config else 0.0)
        _loaded[store_id] = current
        return current


def _bucket(customer_key: str) -> float:
    digest = hashlib.blake2b(customer_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def served_for(store_id: int, customer_key: str | None, stamp: str | None = None) -> Served:
    models = store_models(store_id, stamp)
    if models.challenger and customer_key is not None and _bucket(customer_key) < models.share:
        return models.challenger
    return models.champion


# ------------------------------------------------------------------------------------------------ helpers
def _available(store: Store, ids, category: str | None):
    qs = Product.objects.for_store(store).filter(pk__in=list(ids), status=ProductStatus.ACTIVE, stock__gt=0)
    if category:
        qs = qs.filter(category__startswith=category)
    return {p["pk"]: p for p in qs.values("pk", "sku", "title", "category", "price")}


def _item(product: dict, score: float, explanation: str) -> dict[str, Any]:
    # `_pk` goes into the impression log and is removed before the list is returned.
    return {"sku": product["sku"], "title": product["title"], "category": product["category"],
            "price": str(product["price"]), "score": round(float(score), 6), "explanation": explanation,
            "_pk": product["pk"]}


def _rank(store: Store, bundle: ModelBundle, scores: np.ndarray, k: int, exclude: set[int], category: str | None):
    """Best-first (product dict, score) pairs: available, in the category, not excluded."""
    scores = scores.astype(np.float64, copy=True)
    if category:
        scores[bundle.outside_category(category)] = -np.inf
    for key in exclude:
        n = bundle.index.get(key)
        if n is not None:
            scores[n] = -np.inf
    want = min(bundle.n_items, k * 3 + 10)
    while True:
        part = np.argpartition(-scores, want - 1)[:want] if want < bundle.n_items else np.arange(bundle.n_items)
        part = part[np.isfinite(scores[part])]
        order = part[np.lexsort((part, -scores[part]))]
        keys = [bundle.item_keys[n] for n in order]
        products = _available(store, keys, category)
        picked = [(products[key], scores[n], n) for key, n in zip(keys, order, strict=True) if key in products][:k]
        if len(picked) >= k or want >= bundle.n_items or len(part) < want:
            return picked
        want = min(bundle.n_items, want * 4)


def trending(store: Store, *, k: int, category: str | None = None, exclude: set[int] = frozenset()) -> list[dict]:
    """Most-interacted active, in-stock products of the last 7 days (purchases weigh more), cached a minute.

    Without exclusions the finished list is kept in this process under the store's catalog stamp (a product
    write shows at once); the items are shared, so callers copy them (`_response` does)."""
    if not exclude and hotcache.enabled():
        (catalog,) = hotcache.store_stamps(store.pk, hotcache.CATALOG)
        return hotcache.cached(("trending", store.pk, k, category, catalog), TRENDING_CACHE_SECONDS,
                               lambda: _trending(store, k=k, category=category, exclude=exclude))
    return _trending(store, k=k, category=category, exclude=exclude)


def _trending(store: Store, *, k: int, category: str | None, exclude: set[int]) -> list[dict]:
    key = f"recommender:trending:{store.pk}"
    ranked = cache.get(key)
    if ranked is None:
        since = timezone.now() - timedelta(days=TRENDING_DAYS)
        rows = (
            Event.objects.for_store(store).filter(occurred_at__gte=since, product__isnull=False)
            .values("product_id", "type").annotate(n=Count("id"))
        )
        weights = {EventType.PURCHASE: 5, EventType.CHECKOUT: 4, EventType.ADD_TO_CART: 3}
        totals: dict[int, float] = {}
        for row in rows:
            totals[row["product_id"]] = totals.get(row["product_id"], 0) + row["n"] * weights.get(row["type"], 1)
        if not totals:  # a quiet week: fall back to all-time best sellers
            for row in OrderLine.objects.for_store(store).values("product_id").annotate(n=Count("id")).order_by("-n")[:500]:
                totals[row["product_id"]] = float(row["n"])
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:1000]
        cache.set(key, ranked, TRENDING_CACHE_SECONDS)
    candidates = [(pid, s) for pid, s in ranked if pid not in exclude]
    out: list[dict] = []
    lo = 0
    while len(out) < k and lo < len(candidates):
        chunk = candidates[lo:lo + max(k * 3, 30)]
        lo += len(chunk)
        products = _available(store, [pid for pid, _ in chunk], category)
        out += [_item(products[pid], s, "trending in the last 7 days") for pid, s in chunk if pid in products]
    return out[:k]


class ServedList(dict):
    """A response payload; `.impression` is what it logged (the ASGI fast path logs the same for each replay)."""

    impression: ImpressionSpec
    keyed_on: tuple | None = None


def _log(store: Store, *, surface: str, served: Served | None, customer: Customer | int | None, items: list[dict],
         fallback: bool) -> tuple[str, ImpressionSpec]:
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    model = served.model if served else None
    spec = ImpressionSpec(store_id=store.pk, surface=surface, model_id=model.pk if model else None,
                          customer_id=customer_id, product_ids=tuple(i["_pk"] for i in items), fallback=fallback)
    return impression_log(spec), spec


def _response(store, *, surface, served, customer, items, fallback, **extra) -> ServedList:
    model = served.model if served and not fallback else None
    impression, spec = _log(store, surface=surface, served=served if not fallback else None, customer=customer,
                            items=items, fallback=fallback)
    # The items may be a cached list shared with other requests: answer with copies, without the internal `_pk`.
    items = [{key: value for key, value in item.items() if key != "_pk"} for item in items]
    payload = ServedList(
        {"fallback": fallback, "model": model.label if model else "trending",
         "model_version": model.version if model else None, "impression_id": impression, "count": len(items),
         "results": items, **extra})
    payload.impression = spec
    return payload


# ------------------------------------------------------------------------------------------------ public
def _freshness_queryset(store: Store, external_id: str):
    newest_event = Event.objects.filter(store=store, customer=OuterRef("pk")).values("customer").annotate(
        newest=Max("id")).values("newest")
    newest_line = OrderLine.objects.filter(store=store, order__customer=OuterRef("pk")).values("order__customer").annotate(
        newest=Max("id")).values("newest")
    return (Customer.objects.for_store(store).filter(external_id=external_id)
            .annotate(newest_event=Subquery(newest_event), newest_line=Subquery(newest_line))
            .values_list("pk", "newest_event", "newest_line").order_by("pk"))


def _customer_freshness(store: Store, external_id: str) -> tuple | None:
    """(customer id, newest event id, newest order line id) in one indexed query; None for an unknown customer.
    A new event or order of this customer changes it, so a cached list can never miss a fold-in."""
    return _freshness_queryset(store, external_id).first()


_SENTINEL_STORE, _SENTINEL_CUSTOMER = -7_331_913, "\x01fastpath-customer\x01"
_freshness_sql: tuple[str, list] | None = None


def customer_freshness(store_id: int, external_id: str) -> tuple | None:
    """`_customer_freshness` as raw SQL compiled once per process from the same queryset: the ASGI fast path's
    per-request check (ecomops/fastpath.py), without the ORM's per-query compile."""
    global _freshness_sql
    if _freshness_sql is None:
        sql, params = _freshness_queryset(Store(pk=_SENTINEL_STORE), _SENTINEL_CUSTOMER)[:1].query.sql_with_params()
        roles = [("store",) if p == _SENTINEL_STORE else ("customer",) if p == _SENTINEL_CUSTOMER else ("value", p)
                 for p in params]
        _freshness_sql = (sql, roles)
    sql, roles = _freshness_sql
    params = [store_id if r[0] == "store" else external_id if r[0] == "customer" else r[1] for r in roles]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row else None


def recommend_for_customer(*, store: Store, external_id: str, k: int = 10, category: str | None = None) -> dict[str, Any]:
    """The customer's list, kept per process under the store's model and catalog stamps and the customer's newest
    event and order line; each response still logs its own impression."""
    stamps = hotcache.store_stamps(store.pk, hotcache.CATALOG, extra=[stamp_key(store.pk)])
    if not hotcache.enabled():
        customer = Customer.objects.for_store(store).filter(external_id=external_id).first()
        return _response(store, **_customer_list(store, customer, k, category, stamps[1]))
    fresh = _customer_freshness(store, external_id)  # also the customer lookup: no extra query on a miss
    listing = hotcache.cached(
        ("personal", store.pk, external_id, k, category, stamps, fresh), PERSONAL_CACHE_SECONDS,
        lambda: _customer_list(store, Customer(pk=fresh[0], store=store, external_id=external_id) if fresh else None,
                               k, category, stamps[1]))
    payload = _response(store, **listing)
    payload.keyed_on = (stamps, fresh)  # what the ASGI fast path files a replay of this answer under
    return payload


def _customer_list(store: Store, customer: Customer | None, k: int, category: str | None,
                   model_stamp: str) -> dict[str, Any]:
    """The arguments of `_response` for this customer (customer as an id: the value is cached)."""
    if customer is None:
        return dict(surface=Surface.TRENDING, served=None, customer=None,
                    items=trending(store, k=k, category=category), fallback=True, reason="unknown customer")
    served = served_for(store.pk, customer.external_id, model_stamp)
    events = list(
        Event.objects.for_store(store).filter(customer=customer, product__isnull=False)
        .order_by("-occurred_at").values_list("product_id", "type", "product__title")[:HISTORY_LIMIT]
    )
    titles = {pid: title for pid, _, title in events}  # for the explanations, without another query
    purchased = {pid for pid, kind, _ in events if kind == EventType.PURCHASE}
    purchased |= set(OrderLine.objects.for_store(store).filter(order__customer=customer).values_list("product_id", flat=True))
    bundle = served.bundle
    history_keys = [pid for pid, _, _ in reversed(events)]  # oldest first
    history = bundle.indices_of(history_keys) if bundle else np.array([], np.int64)
    if bundle is None or not len(history):
        reason = "no active model" if bundle is None else "no history for this customer"
        return dict(surface=Surface.TRENDING, served=None, customer=customer.pk,
                    items=trending(store, k=k, category=category, exclude=purchased), fallback=True, reason=reason)
    scores = bundle.model.score([history])[0]
    picked = _rank(store, bundle, scores, k, purchased, category)
    last_kind = {pid: kind for pid, kind, _ in reversed(events)}  # the most recent event per product
    because = {}
    for _, _, n in picked:
        source = bundle.explain(history, n)
        if source is not None:
            because[n] = bundle.item_keys[source]
    items = []
    for product, score, n in picked:
        src = because.get(n)
        if src is not None and src in titles:
            explanation = f"because you {VERBS.get(last_kind.get(src), 'viewed')} {titles[src]}"
        else:
            explanation = "popular with customers like you"
        items.append(_item(product, score, explanation))
    return dict(surface=Surface.CUSTOMER, served=served, customer=customer.pk, items=items, fallback=False)


def _product_or_404(store: Store, sku: str) -> Product:
    product = Product.objects.for_store(store).filter(sku=sku).first()
    if product is None:
        raise UnknownProduct(sku)
    return product


def similar_products(*, store: Store, sku: str, k: int = 10, category: str | None = None) -> dict[str, Any]:
    product = _product_or_404(store, sku)
    served = served_for(store.pk, None)
    bundle = served.bundle
    n = bundle.index.get(product.pk) if bundle else None
    if n is None:
        return _response(store, surface=Surface.TRENDING, served=None, customer=None,
                         items=trending(store, k=k, category=category, exclude={product.pk}), fallback=True,
                         reason="no model knows this product yet")
    neighbours, sims = bundle.neighbours.neighbours(n, bundle.n_items)
    scores = np.full(bundle.n_items, -np.inf)
    scores[neighbours] = sims
    picked = _rank(store, bundle, scores, k, {product.pk}, category)
    items = [_item(p, s, f"customers who viewed {product.title} also viewed this") for p, s, _ in picked]
    return _response(store, surface=Surface.SIMILAR, served=served, customer=None, items=items, fallback=False)


def bought_together(*, store: Store, sku: str, k: int = 10, category: str | None = None) -> dict[str, Any]:
    product = _product_or_404(store, sku)
    served = served_for(store.pk, None)
    bundle = served.bundle
    n = bundle.index.get(product.pk) if bundle else None
    row = bundle.together.getrow(n) if n is not None else None
    if row is None or row.nnz == 0:
        return _response(store, surface=Surface.TRENDING, served=None, customer=None,
                         items=trending(store, k=k, category=category, exclude={product.pk}), fallback=True,
                         reason="no orders contain this product with another one yet")
    scores = np.full(bundle.n_items, -np.inf)
    scores[row.indices] = row.data
    picked = _rank(store, bundle, scores, k, {product.pk}, category)
    items = [_item(p, s, f"{s:.0%} of orders with {product.title} also contain this") for p, s, _ in picked]
    return _response(store, surface=Surface.BOUGHT_TOGETHER, served=served, customer=None, items=items, fallback=False)


def trending_list(*, store: Store, k: int = 10, category: str | None = None) -> dict[str, Any]:
    return _response(store, surface=Surface.TRENDING, served=None, customer=None,
                     items=trending(store, k=k, category=category), fallback=False)
