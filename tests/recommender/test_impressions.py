"""Impression rows written in batches (recommender/services/impressions.py): ids at once, rows by the flusher
thread within a moment, a row whose customer is gone dropped without losing the others."""

from __future__ import annotations

import time

import pytest

from recommender.models import RecommendationImpression, Surface
from recommender.services import impressions
from recommender.services.impressions import ImpressionSpec, impression_log
from tests.factories import CustomerFactory, ProductFactory


@pytest.mark.django_db(transaction=True)
def test_buffered_impressions_reach_the_database_in_one_batch(store, settings):
    settings.RECOMMENDER_IMPRESSION_BATCH = True
    impressions.discard()
    product = ProductFactory(store=store, sku="P-1")
    kept, gone = CustomerFactory(store=store, external_id="C-1"), CustomerFactory(store=store, external_id="C-2")
    specs = [ImpressionSpec(store_id=store.pk, surface=Surface.CUSTOMER, customer_id=customer.pk,
                            product_ids=(product.pk,)) for customer in (kept, gone, kept)]
    gone_id = gone.pk
    gone.delete()
    ids = [impression_log(spec) for spec in specs]
    assert len(set(ids)) == 3
    deadline = time.monotonic() + 10
    while impressions.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert impressions.pending() == 0
    time.sleep(0.3)  # the flusher writes after taking the rows
    rows = {str(r.pk): r for r in RecommendationImpression.objects.filter(pk__in=ids)}
    assert set(rows) == {ids[0], ids[2]}  # the deleted customer's row is dropped, the others are written
    assert all(r.customer_id == kept.pk and r.product_ids == [product.pk] for r in rows.values())
    assert not RecommendationImpression.objects.filter(customer_id=gone_id).exists()


@pytest.mark.django_db
def test_without_batching_the_row_is_written_at_once(store):
    spec = ImpressionSpec(store_id=store.pk, surface=Surface.TRENDING, product_ids=(1, 2))
    impression_id = impression_log(spec, batch=False)
    row = RecommendationImpression.objects.get(pk=impression_id)
    assert row.product_ids == [1, 2] and row.surface == Surface.TRENDING and row.model_id is None
