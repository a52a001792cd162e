"""Training a store's recommender into a new versioned `RecommenderModel`, activation and roll-back."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ecomops.models import Event, OrderLine, Store
from ecomops.models.orders import REVENUE_STATUSES
from ecomops.realtime import store_broadcast
from recommender.ml.baselines import ItemKNN
from recommender.ml.bundle import ModelBundle, artifact_save, co_purchase_matrix
from recommender.ml.data import Interactions, eligible_customer_count, interactions_from_records, leave_last_out
from recommender.ml.evaluate import test_metrics
from recommender.ml.registry import MODEL_NAMES, build_model
from recommender.models import ModelStatus, RecommenderModel

logger = logging.getLogger(__name__)

MIN_ELIGIBLE_CUSTOMERS = 20
Progress = Callable[[int, str], None]


class TrainingRefused(ValueError):
    """The store's data cannot support a model; the message says why (shown to the user)."""


def stamp_key(store_id: int) -> str:
    return f"recommender:stamp:{store_id}"


def stamp_bump(store_id: int) -> None:
    """Tell every web process to reload the store's active model on its next request."""
    transaction.on_commit(lambda: cache.set(stamp_key(store_id), uuid.uuid4().hex, timeout=None))


def store_interactions(store: Store, *, window_days: int | None = None) -> tuple[Interactions, dict[str, Any]]:
    """The store's customer events and paid order lines, as interactions keyed by customer and product id."""
    events = Event.objects.for_store(store).filter(customer__isnull=False, product__isnull=False)
    lines = OrderLine.objects.for_store(store).filter(order__status__in=REVENUE_STATUSES)
    start = None
    if window_days:
        start = timezone.now() - timedelta(days=window_days)
        events = events.filter(occurred_at__gte=start)
        lines = lines.filter(order__placed_at__gte=start)
    users, items, times, types = [], [], [], []
    for customer_id, product_id, occurred_at, kind in events.values_list("customer_id", "product_id", "occurred_at", "type").iterator(chunk_size=20000):
        users.append(customer_id); items.append(product_id)  # noqa: E702
        times.append(int(occurred_at.timestamp())); types.append(kind)  # noqa: E702
    baskets: dict[int, list[int]] = {}
    for order_id, customer_id, product_id, placed_at in lines.values_list("order_id", "order__customer_id", "product_id", "order__placed_at").iterator(chunk_size=20000):
        users.append(customer_id); items.append(product_id)  # noqa: E702
        times.append(int(placed_at.timestamp())); types.append("purchase")  # noqa: E702
        baskets.setdefault(order_id, []).append(product_id)
    data = interactions_from_records([int(u) for u in users], [int(i) for i in items], times, types)
    # interactions_from_records sorts ids as strings; keep them as ints for the ORM.
    data.user_ids = [int(u) for u in data.user_ids]
    data.item_ids = [int(i) for i in data.item_ids]
    meta = {
        "customers": data.n_users, "items": data.n_items, "interactions": len(data),
        "window_start": (min(times) if times else None), "window_end": (max(times) if times else None),
        "requested_start": start.isoformat() if start else None,
    }
    return data, {**meta, "baskets": list(baskets.values())}


def eligible_customers_quick(store: Store) -> int:
    """Customers with >= 2 distinct products across events and paid order lines, counted in SQL per source.

    A cheap pre-check for the dashboard and the command, so a hopeless run is refused before a job is queued.
    It may over-count a customer who viewed and bought the same single product; `model_train` takes the exact
    count again on the training data and refuses there too.
    """
    from django.db.models import Count

    per_customer: dict[int, int] = {}
    events = (
        Event.objects.for_store(store).filter(customer__isnull=False, product__isnull=False)
        .values("customer_id").annotate(n=Count("product_id", distinct=True))
    )
    lines = (
        OrderLine.objects.for_store(store).filter(order__status__in=REVENUE_STATUSES, order__customer__isnull=False)
        .values("order__customer_id").annotate(n=Count("product_id", distinct=True))
    )
    for row in events:
        per_customer[row["customer_id"]] = per_customer.get(row["customer_id"], 0) + row["n"]
    for row in lines:
        per_customer[row["order__customer_id"]] = per_customer.get(row["order__customer_id"], 0) + row["n"]
    return sum(1 for n in per_customer.values() if n >= 2)


def training_start(*, store: Store, algorithm: str, created_by=None, window_days: int | None = None,
                   activate: bool | None = None) -> Any:
    """Validate, refuse early on too little data, then queue a training Job on the `training` queue."""
    from ecomops.services.jobs import job_create
    from recommender.tasks import TRAIN_KIND

    names = [n.strip() for n in algorithm.split(",") if n.strip()]
    if algorithm != "all" and (not names or any(n not in MODEL_NAMES for n in names)):
        raise ValueError(f"Unknown model {algorithm!r}. Known: {', '.join([*MODEL_NAMES, 'all'])}")
    if window_days is not None and window_days < 1:
        raise ValueError("The data window must be at least 1 day.")
    eligible = eligible_customers_quick(store)
    if eligible < MIN_ELIGIBLE_CUSTOMERS:
        raise TrainingRefused(
            f"Not enough data to train: about {eligible} customers have 2 or more events, at least "
            f"{MIN_ELIGIBLE_CUSTOMERS} are needed. Import more events or widen the data window."
        )
    params: dict[str, Any] = {"algorithm": algorithm}
    if window_days:
        params["window_days"] = window_days
    if activate is not None:
        params["activate"] = activate
    return job_create(store=store, kind=TRAIN_KIND, params=params, created_by=created_by)


def _artifact_path(store: Store, algorithm: str, version: int) -> Path:
    return Path(settings.ECOMOPS_MODEL_DIR) / "recommender" / f"store-{store.pk}" / f"{algorithm}-v{version}-{uuid.uuid4().hex[:8]}.pkl"


def _next_version_row(*, store: Store, algorithm: str, params: dict, created_by=None, job=None) -> RecommenderModel:
    for _ in range(5):  # two runs may race for the same number; the unique constraint decides
        version = (RecommenderModel.objects.for_store(store).aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                return RecommenderModel.objects.create(
                    store=store, algorithm=algorithm, version=version, params=params, created_by=created_by, job=job
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a model version")


def model_train(*, store: Store, algorithm: str, params: dict | None = None, window_days: int | None = None,
                activate: bool | None = None, created_by=None, job=None, on_progress: Progress | None = None) -> RecommenderModel:
    """Train one algorithm on the store's data into a new version.

    Refuses (TrainingRefused) with fewer than 20 customers having >= 2 events. The artifact is written
    atomically before the row turns `ready`; a failure marks the row `failed` and leaves the active model as
    it was. `activate=None` activates the new version only when the store has no active model yet.
    """
    if algorithm not in MODEL_NAMES:
        raise ValueError(f"Unknown model {algorithm!r}. Known: {', '.join(MODEL_NAMES)}")
    say = on_progress or (lambda pct, msg: None)
    say(2, "Loading the store's events")
    data, meta = store_interactions(store, window_days=window_days)
    eligible = eligible_customer_count(data, min_events=2)
    if eligible < MIN_ELIGIBLE_CUSTOMERS:
        raise TrainingRefused(
            f"Not enough data to train: {eligible} customers have 2 or more events, at least "
            f"{MIN_ELIGIBLE_CUSTOMERS} are needed. Import more events or widen the data window."
        )
    build_model(algorithm, **(params or {}))  # validate the parameters before creating a row
    row = _next_version_row(store=store, algorithm=algorithm, params=params or {}, created_by=created_by, job=job)
    try:
        row.data_window_start = _dt(meta["window_start"])
        row.data_window_end = _dt(meta["window_end"])
        row.data_stats = {k: meta[k] for k in ("customers", "items", "interactions")} | {"eligible_customers": eligible}
        _train_into(row, data, meta, params or {}, say)
    except Exception as exc:
        RecommenderModel.objects.filter(pk=row.pk).update(status=ModelStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000])
        raise
    if activate or (activate is None and not RecommenderModel.objects.for_store(store).filter(is_active=True).exists()):
        model_activate(model=row)
    return row


def _dt(ts):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC) if ts is not None else None


def _train_into(row: RecommenderModel, data: Interactions, meta: dict, params: dict, say: Progress) -> None:
    store_id, log = row.store_id, []

    def on_epoch(report: dict, phase: str) -> None:
        entry = {"phase": phase, **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in report.items()}}
        log.append(entry)
        base, span = (10, 45) if phase == "validation" else (60, 30)
        pct = base + int(span * report.get("epoch", 0) / max(report.get("epochs", 1), 1))
        msg = f"{row.algorithm} {phase} epoch {report.get('epoch')}/{report.get('epochs')}: loss {report.get('loss', 0):.4f}"
        if "val_ndcg@10" in report:
            msg += f", validation NDCG@10 {report['val_ndcg@10']:.4f}"
        say(pct, msg)
        store_broadcast(store_id, "recommender.training", {"model_id": row.pk, "label": row.label, **entry}, on_commit=False)

    # 1) Validation: leave-last-out inside the store's data, for the metrics shown on the dashboard.
    say(8, "Validation split: holding out each customer's last event")
    split = leave_last_out(data)
    hist_all = split.train.sequences()
    histories = [hist_all[u] for u in split.test_users]
    inner = leave_last_out(split.train)
    inner_hist = inner.train.sequences()
    validation = ([inner_hist[u] for u in inner.test_users], inner.test_items)
    model = build_model(row.algorithm, **params)
    started = time.monotonic()
    if row.algorithm == "sasrec":
        model.fit(split.train, on_epoch=lambda r: on_epoch(r, "validation"), validation=validation)
    else:
        model.fit(split.train, on_epoch=lambda r: on_epoch(r, "validation"))
    metrics = test_metrics(model, histories, split.test_items, split.train.popularity())
    metrics = {k: round(v, 6) for k, v in metrics.items()} | {"evaluated_customers": int(len(split.test_users))}
    say(55, f"Validation NDCG@10 {metrics['ndcg@10']:.4f}; refitting on all data")
    # 2) The served model: refit on everything (SASRec for the epoch count that won on validation).
    final_params = dict(model.params)
    if row.algorithm == "sasrec":
        final_params["epochs"] = int(model.info.get("best_epoch") or final_params["epochs"])
    final = build_model(row.algorithm, **final_params)
    final.fit(data, on_epoch=lambda r: on_epoch(r, "final"))
    train_seconds = time.monotonic() - started
    say(92, "Building neighbours and co-purchases")
    knn = ItemKNN(neighbors=50).fit(data)
    index = {key: n for n, key in enumerate(data.item_ids)}
    baskets = [np.array([index[p] for p in b if p in index]) for b in meta["baskets"]]
    from ecomops.models import Product

    categories = dict(Product.objects.for_store(row.store_id).filter(pk__in=data.item_ids).values_list("pk", "category"))
    bundle = ModelBundle(
        algorithm=row.algorithm, model=final, item_keys=list(data.item_ids),
        item_category=[categories.get(k, "") for k in data.item_ids], neighbours=knn,
        together=co_purchase_matrix(baskets, data.n_items), popularity=data.popularity(),
        meta={"model_id": row.pk, "version": row.version},
    )
    say(96, "Saving the artifact")
    path = _artifact_path(row.store, row.algorithm, row.version)
    sha, size = artifact_save(bundle, path)
    row.params = final_params
    row.metrics = metrics | {"train_seconds": round(train_seconds, 2)} | ({"note": final.info["note"]} if final.info.get("note") else {})
    row.training_log = log
    row.artifact_path, row.artifact_sha256, row.artifact_bytes = str(path), sha, size
    row.status = ModelStatus.READY
    row.trained_at = timezone.now()
    row.save()


def model_activate(*, model: RecommenderModel) -> RecommenderModel:
    """Make this (ready) version the store's active one; the previous one stays available for roll-back."""
    if model.status != ModelStatus.READY:
        raise ValueError(f"{model.label} is {model.status}; only a ready model can be activated.")
    with transaction.atomic():
        RecommenderModel.objects.for_store(model.store_id).filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
        model.is_active = True
        model.activated_at = timezone.now()
        model.load_error = ""
        model.save(update_fields=["is_active", "activated_at", "load_error"])
        stamp_bump(model.store_id)
        store_broadcast(model.store_id, "recommender.activated", {"model_id": model.pk, "label": model.label})
    return model


def model_rollback(*, store: Store) -> RecommenderModel:
    """Re-activate the version that was active before the current one."""
    current = RecommenderModel.objects.for_store(store).filter(is_active=True).first()
    previous = (
        RecommenderModel.objects.for_store(store).filter(status=ModelStatus.READY, activated_at__isnull=False)
        .exclude(pk=getattr(current, "pk", None)).order_by("-activated_at").first()
    )
    if previous is None:
        raise ValueError("There is no previously active version to roll back to.")
    return model_activate(model=previous)


def config_update(*, store: Store, challenger: RecommenderModel | None = None, challenger_share: float | None = None,
                  nightly_retrain: bool | None = None, nightly_algorithm: str | None = None):
    from recommender.models import RecommenderConfig

    if challenger is not None and (challenger.store_id != store.pk or challenger.status != ModelStatus.READY):
        raise ValueError("The challenger must be a ready model of this store.")
    if challenger_share is not None and not 0.0 <= challenger_share <= 1.0:
        raise ValueError("The challenger share must be between 0 and 1.")
    if nightly_algorithm is not None and nightly_algorithm not in MODEL_NAMES:
        raise ValueError(f"Unknown model {nightly_algorithm!r}.")
    with transaction.atomic():
        config, _ = RecommenderConfig.objects.for_store(store).get_or_create(store=store)
        config.challenger = challenger
        if challenger_share is not None:
            config.challenger_share = challenger_share
        if nightly_retrain is not None:
            config.nightly_retrain = nightly_retrain
        if nightly_algorithm:
            config.nightly_algorithm = nightly_algorithm
        config.save()
        stamp_bump(store.pk)
    return config
